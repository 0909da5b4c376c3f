"""The doctor prescribes in a real browser: Dr. Chen, in the consultation room with Zhang Lin
(84, hypertension and CKD 3, eGFR 48 on record), finds amlodipine by its pinyin initials,
adds ibuprofen and sees the renal warning as she types, gives her reason, signs and opens the
print preview; the review pharmacist rejects it, the portal tells her why, and she revises
and signs the new version."""

from datetime import date, timedelta
from decimal import Decimal

import pytest

from consult import consultation as consult_rules
from prescriptions import demo, lifecycle
from prescriptions.models import Prescription
from tests.consult.rooms import make_room
from tests.e2e.browser import DESKTOP, PHONE, assert_accessible, log_in, needs_browser, new_page, screenshot
from tests.factories import ConditionFactory, LabFactory, UserFactory
from tests.second_factor import code_for, enrol

pytestmark = [*needs_browser, pytest.mark.django_db(transaction=True)]


def _zhang_lins_visit():
    demo.seed()  # the real formulary
    room = make_room()
    today = date.today()
    room.patient.birth_date = today.replace(year=today.year - 84) - timedelta(days=30)
    room.patient.full_name = "张林"
    room.patient.save()
    ConditionFactory(patient=room.patient, icd10_code="N18.3", name="Chronic kidney disease, stage 3")
    LabFactory(patient=room.patient, value=Decimal("48"))
    room.consultation = consult_rules.consultation_admit(by=room.doctor_user, consultation=room.consultation)
    enrol(room.doctor_user)  # the doctor's authenticator: signing takes its code
    room.consultation = consult_rules.consultation_record(
        by=room.doctor_user, consultation=room.consultation,
        diagnosis=[{"code": "I10", "name": "原发性高血压"}, {"code": "N18.3", "name": "慢性肾脏病3期"}])
    return room


def _pick(page, query: str, code: str) -> None:
    """Type in the formulary search and pick the drug with the keyboard."""
    search = page.locator("#rx-drug-q")
    search.fill(query)
    page.locator(f"#rx-drug-results button[data-code='{code}']").wait_for()
    search.focus()
    page.keyboard.press("ArrowDown")
    focused = page.evaluate("() => document.activeElement.dataset.code")
    if focused != code:  # not the first result: walk down to it
        for _ in range(10):
            page.keyboard.press("ArrowDown")
            if page.evaluate("() => document.activeElement.dataset.code") == code:
                break
    page.keyboard.press("Enter")
    page.locator(f"#rx-panel fieldset[data-drug='{code}']").wait_for()
    page.wait_for_load_state("networkidle")


def _checked(page, action) -> None:
    """Do `action` (typing in a line) and wait for the live safety check it triggers: the
    test database is SQLite, where two writes at once (access-log rows) collide.

    Known flake, not yet explained: late in the full PostgreSQL run (never alone, never on
    SQLite) the edit right after a line was added has twice sent no check at all; htmx
    silently drops a request whose element left the page, the likeliest cause. The doctor's
    next edit checks again and signing re-checks on the server, so nothing unsafe is signed;
    the test repeats the edit once, as the doctor would, instead of failing on it."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    is_check = lambda response: "/prescribing/check/" in response.url  # noqa: E731
    try:
        with page.expect_response(is_check, timeout=7_000):
            action()
    except PlaywrightTimeout:
        with page.expect_response(is_check):
            action()


def _press(page, selector: str) -> None:
    """Activate a button with the keyboard, as a doctor without a mouse would."""
    page.locator(selector).focus()
    page.keyboard.press("Enter")


def _smallest_text_px_in(page, selector: str) -> float:
    """smallest_text_px (tests/e2e/browser.py), within this area's own part of the page."""
    return page.evaluate("""(selector) => {
        let smallest = Infinity;
        for (const el of document.querySelector(selector).querySelectorAll('*')) {
            const style = getComputedStyle(el);
            if (style.display === 'none' || style.visibility === 'hidden') continue;
            const ownText = [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
            if (!ownText || !el.getClientRects().length) continue;
            smallest = Math.min(smallest, parseFloat(style.fontSize));
        }
        return smallest;
    }""", selector)


def test_the_doctor_prescribes_signs_and_revises_after_a_rejection(asgi_server, browser):
    room = _zhang_lins_visit()
    page = new_page(browser, DESKTOP)
    log_in(page, asgi_server, room.doctor_user.phone)
    page.goto(f"{asgi_server}/consult/{room.consultation.pk}/")
    panel = page.locator("#rx-panel")
    panel.wait_for()
    # The room loads its parts at once (chart, record, chat); let them finish before typing:
    # the test database is SQLite, where concurrent writes (access-log rows) can collide.
    page.wait_for_load_state("networkidle")
    assert "I10" in panel.locator(".rx-diagnosis").inner_text()
    assert page.locator("#prescribing").get_attribute("aria-busy") is None  # loaded: no longer busy

    # Amlodipine by its pinyin initials; 5 mg once daily for 30 days is 30 tablets.
    _pick(page, "aldp", "AMLO-T5")
    assert page.evaluate("() => document.activeElement.id") == "id_items-0-dose"  # ready to type the dose
    _checked(page, lambda: page.fill("#id_items-0-days_supply", "30"))
    page.locator("#rx-qty-0", has_text="30").wait_for()
    page.locator("#rx-findings-state.rx-ok").wait_for()

    # Ibuprofen three times a day: 900 mg/day is above the 600 mg cap at eGFR 48.
    _pick(page, "blf", "IBUP-SR300")
    _checked(page, lambda: page.select_option("#id_items-1-frequency", "tid"))
    _checked(page, lambda: page.fill("#id_items-1-days_supply", "5"))
    warning = page.locator("li.rx-finding[data-code='renal_dose_cap']")
    warning.wait_for()
    assert warning.get_attribute("data-severity") == "warn"
    assert "布洛芬缓释胶囊" in warning.inner_text()  # which line it concerns, by name
    page.locator("#rx-qty-1", has_text="15").wait_for()
    assert page.locator("#rx-sign").is_enabled()
    screenshot(page, "prescribing-warning")
    assert_accessible(page)

    # Signing without the reason is refused next to the reason field.
    page.wait_for_load_state("networkidle")
    _press(page, "#rx-sign")
    page.locator("#rx-override-renal_dose_cap-1[aria-invalid='true']").wait_for()
    assert page.locator("#rx-override-renal_dose_cap-1-error").inner_text().strip()
    assert Prescription.objects.get().status == "draft"

    page.fill("#rx-override-renal_dose_cap-1", "短期止痛3天，复查肾功能")
    # Signed in person: the code from the doctor's authenticator, in the same request.
    page.fill("#rx-otp", code_for(room.doctor_user))
    _press(page, "#rx-sign")
    page.locator(".rx-status[data-status='signed']").wait_for()
    assert page.locator("#rx-notice").is_visible()
    prescription = Prescription.objects.get()
    assert prescription.status == "signed"
    assert prescription.override_reasons == {"renal_dose_cap:1": "短期止痛3天，复查肾功能"}
    assert [(i.drug.code, i.quantity) for i in prescription.items.order_by("position")] == [
        ("AMLO-T5", 30), ("IBUP-SR300", 15)]
    screenshot(page, "prescribing-signed")
    assert_accessible(page)

    # The print preview opens from the panel.
    href = page.get_attribute("#rx-print", "href")
    preview = page.context.new_page()
    response = preview.goto(f"{asgi_server}{href}" if href.startswith("/") else href)
    assert response.status == 200
    assert "苯磺酸氨氯地平片" in preview.content()
    preview.close()

    # The review pharmacist sends it back.
    pharmacist = UserFactory(role="pharmacist", full_name="李审方")
    lifecycle.prescription_reject(by=pharmacist, prescription=prescription, reason="布洛芬不宜用于慢性肾病患者，请更换")

    # On the phone, in elder mode (large text): the portal says why, and the doctor revises
    # from the room.
    room.doctor_user.large_text = True
    room.doctor_user.save(update_fields=["large_text"])
    phone = new_page(browser, PHONE)
    log_in(phone, asgi_server, room.doctor_user.phone)
    phone.goto(f"{asgi_server}/portal/")
    notice = phone.locator("#rx-notices")
    notice.wait_for()
    assert "布洛芬不宜用于慢性肾病患者，请更换" in notice.inner_text()
    assert "张林" in notice.inner_text()
    assert _smallest_text_px_in(phone, "#rx-notices") >= 18
    screenshot(phone, "prescribing-portal-notice")
    assert_accessible(phone)
    notice.locator("a.rx-revise-link").click()
    phone.locator("#rx-rejection").wait_for()
    phone.wait_for_load_state("networkidle")
    assert "布洛芬不宜用于慢性肾病患者" in phone.locator("#rx-rejection").inner_text()
    screenshot(phone, "prescribing-rejected")
    _press(phone, "#rx-revise")
    phone.locator("#rx-previous-rejection").wait_for()
    phone.wait_for_load_state("networkidle")
    _press(phone, "#rx-item-1 .rx-remove")
    phone.locator("#rx-panel fieldset[data-drug='IBUP-SR300']").wait_for(state="detached")
    phone.locator("#rx-findings-state.rx-ok").wait_for()
    assert _smallest_text_px_in(phone, "#rx-panel") >= 18
    screenshot(phone, "prescribing-revision")
    assert_accessible(phone)
    phone.wait_for_load_state("networkidle")
    phone.fill("#rx-otp", code_for(room.doctor_user))
    _press(phone, "#rx-sign")
    phone.locator(".rx-status[data-status='signed']").wait_for()

    revision = Prescription.objects.get(previous=prescription)
    assert (revision.version, revision.status) == (2, "signed")
    assert [i.drug.code for i in revision.items.all()] == ["AMLO-T5"]
    prescription.refresh_from_db()
    assert prescription.status == "rejected"
    # Revised: the notice is gone.
    phone.goto(f"{asgi_server}/portal/")
    phone.wait_for_load_state("networkidle")
    assert phone.locator("#rx-notices").count() == 0
