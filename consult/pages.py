"""Web pages: the clinician portal (worklist, the patient's chart, ending the visit) and the
consultation room (the family's pages are in consult.family_pages and consult.record_pages;
the doctor's schedule in consult.schedule_pages).

Thin: they read through consult.selectors and write through consult.booking and
consult.consultation, exactly as the API does. The room's call and chat run in plain
JavaScript (static/consult/room.js) over the API and the signalling socket; the chart, the
worklist and the diagnosis search are server-rendered fragments that htmx loads.
"""

from collections import Counter
from datetime import date, timedelta

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import BadRequest, PermissionDenied
from django.http import Http404
from django.urls import reverse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from cloudhospital.api.serializers import EARLIEST_DATE, LATEST_DATE, date_range_message
from cloudhospital.errors import DomainError
from cloudhospital.languages import in_language
from cloudhospital.models import Role
from cloudhospital.pinyin import matches
from cloudhospital.web import refusal_into_form
from consult import consultation as consult_rules
from consult.doctor_forms import FOLLOW_UP_CHOICES, EndVisitForm, ReferOfflineForm
from consult import follow_up as follow_up_rules
from consult import follow_up_pages
from consult.icd10 import ICD10_NAMES
from consult.models import Booking, BookingStatus, Doctor
from consult.permissions import consultation_role, consultations_visible_to
from consult.selectors import (
    bookings_with_family_online,
    consultation_for,
    doctor_worklist,
    previous_visits,
    record_for,
    record_summary,
)

# An eGFR older than this is flagged on the chart: kidney function drifts, and renal doses
# are set from it. Deployments may set EGFR_STALE_DAYS; 90 days by default.
EGFR_STALE_DAYS_DEFAULT = 90
WORKLIST_POLL_SECONDS = 5
ICD10_RESULTS_MAX = 12

STATUS_LABELS = {
    BookingStatus.BOOKED: gettext_lazy("Booked, not checked in"),
    BookingStatus.CHECKED_IN: gettext_lazy("Waiting (checked in)"),
    BookingStatus.IN_CONSULT: gettext_lazy("In consultation"),
    BookingStatus.COMPLETED: gettext_lazy("Completed"),
    BookingStatus.CANCELLED: gettext_lazy("Cancelled"),
    BookingStatus.NO_SHOW: gettext_lazy("No-show"),
}
SEX_LABELS = {"male": gettext_lazy("Male"), "female": gettext_lazy("Female")}


def _trend_config(patient_id: int) -> dict:
    """What bp-chart.js needs: the patient, and its words in the page's language."""
    return {"patientId": patient_id, "labels": {
        "noReadings": _("no readings"),
        "share": _("%(percent)s%% of %(count)s readings at or above 140/90"),
        "noPrescriptions": _("No prescriptions in this period."),
    }}


def portal_doctor(user) -> Doctor:
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


def _worklist_rows(doctor: Doctor, day: date) -> list[Booking]:
    """The day's bookings with what the table shows; two patients of the same name on the
    list each carry their birth year and the last four digits of their phone, and those
    whose family is in the room now are marked."""
    bookings = list(doctor_worklist(doctor, day).select_related("consultation", "patient__account"))
    names = Counter(b.patient.full_name for b in bookings)
    online = bookings_with_family_online(b.pk for b in bookings)
    for b in bookings:
        b.online = b.pk in online
        b.status_label = STATUS_LABELS.get(b.status, b.status)
        b.sex_label = SEX_LABELS.get(b.patient.sex, "")
        b.same_name = names[b.patient.full_name] > 1
        phone = b.patient.phone or getattr(b.patient.account, "phone", "") or ""
        b.phone_tail = phone[-4:]
    return bookings


def _worklist_context(doctor: Doctor, day: date) -> dict:
    today = timezone.localdate()
    return {
        "doctor": doctor, "day": day, "is_today": day == today, "bookings": _worklist_rows(doctor, day),
        "poll": day >= today, "poll_seconds": WORKLIST_POLL_SECONDS,
        "previous_day": day - timedelta(days=1), "next_day": day + timedelta(days=1),
    }


@login_required
def portal(request):
    """The logged-in doctor's worklist for ?date= (today by default), with the days around
    it; the list refreshes itself (portal_worklist) as patients check in and leave."""
    doctor = portal_doctor(request.user)
    return render(request, "consult/portal.html", _worklist_context(doctor, _requested_day(request)))


@login_required
def portal_worklist(request):
    """The worklist table alone, polled by the portal page."""
    doctor = portal_doctor(request.user)
    return render(request, "consult/doctor/_worklist.html", _worklist_context(doctor, _requested_day(request)))


@login_required
@require_POST
def portal_open(request, booking_id: int):
    """The doctor opens the consultation room for one of their bookings."""
    doctor = portal_doctor(request.user)
    booking = get_object_or_404(Booking, pk=booking_id, slot__doctor=doctor)
    try:
        consultation = consult_rules.consultation_open(by=request.user, booking=booking)
    except DomainError as exc:
        messages.error(request, exc.message)
        return _worklist_of(booking)
    return redirect("consult-room", consultation_id=consultation.pk)


def _worklist_of(booking: Booking):
    """Back to the worklist of the booking's own day (a late session may end after midnight)."""
    day = timezone.localdate(booking.slot.starts_at)
    if day == timezone.localdate():
        return redirect("portal")
    return redirect(f"{reverse('portal')}?date={day.isoformat()}")


def _room_queryset(user):
    return consultations_visible_to(user).select_related(
        "booking__patient", "booking__slot__doctor__user", "booking__slot__clinic__hospital")


def _doctors_consultation(request, consultation_id: int, *, purpose: str):
    """The requesting doctor's own consultation, read and logged; anyone else's: 404."""
    portal_doctor(request.user)
    queryset = _room_queryset(request.user).filter(booking__slot__doctor__user=request.user)
    try:
        return consultation_for(request.user, consultation_id, purpose=purpose, queryset=queryset)
    except DomainError:
        raise Http404("No such consultation.") from None


def _render_room(request, consultation, *, end_form=None, refer_form=None, status=200):
    role = consultation_role(request.user, consultation)
    config = {
        "consultationId": consultation.pk,
        "patientId": consultation.booking.patient_id,
        "role": role,
        "userId": request.user.pk,
        "labels": room_labels(),
    }
    context = {"consultation": consultation, "booking": consultation.booking, "role": role, "config": config}
    if role == "doctor":
        context.update(
            end_form=end_form or EndVisitForm(initial={
                "follow_up_advice": consultation.follow_up_advice,
                "follow_up_interval_days": consultation.follow_up_interval_days}),
            refer_form=refer_form or ReferOfflineForm(),
            follow_up_label=dict(FOLLOW_UP_CHOICES).get(str(consultation.follow_up_interval_days or "")),
            **follow_up_pages.room_context(consultation),
        )
    return render(request, "consult/room.html", context, status=status)


@login_required
def room(request, consultation_id: int):
    """The consultation room: video, chat, and for the doctor the chart, the notes and the
    forms that end the visit."""
    try:
        consultation = consultation_for(request.user, consultation_id, purpose="consultation_room",
                                        queryset=_room_queryset(request.user))
    except DomainError:
        raise Http404("No such consultation.") from None
    return _render_room(request, consultation)


def _egfr_stale_days() -> int:
    return int(getattr(settings, "EGFR_STALE_DAYS", EGFR_STALE_DAYS_DEFAULT))


@login_required
def doctor_chart(request, consultation_id: int):
    """The patient's chart beside the video (htmx fragment): active conditions, allergies,
    current medicines, the BP trend, the latest eGFR (flagged when old) and the previous
    visits. Only the consultation's doctor, and only while the booking gives them the record
    (consult.permissions.doctor_access_bookings); the read writes one access-log row."""
    portal_doctor(request.user)
    # The consultation only names the patient here (the policy's "objects this doctor may
    # see", as the API's get_object): the one read of patient data, and its one access-log
    # row, is record_for's.
    consultation = _room_queryset(request.user).filter(booking__slot__doctor__user=request.user, pk=consultation_id).first()
    if consultation is None:
        raise Http404("No such consultation.")
    try:
        patient = record_for(request.user, consultation.booking.patient_id, purpose="consultation_chart")
    except DomainError:
        return render(request, "consult/doctor/_chart.html", {"consultation": consultation, "unavailable": True})
    summary = record_summary(patient)
    summary["conditions"] = follow_up_pages.evidence_attach(summary["conditions"])  # the offline diagnosis's files
    egfr = summary["latest_egfr"]
    stale_days = _egfr_stale_days()
    egfr_age = (timezone.now() - egfr.measured_at).days if egfr else None
    return render(request, "consult/doctor/_chart.html", {
        "consultation": consultation, "patient": patient, **summary,
        "egfr_age_days": egfr_age, "egfr_stale": egfr is not None and egfr_age > stale_days, "egfr_stale_days": stale_days,
        "visits": previous_visits(patient, before=consultation),
        "sex_label": SEX_LABELS.get(patient.sex, ""),
        "trend_config": _trend_config(patient.pk),
    })


@login_required
def doctor_icd10_search(request):
    """ICD-10 codes whose code, Chinese or English name, or pinyin initials match ?q=
    (htmx fragment for the diagnosis lines)."""
    portal_doctor(request.user)
    query = request.GET.get("q", "").strip()[:40]
    results = []
    if query:
        for code, (zh, en) in ICD10_NAMES.items():
            if query.lower() in code.lower() or matches(query, zh, en):
                results.append({"code": code, "name": in_language(zh, en), "zh": zh})
            if len(results) >= ICD10_RESULTS_MAX:
                break
    return render(request, "consult/doctor/_icd10_results.html", {"query": query, "results": results})


@login_required
@require_http_methods(["GET", "POST"])
def doctor_end_visit(request, consultation_id: int):
    """End the visit with advice for the family and when to come back
    (consult.consultation.consultation_end); the room's sockets hear it and close."""
    consultation = _doctors_consultation(request, consultation_id, purpose="consultation_end")
    if request.method == "GET":  # a reload after a refused form: back to the room
        return redirect("consult-room", consultation_id=consultation.pk)
    form = EndVisitForm(request.POST)
    if form.is_valid():
        try:
            consult_rules.consultation_end(by=request.user, consultation=consultation, **form.cleaned_data)
        except DomainError as exc:
            refusal_into_form(form, exc)
        else:
            messages.success(request, _("Visit ended. The family can read your advice."))
            return _worklist_of(consultation.booking)
    return _render_room(request, consultation, end_form=form, status=400)


@login_required
@require_http_methods(["GET", "POST"])
def doctor_refer_offline(request, consultation_id: int):
    """End the visit referring the patient to an in-person visit, with the reason and the
    suggested department (consult.consultation.consultation_refer_offline); the family is told."""
    consultation = _doctors_consultation(request, consultation_id, purpose="consultation_refer_offline")
    if request.method == "GET":  # a reload after a refused form: back to the room
        return redirect("consult-room", consultation_id=consultation.pk)
    form = ReferOfflineForm(request.POST)
    if form.is_valid():
        try:
            consult_rules.consultation_refer_offline(by=request.user, consultation=consultation,
                                                     reason=form.cleaned_data["reason"],
                                                     department=form.cleaned_data["department"])
        except DomainError as exc:
            refusal_into_form(form, exc)
        else:
            messages.success(request, _("Visit ended: the patient is referred for an in-person visit."))
            return _worklist_of(consultation.booking)
    return _render_room(request, consultation, refer_form=form, status=400)


@login_required
@require_POST
def doctor_confirm_follow_up(request, consultation_id: int):
    """The doctor confirms the visit follows up a condition diagnosed offline
    (consult.follow_up.follow_up_confirm); htmx swaps the card, a plain post comes back to
    the room."""
    consultation = _doctors_consultation(request, consultation_id, purpose="consultation_follow_up")
    conditions = follow_up_pages.active_conditions(consultation.booking.patient_id)
    form = follow_up_pages.FollowUpForm(request.POST, conditions=conditions)
    status = 400
    if form.is_valid():
        try:
            consultation = follow_up_rules.follow_up_confirm(by=request.user, consultation=consultation,
                                                             condition=form.cleaned_data["condition"])
        except DomainError as exc:
            refusal_into_form(form, exc)
        else:
            status = 200
            if not request.htmx:
                messages.success(request, _("Follow-up confirmed."))
                return redirect("consult-room", consultation_id=consultation.pk)
    consultation.refresh_from_db()
    # htmx swaps only a 2xx answer: the refused card comes back 200 to it, 400 to a plain post.
    return render(request, "consult/doctor/_follow_up.html",
                  {"consultation": consultation, **follow_up_pages.room_context(consultation, follow_up_form=form)},
                  status=200 if request.htmx else status)


@login_required
def bp_trend_page(request, patient_id: int):
    """The blood-pressure chart with prescription dates marked, for the family and the
    treating doctor, so a follow-up visit starts with the picture."""
    try:
        patient = record_for(request.user, patient_id, purpose="bp_trend_page")
    except DomainError:
        raise Http404("No such patient.") from None
    return render(request, "consult/bp_trend.html", {"patient": patient, "config": _trend_config(patient.pk)})


def room_labels() -> dict:
    """The words room.js shows, in the page's language (the script has no catalogue of its own)."""
    return {
        "ended": _("The consultation has ended."),
        "loginAgain": _("Please log in again."),
        "notParticipant": _("You are not a participant of this consultation."),
        "noSuchConsultation": _("No such consultation."),
        "tooEarly": _("Too early: the room opens 30 minutes before the appointment."),
        "bookingInactive": _("This booking is no longer active."),
        "signallingDown": _("The signalling service is unavailable; retrying…"),
        "inRoom": _("In the room: %(names)s"),
        "connected": _("Connected"),
        "patientWaiting": _("The patient is waiting."),
        "waitingForPatient": _("Waiting for the patient…"),
        "waitingRoom": _("In the waiting room: the doctor will admit you."),
        "connecting": _("Admitted, connecting the call…"),
        "call": _("Call: %(state)s"),
        "disconnected": _("Disconnected (%(code)s)"),
        "reconnecting": _("Connection lost, reconnecting…"),
        "saved": _("Saved"),
        "noCamera": _("Camera or microphone unavailable: %(error)s"),
        "confirmEnd": _("End this consultation?"),
        "roles": {"doctor": _("doctor"), "patient": _("patient"), "proxy": _("family")},
    }
