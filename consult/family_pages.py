"""The family's "my visits" page and checking in. Thin: reads through consult.selectors,
writes through consult.booking and consult.consultation, as the API does; finding care,
booking and the waiting room are in consult.care_pages."""

from datetime import timedelta

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect
from django.utils import timezone
from django.views.decorators.http import require_POST

from cloudhospital.errors import DomainError
from consult import booking as booking_rules
from consult import consultation as consult_rules
from consult.acting import acting_for
from consult.care_pages import family_page, booking_view, family_booking, family_bookings, refusal_status, status_label
from consult.models import ACTIVE_BOOKING_STATUSES, BookingStatus
from consult.permissions import patients_managed_by

PAST_SHOWN = 20
# A visit stays among the upcoming ones until a while after its slot ends (a late start).
UPCOMING_GRACE = timedelta(hours=2)


def _visits_context(request, *, errors: dict | None = None) -> dict:
    """Everyone she manages, each with their upcoming visits (and what each allows now),
    and the past visits of them all."""
    now = timezone.now()
    acting = acting_for(request)
    # The person she acts for first, then the others in the order they were added.
    patients = sorted(patients_managed_by(request.user).order_by("id"), key=lambda p: acting is None or p.pk != acting.pk)
    own = family_bookings(request.user).select_related("consultation")
    upcoming = own.filter(status__in=ACTIVE_BOOKING_STATUSES, slot__ends_at__gte=now - UPCOMING_GRACE).order_by("slot__starts_at", "id")
    by_patient: dict[int, list] = {p.pk: [] for p in patients}
    for booking in upcoming:
        card = booking_view(booking, request.user, now)
        card["error"] = (errors or {}).get(booking.pk, "")
        by_patient.setdefault(booking.patient_id, []).append(card)
    past = own.filter(
        status__in=(BookingStatus.COMPLETED, BookingStatus.NO_SHOW, BookingStatus.CANCELLED), slot__starts_at__lt=now,
    ).order_by("-slot__starts_at", "-id")[:PAST_SHOWN]
    return {
        "people": [{"patient": p, "visits": by_patient.get(p.pk, [])} for p in patients],
        "past": [{"booking": b, "status_label": status_label(b)} for b in past],
        "patients": patients,
    }


@login_required
def patient_home(request):
    """My visits: the upcoming bookings of the account holder and of everyone they act for,
    person by person, with check-in and the waiting room; then the past visits."""
    return family_page(request, "consult/patient.html", _visits_context(request))


@login_required
@require_POST
def patient_check_in(request, booking_id: int):
    """Check in to the waiting room (booking_check_in decides whether it is open yet) and
    open the consultation for the doctor to admit; then the waiting room. A booking already
    checked in goes straight there. A refusal is shown on the visit's card."""
    booking = family_booking(request, booking_id, purpose="booking_check_in")
    try:
        if booking.status == BookingStatus.BOOKED:
            booking_rules.booking_check_in(by=request.user, booking=booking)
        consult_rules.consultation_open(by=request.user, booking=booking)
    except DomainError as exc:
        context = _visits_context(request, errors={booking.pk: exc.message})
        return family_page(request, "consult/patient.html", {**context, "refusal_code": exc.code}, status=refusal_status(exc))
    return redirect("care-waiting", booking_id=booking.pk)
