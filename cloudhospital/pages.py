"""Web pages shared by every role: log in, the landing redirect after it, the account page,
and the header's preference switches (language, large text)."""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cloudhospital.models import Role
from cloudhospital.permissions import allowed
from cloudhospital.web import LARGE_TEXT_COOKIE, role_navigation, safe_next


@login_required
def home(request):
    """Send each person to their own start page after logging in: the family to /patient/,
    a doctor to the portal, a review pharmacist to the review workbench, pharmacy staff to
    the counter, staff with admin access to the admin, everyone else to their account page."""
    user = request.user
    if user.role == Role.DOCTOR and hasattr(user, "doctor_profile"):
        return redirect("portal")
    if user.role == Role.PATIENT:
        return redirect("patient-home")
    pages = role_navigation(user) if user.role != Role.DOCTOR else []
    if pages:
        return redirect(pages[0]["url"])
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


@require_POST
def preferences(request):
    """Language and large text (elder mode), from the switches in every page's header.

    Saved on the user when signed in, so the choice follows them to every device; before
    login, kept in the browser (Django's language cookie and LARGE_TEXT_COOKIE)."""
    response = redirect(safe_next(request, fallback=reverse("landing")))
    user = request.user
    if "language" in request.POST:
        language = request.POST["language"]
        if language not in dict(settings.LANGUAGES):
            return HttpResponseBadRequest(_("language: choose one of %(choices)s.") % {"choices": ", ".join(dict(settings.LANGUAGES))})
        if user.is_authenticated:
            user.language = language
            user.save(update_fields=["language"])
        response.set_cookie(settings.LANGUAGE_COOKIE_NAME, language, max_age=365 * 24 * 3600, samesite="Lax")
    if "large_text" in request.POST:
        large = request.POST["large_text"] == "1"
        if user.is_authenticated:
            user.large_text = large
            user.save(update_fields=["large_text"])
        response.set_cookie(LARGE_TEXT_COOKIE, "1" if large else "0", max_age=365 * 24 * 3600, samesite="Lax")
    return response
