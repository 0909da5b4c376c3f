"""The signalling socket: ws://…/ws/consultations/{id}/.

Thin by design: `connect` asks consult.selectors.room_admission whether this user may join,
`receive` validates the frame with consult.signalling and either relays it or calls a
domain function in consult.consultation. The protocol is described in docs/video-consult.md and consult/asyncapi.yaml.
"""

import json
import logging
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.db import DatabaseError
from redis.exceptions import RedisError

from cloudhospital import metrics, step_up
from cloudhospital.errors import DomainError
from consult import consultation as consult_rules
from consult import doctor_identity
from consult import selectors, signalling
from consult.models import ConsultationStatus

log = logging.getLogger(__name__)
V = signalling.PROTOCOL_VERSION


@database_sync_to_async
def _ticket_user(ticket: str, consultation_id: int):
    user_id = signalling.ticket_read(ticket, consultation_id=consultation_id)
    if user_id is None:
        return AnonymousUser()
    return get_user_model().objects.filter(pk=user_id, is_active=True).first() or AnonymousUser()


@database_sync_to_async
def _admit(user, consultation_id):
    return selectors.room_admission(user, consultation_id)


@database_sync_to_async
def _join(consultation, user, role, channel_name):
    consult_rules.presence_join(consultation=consultation, user=user, role=role, channel_name=channel_name)
    consultation.refresh_from_db(fields=["status", "admitted_at"])
    return selectors.room_presence(consultation), consultation.admitted_at is not None, consultation.status


@database_sync_to_async
def _leave(consultation, channel_name):
    consult_rules.presence_leave(channel_name=channel_name)
    return selectors.room_presence(consultation)


@database_sync_to_async
def _admitted(consultation) -> bool:
    consultation.refresh_from_db(fields=["status", "admitted_at"])
    return consultation.status == ConsultationStatus.IN_PROGRESS


@database_sync_to_async
def _call(function, **kwargs):
    return function(**kwargs)


class ConsultationConsumer(AsyncWebsocketConsumer):
    consultation = None
    role = None
    joined = False
    admitted = False  # once true it stays true, so ICE bursts cost no queries
    accepted = False
    connect_received = False

    async def __call__(self, scope, receive, send):
        """Run the consumer; if the channel layer (Redis) or the database fails, before or
        during the call, close with CLOSE_BACKEND_UNAVAILABLE so the client knows to retry,
        not to log in."""
        try:
            await self._run(scope, receive, send)
        finally:
            if self.accepted:
                metrics.SIGNALLING_SOCKETS.dec()

    async def _run(self, scope, receive, send):
        try:
            await super().__call__(scope, receive, send)
        except (RedisError, OSError, DatabaseError):
            log.warning("backend unavailable; closing the signalling socket", exc_info=True)
            if self.joined:
                try:
                    await _leave(self.consultation, self.channel_name)
                except DatabaseError:
                    log.warning("could not record leaving consultation %s", self.consultation.pk, exc_info=True)
            if not self.accepted:
                if not self.connect_received and (await receive())["type"] != "websocket.connect":
                    return
                await send({"type": "websocket.accept"})
            await send({"type": "websocket.close", "code": signalling.CLOSE_BACKEND_UNAVAILABLE})

    async def websocket_connect(self, message):
        self.connect_received = True
        await super().websocket_connect(message)

    async def accept(self, subprotocol=None, headers=None):
        await super().accept(subprotocol, headers)
        self.accepted = True
        metrics.SIGNALLING_SOCKETS.inc()  # and dec once the consumer has ended (__call__)

    async def connect(self):
        consultation_id = int(self.scope["url_route"]["kwargs"]["consultation_id"])
        user = self.scope.get("user") or AnonymousUser()
        ticket = parse_qs(self.scope.get("query_string", b"").decode()).get("ticket", [None])[0]
        session = self.scope.get("session") if user.is_authenticated else None
        if not user.is_authenticated and ticket:
            user = await _ticket_user(ticket, consultation_id)
        self.user = user
        self.credential = (step_up.credential_of_session(getattr(session, "session_key", None)) if session is not None
                           else step_up.credential_of_ticket(ticket))
        consultation, role, refusal = await _admit(user, consultation_id)
        # Accept, then close with a code: a refused handshake cannot carry a reason, and a
        # client needs to tell "log in again" from "too early" from "ended".
        await self.accept()
        if refusal:
            await self.close(code=refusal)
            return
        self.consultation, self.role = consultation, role
        self.group = signalling.room_group(consultation.pk)
        await self.channel_layer.group_add(self.group, self.channel_name)
        present, admitted, status = await _join(consultation, user, role, self.channel_name)
        self.joined, self.admitted = True, admitted
        # Tell the others first, then the newcomer: once a client holds its `state`, its
        # arrival has been published, so a later joiner cannot receive it out of order.
        await self._broadcast(
            {"v": V, "type": "presence", "event": "joined", "who": self._me(), "present": present}, exclude_self=True
        )
        await self.send_json(
            {
                "v": V,
                "type": "state",
                "consultation_id": consultation.pk,
                "status": status,
                "admitted": admitted,
                "you": {"user_id": user.pk, "role": role, "name": user.full_name},
                "present": present,
            }
        )

    async def disconnect(self, code):
        if not self.joined:
            return
        self.joined = False
        try:
            present = await _leave(self.consultation, self.channel_name)
            await self._broadcast({"v": V, "type": "presence", "event": "left", "who": self._me(), "present": present})
            await self.channel_layer.group_discard(self.group, self.channel_name)
        except Exception:  # noqa: BLE001 - leaving must never raise out of disconnect
            log.warning("could not leave consultation %s cleanly", self.consultation.pk, exc_info=True)

    async def receive(self, text_data=None, bytes_data=None):
        try:
            message = signalling.parse_client_message(text_data, bytes_data)
            await self._handle(message)
        except signalling.ProtocolError as exc:
            await self.send_json(signalling.error_message(exc.code, exc.message))
        except DomainError as exc:
            await self.send_json(signalling.error_message(exc.code, exc.message))

    async def _handle(self, message: dict) -> None:
        kind = message["type"]
        if kind == "ping":
            await self.send_json({"v": V, "type": "pong"})
        elif kind in signalling.RELAYED:
            self.admitted = self.admitted or await _admitted(self.consultation)
            if not self.admitted:
                raise signalling.ProtocolError("not_admitted", "Wait until the doctor admits the patient.")
            await self._broadcast({"v": V, **message, "from": self._me()}, exclude_self=True)
        elif kind == "chat":
            stored = await _call(consult_rules.chat_post, by=self.user, consultation=self.consultation, role=self.role,
                                 text=message["text"], relay=False)
            try:
                await self._broadcast(consult_rules.chat_event(stored, self.user.full_name))
            except (RedisError, OSError):
                # Kept in the record but not heard by the room: the sender must know.
                log.warning("chat message %s stored but not relayed", stored.pk, exc_info=True)
                await self.send_json({**signalling.error_message(
                    "chat_not_relayed", "Saved, but the others in the room did not get it; they will see it when they "
                    "reconnect."), "message_id": stored.pk})
        elif kind == "admit":
            # 互联网诊疗监管细则（试行）: the doctor's identity is verified before each consult: the
            # session's proof, or the proof of the token that asked for the socket's ticket.
            await _call(doctor_identity.consultation_admit_verified, by=self.user, consultation=self.consultation,
                        credential=self.credential, guardian_present=message["guardian_present"])
        elif kind == "end":
            await _call(consult_rules.consultation_end, by=self.user, consultation=self.consultation)

    # --- group events -----------------------------------------------------------------

    async def room_event(self, event):
        """Deliver a room event; offers, answers and ICE never go back to their sender."""
        if event.get("exclude") == self.channel_name:
            return
        await self.send_json(event["event"])
        if event["event"].get("type") == "admitted":
            self.admitted = True
        if event["event"].get("type") == "ended":
            await self.close(code=signalling.CLOSE_ENDED_NORMALLY)

    async def _broadcast(self, payload: dict, *, exclude_self: bool = False) -> None:
        event = {"type": "room.event", "event": payload}
        if exclude_self:
            event["exclude"] = self.channel_name
        await self.channel_layer.group_send(self.group, event)

    async def send_json(self, content: dict) -> None:
        await self.send(text_data=json.dumps(content, ensure_ascii=False))

    def _me(self) -> dict:
        return {"user_id": self.user.pk, "role": self.role, "name": self.user.full_name}
