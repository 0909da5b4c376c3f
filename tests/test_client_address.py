"""Rate limits and the login lock-out key on the client's real address: X-Forwarded-For is
trusted only as far as TRUSTED_PROXY_COUNT proxies of ours appended to it, so a client
cannot reset a limit by sending the header itself. And a cache that is down lets the
request through (with a log line) instead of answering 500."""

from datetime import date

import pytest
from django.core.cache import cache
from django.test import RequestFactory

from cloudhospital.accounts import client_ip
from cloudhospital.api.throttling import FailOpenScopedRateThrottle
from cloudhospital.identity import make_resident_id

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_an_hour(monkeypatch):
    monkeypatch.setattr(FailOpenScopedRateThrottle, "THROTTLE_RATES", {"register": "2/hour"})
    cache.clear()


def register(client, n: int, forwarded: str):
    body = {"full_name": "王芳", "id_number": make_resident_id(region="330203", birth_date=date(1980, 5, 17), sequence=n,
                                                             sex="female"),
            "phone": f"1390000{n:04d}", "password": "Yunyiyuan-2026-rate"}
    return client.post("/api/auth/register/", body, content_type="application/json", HTTP_X_FORWARDED_FOR=forwarded)


def test_a_client_cannot_reset_the_registration_limit_with_a_forged_header(client, two_an_hour):
    codes = [register(client, n, f"203.0.113.{n}").status_code for n in range(3)]
    assert codes == [201, 201, 429]


def test_behind_one_proxy_the_address_it_saw_counts_and_what_the_client_wrote_does_not(client, two_an_hour, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    codes = [register(client, n, f"198.51.100.{n}, 192.0.2.7").status_code for n in range(3)]
    assert codes == [201, 201, 429]
    assert register(client, 3, "192.0.2.8").status_code == 201  # another real client


@pytest.mark.parametrize("count, header, expected", [
    (0, "1.2.3.4", "10.0.0.1"),
    (1, "1.2.3.4, 5.6.7.8", "5.6.7.8"),
    (2, "1.2.3.4, 5.6.7.8, 9.9.9.9", "5.6.7.8"),
    (2, "5.6.7.8", "5.6.7.8"),
])
def test_client_ip_trusts_only_our_proxies(settings, count, header, expected):
    settings.TRUSTED_PROXY_COUNT = count
    request = RequestFactory().get("/", HTTP_X_FORWARDED_FOR=header, REMOTE_ADDR="10.0.0.1")
    assert client_ip(request) == expected


def test_the_registration_limit_fails_open_when_the_cache_is_down(client, two_an_hour, monkeypatch, caplog):
    from django.core.cache import caches

    def down(*args, **kwargs):
        raise ConnectionError("Error 111 connecting to redis")

    monkeypatch.setattr(type(caches["default"]), "get", down)
    assert register(client, 9, "1.1.1.1").status_code == 201
    assert "rate limit 'register' not applied" in caplog.text
