"""The daughter gets her father's medicine in a real browser: the visit summary, home delivery
followed to the door without reloading the page, and pickup at the nearest pharmacy that
has everything with the pickup code once it is ready. Phone width first, desktop too; an
accessibility check on every page."""

import re

import pytest

from pharmacy import orders
from pharmacy.models import Order, OrderStatus
from tests.e2e.browser import (
    DESKTOP,
    PHONE,
    assert_accessible,
    log_in,
    needs_browser,
    new_page,
    screenshot,
    smallest_text_px,
)
from tests.factories import (
    ApprovedPrescriptionFactory,
    DependantFactory,
    DrugFactory,
    PatientFactory,
    PharmacyFactory,
    PharmacyStaffFactory,
    StockFactory,
)

pytestmark = [*needs_browser, pytest.mark.django_db(transaction=True)]

# Zhang Lin's home near the Drum Tower (鼓楼), Haishu, Ningbo.
HOME = {"latitude": 29.8760, "longitude": 121.5470}
KM_PER_DEG_LAT = 111.2


def _north(km: float) -> dict:
    return {"latitude": HOME["latitude"] + km / KM_PER_DEG_LAT, "longitude": HOME["longitude"]}


def _family_with_approved_prescription():
    daughter = PatientFactory(full_name="张薇")
    father = DependantFactory(full_name="张林", proxy=daughter.account, address="浙江省宁波市海曙区公园路 18 弄 2 号 301 室")
    amlodipine = DrugFactory(code="AML5", generic_name="Amlodipine", generic_name_zh="氨氯地平")
    valsartan = DrugFactory(code="VAL80", generic_name="Valsartan", generic_name_zh="缬沙坦", therapeutic_class="arb")
    rx = ApprovedPrescriptionFactory(patient=father, items=[(amlodipine, 14), (valsartan, 28)])
    consultation = rx.consultation
    consultation.diagnosis = [{"code": "I10", "name": "原发性高血压"}]
    consultation.follow_up_advice = "低盐饮食，每天早晨测量血压。Low-salt diet; measure every morning."
    consultation.save()
    return daughter.account, father, rx, (amlodipine, valsartan)


def _stocked(drugs, **fields):
    pharmacy = PharmacyFactory(**fields)
    for drug in drugs:
        StockFactory(pharmacy=pharmacy, drug=drug, on_hand=100)
    return pharmacy


def _locate(page, base_url: str, where: dict) -> None:
    page.context.grant_permissions(["geolocation"], origin=base_url)
    page.context.set_geolocation(where)
    page.locator("#locate").click()
    page.locator("#options .pharmacies, #options #delivery").first.wait_for()


def _both_widths(page, name: str) -> None:
    """Screenshot at the page's width and at the other one, then back."""
    screenshot(page, name)
    first, other = (PHONE, DESKTOP) if page.viewport_name == "phone" else (DESKTOP, PHONE)
    page.set_viewport_size(other)
    page.viewport_name = "desktop" if other is DESKTOP else "phone"
    screenshot(page, name)
    assert_accessible(page)
    page.set_viewport_size(first)
    page.viewport_name = "phone" if first is PHONE else "desktop"


def test_home_delivery_followed_to_the_door_without_a_reload(asgi_server, browser):
    daughter, father, rx, drugs = _family_with_approved_prescription()
    home_pharmacy = _stocked(drugs, name="鼓楼康宁药房", delivering=True, **_north(1))
    page = new_page(browser, PHONE, locale="en-US")
    log_in(page, asgi_server, daughter.phone)

    # The visit summary: diagnosis in the active language, the advice, the prescription approved.
    page.goto(f"{asgi_server}/patient/visits/{rx.consultation.booking_id}/")
    assert "张林" in page.locator("#acting-for").inner_text()
    assert "Essential (primary) hypertension" in page.locator("#diagnosis").inner_text()
    assert "Low-salt diet" in page.locator("#advice").inner_text()
    assert page.locator(f'[data-rx="{rx.pk}"] [data-rx-status]').inner_text().startswith("Approved by the pharmacist")
    assert page.get_by_role("link", name="Print the prescription").count() == 1
    assert_accessible(page)
    _both_widths(page, "family-visit-summary")

    # Get the medicine: the browser's location finds who delivers, and when.
    page.get_by_role("link", name="Get the medicine").click()
    _locate(page, asgi_server, HOME)
    promised = page.locator("#promised-date").inner_text()
    assert re.search(r"Arrives on \d{4}-\d{2}-\d{2}", promised)
    assert page.get_by_label("Delivery address").input_value() == father.address
    assert_accessible(page)
    _both_widths(page, "family-get-medicine")
    page.locator("#order-delivery").click()

    order = Order.objects.get(prescription=rx)
    assert order.kind == "delivery" and order.pharmacy == home_pharmacy and order.placed_by == daughter
    assert promised.endswith(f"{order.promised_date:%Y-%m-%d} ({order.promised_date:%A}) if you order now.")
    page.wait_for_url(f"**/patient/orders/{order.pk}/")
    assert page.locator("#order-status").inner_text() == "Order placed: waiting for the pharmacy to accept it"
    assert page.locator("#cancel-order").is_visible()
    assert_accessible(page)
    screenshot(page, "family-order-placed")

    # The pharmacy works the order; the open page follows by itself.
    clerk = PharmacyStaffFactory(pharmacy=home_pharmacy).user
    orders.order_accept(order=order, pharmacy=home_pharmacy, by=clerk)
    page.locator('#order-progress[data-status="accepted"]').wait_for()
    orders.order_prepare(order=order, pharmacy=home_pharmacy, by=clerk)
    orders.order_dispatch(order=order, pharmacy=home_pharmacy, by=clerk, courier_name="王师傅", courier_phone="13600000000",
                          tracking_number="SF1234567890")
    page.locator('#order-progress[data-status="out_for_delivery"]').wait_for()
    assert "SF1234567890" in page.locator("#order-progress").inner_text()
    orders.order_deliver(order=order, pharmacy=home_pharmacy, by=clerk, recipient_name="张林")
    page.locator('#order-progress[data-status="delivered"]').wait_for()
    assert page.locator("#order-status").inner_text() == "Delivered"
    assert page.locator(".step.done").count() == 5
    assert page.locator('.step[aria-current="step"]').get_attribute("data-step") == "delivered"
    assert page.locator("#order-progress").get_attribute("hx-trigger") is None  # the poll stopped
    assert page.locator("#cancel-order").count() == 0  # too late to cancel
    assert_accessible(page)
    _both_widths(page, "family-order-delivered")

    # The messages list the order's news; the medicine page lists the order.
    page.get_by_role("link", name="Messages").click()
    assert page.locator('[data-kind="order_delivered"]').count() == 1
    assert_accessible(page)
    screenshot(page, "family-messages")
    page.get_by_role("link", name="Prescriptions & medicine").click()
    assert page.locator(f'[data-order="{order.pk}"]').inner_text().count("Delivered") == 1
    assert_accessible(page)
    screenshot(page, "family-medicines")


def test_pickup_at_the_nearest_pharmacy_with_everything_shows_the_code_once_ready(asgi_server, browser):
    daughter, _father, rx, drugs = _family_with_approved_prescription()
    daughter.large_text = True
    daughter.save(update_fields=["large_text"])
    _stocked(drugs[:1], name="近而缺药药房", **_north(0.3))  # nearer, but no valsartan
    nearest_full = _stocked(drugs, name="鼓楼康宁药房", **_north(1))
    farther = _stocked(drugs, name="远一点药房", **_north(3))
    page = new_page(browser, DESKTOP)  # Chinese, as in Ningbo
    log_in(page, asgi_server, daughter.phone)
    page.goto(f"{asgi_server}/patient/visits/{rx.consultation.booking_id}/")
    assert smallest_text_px(page) >= 18
    page.locator(f'a[href="/patient/medicines/{rx.pk}/order/"]').click()
    _locate(page, asgi_server, HOME)
    listed = [int(x) for x in page.locator("#pickup .pharmacy").evaluate_all("els => els.map(e => e.dataset.pharmacy)")]
    assert listed == [nearest_full.pk, farther.pk]  # nearest first, only those with every item
    first = page.locator(f'[data-pharmacy="{nearest_full.pk}"]')
    assert "1.0" in first.locator(".distance").inner_text() and first.locator(".opening").inner_text().strip()
    assert smallest_text_px(page) >= 18
    assert_accessible(page)
    _both_widths(page, "family-pickup-choice")
    first.get_by_role("button").click()

    order = Order.objects.get(prescription=rx)
    assert order.kind == "pickup" and order.pharmacy == nearest_full
    page.wait_for_url(f"**/patient/orders/{order.pk}/")
    assert page.locator("#pickup-code").count() == 0
    clerk = PharmacyStaffFactory(pharmacy=nearest_full).user
    orders.order_accept(order=order, pharmacy=nearest_full, by=clerk)
    orders.order_ready(order=order, pharmacy=nearest_full, by=clerk)
    code = page.locator("#pickup-code")
    code.wait_for()
    order.refresh_from_db()
    assert order.status == OrderStatus.READY_FOR_PICKUP and code.inner_text() == order.pickup_code
    assert float(code.evaluate("el => parseFloat(getComputedStyle(el).fontSize)")) >= 48  # large, to show at the counter
    assert smallest_text_px(page) >= 18
    assert_accessible(page)
    _both_widths(page, "family-pickup-code")
