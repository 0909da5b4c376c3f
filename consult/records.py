"""Writes to patients, proxies and the health record.

Every function here is the one place its rule lives: the API, the admin's actions, the
demo seeder and the tests all call these. Each checks its actor against the access policy
(consult.permissions) itself: contact details and proxies are the patient's and their
proxies' to change; the record's entries also the treating doctor's.
"""

from datetime import datetime, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from cloudhospital.audit import access_log_record, stamp
from cloudhospital.errors import DomainError, Kind
from cloudhospital.identity import IdentityError, normalise_mobile, parse_resident_id
from cloudhospital.models import Role
from cloudhospital.permissions import require
from consult import consent as consent_rules
from consult import medications
from consult.diagnosis import icd10_clean
from consult.follow_up import offline_diagnosis_clean
from consult.models import (
    Allergy,
    Condition,
    Medication,
    Observation,
    ObservationKind,
    ObservationSource,
    Patient,
    ProxyLink,
    Relationship,
)

# Plausible ranges for a reading a person can survive; anything outside is a typo or a
# faulty cuff, and storing it would mislead every later trend and safety check.
BP_LIMITS = {"systolic": (50, 300), "diastolic": (20, 200), "pulse": (20, 250)}
LAB_LIMITS = {ObservationKind.EGFR: (Decimal("1"), Decimal("200")), ObservationKind.CREATININE: (Decimal("10"), Decimal("3000")),
              ObservationKind.BODY_WEIGHT: (Decimal("2"), Decimal("300"))}


def _invalid(message: str, field: str, code: str = "invalid") -> DomainError:
    return DomainError(message, code=code, field=field, kind=Kind.INVALID)


def _resident_id(id_number: str):
    try:
        return parse_resident_id(id_number)
    except IdentityError as exc:
        raise _invalid(str(exc), "id_number", "invalid_id_number") from None


def _patient_from(resident, *, full_name: str, phone: str, address: str, account=None) -> Patient:
    """An unsaved patient whose birth date and sex come from the checked ID number."""
    return Patient(account=account, full_name=full_name, id_number=resident.number, birth_date=resident.birth_date,
                   sex=resident.sex, phone=phone, address=address.strip())


def _mobile(phone: str, field: str = "phone") -> str:
    try:
        return normalise_mobile(phone)
    except IdentityError as exc:
        raise _invalid(str(exc), field, "invalid_phone") from None


def _full_name(full_name: str) -> str:
    name = (full_name or "").strip()
    if not name:
        raise _invalid(_("Enter the full name as on the ID card."), "full_name", "required")
    return name


def _ensure_id_number_free(number: str) -> None:
    if Patient.objects.filter(id_number=number).exists():
        raise DomainError(
            _("A patient with this ID number is already registered. If you are family, ask the "
              "patient or one of their proxies to add you as a proxy."),
            code="duplicate_id_number",
            field="id_number",
            kind=Kind.INVALID,
        )


@transaction.atomic
def patient_register(*, full_name: str, id_number: str, phone: str, password: str, address: str = "") -> Patient:
    """Create a patient account (login + own patient profile) from real-name data.

    Refuses (400, naming the field) an invalid ID number or mobile, a weak password, or an
    ID number or phone that is already registered.
    """
    name = _full_name(full_name)
    resident = _resident_id(id_number)
    mobile = _mobile(phone)
    User = get_user_model()
    if User.objects.filter(phone=mobile).exists():
        raise _invalid(_("An account with this phone number already exists."), "phone", "duplicate_phone")
    _ensure_id_number_free(resident.number)
    user = User(phone=mobile, full_name=name, role=Role.PATIENT)
    try:
        validate_password(password, user)
    except DjangoValidationError as exc:
        raise _invalid(" ".join(exc.messages), "password", "weak_password") from None
    user.set_password(password)
    try:
        with transaction.atomic():
            user.save()
            patient = _patient_from(resident, full_name=name, phone=mobile, address=address, account=user)
            stamp(patient, by=user, reason="registered")
            patient.save()
    except IntegrityError:
        # Lost a race with a simultaneous registration of the same phone or ID number.
        raise _invalid(_("This phone number or ID number was just registered."), "id_number", "duplicate") from None
    return patient


def dependant_add(
    *, proxy, full_name: str, id_number: str, relationship: str, phone: str = "", address: str = ""
) -> Patient:
    """A logged-in account holder adds a family member they will act for.

    The dependant needs no login. An ID number already registered is refused (400
    `cannot_add_dependant`), worded so that it confirms nothing the caller did not supply,
    and the attempt is written to that patient's access log (someone tried to attach
    themselves to the record): access to an existing patient is granted only by that patient
    or an existing proxy (`proxy_add`). The API also rate-limits attempts per account.
    """
    require("consult.add_dependant", proxy, message=_("Sign in with your own account to add a family member."))
    name = _full_name(full_name)
    resident = _resident_id(id_number)
    if relationship not in Relationship.values:
        raise _invalid(_("Relationship must be one of: %(choices)s.") % {"choices": ", ".join(Relationship.values)},
                       "relationship")
    mobile = _mobile(phone) if phone else ""
    existing = Patient.objects.filter(id_number=resident.number).first()
    if existing is not None:
        # Outside the write's transaction, so the record of the attempt survives the refusal.
        access_log_record(user=proxy, patient=existing, action="dependant_add_refused",
                          reason="tried to add this ID number as a dependant")
        raise _cannot_add_dependant()
    try:
        with transaction.atomic():
            patient = _patient_from(resident, full_name=name, phone=mobile, address=address)
            stamp(patient, by=proxy, reason="added as dependant")
            patient.save()
            link = ProxyLink(proxy=proxy, patient=patient, relationship=relationship)
            stamp(link, by=proxy, reason="added as dependant")
            link.save()
            consent_rules.proxy_consent_grant(by=proxy, link=link)  # as the recorded guardian or family
    except IntegrityError:
        raise _cannot_add_dependant() from None
    return patient


def _cannot_add_dependant() -> DomainError:
    return DomainError(
        _("This person cannot be added as your dependant. If they already use the cloud hospital, ask them "
          "(or a family member who acts for them) to add you as a proxy."),
        code="cannot_add_dependant", field="id_number", kind=Kind.INVALID,
    )


@transaction.atomic
def proxy_add(*, by, patient: Patient, phone: str, relationship: str) -> ProxyLink:
    """Let another registered account act for `patient` (several children may share a parent)."""
    _require_manager(by, patient)
    if relationship not in Relationship.values:
        raise _invalid(_("Relationship must be one of: %(choices)s.") % {"choices": ", ".join(Relationship.values)},
                       "relationship")
    mobile = _mobile(phone)
    User = get_user_model()
    user = User.objects.filter(phone=mobile, is_active=True, role=Role.PATIENT).first()
    if user is None:
        raise _invalid(_("No patient account is registered with this phone number."), "phone", "unknown_account")
    if patient.account_id == user.pk:
        raise _invalid(_("That account is the patient's own."), "phone", "is_patient")
    link, created = ProxyLink.objects.get_or_create(
        proxy=user, patient=patient, defaults={"relationship": relationship}
    )
    if not created:
        raise DomainError(_("That account already acts for this patient."), code="already_proxy", field="phone")
    stamp(link, by=by, reason="proxy added")
    link.save()
    consent_rules.proxy_consent_grant(by=by, link=link)  # the patient, or for one without a login their guardian
    return link


@transaction.atomic
def proxy_remove(*, by, link: ProxyLink) -> None:
    """End a proxy's access. A dependant without a login must keep at least one proxy."""
    patient = Patient.objects.select_for_update().get(pk=link.patient_id)
    _require_manager(by, patient)
    if patient.account_id is None and patient.proxy_links.count() <= 1:
        raise DomainError(
            _("This is the patient's only proxy and the patient has no login of their own."),
            code="last_proxy",
        )
    stamp(link, by=by, reason="proxy removed")
    link.delete()


@transaction.atomic
def patient_update(*, by, patient: Patient, phone: str | None = None, address: str | None = None) -> Patient:
    """Change contact details. Name, ID number, birth date and sex follow the ID card and do not change here."""
    _require_manager(by, patient)
    if phone is not None:
        patient.phone = _mobile(phone) if phone else ""
    if address is not None:
        patient.address = address.strip()
    stamp(patient, by=by, reason="contact details changed")
    patient.save()
    return patient


def _require_manager(by, patient) -> None:
    require("consult.manage_patient", by, patient, message=_("Only the patient or their proxies may change this."))


def _require_record_writer(by, patient) -> None:
    require("consult.write_record", by, patient,
            message=_("Only the patient, their proxies or a doctor treating the patient may change this record."))


def _check_onset(onset_date, birth_date) -> None:
    if onset_date and (onset_date > timezone.localdate() or onset_date < birth_date):
        raise _invalid(_("The onset date must lie between the birth date and today."), "onset_date")


@transaction.atomic
def condition_add(*, by, patient: Patient, icd10_code: str, name: str = "", onset_date=None, status: str = "active",
                  diagnosed_institution: str = "", diagnosed_on=None) -> Condition:
    """Add a diagnosis to the problem list, with where and when it was diagnosed in person
    if known (consult.follow_up: what an online follow-up rests on)."""
    _require_record_writer(by, patient)
    code = icd10_clean(icd10_code)
    _check_onset(onset_date, patient.birth_date)
    offline = offline_diagnosis_clean({"diagnosed_institution": diagnosed_institution, "diagnosed_on": diagnosed_on},
                                      birth_date=patient.birth_date)
    condition = Condition(
        patient=patient, icd10_code=code, name=name.strip() or code, onset_date=onset_date, status=status, recorded_by=by,
        **offline,
    )
    stamp(condition, by=by, reason="condition added")
    condition.save()
    return condition


@transaction.atomic
def condition_update(*, by, condition: Condition, **changes) -> Condition:
    """Change a condition (most often: mark it resolved)."""
    _require_record_writer(by, condition.patient_id)
    if "icd10_code" in changes:
        changes["icd10_code"] = icd10_clean(changes["icd10_code"])
    if "onset_date" in changes:
        _check_onset(changes["onset_date"], condition.patient.birth_date)
    offline_diagnosis_clean(changes, birth_date=condition.patient.birth_date)
    for field, value in changes.items():
        setattr(condition, field, value)
    stamp(condition, by=by, reason="condition changed")
    condition.save()
    return condition


@transaction.atomic
def allergy_add(*, by, patient: Patient, substance: str, category: str = "drug", reaction: str = "", severity: str = "moderate") -> Allergy:
    """Record an allergy to a substance or a drug class."""
    _require_record_writer(by, patient)
    if not substance.strip():
        raise _invalid(_("Name the substance or drug class."), "substance", "required")
    allergy = Allergy(
        patient=patient, substance=substance.strip(), category=category, reaction=reaction.strip(),
        severity=severity, recorded_by=by,
    )
    stamp(allergy, by=by, reason="allergy added")
    allergy.save()
    return allergy


# What each kind of entry cannot be without, and how to say so.
REQUIRED_TEXT = {"substance": gettext_noop("Name the substance or drug class."), "name": gettext_noop("Name the medicine.")}


def _entry_change(entry, *, by, changes: dict, required: str, reason: str):
    """Apply `changes` to a health-record entry (text trimmed), refusing an emptied required field."""
    for field, value in changes.items():
        setattr(entry, field, value.strip() if isinstance(value, str) else value)
    if not getattr(entry, required):
        raise _invalid(_(REQUIRED_TEXT[required]), required, "required")
    stamp(entry, by=by, reason=reason)
    entry.save()
    return entry


@transaction.atomic
def allergy_update(*, by, allergy: Allergy, **changes) -> Allergy:
    """Change an allergy entry; the substance may not be emptied."""
    _require_record_writer(by, allergy.patient_id)
    return _entry_change(allergy, by=by, changes=changes, required="substance", reason="allergy changed")


def _medication_drug_code(drug_code: str, name: str) -> tuple[str, str]:
    """The checked formulary code and the name to keep: a code must name an active formulary
    drug (400 `drug_code`); with a code and no name the formulary's label is the name."""
    drug_code = (drug_code or "").strip()
    if not drug_code:
        return "", name
    entry = medications.formulary_entry(drug_code)
    if entry is None:
        raise _invalid(_("No drug with this code in the formulary."), "drug_code")
    return entry.code, name or entry.label[:80]


@transaction.atomic
def medication_add(*, by, patient: Patient, name: str = "", dose: str = "", frequency: str = "", started_on=None,
                   active: bool = True, drug_code: str = "") -> Medication:
    """Record a medicine the patient currently takes: a formulary drug (`drug_code`, see
    consult.medications) or, for what the formulary lacks, its name as free text."""
    _require_record_writer(by, patient)
    drug_code, name = _medication_drug_code(drug_code, (name or "").strip())
    if not name:
        raise _invalid(_("Name the medicine."), "name", "required")
    medication = Medication(
        patient=patient, name=name, drug_code=drug_code, dose=dose.strip(), frequency=frequency.strip(),
        started_on=started_on, active=active, recorded_by=by,
    )
    stamp(medication, by=by, reason="medication added")
    medication.save()
    return medication


@transaction.atomic
def medication_update(*, by, medication: Medication, **changes) -> Medication:
    """Change a medication entry (e.g. mark it stopped); the name may not be emptied, a new
    `drug_code` must be in the formulary."""
    _require_record_writer(by, medication.patient_id)
    if "drug_code" in changes:
        changes["drug_code"], name = _medication_drug_code(changes["drug_code"], (changes.get("name") or "").strip())
        if name:
            changes["name"] = name
    return _entry_change(medication, by=by, changes=changes, required="name", reason="medication changed")


@transaction.atomic
def observation_mark_entered_in_error(*, by, observation: Observation, reason: str) -> Observation:
    """Mark a reading entered in error (a typo, the wrong person's cuff): kept and visible in
    the record's history, left out of trends, summaries and safety checks from now on. Only
    the patient, their proxies or a treating doctor (403); a reason is required (400);
    marking twice is a 409."""
    observation = Observation.objects.select_for_update().get(pk=observation.pk)
    _require_record_writer(by, observation.patient_id)
    reason = (reason or "").strip()
    if not reason:
        raise _invalid(_("Say what was wrong with the reading."), "reason", "required")
    if observation.entered_in_error_at is not None:
        raise DomainError(_("This reading is already marked as entered in error."), code="already_entered_in_error")
    observation.entered_in_error_at, observation.entered_in_error_reason = timezone.now(), reason[:200]
    stamp(observation, by=by, reason=f"entered in error: {reason}")
    observation.save(update_fields=["entered_in_error_at", "entered_in_error_reason"])
    return observation


# What a reading's fields are called in a message.
RANGE_LABELS = {"systolic": gettext_noop("Systolic"), "diastolic": gettext_noop("Diastolic"),
                "pulse": gettext_noop("Pulse"), "value": gettext_noop("Value")}


def _check_range(value, field: str, low, high, unit: str) -> None:
    if value is not None and not (low <= value <= high):
        raise _invalid(
            _("%(what)s %(value)s %(unit)s is not plausible; expected %(low)s-%(high)s %(unit)s.")
            % {"what": _(RANGE_LABELS[field]), "value": value, "unit": unit, "low": low, "high": high},
            field, "implausible",
        )


def validate_blood_pressure(*, systolic: int | None, diastolic: int | None, pulse: int | None) -> None:
    """Refuse a reading that cannot be right: missing numbers, out of range, or diastolic >= systolic."""
    if systolic is None:
        raise _invalid(_("A blood-pressure reading needs the systolic value."), "systolic", "required")
    if diastolic is None:
        raise _invalid(_("A blood-pressure reading needs the diastolic value."), "diastolic", "required")
    _check_range(systolic, "systolic", *BP_LIMITS["systolic"], "mmHg")
    _check_range(diastolic, "diastolic", *BP_LIMITS["diastolic"], "mmHg")
    _check_range(pulse, "pulse", *BP_LIMITS["pulse"], "bpm")
    if diastolic >= systolic:
        raise _invalid(
            _("Diastolic (%(diastolic)s) must be lower than systolic (%(systolic)s); were the values swapped?")
            % {"diastolic": diastolic, "systolic": systolic},
            "diastolic",
            "implausible",
        )


@transaction.atomic
def observation_add(
    *,
    by,
    patient: Patient,
    kind: str,
    measured_at: datetime,
    source: str = ObservationSource.HOME,
    systolic: int | None = None,
    diastolic: int | None = None,
    pulse: int | None = None,
    value: Decimal | None = None,
) -> Observation:
    """Record a blood-pressure reading or a lab value after checking it is plausible.

    A reading in the future (beyond five minutes of clock skew) is refused.
    """
    _require_record_writer(by, patient)
    if measured_at > timezone.now() + timedelta(minutes=5):
        raise _invalid(_("The measurement time is in the future."), "measured_at")
    if kind == ObservationKind.BLOOD_PRESSURE:
        if value is not None:
            raise _invalid(_("A blood-pressure reading has no single value; send systolic and diastolic."), "value")
        validate_blood_pressure(systolic=systolic, diastolic=diastolic, pulse=pulse)
        unit = "mmHg"
    elif kind in LAB_LIMITS:
        if systolic is not None or diastolic is not None or pulse is not None:
            raise _invalid(_("A lab value takes `value` only."), "systolic")
        if value is None:
            raise _invalid(_("A lab result needs its value."), "value", "required")
        low, high = LAB_LIMITS[kind]
        _check_range(value, "value", low, high, Observation.UNITS[kind])
        unit = Observation.UNITS[kind]
    else:
        raise _invalid(_("Kind must be one of: %(choices)s.") % {"choices": ", ".join(ObservationKind.values)}, "kind")
    observation = Observation(
        patient=patient, kind=kind, systolic=systolic, diastolic=diastolic, pulse=pulse, value=value,
        unit=unit, measured_at=measured_at, source=source, recorded_by=by,
    )
    stamp(observation, by=by, reason=f"{kind} recorded")
    observation.save()
    return observation
