"""Seed a throwaway server's database for the fault tests and print what they need as JSON:
`python tests/faults/seed.py` with the server's environment."""

import io
import json
import os
import sys
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def main() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cloudhospital.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.utils import timezone

    from cloudhospital.models import User
    from cloudhospital.tokens import token_issue
    from consult import consultation as consult_rules
    from consult.models import Booking, Clinic, Doctor, Patient, Slot
    from pharmacy.models import Pharmacy, Stock
    from prescriptions.models import Drug
    from tests.factories import ApprovedPrescriptionFactory, ConditionFactory, DependantFactory, PatientFactory, UserFactory

    # The factories' numbering starts where the demo's phones and ID numbers do not reach.
    UserFactory.reset_sequence(50_000_000)
    PatientFactory.reset_sequence(5_000)

    call_command("seed_demo", stdout=io.StringIO())
    daughter = User.objects.get(phone="+8613800000001")
    doctor = Doctor.objects.get(user__phone="+8613900000010")
    zhang_lin = Patient.objects.get(full_name__startswith="张林")
    clinic = Clinic.objects.get(name="高血压云诊室")
    start = timezone.now() + timedelta(minutes=10)  # inside the 30-minute reminder window
    soon = Slot.objects.create(doctor=doctor, clinic=clinic, starts_at=start, ends_at=start + timedelta(minutes=15),
                               capacity=5, fee=50)
    # Zhang Lin already has today's demo visit in this clinic (one a day); the fault tests book
    # the soon slot for his wife, whom the daughter also acts for (hypertensive too: the clinic
    # takes follow-up visits only).
    mother = DependantFactory(full_name="李秀英 Li Xiuying", proxy=daughter)
    ConditionFactory(patient=mother, icd10_code="I10")
    booking = Booking.objects.filter(patient=zhang_lin).first()
    consultation = consult_rules.consultation_open(by=daughter, booking=booking)
    gulou = Pharmacy.objects.get(licence_number="浙CB5740101")
    drug = Drug.objects.get(code="AMLO-T5")
    Stock.objects.update_or_create(pharmacy=gulou, drug=drug, defaults={"on_hand": 500, "reserved": 0})
    prescription = ApprovedPrescriptionFactory(patient=zhang_lin, items=[(drug, 14)])
    print(json.dumps({
        "family_token": token_issue(user=daughter).key,
        "doctor_token": token_issue(user=doctor.user).key,
        "patient": mother.pk, "soon_slot": soon.pk, "consultation": consultation.pk,
        "prescription": prescription.pk, "pharmacy": gulou.pk,
    }))


if __name__ == "__main__":
    main()
