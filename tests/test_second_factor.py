"""The doctor's second factor (cloudhospital.step_up): enrolment, admission behind a fresh
proof of this login, and the window (互联网诊疗监管细则（试行）: identity verified before each consult)."""

import json
from datetime import timedelta

import pytest
import time_machine
from asgiref.sync import async_to_sync
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.contrib.sessions.backends.db import SessionStore
from django.utils import timezone
from django_otp.oath import hotp

from cloudhospital import step_up
from consult.models import ConsultationStatus
from consult.routing import websocket_urlpatterns
from tests.api_errors import error_attrs, error_code
from tests.consult.rooms import make_room
from tests.second_factor import code_for, enrol, token_client, verify_session

pytestmark = pytest.mark.django_db


def admit(client, room, body=None):
    return client.post(f"/api/consultations/{room.consultation.pk}/admit/", body or {}, format="json")


def wrong_code(user) -> str:
    right = code_for(user)
    return "000000" if right != "000000" else "111111"


# --- Enrolment ------------------------------------------------------------------------------
def test_enrolment_shows_the_secret_once_and_is_confirmed_by_a_first_code():
    room = make_room()
    client = token_client(room.doctor_user, verified=False)
    assert client.get("/api/auth/second-factor/").json()["enrolled"] is False
    started = client.post("/api/auth/second-factor/")
    assert started.status_code == 201
    body = started.json()
    assert body["otpauth_uri"].startswith("otpauth://totp/") and "<svg" in body["qr_svg"]
    device = step_up.device_pending(room.doctor_user)
    assert body["secret"].replace(" ", "") in body["otpauth_uri"]
    refused = client.post("/api/auth/second-factor/confirm/", {"otp": wrong_code(device)}, format="json")
    assert refused.status_code == 400 and error_code(refused) == "otp_invalid" and error_attrs(refused) == {"otp"}
    device.throttling_failure_count = 0  # the throttle is tested below; here the next code is right
    device.throttling_failure_timestamp = None
    device.save()
    confirmed = client.post("/api/auth/second-factor/confirm/", {"otp": code_for(device)}, format="json")
    assert confirmed.status_code == 200 and confirmed.json()["enrolled"] is True
    assert step_up.device_for(room.doctor_user) == device


def test_confirm_without_an_enrolment_started_is_409():
    room = make_room()
    response = token_client(room.doctor_user, verified=False).post(
        "/api/auth/second-factor/confirm/", {"otp": "123456"}, format="json")
    assert response.status_code == 409 and error_code(response) == "second_factor_not_started"


def test_second_factor_endpoints_need_a_login(api):
    assert api.get("/api/auth/second-factor/").status_code == 401
    assert api.post("/api/auth/second-factor/verify/", {"otp": "123456"}, format="json").status_code == 401


# --- Admission --------------------------------------------------------------------------------
def test_admit_is_refused_without_a_fresh_second_factor_then_allowed_after_verifying():
    room = make_room()
    enrol(room.doctor_user)
    client = token_client(room.doctor_user, verified=False)
    refused = admit(client, room)
    assert refused.status_code == 403 and error_code(refused) == "second_factor_required"
    assert error_attrs(refused) == {"otp"}
    room.consultation.refresh_from_db()
    assert room.consultation.status == ConsultationStatus.WAITING
    verified = client.post("/api/auth/second-factor/verify/", {"otp": code_for(room.doctor_user)}, format="json")
    assert verified.status_code == 200 and verified.json()["fresh_until"]
    assert admit(client, room).json()["status"] == "in_progress"


def test_admit_without_an_authenticator_says_to_enrol_one():
    room = make_room()
    response = admit(token_client(room.doctor_user, verified=False), room)
    assert response.status_code == 403 and error_code(response) == "second_factor_required"
    response = admit(token_client(room.doctor_user, verified=False), room, {"otp": "123456"})
    assert response.status_code == 403 and error_code(response) == "second_factor_not_enrolled"


def test_admit_takes_the_code_in_the_request_too():
    room = make_room()
    enrol(room.doctor_user)
    client = token_client(room.doctor_user, verified=False)
    refused = admit(client, room, {"otp": wrong_code(room.doctor_user)})
    assert refused.status_code == 400 and error_code(refused) == "otp_invalid"
    room.doctor_user.totpdevice_set.update(throttling_failure_count=0, throttling_failure_timestamp=None)
    assert admit(client, room, {"otp": code_for(room.doctor_user)}).json()["status"] == "in_progress"


def test_the_proof_lapses_after_the_window(settings):
    settings.DOCTOR_REAUTH_WINDOW_MINUTES = 15
    room = make_room(starts_in=timedelta(minutes=25))
    with time_machine.travel(timezone.now(), tick=False) as clock:
        client = token_client(room.doctor_user)  # verified now
        clock.shift(timedelta(minutes=16))
        refused = admit(client, room)
        assert refused.status_code == 403 and error_code(refused) == "second_factor_required"
        assert client.get("/api/auth/second-factor/").json()["fresh_until"] is None
        client.post("/api/auth/second-factor/verify/", {"otp": code_for(room.doctor_user)}, format="json")
        assert admit(client, room).status_code == 200


def test_a_verified_token_does_not_verify_another_token_of_the_same_doctor():
    room = make_room()
    verified = token_client(room.doctor_user)
    other_device = token_client(room.doctor_user, verified=False)
    assert verified.get("/api/auth/second-factor/").json()["fresh_until"]
    assert other_device.get("/api/auth/second-factor/").json()["fresh_until"] is None
    refused = admit(other_device, room)
    assert refused.status_code == 403 and error_code(refused) == "second_factor_required"
    assert admit(verified, room).status_code == 200


def test_someone_who_may_not_admit_gets_the_admit_refusal_not_a_code_prompt(client_for):
    room = make_room()
    response = admit(token_client(room.proxy, verified=False), room)
    assert response.status_code == 403 and error_code(response) == "not_the_doctor"


def test_wrong_codes_are_slowed_down():
    room = make_room()
    enrol(room.doctor_user)
    client = token_client(room.doctor_user, verified=False)
    first = client.post("/api/auth/second-factor/verify/", {"otp": wrong_code(room.doctor_user)}, format="json")
    assert error_code(first) == "otp_invalid"
    again = client.post("/api/auth/second-factor/verify/", {"otp": code_for(room.doctor_user)}, format="json")
    assert again.status_code == 400 and error_code(again) == "otp_throttled"


def test_a_code_is_accepted_once():
    room = make_room()
    device = enrol(room.doctor_user)
    client = token_client(room.doctor_user, verified=False)
    code = code_for(device)
    assert client.post("/api/auth/second-factor/verify/", {"otp": code}, format="json").status_code == 200
    replay = token_client(room.doctor_user, verified=False).post("/api/auth/second-factor/verify/", {"otp": code},
                                                                  format="json")
    assert replay.status_code == 400 and error_code(replay) == "otp_invalid"


def test_a_phone_one_step_ahead_is_accepted_and_its_drift_followed():
    room = make_room()
    device = enrol(room.doctor_user)
    ahead = int((timezone.now().timestamp() - device.t0) // device.step) + 1
    code = str(hotp(device.bin_key, ahead)).zfill(6)
    step_up.verify(user=room.doctor_user, credential="x" * 64, code=code)
    device.refresh_from_db()
    assert device.drift == 1 and device.last_t == ahead


# --- Pages and the socket -----------------------------------------------------------------------
def test_the_authenticator_page_enrols_with_a_qr_code_and_a_first_code(client):
    room = make_room()
    client.force_login(room.doctor_user)
    page = client.post("/account/second-factor/", {"action": "start"})
    assert page.status_code == 200 and b"<svg" in page.content and b'id="secret"' in page.content
    device = step_up.device_pending(room.doctor_user)
    refused = client.post("/account/second-factor/", {"action": "confirm", "otp": wrong_code(device)})
    assert refused.status_code == 400 and "wrong or already used" in refused.content.decode()
    device.throttle_reset()
    confirmed = client.post("/account/second-factor/", {"action": "confirm", "otp": code_for(device)})
    assert confirmed.status_code == 200 and step_up.device_for(room.doctor_user) == device


def test_the_room_prompt_verifies_this_session_only(client):
    room = make_room()
    enrol(room.doctor_user)
    client.force_login(room.doctor_user)
    prompt = client.get("/account/second-factor/verify/")
    assert prompt.status_code == 200 and b'name="otp"' in prompt.content
    refused = client.post("/account/second-factor/verify/", {"otp": wrong_code(room.doctor_user)})
    assert refused.status_code == 400 and refused["HX-Reswap"] == "outerHTML"
    room.doctor_user.totpdevice_set.update(throttling_failure_count=0, throttling_failure_timestamp=None)
    done = client.post("/account/second-factor/verify/", {"otp": code_for(room.doctor_user)})
    assert done.status_code == 200 and done["HX-Trigger"] == "second-factor-verified"
    session = step_up.credential_of_session(client.session.session_key)
    assert step_up.is_fresh(user=room.doctor_user, credential=session)
    assert not step_up.is_fresh(user=room.doctor_user, credential=step_up.credential_of_session("another"))


def test_verify_session_helper_makes_the_session_fresh(client):
    room = make_room()
    client.force_login(room.doctor_user)
    verify_session(client, room.doctor_user)
    assert step_up.is_fresh(user=room.doctor_user, credential=step_up.credential_of_session(client.session.session_key))


@pytest.mark.django_db(transaction=True)
def test_the_socket_admits_only_for_a_fresh_session_or_ticket():
    room = make_room()
    router = URLRouter(websocket_urlpatterns)
    enrol(room.doctor_user)
    unverified = SessionStore()
    unverified.create()

    async def connect(session=None, query=""):
        path = f"/ws/consultations/{room.consultation.pk}/" + (f"?{query}" if query else "")
        communicator = WebsocketCommunicator(router, path)
        if session is not None:
            communicator.scope["user"], communicator.scope["session"] = room.doctor_user, session
        assert (await communicator.connect())[0]
        assert json.loads(await communicator.receive_from(timeout=2))["type"] == "state"
        return communicator

    async def admit_reply(communicator):
        await communicator.send_to(text_data=json.dumps({"type": "admit"}))
        while True:
            message = json.loads(await communicator.receive_from(timeout=2))
            if message["type"] in ("error", "admitted"):
                return message

    # A ticket asked for by an unverified token carries no proof.
    unverified_token = token_client(room.doctor_user, verified=False)
    ticket = unverified_token.post(f"/api/consultations/{room.consultation.pk}/ticket/").json()["ticket"]

    async def scenario():
        socket = await connect(unverified)
        assert (await admit_reply(socket))["code"] == "second_factor_required"
        await socket.disconnect()
        by_ticket = await connect(query=f"ticket={ticket}")
        assert (await admit_reply(by_ticket))["code"] == "second_factor_required"
        await by_ticket.disconnect()

    async_to_sync(scenario)()

    # A ticket asked for by a verified token admits.
    verified_token = token_client(room.doctor_user)
    ticket = verified_token.post(f"/api/consultations/{room.consultation.pk}/ticket/").json()["ticket"]

    async def admitted():
        socket = await connect(query=f"ticket={ticket}")
        assert (await admit_reply(socket))["type"] == "admitted"
        await socket.disconnect()

    async_to_sync(admitted)()


# --- The demo's authenticator ---------------------------------------------------------------------
def test_demo_totp_prints_a_code_the_server_accepts_and_only_for_the_demo_key():
    from io import StringIO

    from django.core.management import CommandError, call_command

    from consult.demo_booking import demo_authenticator

    room = make_room()
    demo_authenticator(room.doctor_user)
    out = StringIO()
    call_command("demo_totp", room.doctor_user.phone.removeprefix("+86"), stdout=out)
    code = out.getvalue().strip()
    assert len(code) == 6 and code.isdigit()
    step_up.verify(user=room.doctor_user, credential="demo" * 16, code=code)
    other = make_room()
    enrol(other.doctor_user)  # a random key: its codes are on the doctor's phone only
    with pytest.raises(CommandError):
        call_command("demo_totp", other.doctor_user.phone, stdout=StringIO())
