"""API tokens: one per device, hashed at rest, expiring, revocable one by one or all at once
(cloudhospital.tokens, django-rest-knox)."""

from datetime import timedelta

import pytest
from django.utils import timezone
from knox.models import AuthToken
from rest_framework.test import APIClient

from tests.api_errors import error_code
from tests.factories import PASSWORD, PatientFactory, PharmacyStaffFactory

pytestmark = pytest.mark.django_db


def login(user) -> dict:
    response = APIClient().post("/api/auth/login/", {"phone": user.phone, "password": PASSWORD}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def device(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def test_login_issues_a_hashed_token_that_expires_after_the_configured_ttl(settings):
    user = PatientFactory().account
    before = timezone.now()
    body = login(user)
    assert set(body) == {"token", "expires_at"}
    stored = AuthToken.objects.get(user=user)
    assert stored.digest != body["token"] and body["token"] not in stored.digest  # only the digest is kept
    ttl = timedelta(hours=settings.API_TOKEN_TTL_HOURS)
    assert ttl == timedelta(days=30)
    assert before + ttl <= stored.expiry <= timezone.now() + ttl
    assert body["expires_at"] == stored.expiry.astimezone(timezone.get_current_timezone()).isoformat()
    assert device(body["token"]).get("/api/auth/me/").status_code == 200


def test_register_hands_out_an_expiring_token_too(api):
    from cloudhospital.identity import make_resident_id

    id_number = make_resident_id(region="330203", birth_date=timezone.localdate().replace(year=1980), sequence=3,
                                 sex="male")
    response = api.post("/api/auth/register/", {"full_name": "王强", "id_number": id_number, "phone": "13800007777",
                                                "password": "a-Long-passphrase-9"}, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["expires_at"]
    assert device(response.json()["token"]).get("/api/auth/me/").status_code == 200


def test_an_expired_token_is_401_in_the_error_shape_and_deleted():
    user = PatientFactory().account
    token = login(user)["token"]
    AuthToken.objects.filter(user=user).update(expiry=timezone.now() - timedelta(seconds=1))
    response = device(token).get("/api/auth/me/")
    assert response.status_code == 401
    assert error_code(response) == "authentication_failed"
    assert response["WWW-Authenticate"] == "Token"
    assert not AuthToken.objects.filter(user=user).exists()


def test_logout_revokes_only_this_devices_token():
    user = PatientFactory().account
    phone, tablet = login(user)["token"], login(user)["token"]
    assert device(phone).post("/api/auth/logout/").status_code == 204
    revoked = device(phone).get("/api/auth/me/")
    assert revoked.status_code == 401 and error_code(revoked) == "authentication_failed"
    assert device(tablet).get("/api/auth/me/").status_code == 200


def test_logout_all_revokes_every_device_and_unspent_tickets():
    from cloudhospital.models import SocketTicket
    from consult import signalling

    user = PatientFactory().account
    phone, tablet = login(user)["token"], login(user)["token"]
    signalling.ticket_issue(user_id=user.pk, consultation_id=1)
    assert device(phone).post("/api/auth/logout-all/").status_code == 204
    assert device(phone).get("/api/auth/me/").status_code == 401
    assert device(tablet).get("/api/auth/me/").status_code == 401
    assert not SocketTicket.objects.filter(user=user, used_at__isnull=True).exists()


def test_the_device_list_shows_ones_own_live_tokens_and_never_a_secret(django_assert_max_num_queries):
    user, other = PatientFactory().account, PatientFactory().account
    first, second = login(user)["token"], login(user)["token"]
    login(other)
    with django_assert_max_num_queries(6):
        response = device(second).get("/api/auth/tokens/")
    assert response.status_code == 200
    listed = response.json()["results"]
    assert {row["token_key"] for row in listed} == set(AuthToken.objects.filter(user=user).values_list("token_key", flat=True))
    assert len(listed) == 2
    assert set(listed[0]) == {"token_key", "created", "expires_at", "current"}
    assert [row["current"] for row in listed] == [True, False]  # newest first: the caller's own device
    text = response.content.decode()
    assert first not in text and second not in text
    assert not any(digest in text for digest in AuthToken.objects.values_list("digest", flat=True))


def test_revoking_one_device_by_its_id():
    user = PatientFactory().account
    old, current = login(user)["token"], login(user)["token"]
    old_key = AuthToken.objects.filter(user=user).order_by("created").first().token_key
    assert old.startswith(old_key)
    assert device(current).delete(f"/api/auth/tokens/{old_key}/").status_code == 204
    assert device(old).get("/api/auth/me/").status_code == 401
    assert device(current).get("/api/auth/me/").status_code == 200


def test_another_users_token_id_is_404_and_stays_valid():
    user, other = PatientFactory().account, PatientFactory().account
    mine, theirs = login(user)["token"], login(other)["token"]
    their_key = AuthToken.objects.get(user=other).token_key
    response = device(mine).delete(f"/api/auth/tokens/{their_key}/")
    assert response.status_code == 404 and error_code(response) == "not_found"
    assert device(mine).delete("/api/auth/tokens/nonexistent/").status_code == 404
    assert device(theirs).get("/api/auth/me/").status_code == 200


def test_logins_beyond_the_per_user_cap_revoke_the_oldest(settings):
    settings.API_TOKENS_PER_USER = 2
    user = PatientFactory().account
    oldest, middle, newest = (login(user)["token"] for _ in range(3))
    assert device(oldest).get("/api/auth/me/").status_code == 401
    assert device(middle).get("/api/auth/me/").status_code == 200
    assert device(newest).get("/api/auth/me/").status_code == 200


def test_auto_refresh_extends_a_used_token(settings):
    settings.REST_KNOX = {**settings.REST_KNOX, "AUTO_REFRESH": True}
    user = PatientFactory().account
    token = login(user)["token"]
    AuthToken.objects.filter(user=user).update(expiry=timezone.now() + timedelta(hours=1))
    assert device(token).get("/api/auth/me/").status_code == 200
    assert AuthToken.objects.get(user=user).expiry > timezone.now() + timedelta(hours=settings.API_TOKEN_TTL_HOURS - 1)


def test_without_auto_refresh_use_does_not_extend_a_token():
    user = PatientFactory().account
    token = login(user)["token"]
    soon = timezone.now() + timedelta(hours=1)
    AuthToken.objects.filter(user=user).update(expiry=soon)
    assert device(token).get("/api/auth/me/").status_code == 200
    assert AuthToken.objects.get(user=user).expiry == soon


@pytest.mark.parametrize("header", ["Token \xff\xfe-not-utf8", "Token", "Token a b", "Token " + "0" * 64])
def test_a_malformed_or_unknown_token_is_401_not_500(header):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    response = client.get("/api/auth/me/")
    assert response.status_code == 401
    assert error_code(response) == "authentication_failed"


def test_pharmacy_staff_use_the_same_tokens_on_the_pharmacy_side():
    staff = PharmacyStaffFactory()
    token = login(staff.user)["token"]
    response = device(token).get("/api/pharmacy/me/")
    assert response.status_code == 200, response.json()
    assert response.json()["id"] == staff.pharmacy.pk


@pytest.mark.django_db
def test_a_malformed_device_id_is_no_url_never_a_database_error(api):
    from cloudhospital.tokens import token_issue
    from tests.factories import PatientFactory

    api.credentials(HTTP_AUTHORIZATION=f"Token {token_issue(user=PatientFactory().account).key}")
    for token_key in ("ab\x00cd", "x" * 65, "a b"):
        response = api.delete(f"/api/auth/tokens/{token_key}/")
        assert response.status_code == 404 and error_code(response) == "not_found"
