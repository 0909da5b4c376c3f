"""Web pages shared by every role: log in, and the landing redirect after it."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect

from cloudhospital.models import Role


@login_required
def home(request):
    """Send each person to their own start page after logging in."""
    if request.user.role == Role.DOCTOR:
        return redirect("portal")
    if request.user.role == Role.PATIENT:
        return redirect("patient-home")
    return redirect("landing")
