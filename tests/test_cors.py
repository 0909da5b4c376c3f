"""CORS (django-cors-headers): the configured front-end origins may call /api/, nobody else,
and nothing outside /api/; no credentials (the API is called with a token, not a cookie)."""

import pytest
from rest_framework.test import APIClient

from cloudhospital.tokens import token_issue
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

APP = "https://app.hospital.example.cn"
EVIL = "https://evil.example.com"


@pytest.fixture(autouse=True)
def _front_end_origin(settings):
    settings.CORS_ALLOWED_ORIGINS = [APP]


def preflight(origin: str, path: str = "/api/bookings/"):
    return APIClient().options(
        path,
        HTTP_ORIGIN=origin,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization, content-type, idempotency-key, accept-language",
    )


def test_a_preflight_from_the_configured_origin_allows_the_apis_headers():
    response = preflight(APP)
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == APP
    allowed = {h.strip() for h in response["Access-Control-Allow-Headers"].split(",")}
    assert {"authorization", "content-type", "idempotency-key", "accept-language"} <= allowed
    assert "POST" in response["Access-Control-Allow-Methods"]
    assert "Access-Control-Allow-Credentials" not in response


def test_a_real_request_from_the_configured_origin_can_read_the_apis_headers():
    user = PatientFactory().account
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_issue(user=user).key}")
    response = client.get("/api/auth/me/", HTTP_ORIGIN=APP)
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == APP
    exposed = {h.strip() for h in response["Access-Control-Expose-Headers"].split(",")}
    assert {"X-Request-ID", "Idempotent-Replayed", "Content-Language", "Retry-After"} <= exposed
    assert "Access-Control-Allow-Credentials" not in response
    # A refusal is readable by the app too, so it can show the message.
    refused = APIClient().get("/api/auth/me/", HTTP_ORIGIN=APP)
    assert refused.status_code == 401 and refused["Access-Control-Allow-Origin"] == APP


def test_another_origin_gets_no_cors_headers():
    response = preflight(EVIL)
    assert "Access-Control-Allow-Origin" not in response
    assert "Access-Control-Allow-Headers" not in response
    real = APIClient().get("/api/auth/me/", HTTP_ORIGIN=EVIL)
    assert "Access-Control-Allow-Origin" not in real


def test_paths_outside_the_api_get_no_cors_headers():
    assert "Access-Control-Allow-Origin" not in preflight(APP, "/admin/login/")
    assert "Access-Control-Allow-Origin" not in APIClient().get("/", HTTP_ORIGIN=APP)


def test_no_origin_is_allowed_by_default(settings):
    from cloudhospital import settings as project_settings

    assert project_settings.CORS_ALLOWED_ORIGINS == []  # nothing in the environment
    settings.CORS_ALLOWED_ORIGINS = project_settings.CORS_ALLOWED_ORIGINS
    assert "Access-Control-Allow-Origin" not in preflight(APP)
