"""Every page's shell in a real browser: the role's navigation, the language switch and the
elder-mode switch (saved on the user), with an accessibility check."""

import pytest

from tests.e2e.browser import PHONE, assert_accessible, log_in, needs_browser, new_page, screenshot, smallest_text_px
from tests.factories import PatientFactory

pytestmark = [*needs_browser, pytest.mark.django_db(transaction=True)]


def test_language_and_large_text_switches_persist_for_the_user(asgi_server, browser):
    patient = PatientFactory(full_name="张薇")
    page = new_page(browser, PHONE)
    log_in(page, asgi_server, patient.account.phone)
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    page.get_by_role("button", name="English").click()
    assert page.locator("html").get_attribute("lang") == "en"
    page.get_by_role("button", name="Large text").click()
    assert page.locator("html").get_attribute("class") == "large-text"
    assert smallest_text_px(page) >= 18
    assert_accessible(page)
    screenshot(page, "shell-large-text")
    patient.account.refresh_from_db()
    assert patient.account.language == "en" and patient.account.large_text is True
    # A new device: the saved choices follow the login.
    other = new_page(browser, PHONE)
    log_in(other, asgi_server, patient.account.phone)
    assert other.locator("html").get_attribute("class") == "large-text"
    assert other.locator("html").get_attribute("lang") == "en"


def test_preferences_refuse_an_unknown_language(client):
    response = client.post("/preferences/", {"language": "xx"})
    assert response.status_code == 400
    assert b"language" in response.content
