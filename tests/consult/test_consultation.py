"""Consultations: the REST side (record, admit, end, tickets, ICE servers) and the rules."""

import base64
import hashlib
import hmac
from datetime import timedelta

import pytest
from django.utils import timezone

from consult import consultation as consult_rules
from consult import signalling
from consult.models import BookingStatus, Condition, Consultation
from tests.consult.rooms import make_room
from tests.api_errors import error_attrs, error_detail
from tests.second_factor import token_client

pytestmark = pytest.mark.django_db


def test_family_and_doctor_open_the_same_consultation_for_a_booking(client_for):
    room = make_room()
    by_family = client_for(room.proxy).post("/api/consultations/", {"booking": room.booking.pk}, format="json")
    assert by_family.status_code == 201, by_family.json()
    by_doctor = client_for(room.doctor_user).post("/api/consultations/", {"booking": room.booking.pk}, format="json")
    assert by_doctor.json()["id"] == by_family.json()["id"]
    assert by_doctor.json()["your_role"] == "doctor" and by_family.json()["your_role"] == "proxy"
    assert Consultation.objects.count() == 1


def test_strangers_and_other_doctors_cannot_open_or_see_a_consultation(client_for, stranger):
    room = make_room()
    other = make_room()
    for user in (stranger.account, other.doctor_user):
        client = client_for(user)
        assert client.post("/api/consultations/", {"booking": room.booking.pk}, format="json").status_code == 404
        assert client.get(f"/api/consultations/{room.consultation.pk}/").status_code == 404
        for action in ("ticket", "admit", "end", "messages"):
            assert client.post(f"/api/consultations/{room.consultation.pk}/{action}/", {}, format="json").status_code == 404
        assert client.get(f"/api/consultations/{room.consultation.pk}/ice-servers/").status_code == 404


def test_admit_then_record_diagnosis_then_end(client_for):
    room = make_room()
    doctor = token_client(room.doctor_user)
    url = f"/api/consultations/{room.consultation.pk}/"
    assert doctor.post(url + "admit/").json()["status"] == "in_progress"
    room.booking.refresh_from_db()
    assert room.booking.status == BookingStatus.IN_CONSULT
    response = doctor.patch(
        url,
        {"chief_complaint": "头晕 dizziness", "notes": "BP poorly controlled", "diagnosis": [{"code": "i10", "name": "Essential hypertension"}, {"code": "I12.9", "name": "Hypertensive CKD"}], "follow_up_advice": "Review in 4 weeks"},
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert [d["code"] for d in response.json()["diagnosis"]] == ["I10", "I12.9"]
    codes = set(Condition.objects.filter(patient=room.patient, status="active").values_list("icd10_code", flat=True))
    assert {"I10", "I12.9"} <= codes
    assert Condition.objects.filter(patient=room.patient, icd10_code="I10").count() == 1, "existing I10 not duplicated"
    ended = doctor.post(url + "end/")
    assert ended.json()["status"] == "ended"
    room.booking.refresh_from_db()
    assert room.booking.status == BookingStatus.COMPLETED
    again = doctor.post(url + "end/")
    assert again.status_code == 409 and "ended" in error_detail(again)


def test_family_reads_clinical_fields_only_after_the_end(client_for):
    room = make_room()
    consult_rules.consultation_admit(by=room.doctor_user, consultation=room.consultation)
    consult_rules.consultation_record(by=room.doctor_user, consultation=room.consultation, notes="private draft")
    family = client_for(room.proxy)
    url = f"/api/consultations/{room.consultation.pk}/"
    assert family.get(url).json()["notes"] == ""
    consult_rules.consultation_end(by=room.doctor_user, consultation=room.consultation)
    assert family.get(url).json()["notes"] == "private draft"


def test_only_the_doctor_writes_admits_and_ends(client_for):
    room = make_room()
    family = client_for(room.proxy)
    url = f"/api/consultations/{room.consultation.pk}/"
    assert family.post(url + "admit/").status_code == 403
    assert family.patch(url, {"notes": "x"}, format="json").status_code == 403
    assert family.post(url + "end/").status_code == 403
    room.consultation.refresh_from_db()
    assert room.consultation.status == "waiting"


def test_admit_refuses_a_patient_not_in_the_waiting_room(client_for):
    room = make_room(checked_in=False)
    response = token_client(room.doctor_user).post(f"/api/consultations/{room.consultation.pk}/admit/")
    assert response.status_code == 409
    assert "booked" in error_detail(response)


def test_bad_diagnosis_is_400_naming_the_field(client_for):
    room = make_room()
    consult_rules.consultation_admit(by=room.doctor_user, consultation=room.consultation)
    response = client_for(room.doctor_user).patch(
        f"/api/consultations/{room.consultation.pk}/", {"diagnosis": [{"code": "high blood pressure"}]}, format="json"
    )
    # A nested input is named by its path (drf-standardized-errors' "diagnosis.0.code").
    assert response.status_code == 400 and error_attrs(response) == {"diagnosis.0.code"}


def test_record_closes_24_hours_after_the_end():
    room = make_room()
    consult_rules.consultation_admit(by=room.doctor_user, consultation=room.consultation)
    consult_rules.consultation_end(by=room.doctor_user, consultation=room.consultation)
    Consultation.objects.filter(pk=room.consultation.pk).update(ended_at=timezone.now() - timedelta(hours=25))
    from cloudhospital.errors import DomainError

    with pytest.raises(DomainError, match="24 hours"):
        consult_rules.consultation_record(by=room.doctor_user, consultation=room.consultation, notes="late")


def test_cancelled_booking_has_no_consultation():
    from cloudhospital.errors import DomainError

    room = make_room(checked_in=False, open_consultation=False)
    room.booking.status = BookingStatus.CANCELLED
    room.booking.save()
    with pytest.raises(DomainError):
        consult_rules.consultation_open(by=room.doctor_user, booking=room.booking)


def test_ice_servers_follow_the_turn_rest_api_convention(client_for, settings):
    settings.ICE_STUN_URLS = ["stun:turn.example.cn:3478"]
    settings.ICE_TURN_URLS = ["turn:turn.example.cn:3478?transport=udp", "turns:turn.example.cn:5349"]
    settings.ICE_TURN_SECRET = "coturn-shared-secret"
    settings.ICE_TURN_TTL_SECONDS = 600
    room = make_room()
    before = int(timezone.now().timestamp())
    body = client_for(room.proxy).get(f"/api/consultations/{room.consultation.pk}/ice-servers/").json()
    stun, turn = body["ice_servers"]
    assert stun == {"urls": ["stun:turn.example.cn:3478"]}
    expiry, user_id = turn["username"].split(":")
    assert int(user_id) == room.proxy.pk
    assert before + 600 <= int(expiry) <= before + 602
    expected = base64.b64encode(hmac.new(b"coturn-shared-secret", turn["username"].encode(), hashlib.sha1).digest()).decode()
    assert turn["credential"] == expected


def test_without_turn_settings_only_stun_or_nothing_is_offered(client_for, settings):
    settings.ICE_STUN_URLS, settings.ICE_TURN_URLS, settings.ICE_TURN_SECRET = [], [], ""
    room = make_room()
    assert client_for(room.proxy).get(f"/api/consultations/{room.consultation.pk}/ice-servers/").json()["ice_servers"] == []


def test_ticket_is_bound_to_user_and_room_single_use_and_expires(client_for, settings):
    room = make_room()
    response = client_for(room.proxy).post(f"/api/consultations/{room.consultation.pk}/ticket/")
    assert response.status_code == 201
    ticket = response.json()["ticket"]
    assert signalling.ticket_read(ticket, consultation_id=room.consultation.pk + 1) is None  # not spent by that
    assert signalling.ticket_read(ticket[:-2] + "xx", consultation_id=room.consultation.pk) is None
    assert signalling.ticket_read(ticket, consultation_id=room.consultation.pk) == room.proxy.pk
    assert signalling.ticket_read(ticket, consultation_id=room.consultation.pk) is None  # spent
    late = client_for(room.proxy).post(f"/api/consultations/{room.consultation.pk}/ticket/").json()["ticket"]
    settings.SIGNALLING_TICKET_TTL_SECONDS = -1
    assert signalling.ticket_read(late, consultation_id=room.consultation.pk) is None


def test_logging_out_revokes_unspent_tickets(client_for):
    from cloudhospital.accounts import user_logout

    room = make_room()
    ticket = client_for(room.proxy).post(f"/api/consultations/{room.consultation.pk}/ticket/").json()["ticket"]
    user_logout(user=room.proxy)
    assert signalling.ticket_read(ticket, consultation_id=room.consultation.pk) is None


def test_chat_over_rest_is_kept_and_listed(client_for, django_assert_max_num_queries):
    room = make_room()
    family = client_for(room.proxy)
    url = f"/api/consultations/{room.consultation.pk}/messages/"
    for text in ("我们到了", "Camera is on"):
        assert family.post(url, {"text": text}, format="json").status_code == 201
    with django_assert_max_num_queries(9):  # the page, and the doctor's read appended to the access log
        listed = client_for(room.doctor_user).get(url).json()
    assert [m["text"] for m in listed["results"]] == ["我们到了", "Camera is on"]
    assert listed["results"][0]["role"] == "proxy"


def test_consultation_list_shows_only_participants_rooms(client_for, django_assert_max_num_queries):
    room = make_room()
    make_room()
    with django_assert_max_num_queries(8):
        listed = client_for(room.doctor_user).get("/api/consultations/").json()
    assert [c["id"] for c in listed["results"]] == [room.consultation.pk]
