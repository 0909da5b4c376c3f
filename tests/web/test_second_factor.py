"""The doctor's identity in a real browser: Dr. Chen presses Admit, the room asks for the code
from her authenticator, she types it and the patient is admitted; she prescribes, is told at the
code field that signing needs a code, types a fresh one and signs (互联网诊疗监管细则（试行）)."""

import pytest

from consult import consultation as consult_rules
from prescriptions import demo
from prescriptions.models import Prescription
from tests.consult.rooms import make_room
from tests.e2e.browser import DESKTOP, PHONE, assert_accessible, log_in, needs_browser, new_page, screenshot
from tests.second_factor import code_for, enrol
from tests.web.test_prescribing import _checked, _pick, _press

pytestmark = [*needs_browser, pytest.mark.django_db(transaction=True)]


def test_the_doctor_admits_after_entering_a_code_and_signs_with_another(asgi_server, browser):
    demo.seed()  # the real formulary
    room = make_room()
    enrol(room.doctor_user)
    cid = room.consultation.pk

    family = new_page(browser, PHONE)
    log_in(family, asgi_server, room.proxy.phone)
    family.goto(f"{asgi_server}/consult/{cid}/")
    family.wait_for_function("window.consult && window.consult.ws && window.consult.ws.readyState === 1")

    doctor = new_page(browser, DESKTOP)
    log_in(doctor, asgi_server, room.doctor_user.phone)
    doctor.goto(f"{asgi_server}/consult/{cid}/")
    doctor.wait_for_load_state("networkidle")
    doctor.wait_for_selector("#admit:not([disabled])", timeout=15_000)
    doctor.click("#admit")

    # No proof of this session yet: the room asks for the code instead of admitting.
    prompt = doctor.locator("#second-factor input[name=otp]")
    prompt.wait_for(timeout=15_000)
    assert doctor.locator("#second-factor").is_visible()
    assert "互联网诊疗监管细则（试行）" in doctor.text_content("#second-factor")
    assert doctor.evaluate("window.consult.admitted") is False
    assert_accessible(doctor)
    screenshot(doctor, "second-factor-admit-prompt")
    prompt.fill(code_for(room.doctor_user))
    doctor.click("#second-factor button")
    family.wait_for_function("window.consult.admitted === true", timeout=15_000)
    doctor.wait_for_function("window.consult.admitted === true", timeout=15_000)
    doctor.locator("#second-factor [role=status]").wait_for()

    # The visit's diagnosis, then the prescription on the panel.
    doctor.wait_for_load_state("networkidle")
    consult_rules.consultation_record(by=room.doctor_user, consultation=room.consultation,
                                      diagnosis=[{"code": "I10", "name": "原发性高血压"}])
    doctor.reload()
    doctor.locator("#rx-panel").wait_for()
    doctor.wait_for_load_state("networkidle")
    _pick(doctor, "aldp", "AMLO-T5")
    _checked(doctor, lambda: doctor.fill("#id_items-0-days_supply", "30"))
    doctor.locator("#rx-findings-state.rx-ok").wait_for()

    # Signing without a code is refused at the code field; the draft is kept.
    doctor.wait_for_load_state("networkidle")
    _press(doctor, "#rx-sign")
    doctor.locator("#rx-otp[aria-invalid='true']").wait_for()
    assert "验证码" in doctor.text_content("#rx-otp-error") or "code" in doctor.text_content("#rx-otp-error")
    assert Prescription.objects.get().status == "draft"
    screenshot(doctor, "second-factor-sign-refused")

    doctor.fill("#rx-otp", code_for(room.doctor_user))
    _press(doctor, "#rx-sign")
    doctor.locator(".rx-status[data-status='signed']").wait_for()
    assert Prescription.objects.get().status == "signed"
    assert_accessible(doctor)
