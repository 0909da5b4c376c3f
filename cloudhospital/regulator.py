"""The regulator's real-time feed: every consult, prescription and dispense, reported to the
province's supervision platform (互联网医疗服务监管平台).

互联网诊疗管理办法（试行）art. 24: every step leaves a trace, with a data interface for the
regulator; 互联网诊疗监管细则（试行）: institutions connect to the province's platform and report
to it in real time.

The domain function that causes an event calls `regulator_report(kind, payload)` inside its
transaction (the payload is built by the app that owns the data: consult.regulator_events,
prescriptions.regulator_events, pharmacy.regulator_events). That writes a RegulatorEvent and
an outbox row in the same transaction, so an event exists exactly when its cause committed.
The outbox relay runs `regulator_deliver`, which

- POSTs the event's envelope to REGULATOR_ENDPOINT, HMAC-SHA256-signed with
  REGULATOR_HMAC_SECRET (`X-Regulator-Timestamp`, `X-Regulator-Signature: sha256=<hex>` over
  "<timestamp>.<body>", `X-Regulator-Event-Id`), or, with no endpoint or a `file://` one,
  appends the envelope as one JSON line to the local sink (REGULATOR_SINK_PATH): the embedded
  default, which `make run` and the tests use;
- raises on a network error or a non-2xx answer, so the outbox retries with its backoff and,
  after OUTBOX_MAX_ATTEMPTS, gives up (`dead`), which the admin shows on the event;
- records `delivered_at` once it succeeded, and does nothing for an event already delivered:
  delivered once from our side, and `event_id` (stable across retries) lets the platform drop
  a duplicate that a lost acknowledgement caused.

`regulator_export` writes the same envelopes for a date range as one JSON document, for an
inspection (docs/regulator-feed.md; its JSON Schema is docs/regulator-feed.schema.json).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from datetime import date, datetime, time as day_time, timedelta
from pathlib import Path

import httpx
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from cloudhospital.models import RegulatorEvent
from cloudhospital.outbox import outbox_add

SCHEMA_VERSION = 1
DELIVER_TASK = "cloudhospital.tasks.regulator_deliver"
EXPORT_FORMAT = "cloudhospital.regulator-export"

# The events the platform receives, in the order a visit produces them.
EVENT_KINDS = (
    "consultation.started",          # the doctor admits the patient
    "consultation.ended",            # completed online
    "consultation.referred_offline",  # stopped and sent to an in-person visit
    "prescription.signed",
    "prescription.approved",
    "prescription.rejected",
    "prescription.voided",
    "prescription.dispensed",        # the pharmacy handed it over or delivered it
)

TIMESTAMP_HEADER = "X-Regulator-Timestamp"
SIGNATURE_HEADER = "X-Regulator-Signature"
EVENT_ID_HEADER = "X-Regulator-Event-Id"


class RegulatorDeliveryFailed(Exception):
    """The platform did not take the event (network error or non-2xx answer); retried."""


class _LocalTimeEncoder(DjangoJSONEncoder):
    """Times in the hospital's zone with their offset, as the envelope's `occurred_at`."""

    def default(self, o):
        if isinstance(o, datetime) and timezone.is_aware(o):
            o = timezone.localtime(o)
        return super().default(o)


def _json_safe(value) -> dict:
    return json.loads(json.dumps(value, cls=_LocalTimeEncoder, ensure_ascii=False))


def regulator_report(kind: str, payload: dict, *, occurred_at: datetime | None = None) -> RegulatorEvent:
    """Record event `kind` with `payload` (JSON: ids, codes, ISO times) for the platform,
    inside the caller's transaction, and queue its delivery through the outbox."""
    if kind not in EVENT_KINDS:
        raise ValueError(f"unknown regulator event kind {kind!r}")
    event = RegulatorEvent.objects.create(
        event_id=uuid.uuid4(), kind=kind, occurred_at=occurred_at or timezone.now(), payload=_json_safe(payload))
    event.outbox = outbox_add(DELIVER_TASK, event.pk)
    event.save(update_fields=["outbox"])
    return event


def regulator_envelope(event: RegulatorEvent) -> dict:
    """What the platform receives for one event (docs/regulator-feed.md)."""
    return {
        "schema_version": SCHEMA_VERSION,
        "event_id": str(event.event_id),
        "type": event.kind,
        "occurred_at": timezone.localtime(event.occurred_at).isoformat(),
        "platform": settings.REGULATOR_PLATFORM,
        "institution": settings.REGULATOR_INSTITUTION_CODE,
        "data": event.payload,
    }


def regulator_body(event: RegulatorEvent) -> bytes:
    """The envelope as sent: canonical JSON (sorted keys, no spaces, UTF-8)."""
    return json.dumps(regulator_envelope(event), ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def regulator_signature(*, secret: str, timestamp: str, body: bytes) -> str:
    """HMAC-SHA256 over "<timestamp>." + body, so a captured body cannot be replayed later
    with a fresh timestamp."""
    return "sha256=" + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def regulator_signature_valid(*, secret: str, timestamp: str, body: bytes, header: str,
                              now: float | None = None, tolerance_seconds: int = 300) -> bool:
    """What the platform does on receipt: the timestamp is recent and the signature matches
    (compared in constant time)."""
    try:
        age = abs((now if now is not None else time.time()) - int(timestamp))
    except (TypeError, ValueError):
        return False
    return age <= tolerance_seconds and hmac.compare_digest(
        regulator_signature(secret=secret, timestamp=timestamp, body=body), header or "")


def regulator_sink_path() -> Path:
    endpoint = settings.REGULATOR_ENDPOINT
    if endpoint.startswith("file://"):
        return Path(endpoint.removeprefix("file://"))
    return Path(settings.REGULATOR_SINK_PATH)


def regulator_sink_read(path: Path | None = None) -> list[dict]:
    """The envelopes in the local sink, in the order they were written."""
    path = path or regulator_sink_path()
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _post(event: RegulatorEvent, body: bytes) -> str:
    endpoint = settings.REGULATOR_ENDPOINT
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        EVENT_ID_HEADER: str(event.event_id),
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: regulator_signature(secret=settings.REGULATOR_HMAC_SECRET, timestamp=timestamp, body=body),
    }
    try:
        response = httpx.post(endpoint, content=body, headers=headers, timeout=settings.REGULATOR_TIMEOUT_SECONDS,
                              follow_redirects=False)
    except httpx.HTTPError as error:
        raise RegulatorDeliveryFailed(f"{endpoint}: {error}") from error
    if not 200 <= response.status_code < 300:
        raise RegulatorDeliveryFailed(f"{endpoint} answered {response.status_code}")
    return endpoint


def _append(body: bytes) -> str:
    path = regulator_sink_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("ab") as sink:
        sink.write(body + b"\n")
    return f"file://{path}"


@transaction.atomic
def regulator_deliver(*, event_id: int) -> str:
    """Deliver one event (the outbox's task): "delivered", or "already delivered" / "missing"
    when there is nothing to send. Raises RegulatorDeliveryFailed for the outbox to retry."""
    event = RegulatorEvent.objects.select_for_update().filter(pk=event_id).first()
    if event is None:
        return "missing"
    if event.delivered_at is not None:
        return "already delivered"
    body = regulator_body(event)
    endpoint = settings.REGULATOR_ENDPOINT
    target = _post(event, body) if endpoint.startswith(("http://", "https://")) else _append(body)
    event.delivered_at, event.delivered_to = timezone.now(), target[:300]
    event.save(update_fields=["delivered_at", "delivered_to"])
    return "delivered"


def regulator_export(*, date_from: date, date_to: date) -> dict:
    """Every event that occurred from `date_from` to `date_to` (inclusive, local dates), as
    the envelopes the feed carries, in order: the inspection's JSON document."""
    tz = timezone.get_current_timezone()
    start = datetime.combine(date_from, day_time.min, tzinfo=tz)
    end = datetime.combine(date_to + timedelta(days=1), day_time.min, tzinfo=tz)
    events = RegulatorEvent.objects.filter(occurred_at__gte=start, occurred_at__lt=end).order_by("occurred_at", "id")
    return {
        "format": EXPORT_FORMAT,
        "schema_version": SCHEMA_VERSION,
        "platform": settings.REGULATOR_PLATFORM,
        "institution": settings.REGULATOR_INSTITUTION_CODE,
        "from": date_from.isoformat(),
        "to": date_to.isoformat(),
        "generated_at": timezone.localtime().isoformat(),
        "events": [
            {**regulator_envelope(event),
             "delivered_at": timezone.localtime(event.delivered_at).isoformat() if event.delivered_at else None}
            for event in events
        ],
    }
