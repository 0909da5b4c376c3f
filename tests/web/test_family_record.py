"""The family's account, people and health record in a real browser, on a phone first:
张薇 registers (a wrong ID number refused at its field), adds her father 张林, acts for him,
enters his blood pressure (an implausible reading refused at its field), sees it in the
list and the chart, marks one entered in error, and reads the page in elder mode. Then the
same pages at desktop width. Screenshots and an axe check on every page."""

from datetime import date

import pytest

from cloudhospital.identity import make_resident_id
from cloudhospital.models import User
from consult.models import Observation, Patient
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

pytestmark = [*needs_browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "Lotus-harbour-2026"
PHONE_NUMBER = "13800000021"
HER_ID = make_resident_id(region="330203", birth_date=date(1968, 8, 12), sequence=4, sex="female")
HIS_ID = make_resident_id(region="330203", birth_date=date(1937, 2, 3), sequence=1, sex="male")


def wrong_check_character(number: str) -> str:
    return number[:-1] + ("1" if number[-1] != "1" else "2")


def fits_the_width(page) -> bool:
    # The viewport asked for, not window.innerWidth: a phone's layout viewport grows to fit
    # content that overflows, so comparing with it would pass a page that scrolls sideways.
    return page.evaluate("() => document.documentElement.scrollWidth") <= page.viewport_size["width"]


def check_page(page, name: str) -> None:
    assert fits_the_width(page), f"{name} scrolls sideways at {page.viewport_size['width']} px"
    assert_accessible(page)
    screenshot(page, name)


def submit(page, selector: str) -> None:
    """Press a form's button and wait for the page it leads to (even to the same URL)."""
    with page.expect_navigation():
        page.click(selector)


def banner(page):
    return page.locator("#acting-for")


def test_zhang_wei_registers_adds_her_father_and_keeps_his_blood_pressure_on_a_phone(asgi_server, browser):
    page = new_page(browser, PHONE)
    page.goto(f"{asgi_server}/login/")
    page.click("#register-link")
    page.wait_for_url("**/register/")
    check_page(page, "family-register")

    # A typo in the ID number is refused at that field, with what she typed kept.
    page.fill("#id_full_name", "张薇")
    page.fill("#id_id_number", wrong_check_character(HER_ID))
    page.fill("#id_phone", PHONE_NUMBER)
    page.fill("#id_password", PASSWORD)
    page.fill("#id_password_confirm", PASSWORD)
    submit(page, "#register")
    error = page.locator("[data-error-for=id_number]")
    assert error.is_visible() and error.inner_text().strip()
    assert page.input_value("#id_full_name") == "张薇" and page.input_value("#id_phone") == PHONE_NUMBER
    assert not User.objects.filter(full_name="张薇").exists()
    check_page(page, "family-register-refused")

    page.fill("#id_id_number", HER_ID)
    page.fill("#id_password", PASSWORD)  # a refused form never sends the password back
    page.fill("#id_password_confirm", PASSWORD)
    page.click("#register")
    page.wait_for_url("**/patient/")
    her = Patient.objects.get(id_number=HER_ID)
    assert her.account.phone == f"+86{PHONE_NUMBER}" and page.locator(".who").inner_text() == "张薇"

    # Her family: she adds her father, then acts for him.
    page.click("nav a[href='/patient/people/']")
    page.wait_for_url("**/patient/people/")
    assert banner(page).get_attribute("data-acting-for") == str(her.pk)
    page.fill("#id_full_name", "张林")
    page.fill("#id_id_number", HIS_ID)
    page.select_option("#id_relationship", "parent")
    submit(page, "#add-dependant")
    father = Patient.objects.get(id_number=HIS_ID)
    assert father.account is None and father.proxy_links.get().proxy == her.account
    card = page.locator(f"li[data-patient='{father.pk}']")
    assert "张林" in card.inner_text()
    check_page(page, "family-people")
    with page.expect_navigation():
        card.locator("button.act-for").click()
    assert banner(page).get_attribute("data-acting-for") == str(father.pk)
    assert "张林" in banner(page).inner_text()

    # His record: an implausible reading is refused at its field, then a real one is kept.
    page.click("nav a[href='/patient/record/']")
    page.wait_for_url("**/patient/record/")
    assert "张林" in banner(page).inner_text() and "张林" in page.locator("h1").inner_text()
    page.fill("#id_systolic", "400")
    page.fill("#id_diastolic", "88")
    submit(page, "#save-reading")
    assert page.locator("[data-error-for=systolic]").is_visible()
    assert page.input_value("#id_diastolic") == "88"
    assert not Observation.objects.filter(patient=father).exists()
    check_page(page, "family-record-refused")
    page.fill("#id_systolic", "158")
    page.fill("#id_pulse", "71")
    submit(page, "#save-reading")
    page.fill("#id_systolic", "136")
    page.fill("#id_diastolic", "82")
    submit(page, "#save-reading")
    wrong, right = Observation.objects.filter(patient=father).order_by("id")
    assert (wrong.systolic, wrong.diastolic, wrong.pulse, wrong.source) == (158, 88, 71, "home")
    assert (right.systolic, right.diastolic, right.pulse) == (136, 82, None)
    rows = page.locator("#readings-list li.reading-row")
    assert rows.count() == 2 and "136/82" in rows.nth(0).inner_text() and "158/88" in rows.nth(1).inner_text()
    assert page.locator("#bp-chart .reading.sys").count() == 2
    check_page(page, "family-record")

    # The 158/88 was taken right after climbing the stairs: marked entered in error.
    row = page.locator(f"li[data-reading='{wrong.pk}']")
    row.locator("summary").click()
    row.get_by_role("textbox").fill("刚爬完楼梯，测量不准")
    with page.expect_navigation():
        row.locator("button.mark-error-button").click()
    row = page.locator(f"li[data-reading='{wrong.pk}']")
    assert "in-error" in row.get_attribute("class") and "刚爬完楼梯" in row.inner_text()
    assert page.locator("#bp-chart .reading.sys").count() == 1
    wrong.refresh_from_db()
    assert wrong.entered_in_error_at is not None and wrong.entered_in_error_reason == "刚爬完楼梯，测量不准"

    # Elder mode: nothing on the record below 18 px, and still no sideways scrolling.
    page.click("button[name=large_text][value='1']")
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("class") == "large-text"
    assert smallest_text_px(page) >= 18
    check_page(page, "family-record-large-text")
    page.goto(f"{asgi_server}/patient/people/")
    assert smallest_text_px(page) >= 18
    check_page(page, "family-people-large-text")

    # The same pages at desktop width (a new device: the login's saved elder mode follows).
    desktop = new_page(browser, DESKTOP)
    desktop.goto(f"{asgi_server}/register/")
    check_page(desktop, "family-register")
    submit(desktop, "button[name=large_text][value='1']")  # before login: kept in the browser
    assert desktop.locator("html").get_attribute("class") == "large-text" and smallest_text_px(desktop) >= 18
    log_in(desktop, asgi_server, PHONE_NUMBER, PASSWORD)
    desktop.goto(f"{asgi_server}/patient/people/")
    check_page(desktop, "family-people")
    desktop.goto(f"{asgi_server}/patient/record/?patient={father.pk}")
    assert desktop.locator("#acting-for").get_attribute("data-acting-for") == str(father.pk)
    assert desktop.locator("#bp-chart .reading.sys").count() == 1
    assert smallest_text_px(desktop) >= 18
    check_page(desktop, "family-record")
