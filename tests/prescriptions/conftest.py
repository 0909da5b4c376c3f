from decimal import Decimal

import pytest

from cloudhospital.models import Role
from prescriptions import demo
from prescriptions.checks import ItemInput, expected_quantity
from tests.factories import AllergyFactory, ConditionFactory, DependantFactory, LabFactory, UserFactory


@pytest.fixture
def formulary(db) -> dict:
    """The real seeded formulary, by code."""
    return demo.seed()["drugs"]


@pytest.fixture
def zhang_lin(db):
    """84-year-old with hypertension and CKD 3, eGFR 48, allergic to the sulfonamide class."""
    patient = DependantFactory(full_name="张林 Zhang Lin")
    ConditionFactory(patient=patient, icd10_code="I10", name="Essential hypertension 原发性高血压")
    ConditionFactory(patient=patient, icd10_code="N18.3", name="Chronic kidney disease, stage 3")
    AllergyFactory(patient=patient, substance="Sulfonamides 磺胺类", category="drug_class")
    LabFactory(patient=patient, value=Decimal("48"))
    return patient


@pytest.fixture
def doctor(db):
    return UserFactory(role=Role.DOCTOR, full_name="陈晓敏 Chen Xiaomin")


@pytest.fixture
def item():
    """item(drug, dose, frequency="qd", days=7, position=0, unit="mg", quantity=None) -> ItemInput
    with the matching quantity unless one is given."""

    def make(drug, dose, frequency="qd", days=7, position=0, unit="mg", quantity=None):
        dose = Decimal(str(dose))
        if quantity is None:
            quantity = expected_quantity(drug=drug, dose=dose, dose_unit=unit, frequency=frequency, days_supply=days)
        return ItemInput(position=position, drug=drug, dose=dose, dose_unit=unit, frequency=frequency,
                         days_supply=days, quantity=quantity)

    return make


# --- Prescriptions: a consultation in progress and the people around it -----------------
@pytest.fixture
def room(db, formulary):
    """Dr. Chen's consultation with Zhang Lin in progress: hypertension and CKD 3 (eGFR 48)
    on record; his daughter is his proxy."""
    from consult import consultation as consult_rules
    from tests.consult.rooms import make_room

    room = make_room()
    ConditionFactory(patient=room.patient, icd10_code="N18.3", name="Chronic kidney disease, stage 3")
    LabFactory(patient=room.patient, value=Decimal("48"))
    room.consultation = consult_rules.consultation_admit(by=room.doctor_user, consultation=room.consultation)
    return room


@pytest.fixture
def review_pharmacist(db):
    """The hospital's review pharmacist (审方药师): pharmacist role, no pharmacy membership."""
    return UserFactory(role=Role.PHARMACIST, full_name="李审方 Li Shenfang")


@pytest.fixture
def line(formulary):
    """line(code, dose, frequency="qd", days=7, unit="mg", **extra) -> an ItemDraft with the matching quantity."""
    from prescriptions.lifecycle import ItemDraft

    def make(code, dose, frequency="qd", days=7, unit="mg", quantity=None, **extra):
        drug = formulary[code]
        dose = Decimal(str(dose))
        if quantity is None:
            quantity = expected_quantity(drug=drug, dose=dose, dose_unit=unit, frequency=frequency, days_supply=days)
        return ItemDraft(drug=drug, dose=dose, dose_unit=unit, frequency=frequency, days_supply=days,
                         quantity=quantity, **extra)

    return make


@pytest.fixture
def write(room, line):
    """write(*items, sign=False, overrides=None) -> a prescription by Dr. Chen for Zhang Lin
    (amlodipine 5 mg qd × 7 days unless items are given), signed when asked."""
    from prescriptions import lifecycle

    def make(*items, sign=False, overrides=None, diagnosis=None, long_term=False):
        items = items or (line("AMLO-T5", 5),)
        saved = lifecycle.prescription_create(
            by=room.doctor_user, consultation=room.consultation, items=list(items), long_term=long_term,
            diagnosis=diagnosis or [{"code": "I10", "name": "原发性高血压"}],
        )
        prescription = saved.prescription
        if sign:
            prescription = lifecycle.prescription_sign(by=room.doctor_user, prescription=prescription,
                                                       overrides=overrides).prescription
        return prescription

    return make
