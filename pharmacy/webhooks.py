"""New-order events for pharmacies that configured a webhook URL.

The body is JSON; `X-Signature: sha256=<hex>` is the HMAC-SHA256 of the exact body bytes
with the pharmacy's webhook secret, so the pharmacy can check it came from us and was not
altered. `X-Event-Id` (order id and assignment attempt) is the same on every retry, so a
pharmacy that received an event twice can drop the second. The event carries no patient
data: the pharmacy fetches the order through the API with its token.
"""

import hashlib
import hmac
import json

import httpx
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone

from pharmacy.models import Order

SIGNATURE_HEADER = "X-Signature"
EVENT_ORDER_CREATED = "order.created"


class WebhookFailed(Exception):
    """The pharmacy's endpoint did not take the event (network error or non-2xx); retried."""


def webhook_signature(*, secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def webhook_signature_valid(*, secret: str, body: bytes, header: str) -> bool:
    """What a pharmacy does on receipt: recompute and compare in constant time."""
    return hmac.compare_digest(webhook_signature(secret=secret, body=body), header or "")


def order_event(order: Order) -> dict:
    """The new-order event: which order, what to prepare, where to fetch the rest."""
    return {
        "event": EVENT_ORDER_CREATED,
        "event_id": f"order-{order.pk}-{order.attempt}",
        "sent_at": timezone.now(),
        "order": {
            "id": order.pk,
            "kind": order.kind,
            "status": order.status,
            "attempt": order.attempt,
            "prescription": order.prescription_id,
            "promised_date": order.promised_date,
            "assigned_at": order.assigned_at,
            "accept_within_minutes": settings.ORDER_ACCEPT_TIMEOUT_MINUTES,
            "items": [
                {"drug_code": line.drug.code, "drug_name": str(line.drug), "quantity": line.quantity}
                for line in order.lines.select_related("drug").order_by("drug__code")
            ],
            "url": f"/api/pharmacy/orders/{order.pk}/",
        },
    }


def webhook_deliver(*, order_id: int, attempt: int) -> str:
    """POST the new-order event for assignment `attempt` of the order to its pharmacy.

    Returns "sent", or "skipped" when there is nothing to send any more (the order moved to
    another pharmacy, or the pharmacy has no webhook). Raises WebhookFailed on a network
    error or a non-2xx answer, for the task to retry with backoff.
    """
    order = Order.objects.select_related("pharmacy").filter(pk=order_id).first()
    if order is None or order.attempt != attempt or not order.pharmacy.webhook_url:
        return "skipped"
    pharmacy = order.pharmacy
    event = order_event(order)
    body = json.dumps(event, cls=DjangoJSONEncoder, ensure_ascii=False, separators=(",", ":")).encode()
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "X-Event-Id": event["event_id"],
        "X-Event": EVENT_ORDER_CREATED,
        SIGNATURE_HEADER: webhook_signature(secret=pharmacy.webhook_secret, body=body),
    }
    try:
        response = httpx.post(pharmacy.webhook_url, content=body, headers=headers,
                              timeout=settings.PHARMACY_WEBHOOK_TIMEOUT_SECONDS, follow_redirects=False)
    except httpx.HTTPError as error:
        raise WebhookFailed(f"{pharmacy.webhook_url}: {error}") from error
    if not 200 <= response.status_code < 300:
        raise WebhookFailed(f"{pharmacy.webhook_url} answered {response.status_code}")
    return "sent"
