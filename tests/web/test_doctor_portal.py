"""The doctor's day in a real browser: the worklist updates by itself when a patient
checks in, the room opens from it with the chart beside the video, the patient is admitted
and the visit ends with advice and a follow-up interval; another visit is referred offline;
leave is added and lifted on "My schedule". Chinese by default; axe on every page."""

from datetime import timedelta

import pytest
from django.utils import timezone

from consult import booking as booking_rules
from consult import consultation as consult_rules
from consult.models import Consultation, LeaveBlock
from tests.consult.rooms import make_room
from tests.e2e.browser import DESKTOP, PHONE, assert_accessible, log_in, needs_browser, new_page, screenshot
from tests.factories import BloodPressureFactory, LabFactory
from tests.second_factor import admit_in_room, enrol

pytestmark = [*needs_browser, pytest.mark.django_db(transaction=True)]


def test_worklist_updates_room_chart_admit_and_end_with_advice(asgi_server, browser):
    room = make_room(checked_in=False, open_consultation=False)
    enrol(room.doctor_user)
    LabFactory(patient=room.patient, value=48, measured_at=timezone.now() - timedelta(days=200))
    for days in (1, 3, 6):
        BloodPressureFactory(patient=room.patient, measured_at=timezone.now() - timedelta(days=days))
    doctor = new_page(browser, DESKTOP)
    log_in(doctor, asgi_server, room.doctor_user.phone)
    doctor.goto(f"{asgi_server}/portal/?date={timezone.localtime(room.booking.slot.starts_at).date()}")
    row = f"tr[data-booking='{room.booking.pk}']"
    doctor.wait_for_selector(f"{row}[data-status='booked']")
    assert room.patient.full_name in doctor.text_content(row)
    assert_accessible(doctor)
    screenshot(doctor, "doctor-worklist")

    # The family checks in elsewhere: the row changes without a reload.
    doctor.evaluate("window.__sameDocument = true")
    booking_rules.booking_check_in(by=room.proxy, booking=room.booking)
    doctor.wait_for_selector(f"{row}[data-status='checked_in'] button.open-room", timeout=15_000)
    assert doctor.evaluate("window.__sameDocument") is True
    assert "进入诊室" in doctor.text_content(row)  # "Open room", in Chinese by default

    doctor.click(f"{row} button.open-room")
    doctor.wait_for_url("**/consult/*/")
    doctor.wait_for_selector("#chart-conditions >> text=I10")
    assert "flag" in doctor.get_attribute("#chart-egfr", "class")
    assert "200" in doctor.text_content("#chart-egfr")
    doctor.wait_for_selector("#chart circle.reading", state="attached")
    # Read the database only while the server is idle: SQLite's shared in-memory database
    # refuses a read while the server thread writes.
    consultation_id = int(doctor.url.rstrip("/").split("/")[-1])

    # The family joins the room; the doctor admits them over the socket, after the code from
    # the authenticator the room asks for (the doctor's identity before each consult).
    family = new_page(browser, PHONE)
    log_in(family, asgi_server, room.proxy.phone)
    family.goto(f"{asgi_server}/consult/{consultation_id}/")
    family.wait_for_function("window.consult && window.consult.ws && window.consult.ws.readyState === 1")
    admit_in_room(doctor, room.doctor_user)
    family.wait_for_function("window.consult.admitted === true", timeout=10_000)

    # The diagnosis found by pinyin initials fills a line.
    doctor.fill("#icd10-q", "gxy")
    doctor.click(".icd10-pick[data-code='I10']")
    assert doctor.input_value("#diagnosis-lines").startswith("I10 ")
    assert_accessible(doctor)
    screenshot(doctor, "doctor-room")
    phone = new_page(browser, PHONE)
    log_in(phone, asgi_server, room.doctor_user.phone)
    phone.goto(f"{asgi_server}/consult/{consultation_id}/")
    phone.wait_for_selector("#chart-conditions >> text=I10")
    assert_accessible(phone)
    screenshot(phone, "doctor-room")
    phone.goto(f"{asgi_server}/portal/")
    screenshot(phone, "doctor-worklist")
    phone.context.close()

    doctor.fill("#id_follow_up_advice", "低盐饮食，每天早晚各测一次血压。")
    doctor.select_option("#id_follow_up_interval_days", "14")
    doctor.click("#end-visit")
    doctor.wait_for_url("**/portal/**")
    doctor.wait_for_load_state("networkidle")
    consultation = Consultation.objects.get(pk=consultation_id)
    assert consultation.status == "ended" and consultation.outcome == "completed"
    assert consultation.follow_up_interval_days == 14 and consultation.follow_up_advice.startswith("低盐饮食")
    family.wait_for_function("window.consult.ended === true", timeout=10_000)
    doctor.wait_for_selector(f"{row}[data-status='completed']")


def test_refer_offline_needs_a_reason(asgi_server, browser):
    room = make_room()
    consult_rules.consultation_admit(by=room.doctor_user, consultation=room.consultation)
    doctor = new_page(browser, DESKTOP, locale="en-US")
    log_in(doctor, asgi_server, room.doctor_user.phone)
    doctor.goto(f"{asgi_server}/consult/{room.consultation.pk}/")
    doctor.click("#refer-offline summary")
    doctor.fill("#id_department", "Cardiology emergency")  # both are required; the reason is blank
    doctor.fill("#id_reason", "   ")
    doctor.click("#refer-offline-submit")
    doctor.wait_for_selector("#refer-offline .errorlist")
    doctor.wait_for_load_state("networkidle")
    assert Consultation.objects.get(pk=room.consultation.pk).status == "in_progress"
    doctor.fill("#id_reason", "Blood pressure 182/112 with headache: needs to be seen in person today.")
    doctor.fill("#id_department", "Cardiology emergency")
    assert_accessible(doctor)
    screenshot(doctor, "doctor-refer-offline")
    doctor.click("#refer-offline-submit")
    doctor.wait_for_url("**/portal/**")
    doctor.wait_for_load_state("networkidle")
    consultation = Consultation.objects.get(pk=room.consultation.pk)
    assert consultation.outcome == "referred_offline" and consultation.referral_reason.startswith("Blood pressure 182/112")


def test_schedule_add_and_lift_leave(asgi_server, browser):
    room = make_room()
    for viewport in (DESKTOP, PHONE):
        page = new_page(browser, viewport)
        log_in(page, asgi_server, room.doctor_user.phone)
        page.goto(f"{asgi_server}/portal/schedule/")
        page.wait_for_selector("#days-ahead tbody tr")
        assert_accessible(page)
        screenshot(page, "doctor-schedule")
        if viewport is PHONE:
            break
        day = timezone.localdate() + timedelta(days=3)
        page.fill("#id_starts_on", day.isoformat())
        page.fill("#id_ends_on", day.isoformat())
        page.fill("#id_reason", "学术会议")
        page.click("#add-leave")
        page.wait_for_selector("#leave-list >> text=学术会议")
        page.wait_for_load_state("networkidle")
        leave = LeaveBlock.objects.get(doctor=room.doctor)
        assert leave.starts_on == day
        assert page.locator(f"tr[data-day='{day.isoformat()}'].on-leave").count() == 1
        assert_accessible(page)
        page.click(f"li[data-leave='{leave.pk}'] button.lift-leave")
        page.wait_for_selector(f"li[data-leave='{leave.pk}']", state="detached")
        page.wait_for_load_state("networkidle")
        assert not LeaveBlock.objects.filter(pk=leave.pk).exists()
