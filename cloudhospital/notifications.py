"""Notifications to patients and the family members who act for them.

`notification_send` is the one way to notify: it stores a Notification (unique by `key`, so
a retried caller sends once) addressed to the patient's own login and every proxy, and after
commit the outbox (cloudhospital.outbox, written in the same transaction) hands it to the
configured sender (settings.NOTIFICATION_SENDER). Delivery marks the row sent under a row
lock, so a delivery run twice sends once.
"""

import logging

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.module_loading import import_string

from cloudhospital.outbox import outbox_add
from cloudhospital.models import Notification, User

logger = logging.getLogger("cloudhospital.notifications")


class LogSender:
    """Writes each notification to the application log (the default: no SMS gateway needed)."""

    def send(self, notification: Notification, recipients: list[User]) -> None:
        logger.info(
            "notification %s [%s] to %s: %s — %s",
            notification.pk, notification.kind, ", ".join(user.phone for user in recipients),
            notification.title, notification.body,
        )


class ConsoleSender:
    """Prints each notification to standard output, for a developer watching a worker."""

    def send(self, notification: Notification, recipients: list[User]) -> None:
        names = ", ".join(user.full_name for user in recipients)
        print(f"[notification {notification.kind}] to {names}: {notification.title}\n  {notification.body}", flush=True)


def sender():
    """The configured sender instance (any class with `send(notification, recipients)`)."""
    return import_string(settings.NOTIFICATION_SENDER)()


def notification_recipients(patient) -> list[User]:
    """The patient's own login (a dependant may have none) and every proxy acting for them
    under a consent in force (a revoked or expired proxy is told nothing more: consult.consent)."""
    now = timezone.now()
    users = list(User.objects.filter(
        Q(proxy_links__consents__ends_at__isnull=True) | Q(proxy_links__consents__ends_at__gt=now),
        proxy_links__patient=patient, proxy_links__consents__status="active",
        proxy_links__consents__starts_at__lte=now, is_active=True,
    ).distinct())
    if patient.account_id and patient.account.is_active and all(user.pk != patient.account_id for user in users):
        users.insert(0, patient.account)
    return users


def notification_send(*, key: str, patient, kind: str, title: str, body: str = "", data: dict | None = None) -> Notification:
    """Notify `patient`'s account and proxies, once per `key`.

    If a notification with `key` exists it is returned unchanged and nothing new is sent
    (a retried task, or two workers racing, deliver once). Delivery happens after commit,
    through the outbox row written with the notification.
    """
    existing = Notification.objects.filter(key=key).first()
    if existing is not None:
        return existing  # its delivery is already in the outbox
    try:
        with transaction.atomic():
            notification = Notification.objects.create(
                key=key, patient=patient, kind=kind, title=title[:120], body=body, data=data or {}
            )
            notification.recipients.set(notification_recipients(patient))
            outbox_add("cloudhospital.tasks.notification_deliver", notification.pk)
    except IntegrityError:
        # A concurrent sender stored the same key first; theirs is the one to deliver.
        return Notification.objects.get(key=key)
    return notification


@transaction.atomic
def notification_deliver_now(*, notification_id: int) -> bool:
    """Hand one stored notification to the sender unless it was already sent.

    The row lock makes two concurrent deliveries of the same notification send once.
    Returns whether it was sent now. A sender error propagates (the task retries) and the
    row stays unsent.
    """
    notification = Notification.objects.select_for_update().filter(pk=notification_id).first()
    if notification is None or notification.sent_at is not None:
        return False
    sender().send(notification, list(notification.recipients.all()))
    notification.sent_at = timezone.now()
    notification.save(update_fields=["sent_at"])
    return True
