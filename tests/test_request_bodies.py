"""Bodies that cannot be parsed are a 400 (too large: 413), on every endpoint, logged in or
not: deep nesting, a body over the limit, bytes that are not UTF-8, NaN."""

import pytest
from tests.api_errors import error_detail

pytestmark = pytest.mark.django_db

ENDPOINTS = ["/api/auth/login/", "/api/auth/register/", "/api/bookings/", "/api/orders/", "/api/patients/"]


@pytest.fixture
def signed_in(client_for, family):
    daughter, _ = family
    return client_for(daughter.account)


@pytest.mark.parametrize("path", ENDPOINTS)
def test_deeply_nested_json_is_a_400(path, signed_in):
    response = signed_in.post(path, "[" * 50_000, content_type="application/json")
    assert response.status_code == 400, response.content[:200]
    assert "nested" in error_detail(response)


def test_json_nested_within_reason_is_parsed_as_before(signed_in):
    body = {"full_name": "x", "id_number": "1", "phone": "1", "password": "p", "address": [[[[1]]]]}
    assert signed_in.post("/api/auth/register/", body, format="json").status_code == 400  # a field error, not a parse one


@pytest.mark.parametrize("path", ENDPOINTS)
def test_a_json_body_over_the_limit_is_a_413(path, signed_in, settings):
    big = '{"phone": "' + "1" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 10) + '"}'
    response = signed_in.post(path, big, content_type="application/json")
    assert response.status_code == 413


@pytest.mark.parametrize("body", [b"\xff\xfe{}", b'{"phone": NaN}', b"{", b'{"a": "\\ud800"'])
def test_unparseable_bodies_are_400(body, client):
    response = client.post("/api/auth/login/", body, content_type="application/json")
    assert response.status_code == 400
