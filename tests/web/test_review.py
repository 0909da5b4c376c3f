"""The review pharmacist's workbench and the paper prescription's QR, in a real browser.

Li, the hospital's review pharmacist, lands on /review/, opens Dr. Chen's metformin
prescription for Zhang Lin (eGFR 48: a renal dose-cap warning the doctor overrode), rejects
it with a reason (a missing reason is refused at the field first), sees the doctor's
revision arrive by the queue's own poll with what changed, and approves it. Then the paper:
an anonymous phone opens the print page's QR link and sees "approved", signed by Dr. Chen,
and no medicine; the staff of the pharmacy holding the order see the items.
"""

from decimal import Decimal

import pytest

from cloudhospital.models import Role
from consult import consultation as consult_rules
from pharmacy import orders
from prescriptions import demo, lifecycle
from prescriptions.checks import expected_quantity
from prescriptions.lifecycle import ItemDraft
from prescriptions.models import PrescriptionStatus as S
from tests.consult.rooms import make_room
from tests.e2e.browser import (
    DESKTOP, PHONE, assert_accessible, log_in, needs_browser, new_page, screenshot, smallest_text_px,
)
from tests.factories import ConditionFactory, LabFactory, PharmacyFactory, PharmacyStaffFactory, StockFactory, UserFactory

pytestmark = [*needs_browser, pytest.mark.django_db(transaction=True)]
OVERRIDE = "血糖控制差，已与患者说明肾功能风险"
REJECTION = "eGFR 48：二甲双胍每日不超过 1500 mg，请减量"


def line(drugs, code, dose, frequency="qd", days=7) -> ItemDraft:
    drug = drugs[code]
    dose = Decimal(str(dose))
    return ItemDraft(drug=drug, dose=dose, dose_unit="mg", frequency=frequency, days_supply=days,
                     quantity=expected_quantity(drug=drug, dose=dose, dose_unit="mg", frequency=frequency, days_supply=days))


@pytest.fixture
def story():
    drugs = demo.seed()["drugs"]
    room = make_room()
    ConditionFactory(patient=room.patient, icd10_code="N18.3", name="Chronic kidney disease, stage 3")
    LabFactory(patient=room.patient, value=Decimal("48"))
    consultation = consult_rules.consultation_admit(by=room.doctor_user, consultation=room.consultation)
    draft = lifecycle.prescription_create(
        by=room.doctor_user, consultation=consultation, diagnosis=[{"code": "E11.9", "name": "2型糖尿病"}],
        items=[line(drugs, "METF-T500", 1000, "bid")]).prescription
    signed = lifecycle.prescription_sign(by=room.doctor_user, prescription=draft,
                                         overrides={"renal_dose_cap:0": OVERRIDE}).prescription
    pharmacist = UserFactory(role=Role.PHARMACIST, full_name="李审方")
    return room, drugs, signed, pharmacist


def test_review_reject_revise_approve_and_the_paper_qr(asgi_server, browser, story):
    room, drugs, signed, pharmacist = story

    # --- The pharmacist's workbench -------------------------------------------------------
    page = new_page(browser, DESKTOP, locale="en-US")
    log_in(page, asgi_server, pharmacist.phone)
    assert page.url.endswith("/review/")
    row = page.locator(f"#queue-row-{signed.pk}")
    assert room.patient.full_name in row.inner_text() and "waiting" in row.inner_text()
    assert_accessible(page)
    screenshot(page, "review-queue")
    row.get_by_role("link").click()
    finding = page.locator('[data-finding="renal_dose_cap:0"]')
    assert "Doctor's reason for overriding" in finding.inner_text() and OVERRIDE in finding.inner_text()
    assert "48" in page.locator("#fact-egfr").inner_text()
    assert "Valid:" in page.locator("#signature").inner_text()
    assert_accessible(page)
    screenshot(page, "review-detail")

    # A rejection without a reason is refused at the field; nothing changes.
    page.click("#reject")
    error = page.locator("#id_reject-reason-error")
    error.wait_for()
    assert "Say why" in error.inner_text()
    assert page.locator("#id_reject-reason").get_attribute("aria-invalid") == "true"
    signed.refresh_from_db()
    assert signed.status == S.SIGNED
    assert_accessible(page)
    screenshot(page, "review-reason-missing")
    page.fill("#id_reject-reason", REJECTION)
    page.click("#reject")
    page.locator("#decision-done").wait_for()
    assert "sent back to the doctor" in page.locator("#decision").inner_text()
    page.locator(f"#queue-row-{signed.pk}").wait_for(state="detached")  # the row left the queue beside it
    signed.refresh_from_db()
    assert signed.status == S.REJECTED and signed.review_reason == REJECTION and signed.reviewed_by == pharmacist

    # --- The doctor revises: a lower dose and amlodipine added ----------------------------
    page.goto(f"{asgi_server}/review/")
    assert page.locator(".empty-queue").is_visible()
    revised = lifecycle.prescription_revise(by=room.doctor_user, prescription=signed).prescription
    lifecycle.prescription_update(by=room.doctor_user, prescription=revised,
                                  items=[line(drugs, "METF-T500", 500, "bid"), line(drugs, "AMLO-T5", 5)])
    revised = lifecycle.prescription_sign(by=room.doctor_user, prescription=revised).prescription

    # The queue's own poll (every 10 s) brings the revision in, without a reload.
    new_row = page.locator(f"#queue-row-{revised.pk}")
    new_row.wait_for(timeout=15_000)
    assert "revision, version 2" in new_row.inner_text()
    new_row.get_by_role("link").click()
    changes = page.locator("#changes")
    assert REJECTION in changes.inner_text()
    assert page.locator('#changes [data-change="changed"]').count() == 1
    added = page.locator('#changes [data-change="added"]')
    assert added.count() == 1 and "Amlodipine" in added.inner_text()
    assert_accessible(page)
    screenshot(page, "review-revision-diff")
    page.click("#approve")
    page.locator("#decision-done").wait_for()
    assert "Prescription approved." in page.locator("#decision").inner_text()
    revised.refresh_from_db()
    assert revised.status == S.APPROVED and revised.reviewed_by == pharmacist

    # The same workbench on a phone, in Chinese.
    phone = new_page(browser, PHONE)
    log_in(phone, asgi_server, pharmacist.phone)
    phone.goto(f"{asgi_server}/review/{revised.pk}/")
    assert phone.locator("#changes").is_visible()
    assert_accessible(phone)
    screenshot(phone, "review-revision-diff")
    phone.click("button[name=large_text][value='1']")  # elder mode: nothing under 18 px
    phone.locator("html.large-text").wait_for()
    assert smallest_text_px(phone) >= 18
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]  # no sideways scrolling
    assert_accessible(phone)
    screenshot(phone, "review-large-text")

    # --- The paper: the print page's QR link --------------------------------------------
    family = new_page(browser, DESKTOP)
    log_in(family, asgi_server, room.proxy.phone)
    family.goto(f"{asgi_server}/prescriptions/{revised.pk}/print/")
    assert_accessible(family)
    link = family.locator(".qr").get_attribute("title")
    assert "/verify/" in link and str(revised.pk) in link

    for viewport in (PHONE, DESKTOP):
        anonymous = new_page(browser, viewport, locale="en-US")
        anonymous.goto(link)
        assert anonymous.locator("#verdict").get_attribute("data-valid") == "true"
        assert anonymous.locator("#rx-status").get_attribute("data-status") == "approved"
        assert "Approved" in anonymous.locator("#rx-status").inner_text()
        assert room.doctor_user.full_name in anonymous.locator("#rx-doctor").inner_text()
        assert "宁波市第一医院" in anonymous.locator("#rx-hospital").inner_text()
        body = anonymous.locator("body").inner_text()
        for word in ("Metformin", "二甲双胍", "Amlodipine", "氨氯地平", "2型糖尿病", room.patient.full_name):
            assert word not in body
        assert_accessible(anonymous)
        screenshot(anonymous, "paper-verify-anonymous")

    # A forged code: a clear page, 404.
    forged = new_page(browser, PHONE, locale="en-US")
    response = forged.goto(link[:-3] + "xyz/" if link.endswith("/") else link + "x")
    assert response.status == 404 and "Not a valid prescription code" in forged.locator("h1").inner_text()
    assert_accessible(forged)
    screenshot(forged, "paper-verify-forged")

    # --- The pharmacy holding the order sees the items ------------------------------------
    pharmacy = PharmacyFactory(name="康宁大药房（鼓楼店）")
    for code in ("METF-T500", "AMLO-T5"):
        StockFactory(pharmacy=pharmacy, drug=drugs[code], on_hand=100)
    orders.order_place(by=room.proxy, prescription=revised, kind="pickup", pharmacy=pharmacy)
    staff = PharmacyStaffFactory(pharmacy=pharmacy).user
    counter = new_page(browser, DESKTOP, locale="en-US")
    log_in(counter, asgi_server, staff.phone)
    counter.goto(link)
    items = counter.locator("#pharmacy-view")
    assert "Metformin" in items.inner_text() and "Amlodipine" in items.inner_text()
    assert room.patient.full_name in counter.locator("#rx-patient").inner_text()
    assert_accessible(counter)
    screenshot(counter, "paper-verify-pharmacy")
