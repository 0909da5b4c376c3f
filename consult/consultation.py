"""The video consultation: open, admit, record, end, chat, and who is in the room.

Booking states move with it (admit -> in_consult, end -> completed) through consult.booking,
the one owner of the booking state machine. Messages to the sockets in the room leave after
the transaction commits, so nobody hears of an admission that was rolled back.
"""

import logging
from datetime import datetime, timedelta

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cloudhospital.audit import stamp
from cloudhospital.errors import DomainError, Kind
from cloudhospital.permissions import require
from cloudhospital.states import StateTable, actions_allowed, require_move, transition
from consult import booking as booking_rules
from consult import follow_up, young_children
from consult import records
from consult import regulator_events
from consult.diagnosis import diagnosis_clean
from consult.models import (
    Booking,
    BookingStatus,
    ChatMessage,
    ConditionStatus,
    Consultation,
    ConsultationOutcome,
    ConsultationStatus,
    RoomPresence,
)
from consult.signalling import PROTOCOL_VERSION, room_group

log = logging.getLogger(__name__)

# A doctor may complete the notes and diagnosis for a while after hanging up.
RECORD_EDITABLE_AFTER_END = timedelta(hours=24)
CLINICAL_FIELDS = ("chief_complaint", "notes", "diagnosis", "follow_up_advice", "follow_up_interval_days")
# The follow-up the doctor may ask for: from tomorrow to a year on (None: as needed).
FOLLOW_UP_DAYS = (1, 365)
REFERRAL_REASON_MAX = 2000

C = ConsultationStatus
# The consultation's state machine: the waiting room, the call, the end.
CONSULTATION_STATES = StateTable(
    label="consultation",
    moves={C.WAITING: {C.IN_PROGRESS}, C.IN_PROGRESS: {C.ENDED}, C.ENDED: set()},
    stamps={C.ENDED: "ended_at"},
    verbs={C.IN_PROGRESS: "admit the patient", C.ENDED: "end the consultation"},
)


def room_broadcast(consultation_id: int, event: dict) -> None:
    """Send `event` to every socket in the room once the current transaction commits.

    A channel layer that is down must not turn a committed REST call into a 500: the
    change is saved and clients catch up from the state message when they reconnect.
    """

    def send():
        try:
            async_to_sync(get_channel_layer().group_send)(room_group(consultation_id), {"type": "room.event", "event": event})
        except Exception:  # noqa: BLE001 - any transport failure means the same here
            log.warning("could not notify consultation %s sockets of %s", consultation_id, event.get("type"), exc_info=True)

    transaction.on_commit(send)


def clinical_fields_visible(*, role: str | None, consultation: Consultation) -> bool:
    """The doctor sees the clinical fields as they write them; the patient and proxies read
    them once the consultation has ended, when the doctor has finished."""
    return role == "doctor" or consultation.status == ConsultationStatus.ENDED


def _locked(consultation: Consultation) -> Consultation:
    return Consultation.objects.select_for_update().select_related("booking__slot__doctor").get(pk=consultation.pk)


def _require_doctor(user, consultation: Consultation) -> None:
    require("consult.conduct_consultation", user, consultation,
            message=_("Only the booking's doctor may do this."), code="not_the_doctor")


# --- What may happen to a consultation now -------------------------------------------------
# As in consult.booking: one check per API action, run by the verb on the locked row before
# it acts and by `consultation_allowed_actions` for the client. Admitting and ending move
# the booking too, so each also asks the booking's own check for that move.


def _check_booking_move(action: str, consultation: Consultation, by, now: datetime) -> None:
    refused = booking_rules.booking_refusal(action, consultation.booking, actor=by, at=now)
    if refused is not None:
        raise refused


def _check_admit(consultation: Consultation, by, now: datetime) -> None:
    _require_doctor(by, consultation)
    require_move(consultation, C.IN_PROGRESS, table=CONSULTATION_STATES)
    _check_booking_move("start", consultation, by, now)


def _check_end(consultation: Consultation, by, now: datetime) -> None:
    _require_doctor(by, consultation)
    require_move(consultation, C.ENDED, table=CONSULTATION_STATES)
    _check_booking_move("complete", consultation, by, now)


CONSULTATION_ACTIONS = {"admit": _check_admit, "end": _check_end, "confirm-follow-up": follow_up.confirm_check}


def consultation_allowed_actions(consultation: Consultation, *, actor, at: datetime | None = None) -> list[str]:
    """The CONSULTATION_ACTIONS `actor` may take on `consultation` now: the API's `allowed_actions`."""
    return actions_allowed(CONSULTATION_ACTIONS, consultation, by=actor, now=at)


@transaction.atomic
def consultation_open(*, by, booking: Booking) -> Consultation:
    """The consultation for `booking`, created on first use (check-in or the doctor opening it).

    Only the booking's doctor, the patient or a proxy (403). Refuses a cancelled or no-show
    booking (409).
    """
    require("consult.open_room", by, booking, message=_("Only the booking's doctor or the patient's family may open this room."))
    if booking.status in (BookingStatus.CANCELLED, BookingStatus.NO_SHOW):
        raise DomainError(_("The booking is %(status)s; there is no consultation.") % {"status": booking.status},
                          code="booking_inactive")
    consultation, _created = Consultation.objects.get_or_create(booking=booking)
    return consultation


@transaction.atomic
def consultation_admit(*, by, consultation: Consultation, guardian_present: bool = False) -> Consultation:
    """The doctor lets the waiting patient in: waiting -> in_progress, booking -> in_consult.

    Only the booking's doctor (403); only from the waiting room (409 naming the state). A
    child under ONLINE_CARE_GUARDIAN_AGE needs `guardian_present` confirmed by the doctor
    (422 `guardian_not_confirmed`; consult.young_children).
    """
    consultation = _locked(consultation)
    now = timezone.now()
    _check_admit(consultation, by, now)
    young_children.admission_guardian_confirm(consultation, by=by, now=now, guardian_present=guardian_present)
    booking_rules.booking_start(by=by, booking=consultation.booking)
    consultation.admitted_at = consultation.started_at = now
    transition(consultation, C.IN_PROGRESS, table=CONSULTATION_STATES, by=by, reason="patient admitted", now=now)
    regulator_events.consultation_started_report(consultation)  # 互联网诊疗监管细则: reported to the platform
    room_broadcast(consultation.pk, {"v": PROTOCOL_VERSION, "type": "admitted", "at": now.isoformat()})
    return consultation


@transaction.atomic
def consultation_record(*, by, consultation: Consultation, **fields) -> Consultation:
    """The doctor writes the chief complaint, notes, diagnosis and follow-up advice.

    Allowed while in progress and up to 24 hours after the end. A diagnosis is also added to
    the patient's problem list (active conditions), once per code.
    """
    consultation = _locked(consultation)
    _require_doctor(by, consultation)
    unknown = set(fields) - set(CLINICAL_FIELDS)
    if unknown:
        raise DomainError(_("Unknown field %(field)s.") % {"field": sorted(unknown)[0]}, code="invalid",
                          field=sorted(unknown)[0], kind=Kind.INVALID)
    if consultation.status == ConsultationStatus.WAITING:
        raise DomainError(_("Admit the patient before writing the record."), code="invalid_transition")
    if consultation.status == ConsultationStatus.ENDED and timezone.now() > consultation.ended_at + RECORD_EDITABLE_AFTER_END:
        raise DomainError(_("The record closed 24 hours after the consultation ended."), code="record_closed")
    if "follow_up_interval_days" in fields:
        fields["follow_up_interval_days"] = _follow_up_days(fields["follow_up_interval_days"])
    if "diagnosis" in fields:
        fields["diagnosis"] = diagnosis_clean(fields["diagnosis"])
        patient = consultation.booking.patient
        active = set(patient.conditions.filter(status=ConditionStatus.ACTIVE).values_list("icd10_code", flat=True))
        for entry in fields["diagnosis"]:
            if entry["code"] not in active:
                records.condition_add(by=by, patient=patient, icd10_code=entry["code"], name=entry["name"], onset_date=timezone.localdate())
    for name, value in fields.items():
        setattr(consultation, name, value)
    stamp(consultation, by=by, reason="clinical record written")
    consultation.save()
    return consultation


def _follow_up_days(value) -> int | None:
    """A follow-up interval in days, FOLLOW_UP_DAYS inclusive, or None (as needed); 400 naming
    `follow_up_interval_days` otherwise."""
    if value is None or value == "":
        return None
    low, high = FOLLOW_UP_DAYS
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise DomainError(_("Follow up in %(low)s to %(high)s days, or leave it empty.") % {"low": low, "high": high},
                          code="invalid", field="follow_up_interval_days", kind=Kind.INVALID)
    return value


@transaction.atomic
def consultation_end(*, by, consultation: Consultation, **advice) -> Consultation:
    """The doctor ends the consultation: in_progress -> ended, booking completed, outcome
    `completed`, every socket in the room told and closed. Ending twice is a 409 naming the
    state.

    `advice` (optional) is written first, in the same transaction, as consultation_record
    writes it: `follow_up_advice` for the family and `follow_up_interval_days`.
    """
    consultation = _locked(consultation)
    now = timezone.now()
    _check_end(consultation, by, now)
    if advice:
        consultation = consultation_record(by=by, consultation=consultation, **advice)
    return _close(consultation, by=by, now=now, outcome=ConsultationOutcome.COMPLETED, reason="consultation ended")


@transaction.atomic
def consultation_refer_offline(*, by, consultation: Consultation, reason: str, department: str = "") -> Consultation:
    """The doctor finds the case unfit for online follow-up and ends the consultation,
    referring the patient to an in-person visit: in_progress -> ended, booking completed,
    outcome `referred_offline`, the reason kept on the record for the family and the
    history. Same checks as consultation_end (403 not the doctor, 409 naming the state);
    a blank reason is a 400 naming `reason`, a blank suggested department one naming
    `department` (consult.follow_up). The family is told (consult.follow_up.referral_notify),
    and no prescription can be written in the consultation afterwards."""
    consultation = _locked(consultation)
    now = timezone.now()
    _check_end(consultation, by, now)
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_("Say why the patient should be seen in person; the family will read it."),
                          code="required", field="reason", kind=Kind.INVALID)
    if len(reason) > REFERRAL_REASON_MAX:
        raise DomainError(_("Keep the reason under %(max)s characters.") % {"max": REFERRAL_REASON_MAX},
                          code="invalid", field="reason", kind=Kind.INVALID)
    consultation.referral_department = follow_up.referral_department_clean(department)
    consultation.referral_reason = reason
    consultation = _close(consultation, by=by, now=now, outcome=ConsultationOutcome.REFERRED_OFFLINE, reason="referred offline")
    follow_up.referral_notify(consultation)
    return consultation


def _close(consultation: Consultation, *, by, now: datetime, outcome: str, reason: str) -> Consultation:
    booking_rules.booking_complete(by=by, booking=consultation.booking)
    consultation.outcome = outcome
    transition(consultation, C.ENDED, table=CONSULTATION_STATES, by=by, reason=reason, now=now)
    regulator_events.consultation_closed_report(consultation)  # 互联网诊疗监管细则: reported to the platform
    room_broadcast(consultation.pk, {"v": PROTOCOL_VERSION, "type": "ended", "at": now.isoformat()})
    return consultation


@transaction.atomic
def chat_post(*, by, consultation: Consultation, role: str, text: str, relay: bool = True) -> ChatMessage:
    """Keep a chat message as part of the consultation and, unless the caller relays it
    itself (`relay=False`: the socket, which tells its sender when relaying fails), send it to
    the room after commit. Only the consultation's participants (403)."""
    require("consult.chat", by, consultation, message=_("Only the consultation's participants may chat in it."))
    if consultation.status == ConsultationStatus.ENDED:
        raise DomainError(_("The consultation has ended."), code="consultation_ended")
    message = ChatMessage(consultation=consultation, sender=by, role=role, text=text)
    stamp(message, by=by, reason="chat")
    message.save()
    if relay:
        room_broadcast(consultation.pk, chat_event(message, by.full_name))
    return message


def chat_event(message: ChatMessage, sender_name: str) -> dict:
    return {
        "v": PROTOCOL_VERSION,
        "type": "chat",
        "id": message.pk,
        "from": {"user_id": message.sender_id, "role": message.role, "name": sender_name},
        "text": message.text,
        "sent_at": message.sent_at.isoformat(),
    }


def presence_join(*, consultation: Consultation, user, role: str, channel_name: str) -> None:
    RoomPresence.objects.update_or_create(
        channel_name=channel_name, defaults={"consultation": consultation, "user": user, "role": role}
    )


def presence_leave(*, channel_name: str) -> None:
    RoomPresence.objects.filter(channel_name=channel_name).delete()
