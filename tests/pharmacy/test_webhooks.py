"""New-order webhooks against a real HTTP server on 127.0.0.1: HMAC-SHA256 signature, the
same event id on every retry, retries after failures, no patient data, nothing for a
pharmacy the order has left."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from pharmacy import orders
from pharmacy.orders import reassignment
from pharmacy.tasks import order_webhook_deliver
from pharmacy.webhooks import WebhookFailed, webhook_deliver, webhook_signature_valid
from tests.factories import pos
from tests.pharmacy.conftest import HOME, north_of_home

pytestmark = pytest.mark.django_db
SECRET = "whsec_test_0123456789"


@pytest.fixture
def hook_server():
    """A local endpoint recording each request; answers the statuses in `server.answers` in
    turn (200 once they run out)."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's naming
            body = self.rfile.read(int(self.headers["Content-Length"]))
            server.received.append({"path": self.path, "headers": dict(self.headers), "body": body})
            status = server.answers.pop(0) if server.answers else 200
            self.send_response(status)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.received, server.answers = [], []
    server.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/orders"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_a_new_order_is_posted_signed_to_the_pharmacys_webhook(
        hook_server, stocked, rx, family, django_capture_on_commit_callbacks):
    pharmacy = stocked(webhook_url=hook_server.url, webhook_secret=SECRET)
    with django_capture_on_commit_callbacks(execute=True):
        order = orders.order_place(by=family[0].account, prescription=rx, kind="pickup", pharmacy=pharmacy)
    (request,) = hook_server.received
    assert request["path"] == "/hooks/orders"
    assert webhook_signature_valid(secret=SECRET, body=request["body"], header=request["headers"]["X-Signature"])
    assert not webhook_signature_valid(secret="wrong", body=request["body"], header=request["headers"]["X-Signature"])
    event = json.loads(request["body"])
    assert event["event"] == "order.created" and event["event_id"] == f"order-{order.pk}-1"
    assert request["headers"]["X-Event-Id"] == event["event_id"]
    assert event["order"]["id"] == order.pk and event["order"]["url"] == f"/api/pharmacy/orders/{order.pk}/"
    assert sorted((i["drug_code"], i["quantity"]) for i in event["order"]["items"]) == [("AML5", 14), ("VAL80", 28)]
    text = request["body"].decode()
    assert family[1].full_name not in text and "I10" not in text


def test_a_failing_webhook_is_retried_with_the_same_event_id(hook_server, stocked, rx, family, monkeypatch):
    pharmacy = stocked(webhook_url=hook_server.url, webhook_secret=SECRET)
    order = orders.order_place(by=family[0].account, prescription=rx, kind="pickup", pharmacy=pharmacy)
    hook_server.answers = [500, 503]
    # Eager apply() runs Celery's retries in place (without the countdown) when it does not
    # propagate the Retry; a worker would schedule them 10 s, 20 s ... later.
    monkeypatch.setattr(order_webhook_deliver.app.conf, "task_eager_propagates", False)
    result = order_webhook_deliver.apply(args=(order.pk, 1))
    assert result.get() == "sent"
    assert [r["headers"]["X-Event-Id"] for r in hook_server.received] == [f"order-{order.pk}-1"] * 3


def test_an_unreachable_webhook_raises_for_the_task_to_retry(stocked, rx, family):
    pharmacy = stocked(webhook_url="http://127.0.0.1:9/closed", webhook_secret=SECRET)
    order = orders.order_place(by=family[0].account, prescription=rx, kind="pickup", pharmacy=pharmacy)
    with pytest.raises(WebhookFailed):
        webhook_deliver(order_id=order.pk, attempt=1)


def test_the_next_pharmacy_gets_its_own_event_and_the_old_one_none_after_reassignment(
        hook_server, stocked, rx, family, django_capture_on_commit_callbacks):
    first = stocked(latitude=HOME[0], longitude=HOME[1])
    second = stocked(latitude=north_of_home(1)[0], longitude=HOME[1], webhook_url=hook_server.url,
                     webhook_secret=SECRET)
    order = orders.order_place(by=family[0].account, prescription=rx, kind="pickup", pharmacy=first)
    orders.order_reject(order=order, pharmacy=first, by=pos(first), reason="busy")
    with django_capture_on_commit_callbacks(execute=True):
        reassignment.order_reassign(order_id=order.pk, attempt=1)
    (request,) = hook_server.received
    assert json.loads(request["body"])["event_id"] == f"order-{order.pk}-2"
    assert webhook_deliver(order_id=order.pk, attempt=1) == "skipped"
    assert len(hook_server.received) == 1
    assert second.pk != first.pk
