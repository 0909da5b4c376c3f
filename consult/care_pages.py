"""The family's FIND CARE, BOOKING and VISIT pages: hospitals → cloud clinics → doctors →
a doctor's free slots, search in Chinese or pinyin initials, booking a slot for the patient
the family member acts for, the booking itself (queue number, cancel, reschedule) and the
waiting room.

Thin, as the API is: the directory reads through consult.selectors (`doctors_directory`,
`slots_available`, as consult/api/directory.py does), writes go through consult.booking and
consult.consultation (as consult/api/bookings.py does), and which buttons a booking shows is
`booking_allowed_actions`. A booking is looked up only among the bookings of the patients
this user manages, so another family's id is a 404. A refusal is the domain's message, shown
next to what it is about, with the status the API would answer (never a 500).
"""

import uuid

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from cloudhospital.api.errors import HTTP_STATUS
from cloudhospital.errors import DomainError
from cloudhospital.pinyin import matches
from cloudhospital.web import refusal_into_form
from consult import booking as booking_rules
from consult import consent as consent_rules
from consult import consultation as consult_rules
from consult import windows
from consult.acting import acting_context, acting_for
from consult.models import Booking, BookingStatus, Clinic, Hospital, Slot
from consult.permissions import patients_managed_by
from consult.selectors import booking_for, bookings_for_display, doctor_worklist, doctors_directory, slots_available

SEARCH_LIMIT = 30  # results per kind (hospitals, clinics, doctors)
SLOTS_SHOWN = 40  # a doctor's next free slots

# The booking's status in the family's words (the model's labels are the API's).
STATUS_LABELS = {
    BookingStatus.BOOKED: gettext_lazy("Booked"),
    BookingStatus.CHECKED_IN: gettext_lazy("Checked in, waiting"),
    BookingStatus.IN_CONSULT: gettext_lazy("With the doctor"),
    BookingStatus.COMPLETED: gettext_lazy("Visit completed"),
    BookingStatus.CANCELLED: gettext_lazy("Cancelled"),
    BookingStatus.NO_SHOW: gettext_lazy("Missed"),
}


def status_label(booking: Booking) -> str:
    return str(STATUS_LABELS.get(booking.status, booking.status))


def family_page(request, template: str, context: dict, status: int = 200):
    return render(request, template, {**acting_context(request), **context}, status=status)


def refusal_status(exc: DomainError) -> int:
    """The status the API answers this refusal with (cloudhospital.api.errors), for pages too."""
    return HTTP_STATUS.get(exc.kind, 409)


def family_bookings(user):
    """The bookings of every patient `user` manages: where a family page looks a booking up."""
    return bookings_for_display(Booking.objects.filter(patient__in=patients_managed_by(user)))


def family_booking(request, booking_id: int, *, purpose: str) -> Booking:
    """One of the family's bookings (read through the logging selector); anyone else's: 404."""
    try:
        return booking_for(request.user, booking_id, purpose=purpose, queryset=family_bookings(request.user))
    except DomainError:
        raise Http404("No such booking.") from None


def booking_view(booking: Booking, user, now=None) -> dict:
    """What a booking card shows: its allowed actions (the API's `allowed_actions`), when
    check-in opens, and in plain words why cancelling or rescheduling is no longer offered."""
    now = now or timezone.now()
    actions = booking_rules.booking_allowed_actions(booking, actor=user, at=now)
    opens = windows.check_in_opens(booking.slot)
    not_offered = []
    if booking.status == BookingStatus.BOOKED:
        for action in ("reschedule", "cancel"):
            if action not in actions:
                refusal = booking_rules.booking_refusal(action, booking, actor=user, at=now)
                if refusal is not None and refusal.message not in not_offered:
                    not_offered.append(refusal.message)
    return {
        "booking": booking,
        "status_label": status_label(booking),
        "can_check_in": "check-in" in actions,
        "can_cancel": "cancel" in actions,
        "can_reschedule": "reschedule" in actions,
        "check_in_opens": opens,
        "check_in_soon": booking.status == BookingStatus.BOOKED and now < opens,
        "check_in_within_a_day": booking.status == BookingStatus.BOOKED and now < opens and (opens - now).days < 1,
        "in_waiting_room": booking.status in (BookingStatus.CHECKED_IN, BookingStatus.IN_CONSULT),
        "not_offered": not_offered,
    }


# --- Find care ------------------------------------------------------------------------------


def _search(query: str) -> dict:
    """Hospitals, clinics and doctors whose name (Chinese or English) or pinyin initials
    contain `query`: "cxm" finds 陈晓敏, "gxy" finds 高血压云诊室."""
    hospitals = [h for h in Hospital.objects.order_by("id") if matches(query, h.name, h.name_en)][:SEARCH_LIMIT]
    clinics = [
        c for c in Clinic.objects.filter(is_active=True).select_related("hospital").order_by("id")
        if matches(query, c.name, c.name_en)
    ][:SEARCH_LIMIT]
    doctors = [d for d in doctors_directory() if matches(query, d.user.full_name)][:SEARCH_LIMIT]
    return {"hospitals": hospitals, "clinics": clinics, "doctors": doctors,
            "found": bool(hospitals or clinics or doctors)}


@login_required
def care_hospitals(request):
    """Find care: the network's hospitals, or what a search finds across hospitals,
    clinics and doctors."""
    query = (request.GET.get("q") or "").strip()[:40]
    context = {"query": query}
    if query:
        context["results"] = _search(query)
    else:
        context["hospitals"] = Hospital.objects.annotate(
            clinic_count=Count("clinics", filter=Q(clinics__is_active=True))
        ).order_by("id")
    return family_page(request, "consult/care/hospitals.html", context)


@login_required
def care_hospital(request, hospital_id: int):
    """A hospital's cloud clinics."""
    hospital = Hospital.objects.filter(pk=hospital_id).first()
    if hospital is None:
        raise Http404("No such hospital.")
    clinics = hospital.clinics.filter(is_active=True).order_by("id")
    return family_page(request, "consult/care/hospital.html", {"hospital": hospital, "clinics": clinics})


def _active_clinic(clinic_id: int) -> Clinic:
    clinic = Clinic.objects.filter(pk=clinic_id, is_active=True).select_related("hospital").first()
    if clinic is None:
        raise Http404("No such clinic.")
    return clinic


@login_required
def care_clinic(request, clinic_id: int):
    """A cloud clinic: what it treats, whether it takes follow-up visits only, its doctors
    with title, fee and next free slot."""
    clinic = _active_clinic(clinic_id)
    doctors = doctors_directory().filter(clinics=clinic)
    return family_page(request, "consult/care/clinic.html", {"clinic": clinic, "doctors": doctors})


@login_required
def care_doctor(request, doctor_id: int):
    """A doctor: title, specialty, fee, and the next free slots (optionally of one clinic)."""
    doctor = doctors_directory().filter(pk=doctor_id).first()
    if doctor is None:
        raise Http404("No such doctor.")
    clinic = None
    clinic_id = request.GET.get("clinic", "")
    if clinic_id.isdigit():
        clinic = next((c for c in doctor.clinics.all() if c.pk == int(clinic_id) and c.is_active), None)
    slots = list(slots_available(doctor=doctor.pk, clinic=clinic.pk if clinic else None, available_only=True)[:SLOTS_SHOWN])
    days: list[dict] = []
    for slot in slots:
        day = timezone.localtime(slot.starts_at).date()
        if not days or days[-1]["day"] != day:
            days.append({"day": day, "slots": []})
        days[-1]["slots"].append(slot)
    follow_up_clinics = [c for c in doctor.clinics.all() if c.follow_up_only and c.is_active]
    return family_page(request, "consult/care/doctor.html", {
        "doctor": doctor, "clinic": clinic, "days": days, "follow_up_clinics": follow_up_clinics,
    })


# --- Booking --------------------------------------------------------------------------------


class BookForm(forms.Form):
    patient = forms.IntegerField(widget=forms.HiddenInput)
    reason = forms.CharField(
        label=gettext_lazy("Reason for the visit"), max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("For example: 复诊开药 (repeat prescription), blood pressure is high in the mornings."),
        error_messages={"required": gettext_lazy("Say briefly why the patient needs the visit.")},
    )
    key = forms.CharField(widget=forms.HiddenInput, max_length=80, required=False)


# A refusal naming the slot or the patient is about the whole booking: shown above the form.
FORM_WIDE = {"slot": "", "patient": ""}


def _bookable_slot(slot_id: int) -> Slot:
    """A future slot of a verified doctor in an active clinic (the directory's slots); full
    ones included, so that trying one gets the booking rule's own message."""
    slot = slots_available().filter(pk=slot_id).first()
    if slot is None:
        raise Http404("No such slot.")
    return slot


@login_required
def care_book(request, slot_id: int):
    """Book a slot for the patient this family member acts for (the form carries whom, so a
    switch in another tab cannot book the wrong person unseen)."""
    slot = _bookable_slot(slot_id)
    patient = acting_for(request)
    status = 200
    refusal_code = ""
    if request.method == "POST":
        form = BookForm(request.POST)
        if form.is_valid():
            patient = patients_managed_by(request.user).filter(pk=form.cleaned_data["patient"]).first()
            if patient is None:
                raise Http404("No such patient.")
            try:
                booking, _created = booking_rules.booking_create(
                    by=request.user, patient=patient, slot=slot, reason=form.cleaned_data["reason"],
                    idempotency_key=form.cleaned_data["key"],
                )
            except DomainError as exc:
                refusal_into_form(form, exc, fields=FORM_WIDE)
                status, refusal_code = refusal_status(exc), exc.code
            else:
                messages.success(request, _("Booked for %(name)s: queue number %(number)s.")
                                 % {"name": booking.patient.full_name, "number": booking.queue_number})
                return redirect("care-booking", booking_id=booking.pk)
        else:
            status = 400
    else:
        if patient is None:
            raise Http404("No patient to book for.")
        if consent_rules.consent_refusal(patient) is not None:  # the informed consent first (consult.consent)
            return redirect("care-consent", slot_id=slot.pk)
        form = BookForm(initial={"patient": patient.pk, "key": uuid.uuid4().hex})
    return family_page(request, "consult/care/book.html", {
        "slot": slot, "form": form, "patient": patient, "refusal_code": refusal_code,
    }, status=status)


@login_required
def care_booking(request, booking_id: int):
    """One booking: the queue number, when check-in opens, and what may be done with it now."""
    booking = family_booking(request, booking_id, purpose="booking_page")
    return family_page(request, "consult/care/booking.html", booking_view(booking, request.user))


@login_required
@require_POST
def care_cancel(request, booking_id: int):
    """Cancel a booking (booking_cancel decides whether it is still allowed)."""
    booking = family_booking(request, booking_id, purpose="booking_cancel")
    try:
        booking_rules.booking_cancel(by=request.user, booking=booking)
    except DomainError as exc:
        return family_page(request, "consult/care/booking.html", {
            **booking_view(booking, request.user), "cancel_error": exc.message, "refusal_code": exc.code,
        }, status=refusal_status(exc))
    messages.success(request, _("The booking for %(name)s is cancelled.") % {"name": booking.patient.full_name})
    return redirect("patient-home")


class RescheduleForm(forms.Form):
    slot = forms.ModelChoiceField(
        queryset=Slot.objects.none(), label=gettext_lazy("New time"), widget=forms.RadioSelect,
        empty_label=None,
        error_messages={"required": gettext_lazy("Choose the new time."),
                        "invalid_choice": gettext_lazy("That time can no longer be chosen; choose another.")},
    )

    def __init__(self, *args, booking: Booking, **kwargs):
        super().__init__(*args, **kwargs)
        # Every future slot of the clinic is accepted (the field validates against the
        # queryset; a full one gets the booking rule's own message); only the bookable ones
        # are offered (the choices drawn).
        self.fields["slot"].queryset = slots_available(clinic=booking.slot.clinic_id).exclude(pk=booking.slot_id)
        offered = slots_available(clinic=booking.slot.clinic_id, available_only=True).exclude(pk=booking.slot_id)
        self.offered = list(offered[:SLOTS_SHOWN])
        self.fields["slot"].choices = [(s.pk, s) for s in self.offered]


@login_required
def care_reschedule(request, booking_id: int):
    """Move a booking to another free slot of the same clinic (booking_reschedule)."""
    booking = family_booking(request, booking_id, purpose="booking_reschedule")
    status, refusal_code = 200, ""
    if request.method == "POST":
        form = RescheduleForm(request.POST, booking=booking)
        if form.is_valid():
            try:
                moved = booking_rules.booking_reschedule(by=request.user, booking=booking, new_slot=form.cleaned_data["slot"])
            except DomainError as exc:
                refusal_into_form(form, exc, fields={"patient": ""})
                status, refusal_code = refusal_status(exc), exc.code
            else:
                messages.success(request, _("Moved to %(time)s: queue number %(number)s.") % {
                    "time": f"{timezone.localtime(moved.slot.starts_at):%Y-%m-%d %H:%M}", "number": moved.queue_number})
                return redirect("care-booking", booking_id=moved.pk)
        else:
            status = 400
    else:
        form = RescheduleForm(booking=booking)
        refusal = booking_rules.booking_refusal("reschedule", booking, actor=request.user)
        if refusal is not None:
            form.add_error(None, refusal.message)
            refusal_code = refusal.code
    return family_page(request, "consult/care/reschedule.html", {
        "booking": booking, "form": form, "refusal_code": refusal_code,
    }, status=status)


# --- The waiting room -----------------------------------------------------------------------


def waiting_state(booking: Booking) -> dict:
    """Her place in the doctor's queue: how many patients checked in before her (the
    doctor's worklist order, consult.selectors.doctor_worklist) and whether the doctor is
    with someone else now. Counts only: nothing of the others is shown."""
    day = timezone.localtime(booking.slot.starts_at).date()
    worklist = doctor_worklist(booking.slot.doctor, day).exclude(pk=booking.pk)
    before = Q(slot__starts_at__lt=booking.slot.starts_at) | Q(slot__starts_at=booking.slot.starts_at, queue_number__lt=booking.queue_number)
    return {
        "ahead": worklist.filter(before, status=BookingStatus.CHECKED_IN).count(),
        "doctor_busy": worklist.filter(status=BookingStatus.IN_CONSULT).exists(),
        "admitted": booking.status == BookingStatus.IN_CONSULT,
        "waiting": booking.status == BookingStatus.CHECKED_IN,
        "over": booking.status not in (BookingStatus.CHECKED_IN, BookingStatus.IN_CONSULT),
        "status_label": status_label(booking),
    }


@login_required
def care_waiting(request, booking_id: int):
    """The waiting room: her place in the queue (htmx polls the fragment) and the button to
    join the video."""
    booking = family_booking(request, booking_id, purpose="waiting_room")
    if booking.status == BookingStatus.BOOKED and not request.htmx:
        return redirect("care-booking", booking_id=booking.pk)  # not checked in yet
    context = {"booking": booking, **waiting_state(booking)}
    if request.htmx:
        return render(request, "consult/care/_waiting_status.html", context)
    return family_page(request, "consult/care/waiting.html", context)


@login_required
@require_POST
def care_join(request, booking_id: int):
    """Join the video consult: the consultation room (opened on first use)."""
    booking = family_booking(request, booking_id, purpose="room_join")
    try:
        consultation = consult_rules.consultation_open(by=request.user, booking=booking)
    except DomainError as exc:
        return family_page(request, "consult/care/waiting.html", {
            "booking": booking, **waiting_state(booking), "join_error": exc.message,
        }, status=refusal_status(exc))
    return redirect("consult-room", consultation_id=consultation.pk)

