"""Celery tasks of the core app: thin, idempotent wrappers around domain functions."""

from celery import shared_task

from cloudhospital.notifications import notification_deliver_now
from cloudhospital.outbox import outbox_relay as relay
from cloudhospital.regulator import regulator_deliver as deliver_to_regulator


@shared_task(bind=True, autoretry_for=(ConnectionError, TimeoutError), retry_backoff=True, max_retries=5)
def notification_deliver(self, notification_id: int) -> bool:
    """Send one stored notification; a redelivered task finds it sent and does nothing."""
    return notification_deliver_now(notification_id=notification_id)


@shared_task(name="cloudhospital.tasks.outbox_relay")
def outbox_relay(message_ids: list[int] | None = None) -> dict:
    """Beat (every OUTBOX_RELAY_SECONDS) and the after-commit kick: run the due outbox rows.
    Safe to run twice and in parallel; never raises for a failing row (it is retried)."""
    return relay(message_ids=message_ids)


@shared_task(name="cloudhospital.tasks.regulator_deliver")
def regulator_deliver(event_id: int) -> str:
    """The outbox's delivery of one regulator event (cloudhospital.regulator): raises while
    the platform does not take it, so the relay retries with backoff; a delivered event is
    not sent again."""
    return deliver_to_regulator(event_id=event_id)
