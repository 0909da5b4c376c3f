"""Operability: /healthz and /readyz for the load balancer, /metrics for Prometheus, and
log lines as JSON objects carrying the request id (cloudhospital.probes, .metrics, .logs)."""

import io
import json
import logging
import os
import subprocess
import sys
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
import redis
from asgiref.sync import async_to_sync
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.utils import timezone
from django.utils.module_loading import import_string
from prometheus_client import REGISTRY
from rest_framework.test import APIClient

from cloudhospital.errors import DomainError
from cloudhospital.models import OutboxMessage, OutboxStatus
from cloudhospital.tokens import token_issue
from consult import booking as booking_rules
from consult.routing import websocket_urlpatterns
from tests.api_errors import error_code
from tests.consult.rooms import make_room
from tests.factories import PatientFactory, SlotFactory

ROOT = Path(__file__).resolve().parent.parent
LOCAL_REDIS = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
UNREACHABLE_REDIS = "redis://127.0.0.1:1/0"  # nothing listens on port 1: refused at once


def _redis_up() -> bool:
    try:
        return redis.Redis.from_url(LOCAL_REDIS, socket_connect_timeout=1).ping()
    except redis.RedisError:
        return False


def _use_redis(settings, url: str) -> None:
    settings.REDIS_URL = url
    settings.CELERY_BROKER_URL = url
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url}}


# --- /healthz and /readyz ---------------------------------------------------------------


def test_healthz_answers_without_login_or_any_query(client):
    response = client.get("/healthz")  # no django_db mark: a query would raise here
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
def test_readyz_on_the_embedded_default_checks_only_the_database(client, settings):
    settings.REDIS_URL = ""
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok"}}


@pytest.mark.django_db
@pytest.mark.skipif(not _redis_up(), reason="needs the Redis at 127.0.0.1:6379 that .ci/run starts")
def test_readyz_with_redis_checks_database_cache_and_broker(client, settings):
    _use_redis(settings, LOCAL_REDIS)
    response = client.get("/readyz")
    assert response.status_code == 200, response.json()
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "cache": "ok", "broker": "ok"}}


@pytest.mark.django_db
def test_readyz_is_503_naming_the_unreachable_redis(client, settings):
    _use_redis(settings, UNREACHABLE_REDIS)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable", "checks": {"database": "ok", "cache": "unavailable", "broker": "unavailable"},
    }
    assert "127.0.0.1" not in response.content.decode()  # why goes to the log, not to the caller


def test_probes_are_exempt_from_the_ssl_redirect_and_nothing_else_is():
    env = {**os.environ, "DEBUG": "0", "SECRET_KEY": "x" * 50, "PRESCRIPTION_SIGNING_SECRET": "y" * 40}
    code = ("from cloudhospital import settings as s; import re; "
            "print([p for p in ('healthz', 'readyz', 'metrics', 'api/auth/me/', '') "
            "if any(re.search(x, p) for x in s.SECURE_REDIRECT_EXEMPT)], s.SECURE_SSL_REDIRECT)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "['healthz', 'readyz'] True"


# --- /metrics ---------------------------------------------------------------------------


def sample(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.mark.django_db
def test_metrics_is_open_on_debug_and_has_latency_by_view(client, settings):
    settings.DEBUG, settings.METRICS_TOKEN = True, ""
    user = PatientFactory().account
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token_issue(user=user).key}")
    assert api.get("/api/auth/me/").status_code == 200
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    text = response.content.decode()
    assert 'django_http_requests_latency_seconds_by_view_method_count{method="GET",view="auth-me"}' in text
    assert "cloudhospital_outbox_pending" in text
    assert user.phone not in text and user.full_name not in text


@pytest.mark.django_db
def test_metrics_needs_the_bearer_token_in_production(client, settings):
    settings.DEBUG, settings.METRICS_TOKEN = False, ""
    closed = client.get("/metrics")
    assert closed.status_code == 401 and error_code(closed) == "not_authenticated"
    settings.METRICS_TOKEN = "scrape-secret-0123456789"
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Token scrape-secret-0123456789").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-secret-0123456789").status_code == 200
    settings.DEBUG = True  # a configured token is asked for on DEBUG too
    assert client.get("/metrics").status_code == 401


@pytest.mark.django_db
def test_booking_outcomes_are_counted_once_committed_and_refusals_by_code(django_capture_on_commit_callbacks):
    slot = SlotFactory(capacity=1)
    created = sample("cloudhospital_booking_outcomes_total", action="create", outcome="created", code="")
    full = sample("cloudhospital_booking_outcomes_total", action="create", outcome="refused", code="slot_full")
    cancelled = sample("cloudhospital_booking_outcomes_total", action="cancel", outcome="cancelled", code="")
    first = PatientFactory()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        booking, _ = booking_rules.booking_create(by=first.account, patient=first, slot=slot, reason="复诊")
    assert sample("cloudhospital_booking_outcomes_total", action="create", outcome="created", code="") == created
    for callback in callbacks:  # the commit
        callback()
    assert sample("cloudhospital_booking_outcomes_total", action="create", outcome="created", code="") == created + 1
    second = PatientFactory()
    with pytest.raises(DomainError):
        booking_rules.booking_create(by=second.account, patient=second, slot=slot, reason="复诊")
    assert sample("cloudhospital_booking_outcomes_total", action="create", outcome="refused", code="slot_full") == full + 1
    with django_capture_on_commit_callbacks(execute=True):
        booking_rules.booking_cancel(by=first.account, booking=booking, reason="改期")
    assert sample("cloudhospital_booking_outcomes_total", action="cancel", outcome="cancelled", code="") == cancelled + 1


@pytest.mark.django_db
def test_an_idempotent_replay_is_counted_as_a_replay_not_a_second_booking(django_capture_on_commit_callbacks):
    slot = SlotFactory(capacity=3)
    patient = PatientFactory()
    created = sample("cloudhospital_booking_outcomes_total", action="create", outcome="created", code="")
    replayed = sample("cloudhospital_booking_outcomes_total", action="create", outcome="replayed", code="")
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(2):
            booking_rules.booking_create(by=patient.account, patient=patient, slot=slot, reason="复诊", idempotency_key="k1")
    assert sample("cloudhospital_booking_outcomes_total", action="create", outcome="created", code="") == created + 1
    assert sample("cloudhospital_booking_outcomes_total", action="create", outcome="replayed", code="") == replayed + 1


@pytest.mark.django_db
def test_the_outbox_backlog_is_read_at_scrape_time(client, settings):
    settings.DEBUG = True
    OutboxMessage.objects.create(task="cloudhospital.tasks.noop", created_at=timezone.now() - timedelta(minutes=10))
    OutboxMessage.objects.create(task="cloudhospital.tasks.noop")
    OutboxMessage.objects.create(task="cloudhospital.tasks.noop", status=OutboxStatus.DONE,
                                 created_at=timezone.now() - timedelta(days=3))
    client.get("/metrics")
    assert sample("cloudhospital_outbox_pending") == 2
    assert 600 <= sample("cloudhospital_outbox_oldest_pending_age_seconds") < 700
    OutboxMessage.objects.filter(status=OutboxStatus.PENDING).update(status=OutboxStatus.DONE)
    assert sample("cloudhospital_outbox_pending") == 0
    assert sample("cloudhospital_outbox_oldest_pending_age_seconds") == 0


@pytest.mark.django_db(transaction=True)
def test_open_signalling_sockets_are_counted_up_and_down():
    room = make_room()
    router = URLRouter(websocket_urlpatterns)
    before = sample("cloudhospital_signalling_sockets_open")

    async def scenario():
        doctor = WebsocketCommunicator(router, f"/ws/consultations/{room.consultation.pk}/")
        doctor.scope["user"] = room.doctor_user
        family = WebsocketCommunicator(router, f"/ws/consultations/{room.consultation.pk}/")
        family.scope["user"] = room.proxy
        assert (await doctor.connect())[0] and (await family.connect())[0]
        assert sample("cloudhospital_signalling_sockets_open") == before + 2
        await family.disconnect()
        assert sample("cloudhospital_signalling_sockets_open") == before + 1
        await doctor.disconnect()

    async_to_sync(scenario)()
    assert sample("cloudhospital_signalling_sockets_open") == before


# --- logs and the request id -----------------------------------------------------------


def test_a_well_formed_request_id_is_reused_and_echoed(client):
    given = str(uuid.uuid4())
    assert client.get("/healthz", HTTP_X_REQUEST_ID=given)["X-Request-ID"] == given


@pytest.mark.parametrize("given", ["", "not-a-uuid", "x" * 300, "1234\n{\"level\": \"ERROR\"}"])
def test_a_missing_or_malformed_request_id_is_replaced_by_a_new_uuid(client, given):
    headers = {"HTTP_X_REQUEST_ID": given} if given else {}
    echoed = client.get("/healthz", **headers)["X-Request-ID"]
    assert echoed != given
    uuid.UUID(echoed)


def _build(config: dict):
    config = dict(config)
    return import_string(config.pop("()"))(**config)


@pytest.fixture
def json_log(settings):
    """The console handler's JSON formatter and request-id filter (settings.LOGGING), writing
    to a buffer."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(_build(settings.LOGGING["formatters"]["json"]))
    handler.addFilter(_build(settings.LOGGING["filters"]["request_id"]))
    logger = logging.getLogger("cloudhospital.request")
    logger.addHandler(handler)
    old_level = logger.level
    logger.setLevel(logging.INFO)
    yield lambda: [json.loads(line) for line in buffer.getvalue().splitlines()]
    logger.removeHandler(handler)
    logger.setLevel(old_level)


@pytest.mark.django_db
def test_each_request_is_one_json_log_line_with_its_id_and_no_secret(json_log):
    user = PatientFactory(full_name="张林 Zhang Lin").account
    token = token_issue(user=user).key
    request_id = uuid.uuid4().hex
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}", HTTP_X_REQUEST_ID=request_id)
    assert api.get("/api/patients/", {"search": "张林"}).status_code == 200
    lines = [line for line in json_log() if line["logger"] == "cloudhospital.request"]
    assert len(lines) == 1
    line = lines[0]
    assert line["request_id"] == request_id
    assert line["level"] == "INFO"
    assert (line["method"], line["path"], line["status"]) == ("GET", "/api/patients/", 200)
    assert line["duration_ms"] >= 0 and line["timestamp"]
    assert {"timestamp", "level", "logger", "message", "request_id"} <= set(line)
    raw = json.dumps(line, ensure_ascii=False)
    assert token not in raw and "张林" not in raw and "search" not in raw


def test_log_format_is_text_with_debug_json_without_and_switchable():
    def log_format(**env) -> str:
        base = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "LOG_FORMAT"}}
        base.update({"SECRET_KEY": "x" * 50, "PRESCRIPTION_SIGNING_SECRET": "y" * 40, **env})
        code = "from cloudhospital import settings as s; print(s.LOGGING['handlers']['console']['formatter'])"
        result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=base, capture_output=True, text=True)
        return result.stdout.strip() or result.stderr.strip().splitlines()[-1]

    assert log_format(DEBUG="1") == "text"
    assert log_format(DEBUG="0") == "json"
    assert log_format(DEBUG="1", LOG_FORMAT="json") == "json"
    assert log_format(DEBUG="0", LOG_FORMAT="text") == "text"
    assert "LOG_FORMAT must be json or text" in log_format(DEBUG="1", LOG_FORMAT="xml")
