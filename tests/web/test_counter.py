"""The pharmacy counter console in a real browser: a pharmacy's staff member logs in and lands
on the counter, takes a pickup order from acceptance to hand-over (a wrong pickup code is
refused at the field), sends a delivery out and marks it delivered, sees a new order appear
by itself, and adjusts a low stock line. Desktop and phone, axe on every page."""

import pytest

from cloudhospital.models import Role
from pharmacy import orders
from pharmacy.models import Order, Stock
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
    UserFactory,
)

pytestmark = [*needs_browser, pytest.mark.django_db(transaction=True)]
HOME = (29.8760, 121.5470)


class Counter:
    """Kangning-like pharmacy (delivers around HOME) with one staff login, Zhang Lin's family,
    and a low stock line of metformin."""

    def __init__(self):
        self.aml = DrugFactory(code="AML5", generic_name="Amlodipine", generic_name_zh="氨氯地平")
        self.val = DrugFactory(code="VAL80", generic_name="Valsartan", generic_name_zh="缬沙坦", therapeutic_class="arb")
        self.met = DrugFactory(code="MET500", generic_name="Metformin", generic_name_zh="二甲双胍",
                               therapeutic_class="biguanide")
        self.pharmacy = PharmacyFactory(name="康宁大药房（鼓楼店）", delivering=True, latitude=HOME[0], longitude=HOME[1])
        for drug in (self.aml, self.val):
            StockFactory(pharmacy=self.pharmacy, drug=drug, on_hand=100)
        StockFactory(pharmacy=self.pharmacy, drug=self.met, on_hand=5)
        self.staff = UserFactory(role=Role.PHARMACY_STAFF, full_name="王店员")
        PharmacyStaffFactory(pharmacy=self.pharmacy, user=self.staff)
        self.daughter = PatientFactory(full_name="张薇")
        self.father = DependantFactory(full_name="张林", proxy=self.daughter.account)

    def order(self, kind: str) -> Order:
        rx = ApprovedPrescriptionFactory(patient=self.father, items=[(self.aml, 14), (self.val, 28)])
        where = {"pharmacy": self.pharmacy} if kind == "pickup" else {
            "lat": HOME[0], "lng": HOME[1], "address": "海曙区鼓楼 1 号", "contact_name": "张薇",
            "contact_phone": "13800000001"}
        return orders.order_place(by=self.daughter.account, prescription=rx, kind=kind, **where)


def step(page, action: str):
    page.locator(f'form[data-action="{action}"] button[type=submit]').click()
    page.wait_for_load_state()


def status_on_page(page) -> str:
    return page.locator("#order-status").get_attribute("data-status")


def test_counter_story_from_new_order_to_hand_over_and_stock(asgi_server, browser):
    world = Counter()
    pickup = world.order("pickup")

    # Log in: the counter is the start page; the new order is there with its deadline.
    page = new_page(browser, DESKTOP)
    log_in(page, asgi_server, world.staff.phone)
    assert page.url.endswith("/counter/")
    row = page.locator(f'tr[data-order="{pickup.pk}"]')
    assert row.get_attribute("data-status") == "placed"
    assert row.locator(".deadline").is_visible()
    assert "张*" in row.inner_text() and "张林" not in page.content()
    assert_accessible(page)
    screenshot(page, "counter-orders")

    # The order: the signature verifies, and only accept / reject are offered.
    row.get_by_role("link").click()
    page.wait_for_load_state()
    assert page.locator("#verification").get_attribute("data-signature") == "valid"
    assert page.locator("#signature-verdict").inner_text().startswith("✔")
    assert page.locator("#items tr[data-drug=AML5] .qty").inner_text() == "14"
    assert page.locator("form[data-action]").evaluate_all("forms => forms.map(f => f.dataset.action)") == ["accept", "reject"]
    assert_accessible(page)
    screenshot(page, "counter-order-new")

    step(page, "accept")
    assert status_on_page(page) == "accepted"
    assert page.locator("#messages li").count() == 1
    step(page, "preparing")
    assert status_on_page(page) == "preparing"
    step(page, "ready")
    assert status_on_page(page) == "ready_for_pickup"
    pickup.refresh_from_db()

    # A wrong code is refused at the field, in words, and the order waits.
    code_field = page.locator('form[data-action="picked-up"] input[name="picked-up-pickup_code"]')
    code_field.fill("000000" if pickup.pickup_code != "000000" else "111111")
    step(page, "picked-up")
    error = page.locator("#id_picked-up_picked-up-pickup_code-errors")
    assert error.is_visible() and "4" in error.inner_text()  # attempts left
    assert page.locator('input[name="picked-up-pickup_code"]').get_attribute("aria-invalid") == "true"
    assert status_on_page(page) == "ready_for_pickup"
    assert_accessible(page)
    screenshot(page, "counter-wrong-code")

    page.locator('input[name="picked-up-pickup_code"]').fill(pickup.pickup_code)
    step(page, "picked-up")
    assert status_on_page(page) == "picked_up"
    assert page.locator("#no-steps").is_visible()
    pickup.refresh_from_db()
    assert pickup.status == "picked_up" and pickup.dispense_record.handover == "pickup"
    assert pickup.prescription.status == "dispensed"

    # A delivery: out with the courier, then delivered.
    delivery = world.order("delivery")
    page.goto(f"{asgi_server}/counter/orders/{delivery.pk}/")
    step(page, "accept")
    form = page.locator('form[data-action="out-for-delivery"]')
    form.locator('input[name="out-for-delivery-courier_name"]').fill("李师傅")
    form.locator('input[name="out-for-delivery-courier_phone"]').fill("13600000000")
    form.locator('input[name="out-for-delivery-tracking_number"]').fill("SF1234567")
    step(page, "out-for-delivery")
    assert status_on_page(page) == "out_for_delivery"
    page.locator('form[data-action="delivered"] input[name="delivered-recipient_name"]').fill("张薇")
    step(page, "delivered")
    assert status_on_page(page) == "delivered"
    delivery.refresh_from_db()
    assert delivery.status == "delivered" and delivery.tracking_number == "SF1234567" and delivery.recipient_name == "张薇"

    # Stock: metformin is low; a delivery of 50 raises it.
    page.locator('nav.tabs a[href="/counter/stock/"]').click()
    page.wait_for_load_state()
    assert page.locator("tr[data-drug=MET500]").get_attribute("data-low") == "yes"
    assert page.locator("tr[data-drug=AML5]").get_attribute("data-low") == "no"
    assert_accessible(page)
    screenshot(page, "counter-stock")
    page.select_option("#id_drug", "MET500")
    page.check("#id_mode_0")  # change (+/-)
    page.fill("#id_quantity", "-10")  # more than the 5 on hand
    page.fill("#id_reason", "到货 delivery received")
    page.locator("#adjust button[type=submit]").click()
    page.wait_for_load_state()
    assert page.locator("#id_quantity-errors").is_visible() and "5" in page.locator("#id_quantity-errors").inner_text()
    assert page.locator("#id_reason").input_value() == "到货 delivery received"  # what was typed stays
    assert_accessible(page)
    assert Stock.objects.get(pharmacy=world.pharmacy, drug=world.met).on_hand == 5
    page.fill("#id_quantity", "50")
    page.locator("#adjust button[type=submit]").click()
    page.wait_for_load_state()
    assert page.locator("tr[data-drug=MET500] .on-hand").inner_text() == "55"
    assert page.locator("tr[data-drug=MET500]").get_attribute("data-low") == "no"
    assert Stock.objects.get(pharmacy=world.pharmacy, drug=world.met).on_hand == 55


def test_counter_on_a_phone_shows_new_orders_by_itself(asgi_server, browser):
    world = Counter()
    page = new_page(browser, PHONE)
    log_in(page, asgi_server, world.staff.phone)
    assert page.url.endswith("/counter/")
    assert page.locator("#no-orders").is_visible()
    assert_accessible(page)
    screenshot(page, "counter-orders-empty")

    order = world.order("pickup")  # arrives while the page is open: the 10 s poll shows it
    page.wait_for_selector(f'tr[data-order="{order.pk}"]', timeout=15_000)
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]  # no sideways scrolling
    screenshot(page, "counter-orders")

    page.locator(f'tr[data-order="{order.pk}"] a').click()
    page.wait_for_load_state()
    assert page.locator("#verification").get_attribute("data-signature") == "valid"
    page.locator('form[data-action="reject"] button[type=submit]').click()  # no reason given
    page.wait_for_load_state()
    assert page.locator("#id_reject_reject-reason-errors").is_visible()
    assert_accessible(page)
    screenshot(page, "counter-order-reject-refused")
    order.refresh_from_db()
    assert order.status == "placed"

    page.goto(f"{asgi_server}/counter/stock/")
    assert page.locator("tr[data-drug=MET500]").get_attribute("data-low") == "yes"
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
    assert_accessible(page)
    screenshot(page, "counter-stock")

    # Elder mode: nothing under 18 px on the counter's pages either.
    page.locator('button[name="large_text"][value="1"]').click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("class") == "large-text"
    assert smallest_text_px(page) >= 18
    page.goto(f"{asgi_server}/counter/orders/{order.pk}/")
    assert smallest_text_px(page) >= 18
    assert_accessible(page)
    screenshot(page, "counter-order-large-text")
