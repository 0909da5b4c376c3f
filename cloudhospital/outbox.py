"""The transactional outbox: side effects that leave the database are never lost.

Domain code calls `outbox_add("consult.tasks.booking_remind", booking.pk)` inside the
transaction that causes the effect; the row commits (or rolls back) with it. After commit a
best-effort kick asks a worker to relay it now; that kick never raises into the request (a
broker that is down only delays the effect). The relay (`outbox_relay`, also run by beat
every OUTBOX_RELAY_SECONDS) runs each due row's task in its own process and marks the row
done only once the task returned, so an effect survives a broker restart without
persistence, a worker killed between commit and publish, or a worker killed mid-effect (the
row is still pending and is picked up again).

Delivery is at least once: a task that ran but whose "done" did not commit runs again, so
every task the outbox carries is idempotent (keyed notifications, webhook event ids,
state-checked domain verbs). Rows are claimed with `SELECT … FOR UPDATE SKIP LOCKED`, so
relays run twice and in parallel without doing a row twice at once. A failing task is
retried with exponential backoff; after OUTBOX_MAX_ATTEMPTS it is given up (`dead`), logged
and shown in the admin, where it can be queued again.

Why not a library: the Django outbox packages publish the row to the broker and mark it
sent, which loses the effect again when Redis restarts without persistence; here the row is
the message until the effect itself has run.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from cloudhospital.models import OutboxMessage, OutboxStatus

logger = logging.getLogger("cloudhospital.outbox")

RELAY_TASK = "cloudhospital.tasks.outbox_relay"


def _celery_app():
    from cloudhospital.celery import app

    return app


def _task(name: str):
    app = _celery_app()
    if name not in app.tasks:
        # A web process has not imported the apps' tasks modules yet: let Celery's
        # autodiscovery import them (it does nothing the second time).
        app.loader.import_default_modules()
    return app.tasks[name]


def outbox_add(task_name: str, *args, **kwargs) -> OutboxMessage:
    """Record that `task_name(*args, **kwargs)` must run once the current transaction
    commits, and kick the relay after commit. An unknown task name fails now, before the
    write commits; arguments must be JSON (ids, not objects)."""
    _task(task_name)
    message = OutboxMessage.objects.create(task=task_name, args=list(args), kwargs=kwargs)
    message_id = message.pk
    transaction.on_commit(lambda: outbox_kick(message_id))
    return message


def outbox_kick(message_id: int | None = None) -> bool:
    """Ask a worker to relay now. Never raises: if the broker is down the beat relay (or the
    next kick) delivers the row later. With eager Celery (the embedded default) this runs the
    relay in-process. Returns whether the kick was queued."""
    try:
        _task(RELAY_TASK).delay(message_ids=[message_id] if message_id else None)
    except Exception:  # noqa: BLE001 - any broker failure means the same here: try later
        logger.warning("could not queue the outbox relay; message %s waits for the next relay", message_id,
                       exc_info=True)
        return False
    return True


def _backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(settings.OUTBOX_BACKOFF_SECONDS * 2 ** max(attempts - 1, 0),
                                 settings.OUTBOX_BACKOFF_MAX_SECONDS))


def _relay_one(message_id: int) -> str | None:
    """Run one due message, in its own transaction. Returns "done", "retry", "dead", or None
    when another relay holds it or it is no longer due."""
    now = timezone.now()
    with transaction.atomic():
        message = (
            OutboxMessage.objects.select_for_update(skip_locked=True)
            .filter(pk=message_id, status=OutboxStatus.PENDING, next_attempt_at__lte=now)
            .first()
        )
        if message is None:
            return None
        message.attempts += 1
        try:
            # The task's own writes sit in a savepoint: a failure rolls them back and keeps
            # the attempt count.
            with transaction.atomic():
                _task(message.task)(*message.args, **message.kwargs)
        except Exception as error:  # noqa: BLE001 - every failure is recorded and retried
            message.last_error = f"{type(error).__name__}: {error}"[:2000]
            if message.attempts >= settings.OUTBOX_MAX_ATTEMPTS:
                message.status = OutboxStatus.DEAD
                logger.error("outbox message %s (%s) given up after %s attempts: %s", message.pk, message.task,
                             message.attempts, message.last_error)
            else:
                message.next_attempt_at = now + _backoff(message.attempts)
                logger.warning("outbox message %s (%s) failed, retry at %s: %s", message.pk, message.task,
                               message.next_attempt_at, message.last_error)
            message.save(update_fields=["attempts", "last_error", "status", "next_attempt_at"])
            return "dead" if message.status == OutboxStatus.DEAD else "retry"
        message.status, message.done_at, message.last_error = OutboxStatus.DONE, timezone.now(), ""
        message.save(update_fields=["attempts", "last_error", "status", "done_at"])
        return "done"


def outbox_relay(*, message_ids: list[int] | None = None, limit: int | None = None,
                 seconds: float | None = None) -> dict[str, int]:
    """Run the due pending messages (only `message_ids` when given), oldest first, at most
    `limit` (OUTBOX_RELAY_BATCH) within `seconds` (OUTBOX_RELAY_BUDGET_SECONDS). Safe to run
    twice and in parallel. Returns counts by outcome."""
    limit = limit or settings.OUTBOX_RELAY_BATCH
    deadline = time.monotonic() + (seconds or settings.OUTBOX_RELAY_BUDGET_SECONDS)
    due = OutboxMessage.objects.filter(status=OutboxStatus.PENDING, next_attempt_at__lte=timezone.now())
    if message_ids is not None:
        due = due.filter(pk__in=message_ids)
    counts = {"done": 0, "retry": 0, "dead": 0, "skipped": 0}
    for message_id in list(due.order_by("next_attempt_at", "id").values_list("pk", flat=True)[:limit]):
        if time.monotonic() > deadline:
            break
        outcome = _relay_one(message_id)
        counts[outcome or "skipped"] += 1
    return counts


def outbox_requeue(*, message_ids: list[int]) -> int:
    """Give dead messages another round of attempts (the admin's action)."""
    return OutboxMessage.objects.filter(pk__in=message_ids, status=OutboxStatus.DEAD).update(
        status=OutboxStatus.PENDING, attempts=0, next_attempt_at=timezone.now())
