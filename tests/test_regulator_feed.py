"""The regulator's feed (cloudhospital.regulator): each consult, prescription and dispense
event goes through the outbox, HMAC-signed to the platform's endpoint or into the local sink;
a failing endpoint is retried with backoff and shows in the admin; an event is delivered once;
`regulator_export` writes the same envelopes as a documented JSON file; and Zhang Lin's day
leaves every event in the sink, in order."""

import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import StringIO
from pathlib import Path

import jsonschema
import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone

from cloudhospital.models import OutboxMessage, OutboxStatus, RegulatorEvent
from cloudhospital.outbox import outbox_relay
from cloudhospital.regulator import (
    EVENT_ID_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    regulator_deliver,
    regulator_export,
    regulator_report,
    regulator_signature_valid,
    regulator_sink_read,
)
from consult import consultation as consult_rules
from pharmacy import orders
from prescriptions import lifecycle
from tests.factories import BloodPressureFactory, PharmacyFactory, PharmacyStaffFactory, StockFactory, UserFactory

# The prescription fixtures: Dr. Chen's consultation with Zhang Lin in progress, writing and signing.
from tests.prescriptions.conftest import formulary, line, review_pharmacist, room, write  # noqa: F401

pytestmark = pytest.mark.django_db
SECRET = "regulator-test-secret-0123456789"
SCHEMA = Path(__file__).resolve().parent.parent / "docs" / "regulator-feed.schema.json"


@pytest.fixture(autouse=True)
def sink(settings, tmp_path):
    """The embedded default: no endpoint, a local JSON-lines sink of this test's own."""
    settings.REGULATOR_ENDPOINT = ""
    settings.REGULATOR_SINK_PATH = tmp_path / "regulator-feed.jsonl"
    settings.REGULATOR_PLATFORM, settings.REGULATOR_INSTITUTION_CODE = "zj-test", "330200-TEST"
    return settings.REGULATOR_SINK_PATH


@pytest.fixture
def platform(settings):
    """A local supervision platform recording each request; answers the statuses in
    `server.answers` in turn (200 once they run out)."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's naming
            body = self.rfile.read(int(self.headers["Content-Length"]))
            status = server.answers.pop(0) if server.answers else 200
            server.received.append({"headers": dict(self.headers), "body": body, "status": status})
            self.send_response(status)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.received, server.answers = [], []
    settings.REGULATOR_ENDPOINT = f"http://127.0.0.1:{server.server_address[1]}/api/events"
    settings.REGULATOR_HMAC_SECRET = SECRET
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_an_admission_is_an_event_in_the_same_transaction_with_its_outbox_row(room):
    (event,) = RegulatorEvent.objects.filter(kind="consultation.started")
    assert event.outbox.task == "cloudhospital.tasks.regulator_deliver" and event.outbox.args == [event.pk]
    assert event.payload["consultation_id"] == room.consultation.pk
    assert event.payload["doctor"]["licence_number"] == room.doctor.licence_number
    assert event.payload["patient"]["id_number"] == room.patient.id_number
    assert event.delivered_at is None


def test_the_platform_receives_a_signed_event_with_a_stable_id(platform, room):
    outbox_relay()
    (request,) = platform.received
    headers, body = request["headers"], request["body"]
    event = RegulatorEvent.objects.get(kind="consultation.started")
    assert headers[EVENT_ID_HEADER] == str(event.event_id) == json.loads(body)["event_id"]
    assert regulator_signature_valid(secret=SECRET, timestamp=headers[TIMESTAMP_HEADER], body=body,
                                     header=headers[SIGNATURE_HEADER])
    assert not regulator_signature_valid(secret="wrong", timestamp=headers[TIMESTAMP_HEADER], body=body,
                                         header=headers[SIGNATURE_HEADER])
    assert not regulator_signature_valid(secret=SECRET, timestamp=headers[TIMESTAMP_HEADER], body=body + b" ",
                                         header=headers[SIGNATURE_HEADER])
    # a captured body replayed an hour later is refused
    assert not regulator_signature_valid(secret=SECRET, timestamp=headers[TIMESTAMP_HEADER], body=body,
                                         header=headers[SIGNATURE_HEADER], now=int(headers[TIMESTAMP_HEADER]) + 3600)
    event.refresh_from_db()
    assert event.delivered_at is not None and event.delivered_to == platform_url(platform)


def platform_url(platform) -> str:
    return f"http://127.0.0.1:{platform.server_address[1]}/api/events"


def test_a_500_is_retried_with_backoff_and_the_event_delivered_once_when_it_recovers(platform, room):
    platform.answers = [500, 503]
    event = RegulatorEvent.objects.get(kind="consultation.started")
    assert outbox_relay() == {"done": 0, "retry": 1, "dead": 0, "skipped": 0}
    message = OutboxMessage.objects.get(pk=event.outbox_id)
    assert message.attempts == 1 and "answered 500" in message.last_error
    assert outbox_relay()["done"] == 0  # not due again until the backoff has passed
    with time_machine.travel(timezone.now() + timedelta(seconds=11)):
        assert outbox_relay()["retry"] == 1
    with time_machine.travel(timezone.now() + timedelta(seconds=60)):
        assert outbox_relay()["done"] == 1
        assert outbox_relay()["done"] == 0
    assert [r["status"] for r in platform.received] == [500, 503, 200]
    assert {r["headers"][EVENT_ID_HEADER] for r in platform.received} == {str(event.event_id)}
    event.refresh_from_db()
    assert event.delivered_at is not None and event.outbox.attempts == 3 and event.outbox.status == OutboxStatus.DONE
    # a relay that runs the task again (its "done" lost) sends nothing a second time
    assert regulator_deliver(event_id=event.pk) == "already delivered"
    assert len(platform.received) == 3


def test_a_failing_endpoint_shows_in_the_admin_and_can_be_queued_again(platform, room, client, settings):
    settings.OUTBOX_MAX_ATTEMPTS = 1
    platform.answers = [500]
    outbox_relay()
    event = RegulatorEvent.objects.get(kind="consultation.started")
    assert event.outbox.status == OutboxStatus.DEAD
    staff = UserFactory(role="hospital_admin", is_staff=True, is_superuser=True)
    client.force_login(staff)
    html = client.get("/admin/cloudhospital/regulatorevent/?delivered_at__isempty=1").content.decode()
    assert "consultation.started" in html and "given up" in html and "answered 500" in html
    page = client.get(f"/admin/cloudhospital/regulatorevent/{event.pk}/change/")
    assert page.status_code == 200
    from cloudhospital.models import AccessLog

    assert AccessLog.objects.filter(user=staff, patient=room.patient, action="admin_read").exists()
    client.post("/admin/cloudhospital/regulatorevent/", {"action": "requeue", "_selected_action": [event.pk]})
    assert outbox_relay()["done"] == 1
    event.refresh_from_db()
    assert event.delivered_at is not None


def test_the_embedded_default_appends_each_event_once_to_the_local_sink(sink, room):
    outbox_relay()
    outbox_relay()
    (line_,) = regulator_sink_read(sink)
    event = RegulatorEvent.objects.get()
    assert line_["event_id"] == str(event.event_id) and line_["type"] == "consultation.started"
    assert line_["platform"] == "zj-test" and line_["institution"] == "330200-TEST"
    assert event.delivered_to == f"file://{sink}"


def test_a_file_endpoint_is_a_sink_too(settings, tmp_path, room):
    settings.REGULATOR_ENDPOINT = f"file://{tmp_path / 'elsewhere.jsonl'}"
    outbox_relay()
    assert [e["type"] for e in regulator_sink_read(tmp_path / "elsewhere.jsonl")] == ["consultation.started"]


def test_an_unknown_event_kind_fails_before_anything_is_written():
    with pytest.raises(ValueError):
        regulator_report("consultation.gossip", {})
    assert not RegulatorEvent.objects.exists()


def test_a_draft_voided_before_signing_is_not_reported(room, write):
    draft = write()
    lifecycle.prescription_void(by=room.doctor_user, prescription=draft, reason="wrong drug")
    assert not RegulatorEvent.objects.filter(kind__startswith="prescription.").exists()


def test_a_rejection_and_a_void_after_approval_are_reported(room, write, review_pharmacist):
    first = write(sign=True)
    lifecycle.prescription_reject(by=review_pharmacist, prescription=first, reason="dose too high for eGFR 48")
    second = write(sign=True)
    lifecycle.prescription_approve(by=review_pharmacist, prescription=second)
    lifecycle.prescription_void(by=room.doctor_user, prescription=second, reason="patient admitted to hospital")
    events = list(RegulatorEvent.objects.filter(kind__startswith="prescription.").values_list("kind", "payload"))
    assert [kind for kind, _ in events] == ["prescription.signed", "prescription.rejected", "prescription.signed",
                                            "prescription.approved", "prescription.voided"]
    rejected = events[1][1]
    assert rejected["review_reason"] == "dose too high for eGFR 48"
    assert rejected["reviewed_by"]["name"] == review_pharmacist.full_name
    assert events[4][1]["voided_reason"] == "patient admitted to hospital"


def test_a_referral_offline_is_reported_as_such(room):
    consult_rules.consultation_refer_offline(by=room.doctor_user, consultation=room.consultation,
                                             reason="new chest pain", department="心内科 Cardiology")
    (event,) = RegulatorEvent.objects.filter(kind="consultation.referred_offline")
    assert event.payload["referral_reason"] == "new chest pain" and event.payload["outcome"] == "referred_offline"


def test_export_round_trip_matches_the_feed_and_its_schema(sink, room, write, tmp_path):
    write(sign=True)
    outbox_relay()
    today = timezone.localdate()
    output = tmp_path / "inspection.json"
    out = StringIO()
    call_command("regulator_export", "--from", (today - timedelta(days=1)).isoformat(), "--to", today.isoformat(),
                 "--output", str(output), stdout=out)
    document = json.loads(output.read_text(encoding="utf-8"))
    jsonschema.validate(document, json.loads(SCHEMA.read_text(encoding="utf-8")))
    assert document["format"] == "cloudhospital.regulator-export" and document["to"] == today.isoformat()
    fed = regulator_sink_read(sink)
    exported = [{k: v for k, v in e.items() if k != "delivered_at"} for e in document["events"]]
    assert exported == fed and [e["type"] for e in fed] == ["consultation.started", "prescription.signed"]
    assert all(e["delivered_at"] for e in document["events"])
    assert "2 events" in out.getvalue()
    # a range without events is an empty, still valid document
    empty = regulator_export(date_from=today - timedelta(days=30), date_to=today - timedelta(days=29))
    jsonschema.validate(empty, json.loads(SCHEMA.read_text(encoding="utf-8")))
    assert empty["events"] == []


def test_export_refuses_a_bad_range():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="--from"):
        call_command("regulator_export", "--from", "2026-13-01", "--to", "2026-12-01")
    with pytest.raises(CommandError, match="--to"):
        call_command("regulator_export", "--from", "2026-12-02", "--to", "2026-12-01")


def test_zhang_lins_day_leaves_every_event_in_the_sink_in_order(sink, room, write, line, review_pharmacist, formulary):
    """Zhang Lin (84, hypertension and CKD 3) measures 158/92 at home; Dr. Chen admits him
    (the room fixture), records the diagnosis, prescribes amlodipine and ends the visit; the
    review pharmacist approves; his daughter orders for pickup and the pharmacy hands it over."""
    BloodPressureFactory(patient=room.patient, systolic=158, diastolic=92)
    consult_rules.consultation_record(by=room.doctor_user, consultation=room.consultation,
                                      diagnosis=[{"code": "I10", "name": "Essential hypertension"}])
    rx = write(sign=True)
    consult_rules.consultation_end(by=room.doctor_user, consultation=room.consultation,
                                   follow_up_advice="Measure twice a day", follow_up_interval_days=28)
    lifecycle.prescription_approve(by=review_pharmacist, prescription=rx)
    pharmacy = PharmacyFactory()
    StockFactory(pharmacy=pharmacy, drug=formulary["AMLO-T5"], on_hand=100)
    pharmacist = PharmacyStaffFactory(pharmacy=pharmacy).user
    order = orders.order_place(by=room.proxy, prescription=rx, kind="pickup", pharmacy=pharmacy)
    orders.order_accept(order=order, pharmacy=pharmacy, by=pharmacist)
    orders.order_prepare(order=order, pharmacy=pharmacy, by=pharmacist)
    ready = orders.order_ready(order=order, pharmacy=pharmacy, by=pharmacist)
    orders.order_pick_up(order=order, pharmacy=pharmacy, by=pharmacist, pickup_code=ready.pickup_code)

    outbox_relay()
    feed = regulator_sink_read(sink)
    assert [e["type"] for e in feed] == [
        "consultation.started", "prescription.signed", "consultation.ended", "prescription.approved",
        "prescription.dispensed",
    ]
    assert [e["occurred_at"] for e in feed] == sorted(e["occurred_at"] for e in feed)
    assert len({e["event_id"] for e in feed}) == 5
    started, signed, ended, approved, dispensed = (e["data"] for e in feed)
    assert started["doctor"]["licence_number"] == room.doctor.licence_number
    assert started["patient"]["id_number"] == room.patient.id_number
    assert ended["diagnosis"] == [{"code": "I10", "name": "Essential hypertension"}] and ended["outcome"] == "completed"
    assert signed["prescription_id"] == rx.pk and signed["items"][0]["drug_code"] == "AMLO-T5"
    assert signed["items"][0]["legal_class"] == "ordinary"
    assert approved["reviewed_by"]["name"] == review_pharmacist.full_name
    assert dispensed["order_id"] == order.pk and dispensed["handover"] == "pickup"
    assert dispensed["pharmacy"]["name"] == pharmacy.name and dispensed["lines"][0]["quantity"] == 7
    assert RegulatorEvent.objects.filter(delivered_at__isnull=True).count() == 0
