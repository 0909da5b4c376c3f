"""Reminders, no-show marking and notifications: idempotent tasks around domain functions."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from cloudhospital.models import Notification
from cloudhospital.notifications import notification_deliver_now, notification_send
from consult import booking as rules
from consult import tasks
from consult.models import BookingStatus
from tests.factories import BookingFactory, DependantFactory, PatientFactory, ProxyLinkFactory, SlotFactory

pytestmark = pytest.mark.django_db


def slot_in(delta):
    start = timezone.now() + delta
    return SlotFactory(starts_at=start, ends_at=start + timedelta(minutes=15))


@pytest.fixture
def father_booking(family):
    daughter, father = family
    return BookingFactory(patient=father, booked_by=daughter.account, slot=slot_in(timedelta(minutes=25)))


def test_reminder_goes_to_the_patient_and_every_proxy_once(family, father_booking, django_capture_on_commit_callbacks):
    daughter, father = family
    son = PatientFactory()
    ProxyLinkFactory(patient=father, proxy=son.account, relationship="parent")  # with a consent in force
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.booking_reminders_due() == 1
    note = Notification.objects.get(kind="booking_reminder")
    assert set(note.recipients.all()) == {daughter.account, son.account}
    assert note.sent_at is not None and note.data == {"booking": father_booking.pk, "slot": father_booking.slot_id}
    # A retried task (or the next beat run) sends nothing new.
    with django_capture_on_commit_callbacks(execute=True):
        tasks.booking_remind(father_booking.pk)
        assert tasks.booking_reminders_due() == 0
    assert Notification.objects.filter(kind="booking_reminder").count() == 1


def test_reminder_is_not_sent_early_or_for_cancelled_bookings(family):
    daughter, father = family
    early = BookingFactory(patient=father, booked_by=daughter.account, slot=slot_in(timedelta(hours=3)))
    assert tasks.booking_remind(early.pk) is False
    assert tasks.booking_reminders_due() == 0
    cancelled = BookingFactory(patient=PatientFactory(), slot=slot_in(timedelta(minutes=10)), status=BookingStatus.CANCELLED)
    assert tasks.booking_remind(cancelled.pk) is False
    assert not Notification.objects.exists()


def test_a_booking_made_inside_the_reminder_window_is_reminded_on_commit(stranger, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        rules.booking_create(by=stranger.account, patient=stranger, slot=slot_in(timedelta(minutes=20)), reason="复诊")
    assert list(Notification.objects.values_list("kind", flat=True)) == ["booking_reminder"]


def test_no_show_task_marks_only_bookings_never_checked_in_thirty_minutes_after_the_end():
    ended = slot_in(timedelta(minutes=-50))  # ended 35 minutes ago
    missed = BookingFactory(slot=ended)
    waiting = BookingFactory(slot=ended, status=BookingStatus.CHECKED_IN)
    recent = BookingFactory(slot=slot_in(timedelta(minutes=-30)))  # ended 15 minutes ago
    assert tasks.booking_no_shows_mark() == 1
    assert tasks.booking_no_shows_mark() == 0  # running again changes nothing
    missed.refresh_from_db(), waiting.refresh_from_db(), recent.refresh_from_db()
    assert (missed.status, waiting.status, recent.status) == ("no_show", "checked_in", "booked")
    assert missed.history.first().history_change_reason == "no-show (marked automatically)"


def test_slot_generation_task_reports_counts():
    assert tasks.slots_generate_task() == {"created": 0, "removed": 0}


def test_notification_send_is_idempotent_by_key_and_delivers_once(stranger, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        first = notification_send(key="k:1", patient=stranger, kind="test", title="Hello")
        second = notification_send(key="k:1", patient=stranger, kind="test", title="Hello again")
    assert first.pk == second.pk and Notification.objects.count() == 1
    assert notification_deliver_now(notification_id=first.pk) is False  # already sent


def test_a_dependants_notifications_go_to_their_proxies():
    orphan = DependantFactory()
    note = notification_send(key="k:2", patient=orphan, kind="test", title="x")
    assert list(note.recipients.all()) == [orphan.proxy_links.get().proxy]


def test_notifications_endpoint_lists_only_your_own(client_for, family, stranger, django_assert_max_num_queries):
    daughter, father = family
    notification_send(key="a", patient=father, kind="booking_reminder", title="For the family")
    notification_send(key="b", patient=stranger, kind="booking_reminder", title="For the stranger")
    client = client_for(daughter.account)
    with django_assert_max_num_queries(4):
        titles = [n["title"] for n in client.get("/api/notifications/").json()["results"]]
    assert titles == ["For the family"]
    assert client.get("/api/notifications/", {"patient": stranger.pk}).json()["count"] == 0
    assert client.get("/api/notifications/", {"kind": "other"}).json()["count"] == 0


def test_reminder_after_reschedule_is_for_the_new_slot(stranger, django_capture_on_commit_callbacks):
    booking = BookingFactory(patient=stranger, slot=slot_in(timedelta(hours=3)))
    new = SlotFactory(doctor=booking.slot.doctor, clinic=booking.slot.clinic, starts_at=timezone.now() + timedelta(hours=4),
                      ends_at=timezone.now() + timedelta(hours=4, minutes=15))
    rules.booking_reschedule(by=stranger.account, booking=booking, new_slot=new)
    with time_machine.travel(new.starts_at - timedelta(minutes=20)):
        with django_capture_on_commit_callbacks(execute=True):
            assert tasks.booking_reminders_due() == 1
    assert Notification.objects.get().data["slot"] == new.pk
