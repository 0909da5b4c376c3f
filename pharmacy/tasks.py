"""Celery tasks for pharmacy orders: thin, take ids, safe to run twice."""

from celery import shared_task
from django.db import OperationalError

from pharmacy.orders.reassignment import order_reassign, orders_reassign_overdue
from pharmacy.webhooks import WebhookFailed, webhook_deliver

WEBHOOK_MAX_RETRIES = 6
WEBHOOK_BACKOFF_SECONDS = 10


@shared_task(name="pharmacy.tasks.order_reassign_task", autoretry_for=(OperationalError,), retry_backoff=True,
             max_retries=5)
def order_reassign_task(order_id: int, attempt: int) -> str:
    """Move a rejected or overdue order on. Keyed by the assignment attempt it was queued
    for, so a redelivered task (worker lost mid-run) finds the work done and skips."""
    return order_reassign(order_id=order_id, attempt=attempt)


@shared_task(name="pharmacy.tasks.orders_reassign_overdue_task", autoretry_for=(OperationalError,),
             retry_backoff=True, max_retries=3)
def orders_reassign_overdue_task() -> int:
    """Beat, every minute: reassign orders not accepted in time and rejected ones whose task was lost."""
    return orders_reassign_overdue()


@shared_task(bind=True, name="pharmacy.tasks.order_webhook_deliver", max_retries=WEBHOOK_MAX_RETRIES)
def order_webhook_deliver(self, order_id: int, attempt: int) -> str:
    """POST the new-order event to the pharmacy's webhook; on failure retry after 10 s, 20 s,
    40 s ... (six retries, about ten minutes, which is the acceptance window)."""
    try:
        return webhook_deliver(order_id=order_id, attempt=attempt)
    except WebhookFailed as error:
        raise self.retry(exc=error, countdown=WEBHOOK_BACKOFF_SECONDS * 2**self.request.retries) from error
