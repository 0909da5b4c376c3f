"""Follow-up only, on evidence, in a real browser (consult.follow_up): the doctor confirms in
the room which condition diagnosed offline the visit follows up, without reloading the call;
another visit is referred offline with a department, and the family reads the notice on
their Messages page. English pages; axe on each."""

import pytest

from consult import consultation as consult_rules
from consult.models import Consultation
from tests.consult.rooms import make_room
from tests.e2e.browser import DESKTOP, PHONE, assert_accessible, log_in, needs_browser, new_page, screenshot
from tests.factories import ConditionFactory

pytestmark = [*needs_browser, pytest.mark.django_db(transaction=True)]


def test_the_doctor_confirms_the_follow_up_in_the_room(asgi_server, browser):
    room = make_room(confirm_follow_up=False)
    ConditionFactory(patient=room.patient, icd10_code="E11.9", name="Type 2 diabetes", diagnosed_institution="",
                     diagnosed_on=None)
    doctor = new_page(browser, DESKTOP, locale="en-US")
    log_in(doctor, asgi_server, room.doctor_user.phone)
    doctor.goto(f"{asgi_server}/consult/{room.consultation.pk}/")
    doctor.wait_for_selector("#follow-up-missing")
    doctor.evaluate("window.__sameDocument = true")
    # A condition never diagnosed in person is refused at the field, in the card.
    diabetes = room.patient.conditions.get(icd10_code="E11.9")
    doctor.select_option("#id_condition", str(diabetes.pk))
    doctor.click("#confirm-follow-up")
    doctor.wait_for_selector("#follow-up >> text=has no record of where and when it was diagnosed")
    hypertension = room.patient.conditions.get(icd10_code="I10")
    doctor.select_option("#id_condition", str(hypertension.pk))
    doctor.click("#confirm-follow-up")
    doctor.wait_for_selector("#follow-up-confirmed")
    assert "I10" in doctor.text_content("#follow-up-confirmed")
    assert doctor.evaluate("window.__sameDocument") is True  # the call was not reloaded
    assert_accessible(doctor)
    screenshot(doctor, "doctor-follow-up-confirmed")
    assert Consultation.objects.get(pk=room.consultation.pk).follow_up_condition == hypertension


def test_a_referral_offline_names_the_department_and_the_family_is_told(asgi_server, browser):
    room = make_room()
    consult_rules.consultation_admit(by=room.doctor_user, consultation=room.consultation)
    doctor = new_page(browser, DESKTOP, locale="en-US")
    log_in(doctor, asgi_server, room.doctor_user.phone)
    doctor.goto(f"{asgi_server}/consult/{room.consultation.pk}/")
    doctor.click("#refer-offline summary")
    doctor.fill("#id_reason", "Chest pain since yesterday: this is not a follow-up, see a cardiologist today.")
    doctor.fill("#id_department", "Cardiology outpatients")
    doctor.click("#refer-offline-submit")
    doctor.wait_for_url("**/portal/**")
    consultation = Consultation.objects.get(pk=room.consultation.pk)
    assert (consultation.outcome, consultation.referral_department) == ("referred_offline", "Cardiology outpatients")

    family = new_page(browser, PHONE, locale="en-US")
    log_in(family, asgi_server, room.proxy.phone)
    family.goto(f"{asgi_server}/patient/notifications/")
    family.wait_for_selector("text=Cardiology outpatients")
    assert "Chest pain since yesterday" in family.content()
    assert_accessible(family)
    screenshot(family, "family-referred-offline-notice")
