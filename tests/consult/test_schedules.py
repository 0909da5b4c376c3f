"""Schedule templates, slot generation for the rolling window, and leave (consult.schedules)."""

from datetime import date, time, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from cloudhospital.errors import DomainError
from cloudhospital.models import Notification
from consult import schedules
from consult.booking import booking_create
from consult.models import Booking, BookingStatus, ScheduleTemplate, Slot
from tests.factories import (
    ClinicFactory,
    DependantFactory,
    DoctorFactory,
    PatientFactory,
    UserFactory,
    doctor_in,
)
from tests.api_errors import error_attrs, error_code

pytestmark = pytest.mark.django_db


def tomorrow() -> date:
    return timezone.localdate() + timedelta(days=1)


def template_for(doctor, **overrides) -> ScheduleTemplate:
    """A morning session on tomorrow's weekday: it falls exactly twice in a 14-day window
    starting today, both times in the future."""
    fields = {"weekday": tomorrow().weekday(), "start_time": time(8, 30), "end_time": time(11, 30),
              "slot_minutes": 15, "capacity": 2, "fee": 50}
    fields.update(overrides)
    return ScheduleTemplate.objects.create(doctor=doctor, clinic=doctor.clinics.first(), **fields)


def test_generation_creates_the_sessions_slots_for_the_window():
    doctor = DoctorFactory()
    template_for(doctor)
    result = schedules.slots_generate(days=14)
    slots = Slot.objects.filter(doctor=doctor).order_by("starts_at")
    # 08:30-11:30 in 15-minute slots is 12 a session; the weekday comes twice in 14 days.
    assert result.created == 24 == slots.count()
    first = timezone.localtime(slots[0].starts_at)
    assert (first.date(), first.hour, first.minute) == (tomorrow(), 8, 30)
    assert slots[0].capacity == 2 and slots[0].ends_at - slots[0].starts_at == timedelta(minutes=15)


def test_generation_twice_creates_no_duplicates():
    template_for(DoctorFactory())
    schedules.slots_generate(days=14)
    again = schedules.slots_generate(days=14)
    assert (again.created, again.removed) == (0, 0)
    assert Slot.objects.count() == 24


def test_changing_a_template_regenerates_unbooked_slots_and_keeps_booked_ones(django_capture_on_commit_callbacks):
    doctor = DoctorFactory()
    template = template_for(doctor)
    schedules.slots_generate(days=14)
    booked_slot = Slot.objects.order_by("starts_at").first()
    patient = PatientFactory()
    booking, _ = booking_create(by=patient.account, patient=patient, slot=booked_slot, reason="复诊")
    with django_capture_on_commit_callbacks(execute=True):
        schedules.schedule_template_update(by=doctor.user, template=template, slot_minutes=30, capacity=3)
    slots = Slot.objects.filter(doctor=doctor)
    assert booked_slot in slots and Slot.objects.get(pk=booked_slot.pk).capacity == 2
    # 6 half-hour slots a session, twice; the booked 08:30 slot keeps its old shape in
    # place of the new 08:30 one.
    assert slots.count() == 12
    assert slots.exclude(pk=booked_slot.pk).filter(capacity=3).count() == 11
    booking.refresh_from_db()
    assert booking.slot_id == booked_slot.pk


def test_deleting_a_template_removes_only_unbooked_slots(django_capture_on_commit_callbacks):
    doctor = DoctorFactory()
    template = template_for(doctor)
    schedules.slots_generate(days=14)
    kept = Slot.objects.first()
    patient = PatientFactory()
    booking, _ = booking_create(by=patient.account, patient=patient, slot=kept, reason="复诊")
    with django_capture_on_commit_callbacks(execute=True):
        schedules.schedule_template_delete(by=doctor.user, template=template)
    assert list(Slot.objects.all()) == [kept]


def test_template_create_validates_and_refuses_overlap():
    doctor = DoctorFactory()
    clinic = doctor.clinics.first()
    base = {"by": doctor.user, "doctor": doctor, "clinic": clinic, "weekday": 0, "start_time": time(8), "end_time": time(12)}
    schedules.schedule_template_create(**base, slot_minutes=15, capacity=3)
    with pytest.raises(DomainError) as overlap:
        schedules.schedule_template_create(**{**base, "start_time": time(11), "end_time": time(13)})
    assert overlap.value.code == "overlapping_session" and overlap.value.kind == "conflict"
    with pytest.raises(DomainError) as backwards:
        schedules.schedule_template_create(**{**base, "weekday": 1, "start_time": time(12), "end_time": time(8)})
    assert backwards.value.field == "end_time"
    with pytest.raises(DomainError) as other_clinic:
        schedules.schedule_template_create(**{**base, "weekday": 2, "clinic": ClinicFactory()})
    assert other_clinic.value.field == "clinic"
    with pytest.raises(DomainError) as forbidden:
        schedules.schedule_template_create(**{**base, "weekday": 3, "by": DoctorFactory().user})
    assert forbidden.value.kind == "forbidden"


def test_template_create_defaults_fee_to_the_doctors(django_capture_on_commit_callbacks):
    doctor = DoctorFactory(fee=88)
    with django_capture_on_commit_callbacks(execute=True):
        template = schedules.schedule_template_create(
            by=doctor.user, doctor=doctor, clinic=doctor.clinics.first(), weekday=tomorrow().weekday(),
            start_time=time(14), end_time=time(15),
        )
    assert template.fee == 88
    assert Slot.objects.filter(template=template).count() == 8  # twice in the window, four 15-minute slots each


@pytest.fixture
def booked_tomorrow():
    """A doctor with generated slots, and tomorrow's first slot booked by a daughter for her father."""
    doctor = DoctorFactory()
    template_for(doctor)
    schedules.slots_generate(days=14)
    slot = Slot.objects.filter(starts_at__date=tomorrow()).order_by("starts_at").first()
    daughter = PatientFactory()
    booking, _ = booking_create(by=daughter.account, patient=DependantFactory(proxy=daughter.account), slot=slot, reason="复诊")
    return doctor, slot, booking, daughter


def test_leave_closes_slots_cancels_bookings_with_reason_and_notifies(booked_tomorrow, django_capture_on_commit_callbacks):
    doctor, slot, booking, daughter = booked_tomorrow
    leave_day = tomorrow()
    with django_capture_on_commit_callbacks(execute=True):
        result = schedules.leave_block_create(by=doctor.user, doctor=doctor, starts_on=leave_day, ends_on=leave_day, reason="学术会议")
    assert result.slots_closed == 12 and result.bookings_cancelled == 1
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CANCELLED and "学术会议" in booking.cancel_reason
    assert not Slot.objects.filter(starts_at__date=leave_day, is_open=True).exists()
    note = Notification.objects.get(kind="booking_cancelled")
    assert list(note.recipients.all()) == [daughter.account] and "学术会议" in note.body
    # Regeneration leaves the leave day alone and keeps the booked (now closed) slot.
    schedules.slots_generate(days=14)
    assert list(Slot.objects.filter(starts_at__date=leave_day)) == [slot]


def test_lifting_leave_reopens_its_slots_and_keeps_cancelled_bookings_cancelled(booked_tomorrow, django_capture_on_commit_callbacks):
    doctor, slot, booking, _ = booked_tomorrow
    leave_day = tomorrow()
    with django_capture_on_commit_callbacks(execute=True):
        leave = schedules.leave_block_create(by=doctor.user, doctor=doctor, starts_on=leave_day, ends_on=leave_day, reason="学术会议").leave
    schedules.slots_generate(days=14)  # the unbooked closed slots go; the booked one stays, closed
    with django_capture_on_commit_callbacks(execute=True):
        reopened = schedules.leave_block_lift(by=doctor.user, leave=leave)
    assert reopened == 1
    slot.refresh_from_db()
    assert slot.is_open and slot.closed_reason == "" and slot.booked == 0
    assert Slot.objects.filter(starts_at__date=leave_day, is_open=True).count() == 12  # generation brought the rest back
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CANCELLED
    assert not doctor.leave_blocks.exists()
    assert leave.history.latest().history_change_reason == "leave lifted"


def test_lifting_one_of_two_overlapping_leaves_keeps_the_other_days_closed(django_capture_on_commit_callbacks):
    doctor = DoctorFactory()
    template_for(doctor)
    schedules.slots_generate(days=14)
    day = tomorrow()
    first = schedules.leave_block_create(by=doctor.user, doctor=doctor, starts_on=day, ends_on=day + timedelta(days=7), reason="休假").leave
    schedules.leave_block_create(by=doctor.user, doctor=doctor, starts_on=day, ends_on=day, reason="学术会议")
    closed = Slot.objects.filter(doctor=doctor, is_open=False).count()
    with django_capture_on_commit_callbacks(execute=True):
        reopened = schedules.leave_block_lift(by=doctor.user, leave=first)
    assert closed == 24 and reopened == 12  # day + 7 reopens; tomorrow is still covered by the conference
    assert not Slot.objects.filter(starts_at__date=day, is_open=True).exists()
    assert Slot.objects.filter(starts_at__date=day + timedelta(days=7), is_open=True).count() == 12


def test_leave_that_is_over_or_someone_elses_cannot_be_lifted():
    from consult.models import LeaveBlock

    doctor, other = DoctorFactory(), DoctorFactory()
    past = timezone.localdate() - timedelta(days=3)
    over = LeaveBlock.objects.create(doctor=doctor, starts_on=past, ends_on=past, reason="病假", created_by=doctor.user)
    with pytest.raises(DomainError) as caught:
        schedules.leave_block_lift(by=doctor.user, leave=over)
    assert caught.value.code == "leave_over" and caught.value.kind == "conflict"
    future = LeaveBlock.objects.create(doctor=doctor, starts_on=tomorrow(), ends_on=tomorrow(), reason="会议", created_by=doctor.user)
    with pytest.raises(DomainError) as caught:
        schedules.leave_block_lift(by=other.user, leave=future)
    assert caught.value.kind == "forbidden"
    assert LeaveBlock.objects.count() == 2


def test_leave_lift_over_http(client_for):
    from consult.models import LeaveBlock

    doctor, other = DoctorFactory(), DoctorFactory()
    template_for(doctor)
    schedules.slots_generate(days=14)
    mine = client_for(doctor.user)
    created = mine.post("/api/leaves/", {"starts_on": str(tomorrow()), "ends_on": str(tomorrow()), "reason": "会议"}, format="json")
    assert created.status_code == 201 and created.json()["slots_closed"] == 12
    url = f"/api/leaves/{created.json()['id']}/"
    assert client_for(other.user).delete(url).status_code == 404
    assert client_for(PatientFactory().account).delete(url).status_code == 404
    lifted = mine.delete(url)
    assert lifted.status_code == 200 and lifted.json() == {"id": created.json()["id"], "slots_reopened": 12}
    assert mine.delete(url).status_code == 404
    past = timezone.localdate() - timedelta(days=2)
    over = LeaveBlock.objects.create(doctor=doctor, starts_on=past, ends_on=past, reason="病假", created_by=doctor.user)
    refused = mine.delete(f"/api/leaves/{over.pk}/")
    assert refused.status_code == 409 and error_code(refused) == "leave_over"


def test_leave_validation():
    doctor = DoctorFactory()
    today = timezone.localdate()
    for kwargs, field in [
        ({"starts_on": today - timedelta(days=1), "ends_on": today}, "starts_on"),
        ({"starts_on": today + timedelta(days=3), "ends_on": today + timedelta(days=2)}, "ends_on"),
        ({"starts_on": today, "ends_on": today, "reason": " "}, "reason"),
    ]:
        with pytest.raises(DomainError) as caught:
            schedules.leave_block_create(by=doctor.user, doctor=doctor, **{"reason": "休假", **kwargs})
        assert caught.value.field == field


def test_generate_slots_command_is_idempotent():
    template_for(DoctorFactory())
    out = StringIO()
    call_command("generate_slots", "--days", "14", "--no-progress", stdout=out)
    assert "24 created" in out.getvalue()
    call_command("generate_slots", "--days", "14", "--no-progress", stdout=out)
    assert Slot.objects.count() == 24


# --- the schedule API -------------------------------------------------------------------


def test_doctor_manages_own_templates_through_the_api(client_for, django_capture_on_commit_callbacks):
    doctor = DoctorFactory()
    client = client_for(doctor.user)
    body = {"clinic": doctor.clinics.first().pk, "weekday": tomorrow().weekday(), "start_time": "14:00", "end_time": "16:00",
            "slot_minutes": 20, "capacity": 3}
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/api/schedule-templates/", body, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["doctor"] == doctor.pk and response.json()["fee"] == "30.00"
    assert Slot.objects.filter(doctor=doctor).count() == 12
    template_id = response.json()["id"]
    with django_capture_on_commit_callbacks(execute=True):
        assert client.patch(f"/api/schedule-templates/{template_id}/", {"active": False}, format="json").status_code == 200
    assert not Slot.objects.filter(doctor=doctor).exists()
    assert client.get("/api/schedule-templates/").json()["count"] == 1


def test_other_doctors_templates_are_invisible_and_unwritable(client_for):
    mine, theirs = DoctorFactory(), DoctorFactory()
    template = template_for(theirs)
    client = client_for(mine.user)
    assert client.get(f"/api/schedule-templates/{template.pk}/").status_code == 404
    response = client.post("/api/schedule-templates/", {"doctor": theirs.pk, "clinic": theirs.clinics.first().pk,
                                                         "weekday": 1, "start_time": "08:00", "end_time": "09:00"}, format="json")
    assert response.status_code == 400 and "doctor" in error_attrs(response)


def test_hospital_admin_manages_their_hospitals_doctors(client_for):
    doctor = DoctorFactory()
    admin = UserFactory(role="hospital_admin")
    doctor.hospital.admins.add(admin)
    response = client_for(admin).post("/api/leaves/", {"doctor": doctor.pk, "starts_on": str(timezone.localdate()),
                                                       "ends_on": str(timezone.localdate()), "reason": "培训"}, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["bookings_cancelled"] == 0
    outsider = UserFactory(role="hospital_admin")
    assert client_for(outsider).get("/api/leaves/").json()["count"] == 0


def test_patients_cannot_manage_schedules(client_for, stranger):
    client = client_for(stranger.account)
    clinic = doctor_in(ClinicFactory()).clinics.first()
    response = client.post("/api/schedule-templates/", {"clinic": clinic.pk, "weekday": 1, "start_time": "08:00",
                                                        "end_time": "09:00"}, format="json")
    assert response.status_code == 400 and "doctor" in error_attrs(response)
    assert client.get("/api/schedule-templates/").json()["count"] == 0
    assert not Booking.objects.exists()
