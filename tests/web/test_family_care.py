"""The daughter finds care for her father, books, reschedules, meets a refusal, checks him in
and joins the video, in a real browser at phone width (and the pages at desktop width, in
elder mode), with an accessibility check on every page."""

from datetime import timedelta

import pytest
from django.db.models import F
from django.utils import timezone

from consult import consultation as consult_rules
from consult.models import Booking, BookingStatus, Consultation, Slot
from tests.e2e.browser import DESKTOP, PHONE, assert_accessible, log_in, needs_browser, new_page, screenshot, smallest_text_px
from tests.factories import (
    BookingFactory,
    ClinicFactory,
    ConditionFactory,
    DoctorFactory,
    HypertensionClinicFactory,
    SlotFactory,
)

pytestmark = [*needs_browser, pytest.mark.django_db(transaction=True)]


def _at(day_offset: int, hour: int, minute: int = 0):
    start = (timezone.localtime() + timedelta(days=day_offset)).replace(hour=hour, minute=minute, second=0, microsecond=0)
    return {"starts_at": start, "ends_at": start + timedelta(minutes=15)}


@pytest.fixture
def clinic_and_chen(family):
    _daughter, father = family
    ConditionFactory(patient=father, icd10_code="I10", name="原发性高血压")
    clinic = HypertensionClinicFactory(name="高血压云诊室", hospital__name="宁波市第一医院")
    general = ClinicFactory(hospital=clinic.hospital, name="全科云诊室")
    chen = DoctorFactory(hospital=clinic.hospital, clinics=[clinic, general], user__full_name="陈晓敏", fee=50)
    DoctorFactory(hospital=clinic.hospital, clinics=[general], user__full_name="王芳")
    return clinic, general, chen


def _check(page, name):
    assert_accessible(page)
    screenshot(page, f"family-care-{name}")


def test_daughter_books_reschedules_checks_in_and_joins_for_her_father(asgi_server, browser, family, clinic_and_chen):
    daughter, father = family
    clinic, general, chen = clinic_and_chen
    first = SlotFactory(doctor=chen, clinic=clinic, **_at(1, 9))
    second = SlotFactory(doctor=chen, clinic=clinic, **_at(1, 10))
    crowded = SlotFactory(doctor=chen, clinic=clinic, capacity=2, **_at(2, 9))
    soon_start = timezone.now() + timedelta(minutes=10)
    soon = BookingFactory(patient=father, slot=SlotFactory(doctor=chen, clinic=general, starts_at=soon_start,
                                                           ends_at=soon_start + timedelta(minutes=15)))
    page = new_page(browser, PHONE)
    log_in(page, asgi_server, daughter.account.phone)

    # She acts for her father (the banner on every family page), then finds Dr. Chen.
    page.goto(f"{asgi_server}/care/")
    page.select_option("#acting-for select", str(father.pk))
    try:  # the banner submits itself on change; its Switch button is the keyboard's way
        page.wait_for_function("() => document.querySelector('#acting-for strong')?.textContent.includes('张林')", timeout=3000)
    except Exception:  # playwright's TimeoutError (playwright is imported only when installed)
        with page.expect_navigation():
            page.locator("#acting-for button").click()
    assert "张林" in page.locator("#acting-for strong").inner_text()
    _check(page, "hospitals")
    page.fill("#care-q", "cxm")
    page.locator("form.care-search button").click()
    assert page.locator(f"[data-doctor='{chen.pk}']").is_visible()
    assert page.locator("[data-doctor]").count() == 1  # 王芳 is not found by cxm
    _check(page, "search")
    page.fill("#care-q", "高血压")
    page.locator("form.care-search button").click()
    page.locator(f"[data-clinic='{clinic.pk}'] a").click()
    assert page.locator(f"[data-follow-up='{clinic.pk}']").is_visible()  # said before she tries
    _check(page, "clinic")
    page.locator(f"[data-doctor='{chen.pk}'] a").click()
    profile = page.locator(".doctor-profile").inner_text()
    assert "主任医师" in profile and "50" in profile
    _check(page, "doctor")

    # She books the first slot: the queue number is shown.
    page.locator(f"[data-slot='{first.pk}'] a").click()
    assert "张林" in page.locator(".for-whom").inner_text()
    page.fill("#book-form textarea", "复诊开药，早上血压偏高")
    _check(page, "book")
    page.locator("#book-submit").click()
    booking = Booking.objects.get(patient=father, slot=first)
    assert page.locator("#queue-number").inner_text() == str(booking.queue_number) == "1"
    assert booking.booked_by == daughter.account
    _check(page, "booking")

    # She moves it an hour later.
    page.locator("[data-action='reschedule']").click()
    page.locator(f"label[for='slot-{second.pk}']").click()
    _check(page, "reschedule")
    page.locator("#reschedule-submit").click()
    page.wait_for_url(f"**/care/bookings/{booking.pk}/")
    booking.refresh_from_db()
    assert booking.slot_id == second.pk and booking.status == BookingStatus.BOOKED

    # Another visit two days on: the last place goes while she types; the refusal is plain.
    page.goto(f"{asgi_server}/care/doctors/{chen.pk}/?clinic={clinic.pk}")
    page.locator(f"[data-slot='{crowded.pk}'] a").click()
    Slot.objects.filter(pk=crowded.pk).update(booked=F("capacity"))
    page.fill("#book-form textarea", "复诊")
    page.locator("#book-submit").click()
    refusal = page.locator("#form-refusal")
    assert refusal.is_visible() and refusal.get_attribute("data-code") == "slot_full"
    assert "约满" in refusal.inner_text()  # the rule's own words, in Chinese
    assert page.locator("#book-form textarea").input_value() == "复诊"
    _check(page, "refusal")
    assert not Booking.objects.filter(patient=father, slot=crowded).exists()

    # My visits: his visits under his name; today's opens for check-in now.
    page.locator("nav.tabs a[href='/patient/']").click()
    father_section = page.locator(f"section[data-patient='{father.pk}']")
    assert father_section.locator(f"[data-booking='{booking.pk}']").is_visible()
    assert father_section.locator(f"[data-booking='{soon.pk}'] [data-action='check-in']").is_visible()
    _check(page, "visits")
    father_section.locator(f"[data-booking='{soon.pk}'] [data-action='check-in']").click()
    page.wait_for_url(f"**/care/bookings/{soon.pk}/waiting/")
    soon.refresh_from_db()
    assert soon.status == BookingStatus.CHECKED_IN
    assert page.locator("#waiting-status").get_attribute("data-ahead") == "0"
    _check(page, "waiting")
    # The doctor admits him: the waiting room (polled by htmx) says so without a reload.
    consultation = Consultation.objects.get(booking=soon)
    consult_rules.consultation_admit(by=chen.user, consultation=consultation)
    page.wait_for_selector("#waiting-status[data-status='in_consult']", timeout=20_000)
    page.locator("#join-video").click()
    page.wait_for_url(f"**/consult/{consultation.pk}/")


def test_visit_pages_at_desktop_in_elder_mode_with_the_countdown(asgi_server, browser, family, clinic_and_chen):
    daughter, father = family
    clinic, _general, chen = clinic_and_chen
    SlotFactory(doctor=chen, clinic=clinic, **_at(1, 9))
    start = timezone.now() + timedelta(minutes=90)
    later = BookingFactory(patient=father, slot=SlotFactory(doctor=chen, clinic=clinic, starts_at=start,
                                                            ends_at=start + timedelta(minutes=15)))
    daughter.account.large_text = True
    daughter.account.save(update_fields=["large_text"])
    page = new_page(browser, DESKTOP)
    log_in(page, asgi_server, daughter.account.phone)
    page.goto(f"{asgi_server}/patient/")
    card = page.locator(f"[data-booking='{later.pk}']")
    assert card.locator("[data-action='check-in']").count() == 0
    clock = card.locator(".countdown-clock")
    page.wait_for_function("el => /^\\d+(:\\d{2}){1,2}$/.test(el.textContent)", arg=clock.element_handle())
    assert smallest_text_px(page) >= 18
    _check(page, "visits-large")
    page.goto(f"{asgi_server}/care/doctors/{chen.pk}/")
    assert smallest_text_px(page) >= 18
    _check(page, "doctor-large")
