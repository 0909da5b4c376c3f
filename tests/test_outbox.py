"""The transactional outbox (cloudhospital.outbox): a side effect is written with the change
that causes it, leaves only after commit, survives a broker that is down, is retried with
backoff until it is done, and is done once however often the relay runs."""

import threading
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerDown

from cloudhospital import outbox
from cloudhospital.models import Notification, OutboxMessage, OutboxStatus
from cloudhospital.notifications import notification_send
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def broker_down(monkeypatch):
    """The relay task cannot be queued, as when Redis is stopped."""
    relay = outbox._task(outbox.RELAY_TASK)

    def refuse(*args, **kwargs):
        raise BrokerDown("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(relay, "delay", refuse)


@pytest.fixture
def sent(monkeypatch):
    """Every notification the sender hands out, in order."""
    out = []
    from cloudhospital.notifications import LogSender

    monkeypatch.setattr(LogSender, "send", lambda self, notification, recipients: out.append(notification.key))
    return out


def test_a_side_effect_of_a_rolled_back_write_is_never_recorded():
    patient = PatientFactory()
    with pytest.raises(RuntimeError), transaction.atomic():
        notification_send(key="k1", patient=patient, kind="test", title="t")
        raise RuntimeError("the write failed")
    assert not OutboxMessage.objects.exists() and not Notification.objects.exists()


def test_a_notification_is_delivered_after_commit(django_capture_on_commit_callbacks, sent):
    patient = PatientFactory()
    with django_capture_on_commit_callbacks(execute=True):
        notification_send(key="k1", patient=patient, kind="test", title="t")
    assert sent == ["k1"]
    assert OutboxMessage.objects.get().status == OutboxStatus.DONE
    assert Notification.objects.get().sent_at is not None


def test_with_the_broker_down_the_write_succeeds_and_the_relay_delivers_later(
        broker_down, django_capture_on_commit_callbacks, sent):
    patient = PatientFactory()
    with django_capture_on_commit_callbacks(execute=True):
        notification_send(key="k1", patient=patient, kind="test", title="t")  # does not raise
    assert sent == [] and OutboxMessage.objects.get().status == OutboxStatus.PENDING
    assert outbox.outbox_relay() == {"done": 1, "retry": 0, "dead": 0, "skipped": 0}
    assert outbox.outbox_relay() == {"done": 0, "retry": 0, "dead": 0, "skipped": 0}
    assert sent == ["k1"]


def test_a_failing_effect_is_retried_with_backoff_and_given_up_at_the_limit(settings, monkeypatch, sent):
    settings.OUTBOX_MAX_ATTEMPTS = 3
    from cloudhospital.notifications import LogSender

    def gateway_down(self, notification, recipients):
        raise ConnectionError("SMS gateway unreachable")

    monkeypatch.setattr(LogSender, "send", gateway_down)
    notification = notification_send(key="k1", patient=PatientFactory(), kind="test", title="t")
    message = OutboxMessage.objects.get()
    assert outbox.outbox_relay()["retry"] == 1
    message.refresh_from_db()
    assert message.attempts == 1 and "SMS gateway unreachable" in message.last_error
    assert message.next_attempt_at >= timezone.now() + timedelta(seconds=settings.OUTBOX_BACKOFF_SECONDS - 1)
    assert outbox.outbox_relay()["skipped"] == 0 and outbox.outbox_relay()["retry"] == 0  # not due yet
    for expected in ("retry", "dead"):
        OutboxMessage.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())
        assert outbox.outbox_relay()[expected] == 1
    message.refresh_from_db()
    notification.refresh_from_db()
    assert message.status == OutboxStatus.DEAD and notification.sent_at is None
    assert outbox.outbox_requeue(message_ids=[message.pk]) == 1
    monkeypatch.setattr(LogSender, "send", lambda self, n, r: sent.append(n.key))
    assert outbox.outbox_relay()["done"] == 1 and sent == ["k1"]


def test_the_effects_own_writes_roll_back_with_a_failure_and_the_attempt_is_kept(monkeypatch):
    patient = PatientFactory()
    from cloudhospital.notifications import LogSender

    def fail_after_writing(self, notification, recipients):
        Notification.objects.filter(pk=notification.pk).update(title="half-done")
        raise ConnectionError("gone")

    monkeypatch.setattr(LogSender, "send", fail_after_writing)
    notification_send(key="k1", patient=patient, kind="test", title="t")
    outbox.outbox_relay()
    assert Notification.objects.get().title == "t"
    assert OutboxMessage.objects.get().attempts == 1


def test_an_unknown_task_fails_the_write_not_the_relay():
    with pytest.raises(KeyError):
        outbox.outbox_add("consult.tasks.no_such_task", 1)
    assert not OutboxMessage.objects.exists()


def test_notifications_stored_before_the_outbox_are_queued_by_the_migration():
    from importlib import import_module

    from django.apps import apps

    patient = PatientFactory()
    Notification.objects.create(key="old", patient=patient, kind="test", title="t")
    import_module("cloudhospital.migrations.0006_outbox_unsent_notifications").queue_unsent(apps, None)
    assert list(OutboxMessage.objects.values_list("task", "args")) == [
        ("cloudhospital.tasks.notification_deliver", [Notification.objects.get().pk])]


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="SKIP LOCKED needs PostgreSQL row locks")
def test_two_relays_in_parallel_deliver_every_message_once(monkeypatch):
    from cloudhospital.notifications import LogSender

    keys, lock = [], threading.Lock()

    def slow_send(self, notification, recipients):
        with lock:
            keys.append(notification.key)

    monkeypatch.setattr(LogSender, "send", slow_send)
    patient = PatientFactory()
    for n in range(40):
        notification_send(key=f"k{n}", patient=patient, kind="test", title="t")
    OutboxMessage.objects.update(status=OutboxStatus.PENDING, attempts=0)
    Notification.objects.update(sent_at=None)
    keys.clear()

    def relay():
        try:
            outbox.outbox_relay()
        finally:
            connection.close()

    threads = [threading.Thread(target=relay) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(keys) == sorted(f"k{n}" for n in range(40))
    assert OutboxMessage.objects.filter(status=OutboxStatus.DONE).count() == 40


def test_the_management_command_relays_what_is_due(broker_down, django_capture_on_commit_callbacks, sent):
    from io import StringIO

    from django.core.management import call_command

    with django_capture_on_commit_callbacks(execute=True):
        notification_send(key="k1", patient=PatientFactory(), kind="test", title="t")
    out = StringIO()
    call_command("outbox_relay", stdout=out)
    assert out.getvalue().startswith("done: 1") and sent == ["k1"]
