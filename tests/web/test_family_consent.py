"""The daughter books her father's first online visit: the informed consent (知情同意书) is
shown first, she agrees on his behalf, and the booking form follows; in a real browser at
phone width, with an accessibility check on the consent page."""

from datetime import timedelta

import pytest
from django.utils import timezone

from consult.models import Booking, ConsentAcceptance
from tests.e2e.browser import PHONE, assert_accessible, log_in, needs_browser, new_page
from tests.factories import ConditionFactory, DependantFactory, DoctorFactory, HypertensionClinicFactory, PatientFactory, SlotFactory

pytestmark = [*needs_browser, pytest.mark.django_db(transaction=True)]


def test_daughter_agrees_to_the_consent_for_her_father_then_books(asgi_server, browser):
    daughter = PatientFactory(full_name="张薇 Zhang Wei")
    father = DependantFactory(full_name="张林 Zhang Lin", proxy=daughter.account, consent=False)
    ConditionFactory(patient=father, icd10_code="I10", name="原发性高血压")
    clinic = HypertensionClinicFactory(name="高血压云诊室", hospital__name="宁波市第一医院")
    chen = DoctorFactory(hospital=clinic.hospital, clinics=[clinic], user__full_name="陈晓敏")
    start = (timezone.localtime() + timedelta(days=1)).replace(hour=9, minute=0, second=0, microsecond=0)
    slot = SlotFactory(doctor=chen, clinic=clinic, starts_at=start, ends_at=start + timedelta(minutes=15))
    page = new_page(browser, PHONE)
    log_in(page, asgi_server, daughter.account.phone)
    page.goto(f"{asgi_server}/care/")
    page.select_option("#acting-for select", str(father.pk))
    try:
        page.wait_for_function("() => document.querySelector('#acting-for strong')?.textContent.includes('张林')", timeout=3000)
    except Exception:  # playwright's TimeoutError
        with page.expect_navigation():
            page.locator("#acting-for button").click()

    page.goto(f"{asgi_server}/care/slots/{slot.pk}/book/")
    assert "知情同意书" in page.locator("h1").inner_text()
    text = page.locator("#consent-text").inner_text()
    assert "复诊" in text and "120" in text
    assert "张林" in page.locator(".for-whom").inner_text()
    assert_accessible(page)
    page.locator("#consent-accept").click()  # without ticking: told at the box
    assert page.locator("#agree-error").is_visible()
    page.locator("#consent-form input[type=checkbox]").check()
    page.locator("#consent-accept").click()
    page.fill("#book-form textarea", "复诊开药")
    page.locator("#book-submit").click()
    page.wait_for_url("**/care/bookings/*/")
    assert Booking.objects.filter(patient=father, slot=slot).exists()
    acceptance = ConsentAcceptance.objects.get(patient=father)
    assert acceptance.accepted_by == daughter.account and acceptance.on_behalf
    page.close()
