"""The signalling socket, through channels' WebsocketCommunicator."""

import json
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator

from consult import signalling
from consult.models import Booking, BookingStatus, ChatMessage, Consultation, RoomPresence
from consult.routing import websocket_urlpatterns
from tests.consult.rooms import make_room
from tests.factories import PatientFactory
from tests.second_factor import token_client, verified_session

pytestmark = pytest.mark.django_db(transaction=True)

router = URLRouter(websocket_urlpatterns)


def run(scenario):
    async_to_sync(scenario)()


async def connect(consultation_id, user=None, query="", session=None):
    path = f"/ws/consultations/{consultation_id}/" + (f"?{query}" if query else "")
    communicator = WebsocketCommunicator(router, path)
    if user is not None:
        communicator.scope["user"] = user
    if session is not None:
        communicator.scope["session"] = session
    connected, _ = await communicator.connect()
    assert connected
    return communicator


async def receive(communicator, timeout=2, *, skip_presence=True):
    """The next message, passing over presence notices: with the Redis Pub/Sub layer a
    newcomer may also see an arrival that was in flight when it joined."""
    while True:
        message = json.loads(await communicator.receive_from(timeout=timeout))
        if not (skip_presence and message["type"] == "presence"):
            return message


async def quiet(communicator, timeout=0.3) -> bool:
    """Nothing but presence notices arrives within `timeout`."""
    while not await communicator.receive_nothing(timeout=timeout):
        if json.loads(await communicator.receive_from())["type"] != "presence":
            return False
    return True


async def receive_until(communicator, kind, timeout=2):
    while True:
        message = await receive(communicator, timeout, skip_presence=False)
        if message["type"] == kind:
            return message


async def closed_with(communicator) -> int:
    output = await communicator.receive_output(timeout=2)
    while output["type"] != "websocket.close":
        output = await communicator.receive_output(timeout=2)
    return output.get("code")


async def joined_pair(room):
    # The doctor's browser session has proved its second factor (admitting needs it).
    session = await database_sync_to_async(verified_session)(room.doctor_user)
    doctor = await connect(room.consultation.pk, room.doctor_user, session=session)
    state = await receive(doctor)
    family = await connect(room.consultation.pk, room.proxy)
    family_state = await receive(family)
    await receive_until(doctor, "presence")
    return doctor, family, state, family_state


def test_participants_get_state_and_presence_with_roles():
    room = make_room()

    async def scenario():
        doctor, family, state, family_state = await joined_pair(room)
        assert state["type"] == "state" and state["v"] == 1 and state["you"]["role"] == "doctor"
        assert state["admitted"] is False
        assert {(p["role"]) for p in family_state["present"]} == {"doctor", "proxy"}
        await family.disconnect()
        left = await receive_until(doctor, "presence")
        assert left["event"] == "left" and [p["role"] for p in left["present"]] == ["doctor"]
        await doctor.disconnect()

    run(scenario)
    assert not RoomPresence.objects.exists()


def test_offer_before_admission_is_out_of_turn_and_the_room_stays_healthy():
    room = make_room()

    async def scenario():
        doctor, family, *_ = await joined_pair(room)
        await family.send_to(text_data=json.dumps({"type": "offer", "sdp": "v=0"}))
        error = await receive(family)
        assert (error["type"], error.get("code")) == ("error", "not_admitted"), error
        assert await quiet(doctor)
        await family.send_to(text_data=json.dumps({"type": "admit"}))
        assert (await receive(family))["code"] == "not_the_doctor"
        await family.send_to(text_data=json.dumps({"type": "ping"}))
        assert (await receive(family))["type"] == "pong"
        await doctor.disconnect()
        await family.disconnect()

    run(scenario)


def test_after_admit_offer_answer_and_ice_reach_the_other_party_only():
    room = make_room()

    async def scenario():
        doctor, family, *_ = await joined_pair(room)
        await doctor.send_to(text_data=json.dumps({"type": "admit"}))
        assert (await receive(doctor))["type"] == "admitted"
        assert (await receive(family))["type"] == "admitted"
        await doctor.send_to(text_data=json.dumps({"v": 1, "type": "offer", "sdp": "v=0 offer"}))
        offer = await receive(family)
        assert (offer["type"], offer["sdp"], offer["from"]["role"]) == ("offer", "v=0 offer", "doctor")
        assert await quiet(doctor), "offers are never echoed to the sender"
        await family.send_to(text_data=json.dumps({"type": "answer", "sdp": "v=0 answer"}))
        assert (await receive(doctor))["sdp"] == "v=0 answer"
        candidate = {"candidate": "candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host", "sdpMid": "0", "sdpMLineIndex": 0}
        await family.send_to(text_data=json.dumps({"type": "ice", "candidate": candidate}))
        assert (await receive(doctor))["candidate"] == candidate
        assert await quiet(family)
        await doctor.disconnect()
        await family.disconnect()

    run(scenario)
    assert Booking.objects.get(pk=room.booking.pk).status == BookingStatus.IN_CONSULT


@pytest.mark.parametrize(
    "frame, code",
    [
        ("{not json", "malformed_json"),
        ('["offer"]', "invalid_message"),
        ('{"type": "teleport"}', "unknown_type"),
        ('{"type": "offer"}', "invalid_message"),
        ('{"type": "offer", "sdp": "v=0"}', "not_admitted"),
        ('{"type": "chat", "text": ""}', "invalid_message"),
        ('{"v": 2, "type": "ping"}', "unsupported_version"),
        (json.dumps({"type": "chat", "text": "x" * (70 * 1024)}), "too_large"),
    ],
)
def test_bad_frames_get_an_error_code_and_the_connection_survives(frame, code):
    room = make_room()

    async def scenario():
        family = await connect(room.consultation.pk, room.proxy)
        await receive(family)
        await family.send_to(text_data=frame)
        error = await receive(family)
        assert (error["type"], error["code"]) == ("error", code)
        await family.send_to(text_data='{"type": "ping"}')
        assert (await receive(family))["type"] == "pong"
        await family.disconnect()

    run(scenario)


def test_binary_frames_are_refused_with_an_error():
    room = make_room()

    async def scenario():
        family = await connect(room.consultation.pk, room.proxy)
        await receive(family)
        await family.send_to(bytes_data=b"\x00\x01")
        assert (await receive(family))["code"] == "binary_not_supported"
        await family.disconnect()

    run(scenario)


def test_chat_is_kept_and_sent_to_everyone_in_the_room():
    room = make_room()

    async def scenario():
        doctor, family, *_ = await joined_pair(room)
        await family.send_to(text_data=json.dumps({"type": "chat", "text": "爸爸的血压今天早上 162/90"}))
        for communicator in (doctor, family):
            chat = await receive_until(communicator, "chat")
            assert chat["text"] == "爸爸的血压今天早上 162/90" and chat["from"]["role"] == "proxy"
        await doctor.disconnect()
        await family.disconnect()

    run(scenario)
    assert ChatMessage.objects.get().text == "爸爸的血压今天早上 162/90"


def test_a_reconnecting_participant_gets_the_current_state_to_resume():
    room = make_room()

    async def scenario():
        doctor, family, *_ = await joined_pair(room)
        await doctor.send_to(text_data=json.dumps({"type": "admit"}))
        await receive(family)
        await family.disconnect()
        again = await connect(room.consultation.pk, room.proxy)
        state = await receive(again)
        assert state["admitted"] is True and state["status"] == "in_progress"
        assert {p["role"] for p in state["present"]} == {"doctor", "proxy"}
        await again.send_to(text_data=json.dumps({"type": "offer", "sdp": "v=0 restart", "restart": True}))
        assert (await receive_until(doctor, "offer"))["restart"] is True
        await doctor.disconnect()
        await again.disconnect()

    run(scenario)


def test_end_by_doctor_closes_every_socket_and_completes_the_booking():
    room = make_room()

    async def scenario():
        doctor, family, *_ = await joined_pair(room)
        await family.send_to(text_data=json.dumps({"type": "end"}))
        assert (await receive(family))["code"] == "not_the_doctor"
        await doctor.send_to(text_data=json.dumps({"type": "admit"}))
        await receive_until(family, "admitted")
        await doctor.send_to(text_data=json.dumps({"type": "end"}))
        for communicator in (doctor, family):
            await receive_until(communicator, "ended")
            assert await closed_with(communicator) == signalling.CLOSE_ENDED_NORMALLY
        late = await connect(room.consultation.pk, room.proxy)
        assert await closed_with(late) == signalling.CLOSE_CONSULT_ENDED

    run(scenario)
    assert Consultation.objects.get(pk=room.consultation.pk).status == "ended"
    assert Booking.objects.get(pk=room.booking.pk).status == BookingStatus.COMPLETED


def test_who_may_not_join_is_closed_with_a_distinct_code():
    room = make_room()
    early = make_room(starts_in=timedelta(hours=2), checked_in=False)
    cancelled = make_room()
    Booking.objects.filter(pk=cancelled.booking.pk).update(status=BookingStatus.CANCELLED)
    stranger = PatientFactory().account
    other_doctor = make_room().doctor_user

    async def scenario():
        from django.contrib.auth.models import AnonymousUser

        cases = [
            (room.consultation.pk, AnonymousUser(), signalling.CLOSE_UNAUTHENTICATED),
            (room.consultation.pk, stranger, signalling.CLOSE_NOT_PARTICIPANT),
            (room.consultation.pk, other_doctor, signalling.CLOSE_NOT_PARTICIPANT),
            (room.consultation.pk + 10_000, room.proxy, signalling.CLOSE_NOT_FOUND),
            (early.consultation.pk, early.proxy, signalling.CLOSE_TOO_EARLY),
            (cancelled.consultation.pk, cancelled.proxy, signalling.CLOSE_BOOKING_INACTIVE),
        ]
        for consultation_id, user, code in cases:
            communicator = await connect(consultation_id, user)
            assert await closed_with(communicator) == code, (user, code)

    run(scenario)
    assert not RoomPresence.objects.exists()


def test_mobile_clients_join_with_a_one_time_ticket_not_the_api_token():
    room = make_room()
    ticket = signalling.ticket_issue(user_id=room.proxy.pk, consultation_id=room.consultation.pk)

    async def scenario():
        from django.contrib.auth.models import AnonymousUser

        good = await connect(room.consultation.pk, AnonymousUser(), query=f"ticket={ticket}")
        assert (await receive(good))["you"]["user_id"] == room.proxy.pk
        again = await connect(room.consultation.pk, AnonymousUser(), query=f"ticket={ticket}")
        assert await closed_with(again) == signalling.CLOSE_UNAUTHENTICATED  # a ticket opens one socket
        await good.disconnect()
        forged = await connect(room.consultation.pk, AnonymousUser(), query="ticket=forged")
        assert await closed_with(forged) == signalling.CLOSE_UNAUTHENTICATED

    run(scenario)


def test_origin_is_checked_and_session_cookie_authenticates():
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    from cloudhospital.asgi import application

    room = make_room()
    session = SessionStore()
    session[SESSION_KEY] = str(room.proxy.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = room.proxy.get_session_auth_hash()
    session.save()
    cookie = f"sessionid={session.session_key}".encode()

    async def scenario():
        path = f"/ws/consultations/{room.consultation.pk}/"
        evil = WebsocketCommunicator(application, path, headers=[(b"origin", b"https://evil.example"), (b"cookie", cookie)])
        connected, _ = await evil.connect()
        assert not connected
        good = WebsocketCommunicator(application, path, headers=[(b"origin", b"http://127.0.0.1:8000"), (b"cookie", cookie)])
        connected, _ = await good.connect()
        assert connected
        assert (await receive(good))["you"]["role"] == "proxy"
        await good.disconnect()

    run(scenario)


def test_unreachable_channel_layer_closes_with_a_clear_code_and_rest_keeps_working(settings, client_for):
    settings.CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer", "CONFIG": {"hosts": ["redis://127.0.0.1:1/0"]}}
    }
    room = make_room()

    async def scenario():
        family = await connect(room.consultation.pk, room.proxy)
        assert await closed_with(family) == signalling.CLOSE_BACKEND_UNAVAILABLE

    run(scenario)
    doctor = token_client(room.doctor_user)
    assert doctor.post(f"/api/consultations/{room.consultation.pk}/admit/").status_code == 200
    assert doctor.get(f"/api/consultations/{room.consultation.pk}/").json()["status"] == "in_progress"


def test_a_chat_message_stored_but_not_relayed_tells_its_sender(monkeypatch):
    from redis.exceptions import ConnectionError as RedisConnectionError

    from consult.consumers import ConsultationConsumer

    room = make_room()
    real_broadcast = ConsultationConsumer._broadcast

    async def failing_chat_broadcast(self, payload, *, exclude_self=False):
        if payload.get("type") == "chat":
            raise RedisConnectionError("Redis went away")
        await real_broadcast(self, payload, exclude_self=exclude_self)

    monkeypatch.setattr(ConsultationConsumer, "_broadcast", failing_chat_broadcast)

    async def scenario():
        doctor, family, *_ = await joined_pair(room)
        await family.send_to(text_data=json.dumps({"type": "chat", "text": "收到了吗"}))
        error = await receive_until(family, "error")
        assert error["code"] == "chat_not_relayed" and error["message_id"] == (await _first_chat_id())
        assert await quiet(doctor)
        await doctor.disconnect()
        await family.disconnect()

    run(scenario)
    assert ChatMessage.objects.get().text == "收到了吗"


async def _first_chat_id():
    from channels.db import database_sync_to_async

    return await database_sync_to_async(lambda: ChatMessage.objects.get().pk)()


def test_a_database_failure_closes_the_socket_with_the_backend_code(monkeypatch):
    from django.db import OperationalError

    from consult import selectors

    room = make_room()

    def database_down(user, consultation_id):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(selectors, "room_admission", database_down)

    async def scenario():
        family = await connect(room.consultation.pk, room.proxy)
        assert await closed_with(family) == signalling.CLOSE_BACKEND_UNAVAILABLE

    run(scenario)
