"""The e-prescription's life: write, check, sign, review, revise, void, expire, dispense.

PRESCRIPTION_STATES is the whole state machine; `_transition` (cloudhospital.states) is the only place `status` changes,
and it refuses any other move with a 409 naming the current state. Every verb locks the
prescription row first (select_for_update), so two requests racing on one prescription
(sign and void, approve and expire, void and dispense) are serialised: the second sees the
first's result and, if that leaves no way forward, gets the 409.

The doctor may not void while the prescription is `signed` (in review): it is in the
review pharmacist's hands then, and rejecting it is how it goes back to the doctor.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cloudhospital.audit import stamp
from cloudhospital.notifications import notification_send
from cloudhospital.errors import DomainError, Kind
from cloudhospital.models import User
from cloudhospital.permissions import SYSTEM, require, user_or_none
from cloudhospital.states import StateTable, actions_allowed, require_move, transition
from consult.diagnosis import diagnosis_clean
from consult.follow_up import require_prescribing_allowed
from consult.models import Consultation, ConsultationStatus
from prescriptions import checks, regulator_events, rules, signing
from prescriptions.models import Drug, Prescription, PrescriptionItem, PrescriptionStatus
from prescriptions.selectors import signed_content

S = PrescriptionStatus
PRESCRIPTION_STATES = StateTable(
    label="prescription",
    moves={
        S.DRAFT: {S.SIGNED, S.CONFIRMING, S.VOIDED},
        # A long-term prescription beyond 4 weeks waits for the patient (prescriptions.rules).
        S.CONFIRMING: {S.SIGNED, S.VOIDED, S.EXPIRED},
        S.SIGNED: {S.APPROVED, S.REJECTED, S.EXPIRED},
        S.APPROVED: {S.DISPENSED, S.EXPIRED, S.VOIDED},
        S.REJECTED: set(),
        S.DISPENSED: set(),
        S.EXPIRED: set(),
        S.VOIDED: set(),
    },
    always=("updated_at",),
)
TRANSITIONS = PRESCRIPTION_STATES.moves
# A prescription that may still reach a pharmacy: the expiry task looks at these.
LIVE_STATUSES = (S.CONFIRMING, S.SIGNED, S.APPROVED)

# The consultation's doctor may prescribe while it is in progress and for a day after.
PRESCRIBING_AFTER_END = timedelta(hours=24)
REASON_MAX = 500


@dataclass(frozen=True)
class ItemDraft:
    """One line as the doctor writes it; positions come from the order of the list."""

    drug: Drug
    dose: Decimal
    dose_unit: str
    frequency: str
    days_supply: int
    quantity: int
    route: str = ""
    instructions: str = ""


@dataclass(frozen=True)
class Saved:
    prescription: Prescription
    findings: list[checks.Finding]


# --- Helpers ----------------------------------------------------------------------------
def _locked(prescription: Prescription | int) -> Prescription:
    pk = prescription.pk if isinstance(prescription, Prescription) else prescription
    return Prescription.objects.select_for_update().get(pk=pk)


def _transition(prescription: Prescription, to: str, *, by, reason: str, now: datetime | None = None) -> Prescription:
    """Move a locked `prescription` to `to` (cloudhospital.states); callers set the fields
    that go with the move first."""
    return transition(prescription, to, table=PRESCRIPTION_STATES, by=by, reason=reason or to, now=now)


# --- When a prescription is withdrawn (voided or expired) ----------------------------------
# Apps that hold work on a prescription (pharmacy orders) register a handler at start-up
# (AppConfig.ready), so this module never imports them: the dependency runs one way.
# `lock(prescription_id)` runs before the prescription row is locked (the apps' lock order);
# `withdraw(prescription_id, by, reason)` runs in the same transaction as the void or expiry.
_withdrawal_handlers: list[tuple[Callable[[int], object], Callable[..., object]]] = []


def withdrawal_handler_register(*, lock: Callable[[int], object], withdraw: Callable[..., object]) -> None:
    """Register what to lock and withdraw when a prescription is voided or expires (once per pair)."""
    if (lock, withdraw) not in _withdrawal_handlers:
        _withdrawal_handlers.append((lock, withdraw))


def _locked_with_dependants(prescription: Prescription | int) -> Prescription:
    pk = prescription.pk if isinstance(prescription, Prescription) else prescription
    for lock, _withdraw in _withdrawal_handlers:
        lock(prescription_id=pk)
    return _locked(pk)


def _withdraw_dependants(prescription: Prescription, *, by, reason: str) -> None:
    for _lock, withdraw in _withdrawal_handlers:
        withdraw(prescription_id=prescription.pk, by=by, reason=reason)


def prescription_check_valid(prescription: Prescription, *, now: datetime | None = None,
                             field: str | None = None) -> None:
    """Refuse (409 `prescription_expired`) once the validity (PRESCRIPTION_VALID_DAYS after
    signing) has run out. The beat task may not have run yet: the clock, not the task, decides."""
    if prescription.expires_at is not None and (now or timezone.now()) >= prescription.expires_at:
        raise DomainError(
            _("The prescription expired at %(when)s.") % {"when": f"{timezone.localtime(prescription.expires_at):%Y-%m-%d %H:%M}"},
            code="prescription_expired", field=field, kind=Kind.CONFLICT,
        )


def prescription_check_dispensable(prescription: Prescription, *, now: datetime | None = None) -> None:
    """Refuse (409 naming the state) unless the prescription is approved and within its
    validity: what a pharmacy may fill."""
    if prescription.status != S.APPROVED:
        raise DomainError(
            _("The prescription is %(status)s; only an approved prescription can be filled.") % {"status": prescription.status},
            code="prescription_not_orderable", field="prescription", kind=Kind.CONFLICT,
        )
    prescription_check_valid(prescription, now=now, field="prescription")


def _reason(reason: str | None, *, field: str = "reason") -> str:
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_("Say why."), code="reason_required", field=field, kind=Kind.INVALID)
    if len(reason) > REASON_MAX:
        raise DomainError(_("At most %(limit)s characters.") % {"limit": REASON_MAX}, code="reason_too_long", field=field,
                          kind=Kind.INVALID)
    return reason


def _require_prescriber(by, consultation: Consultation) -> None:
    require("prescriptions.prescribe", by, consultation,
            message=_("Only the consultation's doctor may prescribe for it."), code="not_the_doctor")


def _require_prescribing_window(consultation: Consultation, now: datetime) -> None:
    if consultation.status == ConsultationStatus.IN_PROGRESS:
        return
    if consultation.status == ConsultationStatus.ENDED and consultation.ended_at and (
        now <= consultation.ended_at + PRESCRIBING_AFTER_END
    ):
        return
    if consultation.status == ConsultationStatus.WAITING:
        raise DomainError(_("The consultation has not started; prescribe while it is in progress or up to 24 hours "
                            "after it ends."), code="prescribing_closed", field="consultation", kind=Kind.CONFLICT)
    raise DomainError(_("The consultation ended more than 24 hours ago; prescribe while it is in progress or up to "
                        "24 hours after it ends."), code="prescribing_closed", field="consultation", kind=Kind.CONFLICT)


def _require_author(by, prescription: Prescription) -> None:
    require("prescriptions.author", by, prescription, message=_("Only the prescribing doctor may do this."),
            code="not_the_prescriber")


def _require_reviewer(by) -> None:
    require("prescriptions.review", by, message=_("Only a review pharmacist of the hospital may review prescriptions."),
            code="not_a_review_pharmacist")


def _item_inputs(items: Sequence[ItemDraft]) -> list[checks.ItemInput]:
    return [
        checks.ItemInput(position=index, drug=item.drug, dose=item.dose, dose_unit=item.dose_unit,
                         frequency=item.frequency, days_supply=item.days_supply, quantity=item.quantity)
        for index, item in enumerate(items)
    ]


def _items_check(*, patient, items: Sequence[ItemDraft], long_term: bool, diagnosis=None) -> list[checks.Finding]:
    rules.items_count_check(items)
    for index, item in enumerate(items):
        for name in ("route", "instructions"):
            value = getattr(item, name)
            limit = PrescriptionItem._meta.get_field(name).max_length
            if not isinstance(value, str) or len(value) > limit:
                raise DomainError(_("At most %(limit)s characters.") % {"limit": limit}, code=f"{name}_invalid",
                                  field=f"items[{index}].{name}", kind=Kind.INVALID)
    inputs = _item_inputs(items)
    findings = checks.prescription_check(patient=patient, items=inputs, long_term=long_term)
    return rules.online_findings(findings=findings, items=inputs, long_term=long_term, diagnosis=diagnosis)


def _items_replace(prescription: Prescription, items: Sequence[ItemDraft], *, by) -> None:
    prescription.items.all().delete()
    for index, item in enumerate(items):
        row = PrescriptionItem(
            prescription=prescription, position=index, drug=item.drug, dose=Decimal(item.dose),
            dose_unit=item.dose_unit.strip(), frequency=item.frequency, route=item.route.strip() or item.drug.route,
            days_supply=item.days_supply, quantity=item.quantity, instructions=item.instructions.strip(),
        )
        stamp(row, by=by, reason="prescription item written")
        row.save()


def prescription_findings(prescription: Prescription, *, long_term: bool | None = None) -> list[checks.Finding]:
    """The safety findings for the prescription's saved items against the patient's record today
    (with the long-term flag as saved unless `long_term` is given)."""
    items = list(prescription.items.select_related("drug").order_by("position"))
    long_term = prescription.long_term if long_term is None else long_term
    findings = checks.prescription_check(patient=prescription.patient, items=items, long_term=long_term)
    return rules.online_findings(findings=findings, items=items, long_term=long_term, diagnosis=prescription.diagnosis)


def prescription_findings_for(*, patient, items: Sequence[ItemDraft], long_term: bool = False,
                              diagnosis=None) -> list[checks.Finding]:
    """Dry run: the findings `items` would have for `patient` (with `diagnosis`), nothing saved.
    400 for malformed items."""
    return _items_check(patient=patient, items=items, long_term=long_term, diagnosis=diagnosis)


# --- Verbs ------------------------------------------------------------------------------
@transaction.atomic
def prescription_create(*, by: User, consultation: Consultation, diagnosis, items: Sequence[ItemDraft],
                        long_term: bool = False, notes: str = "", validity_days: int | None = None,
                        validity_reason: str = "") -> Saved:
    """The consultation's doctor writes a draft for the consultation's patient.

    Allowed while the consultation is in progress or up to 24 hours after it ended (409
    `prescribing_closed`); anyone else is refused (403 `not_the_doctor`, field
    `consultation`). Diagnosis (400 naming `diagnosis[i].code`) and items (400 naming
    `items[i].<field>`, see checks.item_validate) are validated before anything is saved.
    Returns the draft with its safety findings; blocks do not stop a draft, only signing.
    """
    consultation = Consultation.objects.select_for_update().select_related(
        "booking__slot__doctor", "booking__patient").get(pk=consultation.pk)
    _require_prescriber(by, consultation)
    now = timezone.now()
    _require_prescribing_window(consultation, now)
    require_prescribing_allowed(consultation)  # 互联网诊疗管理办法（试行）: only in a confirmed follow-up
    diagnosis = diagnosis_clean(diagnosis)
    validity_days, validity_reason = rules.validity_clean(validity_days, validity_reason)
    patient = consultation.booking.patient
    findings = _items_check(patient=patient, items=items, long_term=bool(long_term), diagnosis=diagnosis)
    prescription = Prescription(
        consultation=consultation, patient=patient, doctor=by, diagnosis=diagnosis, long_term=bool(long_term),
        notes=(notes or "").strip()[:500], created_at=now, updated_at=now,
        validity_days=validity_days, validity_reason=validity_reason,
    )
    stamp(prescription, by=by, reason="draft written")
    prescription.save()
    _items_replace(prescription, items, by=by)
    return Saved(prescription, findings)


_UNSET = object()


@transaction.atomic
def prescription_update(*, by: User, prescription: Prescription, diagnosis=_UNSET, items=_UNSET,
                        long_term=_UNSET, notes=_UNSET, validity_days=_UNSET, validity_reason=_UNSET) -> Saved:
    """The prescribing doctor edits a draft: any of diagnosis, long-term flag, notes, and the
    items (replaced as a whole). Only drafts (409 naming the state); only the author (403).
    Validation as in `prescription_create`; the findings are those of the result."""
    prescription = _locked(prescription)
    _require_author(by, prescription)
    if prescription.status != S.DRAFT:
        raise DomainError(_("The prescription is %(status)s; only a draft can be edited.") % {"status": prescription.status},
                          code="not_editable", kind=Kind.CONFLICT)
    if prescription.previous_id is None:
        _require_prescribing_window(prescription.consultation, timezone.now())
    if diagnosis is not _UNSET:
        prescription.diagnosis = diagnosis_clean(diagnosis)
    if long_term is not _UNSET:
        prescription.long_term = bool(long_term)
    if notes is not _UNSET:
        prescription.notes = (notes or "").strip()[:500]
    if validity_days is not _UNSET or validity_reason is not _UNSET:
        prescription.validity_days, prescription.validity_reason = rules.validity_clean(
            prescription.validity_days if validity_days is _UNSET else validity_days,
            prescription.validity_reason if validity_reason is _UNSET else validity_reason)
    if items is not _UNSET:
        findings = _items_check(patient=prescription.patient, items=items, long_term=prescription.long_term,
                                diagnosis=prescription.diagnosis)
        _items_replace(prescription, items, by=by)
    else:
        findings = prescription_findings(prescription)
    prescription.updated_at = timezone.now()
    stamp(prescription, by=by, reason="draft edited")
    prescription.save()
    return Saved(prescription, findings)


def content_hash(content: dict) -> str:
    return hashlib.sha256(signing.canonical_json(content)).hexdigest()


# --- What may happen to a prescription now ------------------------------------------------
# One check per API action, run by the verb on the locked row before it acts and by
# `prescription_allowed_actions` for the client. What depends on the request (the items'
# safety findings and the overrides at signing, a reason) is the verb's alone.


def _revised(prescription: Prescription) -> bool:
    """Whether a revision of `prescription` exists (read from `revision` when it was joined)."""
    return getattr(prescription, "revision", None) is not None


def _check_sign(prescription: Prescription, by, now: datetime) -> None:
    _require_author(by, prescription)
    if prescription.status == S.CONFIRMING:  # signed already; CONFIRMING -> SIGNED is the patient's move
        raise DomainError(_("The prescription is %(status)s; only a draft can be signed.") % {"status": prescription.status},
                          code="invalid_transition", kind=Kind.CONFLICT)
    require_move(prescription, S.SIGNED, table=PRESCRIPTION_STATES)
    if prescription.previous_id is None:
        _require_prescribing_window(prescription.consultation, now)


def _check_approve(prescription: Prescription, by, now: datetime) -> None:
    _require_reviewer(by)
    require_move(prescription, S.APPROVED, table=PRESCRIPTION_STATES)
    prescription_check_valid(prescription, now=now)


def _check_reject(prescription: Prescription, by, now: datetime) -> None:
    _require_reviewer(by)
    require_move(prescription, S.REJECTED, table=PRESCRIPTION_STATES)


def _check_revise(prescription: Prescription, by, now: datetime) -> None:
    _require_author(by, prescription)
    if prescription.status != S.REJECTED:
        raise DomainError(_("The prescription is %(status)s; only a rejected one can be revised.") % {"status": prescription.status},
                          code="invalid_transition", kind=Kind.CONFLICT)
    if _revised(prescription):
        raise DomainError(_("This prescription was already revised."), code="already_revised", kind=Kind.CONFLICT)


def _check_void(prescription: Prescription, by, now: datetime) -> None:
    _require_author(by, prescription)
    require_move(prescription, S.VOIDED, table=PRESCRIPTION_STATES)


def _check_confirm(prescription: Prescription, by, now: datetime) -> None:
    # The state first: it costs no query, so a list's allowed_actions stays a fixed number of queries.
    if prescription.status != S.CONFIRMING:
        raise DomainError(_("The prescription is %(status)s; only one awaiting the patient's confirmation can be "
                            "confirmed.") % {"status": prescription.status}, code="invalid_transition", kind=Kind.CONFLICT)
    require("prescriptions.confirm", by, prescription, code="not_the_patient",
            message=_("Only the patient, or a family member acting for them, may confirm this prescription."))
    prescription_check_valid(prescription, now=now)


PRESCRIPTION_ACTIONS = {
    "sign": _check_sign,
    "confirm": _check_confirm,
    "approve": _check_approve,
    "reject": _check_reject,
    "revise": _check_revise,
    "void": _check_void,
}


def prescription_allowed_actions(prescription: Prescription, *, actor, at: datetime | None = None) -> list[str]:
    """The PRESCRIPTION_ACTIONS `actor` may take on `prescription` now: the API's `allowed_actions`."""
    return actions_allowed(PRESCRIPTION_ACTIONS, prescription, by=actor, now=at)


@transaction.atomic
def prescription_sign(*, by: User, prescription: Prescription, overrides: Mapping[str, str] | None = None) -> Saved:
    """The prescribing doctor signs a draft: draft -> signed, into the review queue.

    Runs every safety check again: any block refuses (422 `safety_block`), each warning
    needs a written reason in `overrides` keyed by the finding's key (422
    `override_reason_required`); the reasons are stored. The canonical content (patient,
    doctor, items, diagnosis, issue time) is signed with the doctor's Ed25519 key; the
    signature, key id, content hash and content are stored, and the prescription expires at
    the end of its `validity_days` (prescriptions.rules.expiry_for) unless dispensed. A
    long-term prescription beyond 4 weeks goes to `confirming` (the family is told) instead of
    the review queue (prescriptions.rules.needs_patient_confirmation). 403 for anyone but the
    author, 409 naming the state when it is not a draft.
    """
    prescription = _locked(prescription)
    now = timezone.now()
    _check_sign(prescription, by, now)
    require_prescribing_allowed(prescription.consultation)  # 互联网诊疗管理办法（试行）: only in a confirmed follow-up
    findings = prescription_findings(prescription)
    if overrides is not None and not (isinstance(overrides, Mapping) and all(
            isinstance(k, str) and isinstance(v, str) for k, v in overrides.items())):
        raise DomainError(_("Overrides are {finding key: reason}."), code="overrides_invalid", field="overrides", kind=Kind.INVALID)
    accepted = checks.overrides_validate(findings=findings, reasons=overrides or {})
    prescription.validity_days, prescription.validity_reason = rules.validity_clean(
        prescription.validity_days, prescription.validity_reason)
    prescription.issued_at = prescription.signed_at = now
    prescription.expires_at = rules.expiry_for(signed_at=now, validity_days=prescription.validity_days)
    content = signing.canonical_content(signed_content(prescription))
    key_id, signature = signing.content_sign(signer=by, content=content)
    prescription.key_id, prescription.signature = key_id, signature
    prescription.content_hash = content_hash(content)
    prescription.signed_content = content
    prescription.override_reasons = accepted
    prescription.formulary_version = checks.knowledge_version()  # what the checks above ran against
    if rules.needs_patient_confirmation(prescription):
        _transition(prescription, S.CONFIRMING, by=by, reason="signed; awaiting the patient's confirmation", now=now)
        notification_send(
            key=f"prescription:{prescription.pk}:confirm", patient=prescription.patient, kind="prescription_confirm",
            title=_("Please confirm the long-term prescription"),
            body=_("Dr. %(doctor)s wrote a long-term prescription of more than four weeks; it goes to the pharmacist "
                   "once you confirm it.") % {"doctor": prescription.doctor.full_name},
            data={"prescription": prescription.pk},
        )
    else:
        _transition(prescription, S.SIGNED, by=by, reason="signed", now=now)
    regulator_events.prescription_report(prescription, "signed")  # 互联网诊疗监管细则: reported to the platform
    return Saved(prescription, findings)


@transaction.atomic
def prescription_confirm(*, by: User, prescription: Prescription) -> Prescription:
    """The patient, or a proxy acting for them, confirms a long-term prescription beyond 4 weeks
    (长期处方管理规范（试行）): confirming -> signed, into the review queue; who and when are kept.
    403 `not_the_patient` for anyone else, 409 naming the state when it is not awaiting
    confirmation, `prescription_expired` past its validity."""
    prescription = _locked(prescription)
    now = timezone.now()
    _check_confirm(prescription, by, now)
    prescription.patient_confirmed_by, prescription.patient_confirmed_at = by, now
    return _transition(prescription, S.SIGNED, by=by, reason="long-term prescription confirmed by the patient", now=now)


@transaction.atomic
def prescription_approve(*, by: User, prescription: Prescription, reason: str = "") -> Prescription:
    """A review pharmacist approves a signed prescription: signed -> approved, dispensable.

    403 for anyone but a review pharmacist; 409 naming the state when it is not awaiting
    review, or `prescription_expired` when its validity has run out.
    """
    prescription = _locked(prescription)
    now = timezone.now()
    _check_approve(prescription, by, now)
    prescription.reviewed_by, prescription.reviewed_at = by, now
    prescription.review_reason = (reason or "").strip()[:REASON_MAX]
    rules.review_sign(prescription, by=by, decision=S.APPROVED)
    _transition(prescription, S.APPROVED, by=by, reason=f"approved {prescription.review_reason}".strip(), now=now)
    regulator_events.prescription_report(prescription, "approved")  # 互联网诊疗监管细则: reported to the platform
    return prescription


@transaction.atomic
def prescription_reject(*, by: User, prescription: Prescription, reason: str) -> Prescription:
    """A review pharmacist rejects a signed prescription with a reason: signed -> rejected,
    back to the doctor, who may revise it. 400 without a reason, 403 for anyone but a review
    pharmacist, 409 naming the state when it is not awaiting review."""
    reason = _reason(reason)
    prescription = _locked(prescription)
    now = timezone.now()
    _check_reject(prescription, by, now)
    prescription.reviewed_by, prescription.reviewed_at, prescription.review_reason = by, now, reason
    rules.review_sign(prescription, by=by, decision=S.REJECTED)
    _transition(prescription, S.REJECTED, by=by, reason=f"rejected: {reason}", now=now)
    regulator_events.prescription_report(prescription, "rejected")  # 互联网诊疗监管细则: reported to the platform
    return prescription


@transaction.atomic
def prescription_revise(*, by: User, prescription: Prescription) -> Saved:
    """The prescribing doctor starts a revision of a rejected prescription: a new draft,
    version + 1, `previous` pointing at the rejected one, with its diagnosis, flag and items
    copied. The rejected one stays exactly as it was. Once per rejection (409 `already_revised`);
    only from `rejected` (409 naming the state); only the author (403). The 24-hour
    prescribing window does not apply: review may take longer than that.
    """
    old = _locked(prescription)
    now = timezone.now()
    _check_revise(old, by, now)
    new = Prescription(
        consultation_id=old.consultation_id, patient_id=old.patient_id, doctor=by, diagnosis=old.diagnosis,
        long_term=old.long_term, notes=old.notes, version=old.version + 1, previous=old, created_at=now, updated_at=now,
    )
    stamp(new, by=by, reason=f"revision of {old.pk} after rejection")
    new.save()
    items = [
        ItemDraft(drug=i.drug, dose=i.dose, dose_unit=i.dose_unit, frequency=i.frequency, days_supply=i.days_supply,
                  quantity=i.quantity, route=i.route, instructions=i.instructions)
        for i in old.items.select_related("drug").order_by("position")
    ]
    _items_replace(new, items, by=by)
    return Saved(new, prescription_findings(new))


@transaction.atomic
def prescription_void(*, by: User, prescription: Prescription, reason: str) -> Prescription:
    """The prescribing doctor voids a draft or an approved, not yet dispensed prescription,
    with a reason; its live pharmacy order is withdrawn in the same transaction
    (pharmacy.orders.orders_withdraw). 400 without a reason, 403 for anyone but the author,
    409 naming the state otherwise (in review, rejected, dispensed, expired, voided)."""
    reason = _reason(reason)
    prescription = _locked_with_dependants(prescription)
    now = timezone.now()
    _check_void(prescription, by, now)
    prescription.voided_at, prescription.voided_reason = now, reason
    _transition(prescription, S.VOIDED, by=by, reason=f"voided: {reason}", now=now)
    regulator_events.prescription_report(prescription, "voided")  # 互联网诊疗监管细则: reported to the platform
    _withdraw_dependants(prescription, by=by, reason=f"The doctor voided the prescription: {reason}")
    return prescription


@transaction.atomic
def prescription_expire(*, prescription: Prescription | int, by=SYSTEM, now: datetime | None = None) -> bool:
    """Expire a signed or approved prescription whose validity (PRESCRIPTION_VALID_DAYS after
    signing) has run out without dispensing; its live pharmacy order is withdrawn with it.
    Idempotent: returns False and changes nothing when it is already expired, was dispensed
    or voided meanwhile, or is not due yet. Only the system expires prescriptions (403)."""
    require("prescriptions.expire", by, message=_("Prescriptions expire by the clock, not by hand."))
    prescription = _locked_with_dependants(prescription)
    now = now or timezone.now()
    if prescription.status not in LIVE_STATUSES or prescription.expires_at is None or now < prescription.expires_at:
        return False
    _transition(prescription, S.EXPIRED, by=by, reason="expired: not dispensed in time", now=now)
    _withdraw_dependants(prescription, by=by, reason="The prescription expired before it was dispensed.")
    return True


def prescriptions_expire_due(*, now: datetime | None = None) -> int:
    """Expire every live prescription past its validity; each in its own transaction, so one
    failure does not hold back the rest. Returns how many were expired."""
    now = now or timezone.now()
    due = Prescription.objects.filter(status__in=LIVE_STATUSES, expires_at__lte=now).values_list("pk", flat=True)
    return sum(prescription_expire(prescription=pk, now=now) for pk in list(due))


@transaction.atomic
def prescription_dispense(*, prescription: Prescription | int, by, reason: str = "") -> Prescription:
    """Record that a pharmacy dispensed an approved prescription: approved -> dispensed.

    For the pharmacy's order flow: `by` acts for a pharmacy (its API token or a member of
    its staff; 403 otherwise). 409 naming the state when it is not approved,
    `prescription_expired` when past validity.
    """
    require("prescriptions.dispense", by, message=_("Only a pharmacy dispenses prescriptions."))
    prescription = _locked(prescription)
    now = timezone.now()
    require_move(prescription, S.DISPENSED, table=PRESCRIPTION_STATES)
    prescription_check_valid(prescription, now=now)
    prescription.dispensed_at = now
    return _transition(prescription, S.DISPENSED, by=user_or_none(by), reason=reason or "dispensed", now=now)


def prescription_verify(prescription: Prescription) -> tuple[bool, str]:
    """Whether the prescription is intact: its stored signature verifies over the content
    rebuilt from the rows now, with a key of the prescribing doctor. Returns (valid, reason);
    the reason names what changed when the rows differ from what was signed."""
    if prescription.status == S.DRAFT or not prescription.signature:
        return False, "Not signed: the prescription is a draft."
    current = signing.canonical_content(signed_content(prescription))
    if prescription.signed_content is not None and current != prescription.signed_content:
        changed = ", ".join(_differences(prescription.signed_content, current)) or "content"
        return False, f"The prescription differs from what was signed ({changed}); the signature no longer covers it."
    valid, reason = signing.content_verify(content=current, key_id=prescription.key_id,
                                           signature=prescription.signature, expected_signer=prescription.doctor)
    if valid and prescription.content_hash and prescription.content_hash != content_hash(current):
        return False, "The stored content hash does not match the signed content."
    return valid, reason


def _differences(signed, current, path: str = "") -> list[str]:
    if isinstance(signed, dict) and isinstance(current, dict):
        out = []
        for key in sorted(set(signed) | set(current)):
            out += _differences(signed.get(key), current.get(key), f"{path}.{key}" if path else key)
        return out
    if isinstance(signed, list) and isinstance(current, list) and len(signed) == len(current):
        out = []
        for index, (a, b) in enumerate(zip(signed, current)):
            out += _differences(a, b, f"{path}[{index}]")
        return out
    return [] if signed == current else [path or "content"]
