"""The booking desk's demo data: Dr. Chen Xiaomin, the hypertension clinic, Zhang Lin's visit."""

from io import StringIO

import pytest
from django.core.management import call_command

from consult.models import Booking, Clinic, Doctor, Slot

pytestmark = pytest.mark.django_db


def test_seed_demo_adds_dr_chen_and_the_follow_up_only_hypertension_clinic_idempotently():
    call_command("seed_demo", stdout=StringIO())
    chen = Doctor.objects.get(user__phone="+8613900000010")
    assert chen.user.full_name.startswith("陈晓敏") and chen.get_title_display() == "主任医师" and chen.verified
    assert chen.hospital.name == "宁波市第一医院"
    clinic = Clinic.objects.get(hospital=chen.hospital, name="高血压云诊室")
    assert clinic.follow_up_only and clinic.treats("I10") and clinic.treats("I15.9") and not clinic.treats("I20")
    assert chen.schedule_templates.count() == 4
    assert Slot.objects.filter(doctor=chen).exists()
    booking = Booking.objects.get(slot__doctor=chen)
    assert "Zhang Lin" in booking.patient.full_name and booking.status == "booked"
    counts = (Doctor.objects.count(), Clinic.objects.count(), Slot.objects.count(), Booking.objects.count())
    call_command("seed_demo", stdout=StringIO())
    assert (Doctor.objects.count(), Clinic.objects.count(), Slot.objects.count(), Booking.objects.count()) == counts
