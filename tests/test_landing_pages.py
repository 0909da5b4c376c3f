"""After logging in, every role lands on a page that opens: no dead end, 404 or redirect loop.
The admin's login takes the phone as the demo data prints it."""

import pytest

from cloudhospital.models import Role
from tests.factories import PASSWORD, DoctorFactory, HospitalFactory, PatientFactory, PharmacyStaffFactory, UserFactory

pytestmark = pytest.mark.django_db


def _lands(client, user) -> tuple[str, str]:
    """Log in through /login/ as a person would and follow /home/ to the end."""
    user.set_password(PASSWORD)
    user.save()
    national = user.phone[3:]
    login = client.post("/login/", {"username": national, "password": PASSWORD})
    assert login.status_code == 302 and login.url == "/home/", login.content.decode()[:500]
    response = client.get("/home/", follow=True)
    assert response.status_code == 200
    return response.redirect_chain[-1][0], response.content.decode()


def test_the_family_lands_on_their_bookings(client):
    assert _lands(client, PatientFactory().account)[0] == "/patient/"


def test_a_doctor_lands_on_the_clinician_portal(client):
    assert _lands(client, DoctorFactory().user)[0] == "/portal/"


def test_a_doctor_login_without_a_doctor_profile_lands_on_the_account_page_not_a_403(client):
    where, page = _lands(client, UserFactory(role=Role.DOCTOR))
    assert where == "/account/" and "doctor profile is not set up yet" in page


def test_the_review_pharmacist_lands_on_the_review_workbench(client):
    where, page = _lands(client, UserFactory(role=Role.PHARMACIST))
    assert where == "/review/" and 'href="/review/"' in page
    assert "/counter/" not in page


@pytest.mark.parametrize("role", [Role.PHARMACY_STAFF, Role.PHARMACIST])
def test_pharmacy_staff_and_its_pharmacists_land_on_the_counter(client, role):
    """A pharmacist who is a member of a pharmacy dispenses and may not review: the counter."""
    member = PharmacyStaffFactory(user__role=role)
    where, page = _lands(client, member.user)
    assert where == "/counter/" and 'href="/counter/stock/"' in page
    assert 'href="/review/"' not in page


def test_the_account_page_still_says_what_each_role_does_through_the_api(client):
    member = PharmacyStaffFactory()
    _lands(client, member.user)
    page = client.get("/account/").content.decode()
    assert member.pharmacy.name in page and 'href="/api/pharmacy/orders/"' in page
    assert client.get("/api/pharmacy/orders/", HTTP_ACCEPT="application/json").status_code == 200


def test_a_hospital_admin_lands_on_the_account_page_with_their_hospitals_schedules(client):
    user = UserFactory(role=Role.HOSPITAL_ADMIN)
    hospital = HospitalFactory()
    hospital.admins.add(user)
    where, page = _lands(client, user)
    assert where == "/account/" and hospital.name in page and 'href="/api/schedule-templates/"' in page
    assert 'href="/admin/"' not in page
    assert client.get("/api/schedule-templates/", HTTP_ACCEPT="application/json").status_code == 200


def test_staff_with_admin_access_land_in_the_admin(client):
    where, _page = _lands(client, UserFactory(role=Role.HOSPITAL_ADMIN, is_staff=True, is_superuser=True))
    assert where == "/admin/"


def test_the_account_page_needs_a_login(client):
    response = client.get("/account/")
    assert response.status_code == 302 and response.url.startswith("/login/")


def test_the_landing_page_links_to_the_login_and_once_logged_in_to_the_start_page(client):
    assert 'href="/login/"' in client.get("/").content.decode()
    client.force_login(PatientFactory().account)
    assert 'href="/home/"' in client.get("/").content.decode()


@pytest.mark.parametrize("typed", ["13312345678", "133-1234-5678", "+86 133 1234 5678"])
def test_the_admin_login_accepts_the_phone_as_printed(client, typed):
    UserFactory(phone="+8613312345678", role=Role.HOSPITAL_ADMIN, is_staff=True, is_superuser=True)
    response = client.post("/admin/login/", {"username": typed, "password": PASSWORD, "next": "/admin/"})
    assert response.status_code == 302 and response.url == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_the_admin_login_still_refuses_non_staff_and_names_a_malformed_phone(client):
    UserFactory(phone="+8613312345678", role=Role.PATIENT)
    refused = client.post("/admin/login/", {"username": "13312345678", "password": PASSWORD, "next": "/admin/"})
    assert refused.status_code == 200 and "staff account" in refused.content.decode()
    malformed = client.post("/admin/login/", {"username": "12345", "password": PASSWORD})
    assert malformed.status_code == 200 and "11 digits" in malformed.content.decode()


def test_the_account_page_speaks_chinese_by_default(client, settings):
    settings.LANGUAGE_CODE = "zh-hans"  # the project's default (the suite runs in English)
    user = UserFactory(role=Role.PHARMACIST)
    _lands(client, user)
    page = client.get("/account/").content.decode()
    assert "我的账户" in page and "审核处方" in page and "My account" not in page


def test_the_landing_page_links_to_the_login_in_chinese(client, settings):
    settings.LANGUAGE_CODE = "zh-hans"
    page = client.get("/").content.decode()
    assert '<a href="/login/">登录</a>' in page and "各自进入自己的页面" in page
