"""The family's visit pages: upcoming visits, checking in, and (to come) finding care and
booking. Thin: reads through consult.selectors, writes through consult.booking and
consult.consultation, as the API does."""

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from cloudhospital.errors import DomainError
from consult import booking as booking_rules
from consult import consultation as consult_rules
from consult.acting import acting_context
from consult.models import ACTIVE_BOOKING_STATUSES, Booking, BookingStatus
from consult.permissions import patients_managed_by
from consult.selectors import bookings_for_display


@login_required
def patient_home(request):
    """The family's page: upcoming bookings of the account holder and everyone they act for."""
    patients = patients_managed_by(request.user)
    bookings = (
        bookings_for_display(Booking.objects.filter(patient__in=patients, status__in=ACTIVE_BOOKING_STATUSES))
        .select_related("consultation")
        .filter(slot__ends_at__gte=timezone.now() - timedelta(hours=2))
        .order_by("slot__starts_at")
    )
    return render(request, "consult/patient.html", {"bookings": bookings, "patients": patients.order_by("id"), **acting_context(request)})


@login_required
@require_POST
def patient_check_in(request, booking_id: int):
    """Check in to the waiting room and go straight into the consultation room."""
    booking = get_object_or_404(Booking, pk=booking_id, patient__in=patients_managed_by(request.user))
    try:
        if booking.status == BookingStatus.BOOKED:
            booking_rules.booking_check_in(by=request.user, booking=booking)
        consultation = consult_rules.consultation_open(by=request.user, booking=booking)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("patient-home")
    return redirect("consult-room", consultation_id=consultation.pk)
