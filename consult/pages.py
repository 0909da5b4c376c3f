"""Web pages: the clinician portal and the consultation room (the family's pages are in
consult.family_pages and consult.record_pages).

Thin: they read through consult.selectors and write through consult.booking and
consult.consultation, exactly as the API does. The room itself talks to the API and the
signalling socket from plain JavaScript (static/consult/room.js).
"""

from datetime import date, timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import BadRequest, PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST
from django.utils.translation import gettext as _

from cloudhospital.api.serializers import EARLIEST_DATE, LATEST_DATE, date_range_message
from cloudhospital.errors import DomainError
from cloudhospital.models import Role
from consult import consultation as consult_rules
from consult.models import Booking, Doctor
from consult.permissions import consultation_role, consultations_visible_to
from consult.selectors import consultation_for, doctor_worklist, record_for


def _doctor(user) -> Doctor:
    doctor = Doctor.objects.filter(user=user).select_related("hospital", "user").first()
    if user.role != Role.DOCTOR or doctor is None:
        raise PermissionDenied(_("The clinician portal is for doctors."))
    return doctor


def _requested_day(request) -> date:
    """?date=YYYY-MM-DD, today by default; anything else is a 400 saying what is wrong."""
    raw = request.GET.get("date", "")
    if not raw:
        return timezone.localdate()
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        raise BadRequest("date: use YYYY-MM-DD, e.g. 2026-11-24.") from None
    if not EARLIEST_DATE <= day <= LATEST_DATE:
        raise BadRequest(f"date: {date_range_message()}")
    return day


@login_required
def portal(request):
    """The logged-in doctor's worklist for ?date= (today by default), with the days around it."""
    doctor = _doctor(request.user)
    day = _requested_day(request)
    bookings = doctor_worklist(doctor, day).select_related("consultation")
    return render(request, "consult/portal.html", {
        "doctor": doctor, "day": day, "bookings": bookings, "is_today": day == timezone.localdate(),
        "previous_day": day - timedelta(days=1), "next_day": day + timedelta(days=1),
    })


@login_required
@require_POST
def portal_open(request, booking_id: int):
    """The doctor opens the consultation room for one of their bookings."""
    doctor = _doctor(request.user)
    booking = get_object_or_404(Booking, pk=booking_id, slot__doctor=doctor)
    try:
        consultation = consult_rules.consultation_open(by=request.user, booking=booking)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("portal")
    return redirect("consult-room", consultation_id=consultation.pk)


@login_required
def room(request, consultation_id: int):
    """The consultation room: video, chat, and for the doctor the record and the notes."""
    visible = consultations_visible_to(request.user).select_related(
        "booking__patient", "booking__slot__doctor__user", "booking__slot__clinic__hospital")
    try:
        consultation = consultation_for(request.user, consultation_id, purpose="consultation_room", queryset=visible)
    except DomainError:
        raise Http404("No such consultation.") from None
    role = consultation_role(request.user, consultation)
    config = {
        "consultationId": consultation.pk,
        "patientId": consultation.booking.patient_id,
        "role": role,
        "userId": request.user.pk,
    }
    return render(
        request,
        "consult/room.html",
        {"consultation": consultation, "booking": consultation.booking, "role": role, "config": config},
    )


@login_required
def bp_trend_page(request, patient_id: int):
    """The blood-pressure chart with prescription dates marked, for the family and the
    treating doctor, so a follow-up visit starts with the picture."""
    try:
        patient = record_for(request.user, patient_id, purpose="bp_trend_page")
    except DomainError:
        raise Http404("No such patient.") from None
    return render(request, "consult/bp_trend.html", {"patient": patient, "config": {"patientId": patient.pk}})

