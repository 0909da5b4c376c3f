"""The signalling protocol (version 1), ICE server credentials and socket tickets.

Pure functions except the tickets (ticket_issue / ticket_read touch the database: the
consumer calls them through database_sync_to_async). The protocol is documented in
docs/video-consult.md and, machine-readable, in consult/asyncapi.yaml (served at
/api/schema/asyncapi/).
"""

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from cloudhospital.models import SocketTicket

PROTOCOL_VERSION = 1
MAX_MESSAGE_BYTES = 64 * 1024
MAX_CHAT_CHARS = 4000

# Close codes a client can act on. 4xxx are private-use codes (RFC 6455 section 7.4.2).
CLOSE_ENDED_NORMALLY = 1000
CLOSE_UNAUTHENTICATED = 4401
CLOSE_NOT_PARTICIPANT = 4403
CLOSE_NOT_FOUND = 4404
CLOSE_TOO_EARLY = 4408
CLOSE_BOOKING_INACTIVE = 4409
CLOSE_CONSULT_ENDED = 4410
CLOSE_BACKEND_UNAVAILABLE = 4503

# Message types a client may send, and the fields each one carries.
RELAYED = {"offer": "sdp", "answer": "sdp", "ice": "candidate", "hangup": None}
CLIENT_TYPES = set(RELAYED) | {"admit", "chat", "end", "ping"}
# Message types the server sends: the relayed ones (with "from"), the replies and the room's
# events. The AsyncAPI document (consult/asyncapi.yaml) describes each; a test holds the two,
# and the literals sent in consumers.py and consultation.py, to this set.
SERVER_TYPES = set(RELAYED) | {"state", "presence", "chat", "admitted", "ended", "pong", "error", "recording"}
MAX_SDP_CHARS = 60_000


class ProtocolError(Exception):
    """A message the server cannot act on; answered with an `error` message, never a close."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def error_message(code: str, message: str) -> dict:
    return {"v": PROTOCOL_VERSION, "type": "error", "code": code, "message": message}


def parse_client_message(text: str | None, data: bytes | None = None) -> dict:
    """Validate one frame from a client and return it as a dict with a known `type`.

    Raises ProtocolError with code too_large, binary_not_supported, malformed_json,
    invalid_message, unsupported_version or unknown_type.
    """
    if data is not None and text is None:
        raise ProtocolError("binary_not_supported", "Send JSON text frames.")
    if len((text or "").encode("utf-8")) > MAX_MESSAGE_BYTES:
        raise ProtocolError("too_large", f"Messages are limited to {MAX_MESSAGE_BYTES // 1024} KiB.")
    try:
        message = json.loads(text or "")
    except (ValueError, RecursionError):
        raise ProtocolError("malformed_json", "The message is not valid JSON.") from None
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        raise ProtocolError("invalid_message", 'A message is a JSON object with a string "type".')
    version = message.get("v", PROTOCOL_VERSION)
    if version != PROTOCOL_VERSION:
        raise ProtocolError("unsupported_version", f"This server speaks protocol version {PROTOCOL_VERSION}.")
    kind = message["type"]
    if kind not in CLIENT_TYPES:
        raise ProtocolError("unknown_type", f'Unknown message type "{kind[:40]}".')
    if kind in ("offer", "answer"):
        sdp = message.get("sdp")
        if not isinstance(sdp, str) or not sdp or len(sdp) > MAX_SDP_CHARS:
            raise ProtocolError("invalid_message", f'"{kind}" needs an "sdp" string.')
        return {"type": kind, "sdp": sdp, "restart": bool(message.get("restart", False))}
    if kind == "ice":
        candidate = message.get("candidate")
        # null marks the end of candidates; otherwise the browser's RTCIceCandidateInit.
        if candidate is not None and not (isinstance(candidate, dict) and isinstance(candidate.get("candidate"), str)):
            raise ProtocolError("invalid_message", '"ice" needs a "candidate" object (or null at the end).')
        return {"type": kind, "candidate": candidate}
    if kind == "chat":
        chat = message.get("text")
        if not isinstance(chat, str) or not chat.strip() or len(chat) > MAX_CHAT_CHARS:
            raise ProtocolError("invalid_message", f'"chat" needs a "text" of 1 to {MAX_CHAT_CHARS} characters.')
        return {"type": kind, "text": chat.strip()}
    if kind == "admit":
        # For a child under ONLINE_CARE_GUARDIAN_AGE the doctor confirms a guardian is present
        # (consult.young_children); anything but true is no confirmation.
        return {"type": kind, "guardian_present": message.get("guardian_present") is True}
    return {"type": kind}


@dataclass(frozen=True)
class IceServer:
    urls: list[str]
    username: str | None = None
    credential: str | None = None

    def as_dict(self) -> dict:
        entry: dict = {"urls": self.urls}
        if self.username is not None:
            entry.update(username=self.username, credential=self.credential)
        return entry


def turn_credentials(*, user_id: int, secret: str, ttl_seconds: int, now: float | None = None) -> tuple[str, str]:
    """TURN REST API credentials, as coturn's `use-auth-secret` checks them:
    username "<expiry unix time>:<user id>", credential base64(HMAC-SHA1(secret, username))."""
    expiry = int(now if now is not None else time.time()) + ttl_seconds
    username = f"{expiry}:{user_id}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode()


def ice_servers(*, user_id: int) -> dict:
    """STUN and TURN entries for RTCPeerConnection, from settings, with fresh TURN credentials."""
    servers = []
    if settings.ICE_STUN_URLS:
        servers.append(IceServer(urls=list(settings.ICE_STUN_URLS)))
    if settings.ICE_TURN_URLS and settings.ICE_TURN_SECRET:
        username, credential = turn_credentials(
            user_id=user_id, secret=settings.ICE_TURN_SECRET, ttl_seconds=settings.ICE_TURN_TTL_SECONDS
        )
        servers.append(IceServer(urls=list(settings.ICE_TURN_URLS), username=username, credential=credential))
    return {"ice_servers": [s.as_dict() for s in servers], "ttl_seconds": settings.ICE_TURN_TTL_SECONDS}


def _ticket_hash(ticket: str) -> str:
    return hashlib.sha256(ticket.encode()).hexdigest()


def ticket_issue(*, user_id: int, consultation_id: int) -> str:
    """A short-lived one-time ticket for one user and one consultation, for clients that
    cannot send a session cookie on the WebSocket (mobile apps). Never put the API token in
    a URL. Only the ticket's hash is stored."""
    ticket = secrets.token_urlsafe(32)
    SocketTicket.objects.create(token_hash=_ticket_hash(ticket), user_id=user_id, consultation_id=consultation_id)
    return ticket


def ticket_read(ticket: str, *, consultation_id: int) -> int | None:
    """Spend the ticket and return the user id it was issued to, or None if it is unknown,
    already used, expired, revoked by logging out, or for another room (a ticket for another
    room is not spent)."""
    if not isinstance(ticket, str) or not 20 <= len(ticket) <= 100:
        return None
    now = timezone.now()
    fresh = now - timedelta(seconds=settings.SIGNALLING_TICKET_TTL_SECONDS)
    tickets = SocketTicket.objects.filter(token_hash=_ticket_hash(ticket), consultation_id=consultation_id,
                                          used_at__isnull=True, created_at__gt=fresh)
    user_id = tickets.values_list("user_id", flat=True).first()
    # The conditional UPDATE spends it once: of two sockets racing with one ticket, one wins.
    if user_id is None or not tickets.update(used_at=now):
        return None
    return user_id


def room_group(consultation_id: int) -> str:
    return f"consultation.{consultation_id}"


def recording_event(state: dict) -> dict:
    """`recording`: a side gave or withdrew its consent to recording, or a recording started or
    completed; `state` is consult.recording.recording_state's."""
    return {"v": PROTOCOL_VERSION, "type": "recording", **state}
