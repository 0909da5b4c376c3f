"""The doctor's pages: the worklist and its fragment, the chart beside the video, ending
the visit with advice or a referral, the ICD-10 search and the schedule. Who may open
which, what is logged, and that bad input comes back next to its field."""

from datetime import timedelta

import pytest
from django.utils import timezone

from cloudhospital.models import AccessLog
from consult import booking as booking_rules
from consult import consultation as consult_rules
from consult.models import BookingStatus, Consultation, LeaveBlock, ScheduleTemplate
from tests.consult.rooms import make_room
from tests.factories import LabFactory, PatientFactory

pytestmark = pytest.mark.django_db


def _today(room):
    return timezone.localtime(room.booking.slot.starts_at).date().isoformat()


def test_a_patient_cannot_reach_the_portal_or_its_fragments(client):
    client.force_login(PatientFactory().account)
    for url in ("/portal/", "/portal/worklist/", "/portal/schedule/", "/portal/icd10/?q=gxy"):
        assert client.get(url).status_code == 403, url


def test_worklist_fragment_shows_check_in_and_tells_namesakes_apart(client):
    room = make_room(checked_in=False, open_consultation=False)
    namesake = make_room(checked_in=False, open_consultation=False)
    # Same name, same doctor's list: move the namesake's booking onto room's doctor's slot.
    namesake.patient.full_name = room.patient.full_name
    namesake.patient.save()
    namesake.booking.slot = room.booking.slot
    namesake.booking.queue_number = 2
    namesake.booking.save()
    client.force_login(room.doctor_user)
    page = client.get("/portal/", {"date": _today(room)}).content.decode()
    assert 'hx-trigger="every 5s"' in page and "/portal/worklist/?date=" in page
    assert f"born {room.patient.birth_date.year}" in page and f"born {namesake.patient.birth_date.year}" in page
    booking_rules.booking_check_in(by=room.proxy, booking=room.booking)
    fragment = client.get("/portal/worklist/", {"date": _today(room)}).content.decode()
    assert "<html" not in fragment
    assert f'data-booking="{room.booking.pk}" data-status="checked_in"' in fragment
    assert f'action="/portal/bookings/{room.booking.pk}/open/"' in fragment


def test_a_doctor_cannot_open_another_doctors_booking_room_or_chart(client):
    room = make_room()
    other = make_room()
    client.force_login(other.doctor_user)
    cid = room.consultation.pk
    assert client.post(f"/portal/bookings/{room.booking.pk}/open/").status_code == 404
    assert client.get(f"/consult/{cid}/").status_code == 404
    assert client.get(f"/portal/consultations/{cid}/chart/").status_code == 404
    assert client.post(f"/portal/consultations/{cid}/end/", {"follow_up_advice": "x"}).status_code == 404
    assert client.post(f"/portal/consultations/{cid}/refer-offline/", {"reason": "x"}).status_code == 404
    assert Consultation.objects.get(pk=cid).status == "waiting"
    # The family may enter the room, but the chart is the doctor's.
    client.force_login(room.proxy)
    assert client.get(f"/consult/{cid}/").status_code == 200
    assert client.get(f"/portal/consultations/{cid}/chart/").status_code == 403


def test_chart_shows_the_record_flags_an_old_egfr_and_writes_the_access_log(client, settings):
    settings.EGFR_STALE_DAYS = 90
    room = make_room()
    LabFactory(patient=room.patient, value=48, measured_at=timezone.now() - timedelta(days=200))
    client.force_login(room.doctor_user)
    before = AccessLog.objects.filter(patient=room.patient, user=room.doctor_user).count()
    response = client.get(f"/portal/consultations/{room.consultation.pk}/chart/")
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html
    assert "I10" in html and 'id="chart-egfr" class="flag"' in html and "200 days old" in html
    assert 'id="trend-config"' in html and "consult/bp-chart.js" in html
    logs = AccessLog.objects.filter(patient=room.patient, user=room.doctor_user).order_by("seq")
    assert logs.count() > before
    assert "consultation_chart" in {log.action for log in logs}


def test_a_fresh_egfr_is_not_flagged(client):
    room = make_room()
    LabFactory(patient=room.patient, value=61, measured_at=timezone.now() - timedelta(days=3))
    client.force_login(room.doctor_user)
    html = client.get(f"/portal/consultations/{room.consultation.pk}/chart/").content.decode()
    assert 'id="chart-egfr">' in html and "days old" not in html


def test_icd10_search_finds_chinese_english_pinyin_and_code(client):
    room = make_room()
    client.force_login(room.doctor_user)
    for query in ("gxy", "高血压", "hypertension", "N18"):
        html = client.get("/portal/icd10/", {"q": query}).content.decode()
        assert 'class="secondary icd10-pick"' in html, query
    assert 'data-code="I10"' in client.get("/portal/icd10/", {"q": "gxy"}).content.decode()
    assert "icd10-pick" not in client.get("/portal/icd10/", {"q": "zzzz"}).content.decode()


def _admitted(room):
    consult_rules.consultation_admit(by=room.doctor_user, consultation=room.consultation)


def test_ending_the_visit_keeps_advice_and_follow_up_interval(client):
    room = make_room()
    _admitted(room)
    client.force_login(room.doctor_user)
    response = client.post(f"/portal/consultations/{room.consultation.pk}/end/",
                           {"follow_up_advice": "低盐饮食，每日测血压", "follow_up_interval_days": "14"})
    assert response.status_code == 302 and response.url == "/portal/"
    consultation = Consultation.objects.get(pk=room.consultation.pk)
    assert consultation.status == "ended" and consultation.outcome == "completed"
    assert consultation.follow_up_advice == "低盐饮食，每日测血压" and consultation.follow_up_interval_days == 14
    assert consultation.booking.status == BookingStatus.COMPLETED
    assert consultation.history.first().history_user == room.doctor_user


def test_ending_before_admitting_is_refused_on_the_form(client):
    room = make_room()
    client.force_login(room.doctor_user)
    response = client.post(f"/portal/consultations/{room.consultation.pk}/end/", {"follow_up_advice": "x"})
    assert response.status_code == 400 and 'id="end-visit-form"' in response.content.decode()
    assert Consultation.objects.get(pk=room.consultation.pk).status == "waiting"
    # Reloading the refused form's address goes back to the room.
    assert client.get(f"/portal/consultations/{room.consultation.pk}/end/").url == f"/consult/{room.consultation.pk}/"


def test_refer_offline_needs_a_reason_and_keeps_it(client):
    room = make_room()
    _admitted(room)
    client.force_login(room.doctor_user)
    url = f"/portal/consultations/{room.consultation.pk}/refer-offline/"
    response = client.post(url, {"reason": "   "})
    html = response.content.decode()
    assert response.status_code == 400
    assert "Say why the patient should be seen in person" in html and 'id="refer-offline" open' in html
    assert Consultation.objects.get(pk=room.consultation.pk).status == "in_progress"
    response = client.post(url, {"reason": "血压持续 180/110，需线下急诊评估", "department": "急诊科"})
    assert response.status_code == 302
    consultation = Consultation.objects.get(pk=room.consultation.pk)
    assert consultation.outcome == "referred_offline" and consultation.referral_reason.startswith("血压持续")
    assert consultation.status == "ended"
    assert consultation.history.first().history_change_reason == "referred offline"


def test_refer_offline_through_the_api(client):
    room = make_room()
    _admitted(room)
    client.force_login(room.doctor_user)
    url = f"/api/consultations/{room.consultation.pk}/refer-offline/"
    blank = client.post(url, {"reason": ""}, content_type="application/json")
    assert blank.status_code == 400 and blank.json()["errors"][0]["attr"] == "reason"
    done = client.post(url, {"reason": "needs an echocardiogram", "department": "心脏超声室"}, content_type="application/json")
    assert done.status_code == 200
    body = done.json()
    assert body["outcome"] == "referred_offline" and body["referral_reason"] == "needs an echocardiogram"
    client.force_login(room.proxy)
    family = client.get(f"/api/consultations/{room.consultation.pk}/").json()
    assert family["referral_reason"] == "needs an echocardiogram"


def test_follow_up_interval_through_the_api_patch(client):
    room = make_room()
    _admitted(room)
    client.force_login(room.doctor_user)
    url = f"/api/consultations/{room.consultation.pk}/"
    ok = client.patch(url, {"follow_up_interval_days": 28}, content_type="application/json")
    assert ok.status_code == 200 and ok.json()["follow_up_interval_days"] == 28
    bad = client.patch(url, {"follow_up_interval_days": 0}, content_type="application/json")
    assert bad.status_code == 400
    client.force_login(room.proxy)
    assert client.get(url).json()["follow_up_interval_days"] is None  # not until the visit ends


def test_schedule_page_adds_and_lifts_leave_and_manages_sessions(client):
    room = make_room()
    room.doctor.clinics.add(room.booking.slot.clinic)
    client.force_login(room.doctor_user)
    page = client.get("/portal/schedule/")
    assert page.status_code == 200 and 'id="days-ahead"' in page.content.decode()
    start = timezone.localdate() + timedelta(days=20)
    bad = client.post("/portal/schedule/leave/", {"starts_on": start, "ends_on": start, "reason": ""})
    assert bad.status_code == 400 and "Give a reason" in bad.content.decode()
    assert client.post("/portal/schedule/leave/", {"starts_on": start, "ends_on": start, "reason": "学术会议"}).status_code == 302
    leave = LeaveBlock.objects.get(doctor=room.doctor)
    assert client.post(f"/portal/schedule/leave/{leave.pk}/lift/").status_code == 302
    assert not LeaveBlock.objects.filter(pk=leave.pk).exists()
    session = {"clinic": room.booking.slot.clinic.pk, "weekday": 2, "start_time": "08:00", "end_time": "11:00",
               "slot_minutes": 15, "capacity": 2, "fee": ""}
    assert client.post("/portal/schedule/sessions/", session).status_code == 302
    template = ScheduleTemplate.objects.get(doctor=room.doctor)
    overlap = client.post("/portal/schedule/sessions/", {**session, "start_time": "10:00", "end_time": "12:00"})
    assert overlap.status_code == 400 and "overlaps" in overlap.content.decode()
    edit = client.post(f"/portal/schedule/sessions/{template.pk}/", {**session, "capacity": 3, "active": "on"})
    assert edit.status_code == 302
    template.refresh_from_db()
    assert template.capacity == 3
    other = make_room()
    client.force_login(other.doctor_user)
    assert client.get(f"/portal/schedule/sessions/{template.pk}/").status_code == 404
    assert client.post(f"/portal/schedule/sessions/{template.pk}/delete/").status_code == 404
    client.force_login(room.doctor_user)
    assert client.post(f"/portal/schedule/sessions/{template.pk}/delete/").status_code == 302
    assert not ScheduleTemplate.objects.filter(pk=template.pk).exists()


def test_worklist_marks_a_family_in_the_room_and_drops_the_mark_when_they_leave(client):
    room = make_room()
    consult_rules.presence_join(consultation=room.consultation, user=room.proxy, role="proxy", channel_name="test.family")
    client.force_login(room.doctor_user)
    assert 'data-online="1"' in client.get("/portal/worklist/", {"date": _today(room)}).content.decode()
    consult_rules.presence_leave(channel_name="test.family")
    assert 'data-online="1"' not in client.get("/portal/worklist/", {"date": _today(room)}).content.decode()
