"""Celery tasks of the core app: thin, idempotent wrappers around domain functions."""

from celery import shared_task

from cloudhospital.notifications import notification_deliver_now


@shared_task(bind=True, autoretry_for=(ConnectionError, TimeoutError), retry_backoff=True, max_retries=5)
def notification_deliver(self, notification_id: int) -> bool:
    """Send one stored notification; a redelivered task finds it sent and does nothing."""
    return notification_deliver_now(notification_id=notification_id)
