"""Web pages shared by every role: log in, the landing redirect after it, and the account
page of the roles that have no page of their own yet."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render

from cloudhospital.models import Role
from cloudhospital.permissions import allowed


@login_required
def home(request):
    """Send each person to their own start page after logging in: the family to /patient/,
    a doctor to the portal, staff with admin access to the admin, everyone else (review
    pharmacist, pharmacy staff, hospital admin) to their account page."""
    user = request.user
    if user.role == Role.DOCTOR and hasattr(user, "doctor_profile"):
        return redirect("portal")
    if user.role == Role.PATIENT:
        return redirect("patient-home")
    if user.is_staff:
        return redirect("admin:index")
    return redirect("account")


@login_required
def account(request):
    """Who you are and what your role does through the API (the browsable API takes this
    login's session), for the roles without a page of their own. Only the user's own data."""
    user = request.user
    membership = getattr(user, "pharmacy_membership", None)
    return render(request, "cloudhospital/account.html", {
        "role": user.get_role_display(),
        "reviews": allowed("prescriptions.review", user),
        "pharmacy": membership.pharmacy if membership else None,
        "hospitals": list(user.administered_hospitals.order_by("name")) if user.role == Role.HOSPITAL_ADMIN else [],
        "is_doctor_without_profile": user.role == Role.DOCTOR and not hasattr(user, "doctor_profile"),
    })
