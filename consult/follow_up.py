"""Online care is follow-up care only, on evidence (互联网诊疗管理办法（试行）; 互联网诊疗监管细则（试行）).

The one home of the rule:

- a condition on the record says where and when it was diagnosed in person (institution,
  date) and may carry the family's evidence: a scan or PDF of the 门诊病历 / 出院小结, checked
  by its bytes (JPEG, PNG or PDF) and its size (FOLLOW_UP_EVIDENCE_MAX_BYTES), stored through
  Django's storage API, read only through `evidence_open` (access-logged);
- at the start of the consult the doctor confirms "this is a follow-up of <condition>"
  (`follow_up_confirm`: which condition, who, when, kept on the consultation); a condition
  with no offline institution and date cannot be the basis;
- a first visit or a changed condition is referred offline (consult.consultation.
  consultation_refer_offline, which records the suggested department and tells the family
  through `referral_notify`);
- `prescribing_refusal` is the one answer to "may a prescription be written in this
  consultation?", asked by prescriptions.lifecycle when a draft is written and when it is signed.
"""

from __future__ import annotations

from datetime import date, datetime

import filetype
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cloudhospital.audit import stamp
from cloudhospital.errors import DomainError, Kind
from cloudhospital.notifications import notification_send
from cloudhospital.permissions import require
from consult.models import (
    Condition,
    ConditionEvidence,
    ConditionStatus,
    Consultation,
    ConsultationOutcome,
    ConsultationStatus,
    EvidenceKind,
)

# What an evidence file may be, by what its bytes say (not its name): a photo or scan of the
# paper record, or the hospital's PDF.
EVIDENCE_TYPES = {"image/jpeg": "jpg", "image/png": "png", "application/pdf": "pdf"}
INSTITUTION_MAX = 120
DEPARTMENT_MAX = 80
# The consultation states in which the doctor may confirm the follow-up: before admitting
# (reading the record in the waiting room) or during the call, never after it ended.
CONFIRMABLE = (ConsultationStatus.WAITING, ConsultationStatus.IN_PROGRESS)


def _invalid(message: str, field: str, code: str = "invalid") -> DomainError:
    return DomainError(message, code=code, field=field, kind=Kind.INVALID)


# --- The offline diagnosis on the record -------------------------------------------------------


def offline_diagnosis_clean(changes: dict, *, birth_date: date) -> dict:
    """Trim `diagnosed_institution` and check `diagnosed_on` (between the birth date and
    today) in a condition's changes; 400 naming the field otherwise. Called by
    consult.records when a condition is added or changed."""
    if "diagnosed_institution" in changes:
        institution = (changes["diagnosed_institution"] or "").strip()
        if len(institution) > INSTITUTION_MAX:
            raise _invalid(_("Keep the institution's name under %(max)s characters.") % {"max": INSTITUTION_MAX},
                           "diagnosed_institution")
        changes["diagnosed_institution"] = institution
    diagnosed_on = changes.get("diagnosed_on")
    if diagnosed_on and (diagnosed_on > timezone.localdate() or diagnosed_on < birth_date):
        raise _invalid(_("The diagnosis date must lie between the birth date and today."), "diagnosed_on")
    return changes


def has_offline_diagnosis(condition: Condition) -> bool:
    """Whether the condition says where and when it was diagnosed in person."""
    return bool(condition.diagnosed_institution and condition.diagnosed_on)


@transaction.atomic
def evidence_add(*, by, condition: Condition, file, kind: str = EvidenceKind.OUTPATIENT_RECORD) -> ConditionEvidence:
    """The family attaches a scan or PDF of the offline diagnosis to `condition`.

    Only the patient or their proxies (403). Refuses (400 naming `file`) an empty file, one
    over FOLLOW_UP_EVIDENCE_MAX_BYTES (`file_too_large`), or one whose bytes are not a JPEG,
    PNG or PDF whatever its name (`file_type_not_allowed`); an unknown `kind` (400).
    """
    require("consult.manage_patient", by, condition.patient_id,
            message=_("Only the patient or their proxies may add evidence to the record."))
    if kind not in EvidenceKind.values:
        raise _invalid(_("Kind must be one of: %(choices)s.") % {"choices": ", ".join(EvidenceKind.values)}, "kind")
    size = getattr(file, "size", None) or 0
    limit = settings.FOLLOW_UP_EVIDENCE_MAX_BYTES
    if size <= 0:
        raise _invalid(_("The file is empty."), "file", "required")
    if size > limit:
        raise _invalid(_("The file is %(size)s MB; at most %(limit)s MB is accepted.")
                       % {"size": round(size / 1024 / 1024, 1), "limit": round(limit / 1024 / 1024, 1)},
                       "file", "file_too_large")
    file.seek(0)
    head = file.read(262)  # what filetype needs to recognise every type it knows
    file.seek(0)
    guessed = filetype.guess(head)
    content_type = guessed.mime if guessed else ""
    if content_type not in EVIDENCE_TYPES:
        raise _invalid(_("Upload a photo (JPEG or PNG) or a PDF of the outpatient record or discharge summary."),
                       "file", "file_type_not_allowed")
    evidence = ConditionEvidence(condition=condition, kind=kind, content_type=content_type, size=size,
                                 original_name=(getattr(file, "name", "") or "")[-200:], uploaded_by=by)
    # The stored name carries the checked type's extension, never the uploader's.
    evidence.file.save(f"evidence.{EVIDENCE_TYPES[content_type]}", file, save=False)
    stamp(evidence, by=by, reason="diagnosis evidence added")
    evidence.save()
    return evidence


def evidence_open(*, by, patient_id: int, evidence_id) -> ConditionEvidence:
    """The evidence file `by` may open: the patient's family, or the doctor treating the
    patient (consult.permissions.patients_visible_to), the open access-logged
    (`condition_evidence_open`) in the same call as every record read. Anyone else, or an
    evidence id of another patient: 404."""
    from consult.selectors import record_for

    patient = record_for(by, patient_id, purpose="condition_evidence_open")
    evidence = (ConditionEvidence.objects.filter(pk=evidence_id, condition__patient=patient).select_related("condition")
                .first() if str(evidence_id).isdigit() else None)
    if evidence is None:
        raise DomainError(_("No such evidence file on this record."), code="not_found", kind=Kind.NOT_FOUND)
    return evidence


# --- The doctor's confirmation --------------------------------------------------------------------


def _require_doctor(by, consultation: Consultation) -> None:
    require("consult.conduct_consultation", by, consultation,
            message=_("Only the booking's doctor may do this."), code="not_the_doctor")


def confirm_check(consultation: Consultation, by, now: datetime) -> None:
    """What `follow_up_confirm` checks before its input: the consultation's doctor (403),
    a consultation waiting or in progress (409). The API's `confirm-follow-up` action."""
    _require_doctor(by, consultation)
    if consultation.status not in CONFIRMABLE:
        raise DomainError(_("The consultation has ended; a follow-up is confirmed at its start."),
                          code="invalid_transition", kind=Kind.CONFLICT)


@transaction.atomic
def follow_up_confirm(*, by, consultation: Consultation, condition) -> Consultation:
    """The doctor confirms this consult is a follow-up of `condition`, diagnosed offline
    (互联网诊疗管理办法（试行）: online care only for follow-up visits).

    Records which condition, who and when on the consultation (and in its history); a second
    confirmation replaces the first. Refuses: anyone but the booking's doctor (403), an ended
    consultation (409), a condition not on this patient's active problem list (400 naming
    `condition`), and one with no offline institution or date (422
    `offline_diagnosis_missing`): that visit is a first visit, to be referred offline.
    """
    consultation = Consultation.objects.select_for_update().select_related("booking__slot__doctor").get(pk=consultation.pk)
    now = timezone.now()
    confirm_check(consultation, by, now)
    condition_id = getattr(condition, "pk", condition)
    condition = Condition.objects.filter(pk=condition_id, patient_id=consultation.booking.patient_id,
                                         status=ConditionStatus.ACTIVE).first() if str(condition_id).isdigit() else None
    if condition is None:
        raise _invalid(_("Choose one of the patient's active conditions."), "condition", "unknown_condition")
    if not has_offline_diagnosis(condition):
        # 互联网诊疗监管细则（试行）: the patient supplies a clear diagnosis made offline; without
        # one the visit is a first visit (首诊), which is not online care.
        raise DomainError(
            _("互联网诊疗管理办法（试行）: online care is for follow-up visits only. %(condition)s has no record of "
              "where and when it was diagnosed in person; ask the family to add it, or refer the patient offline.")
            % {"condition": condition.name},
            code="offline_diagnosis_missing", field="condition", kind=Kind.UNPROCESSABLE)
    consultation.follow_up_condition = condition
    consultation.follow_up_confirmed_by = by
    consultation.follow_up_confirmed_at = now
    stamp(consultation, by=by, reason=f"follow-up of {condition.icd10_code} confirmed")
    consultation.save(update_fields=["follow_up_condition", "follow_up_confirmed_by", "follow_up_confirmed_at"])
    return consultation


# --- Prescribing ----------------------------------------------------------------------------------


def prescribing_refusal(consultation: Consultation) -> DomainError | None:
    """Why no prescription may be written (or signed) in `consultation`, or None.

    互联网诊疗管理办法（试行） and 互联网诊疗监管细则（试行）: an online prescription rests on a
    follow-up of a condition diagnosed offline, confirmed by the doctor; a consultation the
    doctor referred offline (a first visit, or the condition changed) ends without one.
    """
    if consultation.outcome == ConsultationOutcome.REFERRED_OFFLINE:
        return DomainError(
            _("互联网诊疗监管细则（试行）: this consultation was referred for an in-person visit; no prescription "
              "can be written in it."),
            code="referred_offline", field="consultation", kind=Kind.CONFLICT)
    if consultation.follow_up_confirmed_at is None:
        return DomainError(
            _("互联网诊疗管理办法（试行）: online prescriptions are for follow-up visits only. Confirm which condition "
              "diagnosed offline this visit follows up before prescribing."),
            code="follow_up_not_confirmed", field="consultation", kind=Kind.CONFLICT)
    return None


def require_prescribing_allowed(consultation: Consultation) -> None:
    """Raise prescribing_refusal's refusal, if any (the one line prescriptions.lifecycle calls)."""
    refusal = prescribing_refusal(consultation)
    if refusal is not None:
        raise refusal


# --- Referring offline ------------------------------------------------------------------------------


def referral_department_clean(department: str) -> str:
    """The suggested department, required (400 naming `department`): the family needs to
    know where to go (互联网诊疗监管细则（试行）: the doctor refers the patient offline)."""
    department = (department or "").strip()
    if not department:
        raise _invalid(_("Name the department the patient should visit in person."), "department", "required")
    if len(department) > DEPARTMENT_MAX:
        raise _invalid(_("Keep the department under %(max)s characters.") % {"max": DEPARTMENT_MAX}, "department")
    return department


def referral_notify(consultation: Consultation) -> None:
    """Tell the patient's family the doctor referred the visit offline, with the reason and
    the department: a notification (once per consultation), delivered through the outbox
    after commit."""
    booking = consultation.booking
    notification_send(
        key=f"consultation-referred-offline-{consultation.pk}",
        patient=booking.patient,
        kind="consultation_referred_offline",
        title=f"请线下就诊 See a doctor in person: {consultation.referral_department}",
        body=(f"{booking.patient.full_name}: {booking.slot.doctor.user.full_name} — "
              f"{consultation.referral_department}. {consultation.referral_reason}"),
        data={"consultation": consultation.pk, "booking": booking.pk, "department": consultation.referral_department},
    )
