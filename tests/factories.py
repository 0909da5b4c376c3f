"""factory_boy factories. Sub-factories keep related objects consistent (a patient's ID
number agrees with their birth date and sex; a dependant has a proxy link)."""

from datetime import date, datetime, timedelta
from datetime import timezone as dt_timezone

import factory
from django.utils import timezone

from cloudhospital.identity import make_resident_id
from cloudhospital.models import Role, User
from consult.models import (
    Allergy,
    Condition,
    Medication,
    Observation,
    ObservationKind,
    Patient,
    ProxyLink,
)

PASSWORD = "correct-horse-battery-staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    phone = factory.Sequence(lambda n: f"+86139{n:08d}")
    full_name = factory.Sequence(lambda n: f"User {n}")
    role = Role.PATIENT
    password = factory.django.Password(PASSWORD)


def _birth(n: int) -> date:
    """A birth date between 1940 and 2020 that differs for every n below 29,200: a long
    session never makes a patient born in the future (whose record refuses every date)."""
    return date(1940, 1, 1) + timedelta(days=(37 * n) % (80 * 365))


class PatientFactory(factory.django.DjangoModelFactory):
    """An account holder: a login and their own patient profile."""

    class Meta:
        model = Patient
        skip_postgeneration_save = True

    class Params:
        seq = factory.Sequence(lambda n: n)

    account = factory.SubFactory(UserFactory, full_name=factory.SelfAttribute("..full_name"))
    full_name = factory.Sequence(lambda n: f"患者 Patient {n}")
    birth_date = factory.LazyAttribute(lambda o: _birth(o.seq))
    sex = factory.LazyAttribute(lambda o: "male" if o.seq % 2 else "female")
    id_number = factory.LazyAttribute(
        lambda o: make_resident_id(region="330203", birth_date=o.birth_date, sequence=o.seq, sex=o.sex)
    )
    phone = factory.LazyAttribute(lambda o: o.account.phone if o.account else "")

    @factory.post_generation
    def consent(obj, create, extracted, **kwargs):
        """The current online-care consent accepted (consult.consent); consent=False: not."""
        _accept_online_care_consent(obj, create, extracted)


def _accept_online_care_consent(patient, create, extracted) -> None:
    from consult.consent import consent_current
    from consult.models import ConsentAcceptance

    if not create or extracted is False:
        return
    link = None if patient.account else patient.proxy_links.select_related("proxy").first()
    by = patient.account or (link.proxy if link else None)
    current = consent_current()
    if by is not None and current is not None:
        ConsentAcceptance.objects.get_or_create(patient=patient, text=current, defaults={
            "accepted_by": by, "proxy_relationship": link.relationship if link else ""})


# From long ago, so that a test travelling back in time (time-machine) still finds it in force.
CONSENT_SINCE = datetime(2000, 1, 1, tzinfo=dt_timezone.utc)


class ProxyLinkFactory(factory.django.DjangoModelFactory):
    """A proxy link with a proxy consent in force (all scopes, open-ended); consent=False: none."""

    class Meta:
        model = ProxyLink
        skip_postgeneration_save = True

    proxy = factory.LazyFunction(lambda: PatientFactory().account)
    patient = factory.SubFactory(PatientFactory)
    relationship = "parent"

    @factory.post_generation
    def consent(obj, create, extracted, **kwargs):
        from consult.consent import ALL_SCOPES
        from consult.models import GrantorRole, ProxyConsent

        if not create or extracted is False:
            return
        own = obj.patient.account
        ProxyConsent.objects.create(link=obj, granted_by=own or obj.proxy, scope=list(ALL_SCOPES),
                                    grantor_role=GrantorRole.PATIENT if own else GrantorRole.GUARDIAN,
                                    starts_at=CONSENT_SINCE)


class DependantFactory(PatientFactory):
    """A patient without a login, managed by `proxy` (a new account holder's login by default)."""

    account = None

    class Meta:
        model = Patient
        skip_postgeneration_save = True

    @factory.post_generation
    def proxy(obj, create, extracted, **kwargs):
        if not create:
            return
        proxy_user = extracted or PatientFactory().account
        ProxyLinkFactory(proxy=proxy_user, patient=obj, relationship=kwargs.get("relationship", "parent"),
                         consent=kwargs.get("consent", True))

    # After the proxy link, so that the proxy accepts the consent on the dependant's behalf.
    consent = factory.PostGeneration(lambda obj, create, extracted, **kwargs: _accept_online_care_consent(obj, create, extracted))


class ConditionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Condition

    patient = factory.SubFactory(PatientFactory)
    icd10_code = "I10"
    name = "Essential hypertension"
    onset_date = date(2006, 4, 1)
    # Diagnosed in person, so an online consult may follow it up (consult.follow_up).
    diagnosed_institution = "宁波市第一医院"
    diagnosed_on = date(2006, 4, 1)


class AllergyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Allergy

    patient = factory.SubFactory(PatientFactory)
    substance = "Penicillin"
    category = "drug"
    reaction = "Rash"


class MedicationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Medication

    patient = factory.SubFactory(PatientFactory)
    name = "Amlodipine"
    dose = "5 mg"
    frequency = "qd"


class BloodPressureFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Observation

    patient = factory.SubFactory(PatientFactory)
    kind = ObservationKind.BLOOD_PRESSURE
    systolic = 148
    diastolic = 86
    pulse = 72
    unit = "mmHg"
    measured_at = factory.Sequence(lambda n: timezone.now() - timedelta(hours=n + 1))


class LabFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Observation

    patient = factory.SubFactory(PatientFactory)
    kind = ObservationKind.EGFR
    value = 48
    unit = "mL/min/1.73m2"
    source = "lab"
    measured_at = factory.LazyFunction(lambda: timezone.now() - timedelta(days=3))


# --- Formulary and pharmacies (pharmacy dispatch) ----------------------------------------


class DrugFactory(factory.django.DjangoModelFactory):
    """A formulary entry (amlodipine-like by default); override the class and doses as needed."""

    class Meta:
        model = "prescriptions.Drug"
        django_get_or_create = ["code"]

    code = factory.Sequence(lambda n: f"TST{n:04d}")
    generic_name = factory.Sequence(lambda n: f"Testdrug {n}")
    generic_name_zh = factory.Sequence(lambda n: f"测试药{n}")
    form = "tablet"
    strength = 5
    strength_unit = "mg"
    therapeutic_class = "dihydropyridine_ccb"
    usual_daily_dose = 5
    max_daily_dose = 10


class PharmacyFactory(factory.django.DjangoModelFactory):
    """A pharmacy in Haishu, Ningbo, open 08:00-22:00 every day unless `hours=[]` or a list
    of (weekday, opens, closes) is passed."""

    class Meta:
        model = "pharmacy.Pharmacy"
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"测试药房 Test Pharmacy {n}")
    licence_number = factory.Sequence(lambda n: f"浙CB57{n:05d}")
    address = "浙江省宁波市海曙区中山西路 1 号"
    district = "海曙区"
    latitude = 29.8683
    longitude = 121.5440
    delivers = False
    delivery_radius_km = 0

    class Params:
        delivering = factory.Trait(delivers=True, delivery_radius_km=8)

    @factory.post_generation
    def hours(obj, create, extracted, **kwargs):
        from datetime import time

        from pharmacy.models import OpeningHours

        if not create:
            return
        rows = extracted if extracted is not None else [(day, time(8), time(22)) for day in range(7)]
        OpeningHours.objects.bulk_create(
            [OpeningHours(pharmacy=obj, weekday=day, opens=opens, closes=closes) for day, opens, closes in rows]
        )


class StockFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "pharmacy.Stock"

    pharmacy = factory.SubFactory(PharmacyFactory)
    drug = factory.SubFactory(DrugFactory)
    on_hand = 100
    reserved = 0


class PharmacyStaffFactory(factory.django.DjangoModelFactory):
    """A pharmacist with a login, member of `pharmacy`."""

    class Meta:
        model = "pharmacy.PharmacyStaff"

    user = factory.SubFactory(UserFactory, role=Role.PHARMACIST)
    pharmacy = factory.SubFactory(PharmacyFactory)


# --- Booking desk: hospitals, clinics, doctors, slots, bookings -----------------------


class HospitalFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "consult.Hospital"

    name = factory.Sequence(lambda n: f"宁波市第{n + 1}医院 Hospital {n}")


class ClinicFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "consult.Clinic"

    hospital = factory.SubFactory(HospitalFactory)
    name = factory.Sequence(lambda n: f"全科云诊室 {n}")
    specialty = "general_practice"


class HypertensionClinicFactory(ClinicFactory):
    """The follow-up-only hypertension clinic: accepts patients with I10-I15 only."""

    name = factory.Sequence(lambda n: f"高血压云诊室 {n}")
    specialty = "cardiology"
    icd10_ranges = "I10-I15"
    follow_up_only = True


class DoctorFactory(factory.django.DjangoModelFactory):
    """A verified doctor (a doctor-role login). Works in `clinics` (a new clinic of their
    hospital unless given): DoctorFactory(hospital=clinic.hospital, clinics=[clinic])."""

    class Meta:
        model = "consult.Doctor"
        skip_postgeneration_save = True

    user = factory.SubFactory(UserFactory, role=Role.DOCTOR, full_name=factory.Sequence(lambda n: f"医生 Doctor {n}"))
    hospital = factory.SubFactory(HospitalFactory)
    title = "chief"
    licence_number = factory.Sequence(lambda n: f"110330200{n:06d}")
    verified = True
    fee = 30
    # Qualified to practise online (consult.doctors): ten years of independent practice.
    independent_practice_since = factory.LazyFunction(lambda: timezone.localdate() - timedelta(days=3650))
    practice_scope = "内科专业"

    @factory.post_generation
    def clinics(obj, create, extracted, **kwargs):
        if create:
            obj.clinics.add(*(extracted or [ClinicFactory(hospital=obj.hospital)]))

    @factory.post_generation
    def registered(obj, create, extracted, **kwargs):
        """Registered (多点执业) at their hospital and their clinics' hospitals, unless
        DoctorFactory(registered=False)."""
        if create and extracted is not False:
            from consult.models import DoctorRegistration

            hospitals = {obj.hospital_id, *obj.clinics.values_list("hospital_id", flat=True)}
            for hospital_id in hospitals:
                DoctorRegistration.objects.get_or_create(
                    doctor=obj, hospital_id=hospital_id, defaults={"registered_on": timezone.localdate() - timedelta(days=365)})


def doctor_in(clinic, **overrides):
    return DoctorFactory(hospital=clinic.hospital, clinics=[clinic], **overrides)


def _slot_start(n: int):
    """Tomorrow between 08:00 and 17:45 local time, whatever the time of day the suite runs
    and however many slots it made before: adding an hour stays on the same day."""
    tomorrow = timezone.localtime() + timedelta(days=1)
    return tomorrow.replace(hour=8, minute=0, second=0, microsecond=0) + timedelta(minutes=15 * (n % 40))


class SlotFactory(factory.django.DjangoModelFactory):
    """An open slot of a doctor in their clinic, tomorrow by default."""

    class Meta:
        model = "consult.Slot"

    doctor = factory.SubFactory(DoctorFactory)
    clinic = factory.LazyAttribute(lambda o: o.doctor.clinics.first())
    starts_at = factory.Sequence(_slot_start)
    ends_at = factory.LazyAttribute(lambda o: o.starts_at + timedelta(minutes=15))
    capacity = 5
    fee = 30


class BookingFactory(factory.django.DjangoModelFactory):
    """A booking written directly (no rules): for setting up states in tests. Takes a place."""

    class Meta:
        model = "consult.Booking"

    slot = factory.SubFactory(SlotFactory)
    patient = factory.SubFactory(PatientFactory)
    booked_by = factory.LazyAttribute(lambda o: o.patient.account or o.patient.proxy_links.first().proxy)
    queue_number = factory.LazyAttribute(lambda o: o.slot.bookings.count() + 1)
    reason = "复诊开药 repeat prescription"

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        from django.db.models import F

        booking = super()._create(model_class, *args, **kwargs)
        if booking.status in ("booked", "checked_in", "in_consult"):
            type(booking.slot).objects.filter(pk=booking.slot_id).update(booked=F("booked") + 1)
            booking.slot.refresh_from_db()
        return booking


# --- Prescriptions written directly and pharmacy orders -----------------------------------


class ConsultationFactory(factory.django.DjangoModelFactory):
    """An ended consultation of a booking (written directly), confirmed by its doctor as a
    follow-up (of the patient's first active condition, if any), so prescriptions rest on it."""

    class Meta:
        model = "consult.Consultation"

    booking = factory.SubFactory(BookingFactory, status="completed")
    status = "ended"
    ended_at = factory.LazyFunction(timezone.now)
    follow_up_condition = factory.LazyAttribute(lambda o: o.booking.patient.conditions.filter(status="active").first())
    follow_up_confirmed_by = factory.LazyAttribute(lambda o: o.booking.slot.doctor.user)
    follow_up_confirmed_at = factory.LazyFunction(timezone.now)


class ApprovedPrescriptionFactory(factory.django.DjangoModelFactory):
    """An approved prescription for `patient`, written directly (no safety checks) but really
    signed with the doctor's Ed25519 key, so it verifies. `items=[(drug, quantity), ...]`
    (one drug by default)."""

    class Meta:
        model = "prescriptions.Prescription"
        skip_postgeneration_save = True

    patient = factory.SubFactory(PatientFactory)
    consultation = factory.LazyAttribute(lambda o: ConsultationFactory(booking__patient=o.patient))
    doctor = factory.LazyAttribute(lambda o: o.consultation.booking.slot.doctor.user)
    status = "approved"
    diagnosis = factory.LazyFunction(lambda: [{"code": "I10", "name": "原发性高血压"}])
    signed_at = factory.LazyFunction(timezone.now)
    issued_at = factory.SelfAttribute("signed_at")
    expires_at = factory.LazyAttribute(lambda o: o.signed_at + timedelta(days=3))
    reviewed_at = factory.SelfAttribute("signed_at")
    signature = "pending"
    key_id = "pending"

    @factory.post_generation
    def items(obj, create, extracted, **kwargs):
        from prescriptions.lifecycle import content_hash
        from prescriptions.models import PrescriptionItem
        from prescriptions.selectors import signed_content
        from prescriptions.signing import canonical_content, content_sign

        if not create:
            return
        for position, (drug, quantity) in enumerate(extracted or [(DrugFactory(), 14)]):
            PrescriptionItem.objects.create(
                prescription=obj, position=position, drug=drug, dose=5, dose_unit="mg", frequency="qd",
                days_supply=quantity, quantity=quantity,
            )
        content = canonical_content(signed_content(obj))
        obj.key_id, obj.signature = content_sign(signer=obj.doctor, content=content)
        obj.content_hash, obj.signed_content = content_hash(content), content
        obj.save()


def pos(pharmacy):
    """A pharmacy's point-of-sale system as the actor of a step: the principal of a fresh
    API token of `pharmacy`, as PharmacyTokenAuthentication gives the views."""
    from cloudhospital.permissions import SYSTEM
    from pharmacy.access import token_create
    from pharmacy.authentication import PharmacyTokenUser

    token, _ = token_create(pharmacy=pharmacy, name="tests POS", by=SYSTEM)
    return PharmacyTokenUser(token)
