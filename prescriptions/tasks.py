"""Celery tasks for prescriptions: thin, safe to run twice."""

from celery import shared_task
from django.db import OperationalError

from prescriptions.lifecycle import prescriptions_expire_due


@shared_task(name="prescriptions.tasks.prescriptions_expire", autoretry_for=(OperationalError,),
             retry_backoff=True, max_retries=5)
def prescriptions_expire() -> int:
    """Beat: expire signed or approved prescriptions not dispensed within their validity.
    Idempotent: each prescription is re-checked under its row lock."""
    return prescriptions_expire_due()
