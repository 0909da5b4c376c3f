"""What may be prescribed online: the rules of the internet-hospital regulations, in one place.

- 互联网诊疗管理办法（试行）(2018) art. 19: no specially managed drug (麻醉药品, 精神药品, 医疗用毒性药品,
  放射性药品, 药品类易制毒化学品) online, whatever the dose: `check_legal_class`, a block.
- 处方管理办法: at most five drugs (`items_count_check`); valid on the day written, up to three days
  with the doctor's reason (`validity_clean`, `expiry_for`); at most seven days' supply, longer with
  a written reason (`check_days_supply`, a warning overridden by that reason).
- 长期处方管理规范（试行）(2021): a long-term prescription only for a chronic diagnosis on the
  prescription, never the excluded classes (`check_long_term`), at most 12 weeks; beyond 4 weeks
  the patient or guardian confirms it before it goes to review (`needs_patient_confirmation`).
- The review pharmacist's decision is signed with their own key (`review_sign`, `review_verify`),
  so the printed and FHIR forms carry both signatures.

Findings are `checks.Finding`s, so the prescribing panel's live check and signing show them
with the other safety findings; the numbers are settings (cloudhospital/settings.py).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from datetime import datetime, time, timedelta

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from cloudhospital.errors import DomainError, Kind
from cloudhospital.models import Role
from prescriptions import checks, signing
from prescriptions.models import LegalClass, Prescription, PrescriptionStatus

ART_19 = "互联网诊疗管理办法（试行）art. 19"
PRESCRIPTION_RULES = "处方管理办法"
LONG_TERM_RULES = "长期处方管理规范（试行）"
VALIDITY_REASON_MAX = 200

# Every class but ordinary is specially managed (特殊管理药品) and never prescribed online.
ONLINE_PROHIBITED_CLASSES = frozenset(LegalClass.values) - {LegalClass.ORDINARY}
# 长期处方管理规范: antimicrobials are excluded except for chronic tuberculosis (A15-A19) and
# chronic fungal disease (B35-B49), ICD-10 three-character ranges.
ANTIMICROBIAL_CHRONIC_ICD10 = (("A15", "A19"), ("B35", "B49"))


def _finding(code: str, severity: str, message: str, item=None, source: str = "") -> checks.Finding:
    """A checks.Finding; with its `source` (the rule cited) where the Finding carries one."""
    drug_code = item.drug.code if item is not None else None
    position = item.position if item is not None else None
    extra = {"source": source} if "source" in {f.name for f in dataclasses.fields(checks.Finding)} else {}
    return checks.Finding(code, severity, message, position, drug_code, **extra)


def _category(code: str) -> str:
    return (code or "").strip().upper().replace(".", "")[:3]


def _codes(diagnosis) -> list[str]:
    return [d.get("code", "") if isinstance(d, dict) else str(d) for d in (diagnosis or ())]


def chronic_diagnosis(diagnosis) -> bool:
    """Whether the diagnoses (ICD-10 dicts or codes) name a chronic disease (checks.icd10_is_chronic)."""
    return any(checks.icd10_is_chronic(code) for code in _codes(diagnosis))


def _antimicrobial_allowed_long_term(diagnosis) -> bool:
    return any(low <= _category(code) <= high for code in _codes(diagnosis) for low, high in ANTIMICROBIAL_CHRONIC_ICD10)


# --- 5. Legal classes -------------------------------------------------------------------------
def check_legal_class(items: Iterable[checks.PrescribedItem]) -> list[checks.Finding]:
    """Block every item whose drug is specially managed (互联网诊疗管理办法（试行）art. 19); no
    override, whatever the dose."""
    findings = []
    for item in items:
        if item.drug.legal_class in ONLINE_PROHIBITED_CLASSES:
            findings.append(_finding(
                "online_prohibited_class", checks.BLOCK,
                _("%(rule)s: %(drug)s is a %(class)s and may not be prescribed online.") % {
                    "rule": ART_19, "drug": item.drug.display_name,
                    "class": LegalClass(item.drug.legal_class).label},
                item, source=ART_19,
            ))
    return findings


# --- 6. Prescription limits -------------------------------------------------------------------
def items_count_check(items: Sequence) -> None:
    """Refuse more than PRESCRIPTION_MAX_ITEMS drugs (处方管理办法 art. 6): 400 `too_many_items`, field `items`."""
    if len(items) > settings.PRESCRIPTION_MAX_ITEMS:
        raise DomainError(_("%(rule)s: at most %(max)s drugs on one prescription.")
                          % {"rule": PRESCRIPTION_RULES, "max": settings.PRESCRIPTION_MAX_ITEMS},
                          code="too_many_items", field="items", kind=Kind.INVALID)


def validity_clean(days, reason) -> tuple[int, str]:
    """The validity in days and its reason, checked (处方管理办法 art. 18): valid on the day it
    is written (PRESCRIPTION_VALID_DAYS_DEFAULT); up to PRESCRIPTION_VALID_DAYS when the doctor
    notes why. 400 `validity_days_invalid` / `validity_too_long` (field `validity_days`),
    `validity_reason_required` / `validity_reason_too_long` (field `validity_reason`)."""
    if days is None or days == "":
        days = settings.PRESCRIPTION_VALID_DAYS_DEFAULT
    if isinstance(days, bool) or not isinstance(days, int) or days < 1:
        raise DomainError(_("Validity is a whole number of days, at least 1."), code="validity_days_invalid",
                          field="validity_days", kind=Kind.INVALID)
    if days > settings.PRESCRIPTION_VALID_DAYS:
        raise DomainError(_("%(rule)s: a prescription is valid for at most %(max)s days.")
                          % {"rule": PRESCRIPTION_RULES, "max": settings.PRESCRIPTION_VALID_DAYS},
                          code="validity_too_long", field="validity_days", kind=Kind.INVALID)
    reason = (reason or "").strip() if isinstance(reason, str) or reason is None else None
    if reason is None or len(reason) > VALIDITY_REASON_MAX:
        raise DomainError(_("At most %(limit)s characters.") % {"limit": VALIDITY_REASON_MAX},
                          code="validity_reason_too_long", field="validity_reason", kind=Kind.INVALID)
    if days > settings.PRESCRIPTION_VALID_DAYS_DEFAULT and not reason:
        raise DomainError(_("%(rule)s: a prescription is valid on the day it is written; note why it should be "
                            "valid for %(days)s days.") % {"rule": PRESCRIPTION_RULES, "days": days},
                          code="validity_reason_required", field="validity_reason", kind=Kind.INVALID)
    return days, reason if days > settings.PRESCRIPTION_VALID_DAYS_DEFAULT else ""


def expiry_for(*, signed_at: datetime, validity_days: int) -> datetime:
    """When a prescription signed at `signed_at` stops being valid: the end of its last valid
    day in the hospital's time zone ("valid on the day written" is that calendar day)."""
    local = timezone.localtime(signed_at)
    last_day = local.date() + timedelta(days=max(int(validity_days or 1), 1))
    return timezone.make_aware(datetime.combine(last_day, time.min), local.tzinfo)


def _days_basis_chronic(facts: checks.PatientFacts, item) -> bool:
    return bool(getattr(item.drug, "chronic_use", False) and facts.has_chronic_condition)


def days_supply_limit(facts: checks.PatientFacts, item, *, long_term: bool) -> int:
    """The most days `item` may supply without a finding: 7; 30 for a chronic-use drug with a
    chronic diagnosis on record (the diagnosis is the written reason); for a long-term
    prescription 12 weeks (check_long_term decides whether it may be one)."""
    if long_term:
        return settings.LONG_TERM_PRESCRIPTION_DAYS_MAX
    if _days_basis_chronic(facts, item):
        return settings.PRESCRIPTION_DAYS_SUPPLY_CHRONIC
    return settings.PRESCRIPTION_DAYS_SUPPLY_DEFAULT


def check_days_supply(facts: checks.PatientFacts, items: Iterable[checks.PrescribedItem], *,
                      long_term: bool = False) -> list[checks.Finding]:
    """Days' supply (处方管理办法 art. 19; 长期处方管理规范).

    Up to 7 days: nothing. A chronic-use drug (Drug.chronic_use) for a patient with a chronic
    diagnosis: up to 30. Beyond that and up to 30 days (chronic disease, the elderly, reduced
    mobility): a warning `days_supply_extended`, whose override reason is the written reason.
    Beyond 30 days without the long-term flag: a block `days_supply`. A long-term prescription
    beyond 12 weeks: a block `long_term_too_long`.
    """
    findings = []
    for item in items:
        days = item.days_supply
        limit = days_supply_limit(facts, item, long_term=long_term)
        if days <= limit:
            continue
        if long_term:
            findings.append(_finding(
                "long_term_too_long", checks.BLOCK,
                _("%(rule)s: a long-term prescription covers at most %(max)s days; %(drug)s is for %(days)s.") % {
                    "rule": LONG_TERM_RULES, "max": limit, "drug": item.drug.display_name, "days": days},
                item, source=LONG_TERM_RULES,
            ))
        elif days <= settings.PRESCRIPTION_DAYS_SUPPLY_CHRONIC:
            findings.append(_finding(
                "days_supply_extended", checks.WARN,
                _("%(rule)s: normally at most %(max)s days' supply; %(days)s days of %(drug)s need the reason written "
                  "(chronic disease, the elderly, reduced mobility).") % {
                    "rule": PRESCRIPTION_RULES, "max": settings.PRESCRIPTION_DAYS_SUPPLY_DEFAULT, "days": days,
                    "drug": item.drug.display_name},
                item, source=PRESCRIPTION_RULES,
            ))
        else:
            findings.append(_finding(
                "days_supply", checks.BLOCK,
                _("%(rule)s: %(days)s days of %(drug)s is more than %(max)s; longer only as a long-term prescription "
                  "(长期处方) for a chronic disease.") % {
                    "rule": PRESCRIPTION_RULES, "days": days, "drug": item.drug.display_name,
                    "max": settings.PRESCRIPTION_DAYS_SUPPLY_CHRONIC},
                item, source=PRESCRIPTION_RULES,
            ))
    return findings


def check_long_term(items: Sequence[checks.PrescribedItem], *, long_term: bool, diagnosis) -> list[checks.Finding]:
    """长期处方管理规范（试行）: a long-term prescription needs a chronic diagnosis on the
    prescription (block `long_term_without_chronic_diagnosis`) and excludes the specially
    managed classes, antimicrobials (except for chronic tuberculosis or fungal disease) and
    drugs needing special storage (block `long_term_excluded` per item)."""
    if not long_term:
        return []
    findings = []
    if not chronic_diagnosis(diagnosis):
        findings.append(_finding(
            "long_term_without_chronic_diagnosis", checks.BLOCK,
            _("%(rule)s: a long-term prescription needs a chronic disease among its diagnoses.") % {"rule": LONG_TERM_RULES},
            source=LONG_TERM_RULES,
        ))
    for item in items:
        drug = item.drug
        if drug.legal_class in ONLINE_PROHIBITED_CLASSES:
            why = LegalClass(drug.legal_class).label
        elif drug.antimicrobial and not _antimicrobial_allowed_long_term(diagnosis):
            why = _("an antimicrobial (only for chronic tuberculosis or fungal disease)")
        elif drug.special_storage:
            why = _("a drug needing special storage")
        else:
            continue
        findings.append(_finding(
            "long_term_excluded", checks.BLOCK,
            _("%(rule)s: %(drug)s is %(why)s and cannot be on a long-term prescription.") % {
                "rule": LONG_TERM_RULES, "drug": drug.display_name, "why": why},
            item, source=LONG_TERM_RULES,
        ))
    return findings


def online_findings(*, findings: Sequence[checks.Finding], items: Sequence[checks.PrescribedItem], long_term: bool,
                    diagnosis) -> list[checks.Finding]:
    """The safety findings with the online-prescribing ones added (legal class, long-term
    eligibility), blocks first then by item, as checks.findings_for orders them."""
    combined = [*findings, *check_legal_class(items), *check_long_term(items, long_term=long_term, diagnosis=diagnosis)]
    return sorted(combined, key=lambda f: (f.severity != checks.BLOCK, -1 if f.item is None else f.item))


def needs_patient_confirmation(prescription: Prescription) -> bool:
    """A long-term prescription beyond LONG_TERM_PRESCRIPTION_DAYS_USUAL (4 weeks) waits for the
    patient's or guardian's confirmation before review (长期处方管理规范（试行）)."""
    if not prescription.long_term:
        return False
    return any(item.days_supply > settings.LONG_TERM_PRESCRIPTION_DAYS_USUAL for item in prescription.items.all())


# --- 7. The review pharmacist's signature -----------------------------------------------------
def review_content(prescription: Prescription, *, decision: str) -> dict:
    """What the review pharmacist signs: the prescription (id, version, the hash of what the
    doctor signed and the doctor's signature), the decision, its reason and time, and who."""
    pharmacist = prescription.reviewed_by
    return signing.canonical_content({
        "prescription": {"id": prescription.pk, "version": prescription.version,
                         "content_hash": prescription.content_hash, "doctor_signature": prescription.signature},
        "decision": decision,
        "reason": prescription.review_reason,
        "reviewed_at": prescription.reviewed_at,
        "pharmacist": {"id": pharmacist.pk, "name": pharmacist.full_name},
    })


def review_sign(prescription: Prescription, *, by, decision: str) -> None:
    """Sign the review decision (`approved` / `rejected`) with the pharmacist's own key; the
    caller has set reviewed_by, reviewed_at and review_reason and saves the row."""
    content = review_content(prescription, decision=decision)
    prescription.review_key_id, prescription.review_signature = signing.content_sign(
        signer=by, content=content, roles=(Role.PHARMACIST,))
    prescription.review_signed_content = content


REVIEW_OUTCOMES = {
    PrescriptionStatus.APPROVED: {PrescriptionStatus.APPROVED, PrescriptionStatus.DISPENSED, PrescriptionStatus.EXPIRED,
                                  PrescriptionStatus.VOIDED},
    PrescriptionStatus.REJECTED: {PrescriptionStatus.REJECTED},
}


def review_verify(prescription: Prescription) -> tuple[bool, str]:
    """Whether the pharmacist's signature verifies over the review rebuilt from the rows now,
    with a key of the reviewing pharmacist. (valid, reason)."""
    if not prescription.review_signature or prescription.reviewed_by_id is None:
        return False, "Not reviewed: no pharmacist's signature."
    decision = (prescription.review_signed_content or {}).get("decision")
    if prescription.status not in REVIEW_OUTCOMES.get(decision, ()):
        return False, f"The signed decision ({decision}) does not match the prescription's state ({prescription.status})."
    current = review_content(prescription, decision=decision)
    if current != prescription.review_signed_content:
        return False, "The review differs from what the pharmacist signed."
    return signing.content_verify(content=current, key_id=prescription.review_key_id,
                                  signature=prescription.review_signature, expected_signer=prescription.reviewed_by)
