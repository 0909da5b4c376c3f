"""The doctor's second factor: enrolling a TOTP authenticator, and the two checks that use it.

互联网诊疗监管细则（试行）: the doctor's identity is verified before each consult, and no other
person and no software may stand in for the doctor (a prescription may not be generated
automatically). So:

- **Admission** needs this login — this browser session, or this API token, not the user in
  general — to have proved its second factor within DOCTOR_REAUTH_WINDOW_MINUTES
  (`require_fresh`; `verify` records a proof against the credential that sent the code).
- **Signing** needs a code in the same request (`require_code`): a script holding a token,
  even a freshly verified one, cannot sign.

The authenticator is a django-otp TOTPDevice: it allows for a phone's clock drift, refuses a
code already used (its `last_t`), and slows down wrong guesses (ThrottlingMixin: each failure
doubles the wait, OTP_TOTP_THROTTLE_FACTOR). API views, pages and the signalling socket all call
these functions; none of them checks a code itself.
"""

from __future__ import annotations

import base64
import hashlib
import io
from datetime import datetime, timedelta

import qrcode
import qrcode.image.svg
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_otp.models import VerifyNotAllowed
from django_otp.plugins.otp_totp.models import TOTPDevice
from knox.models import AuthToken

from cloudhospital.errors import DomainError, Kind
from cloudhospital.models import SecondFactorCheck

DEVICE_NAME = "authenticator"


# --- Which login is asking ----------------------------------------------------------------
def _hash(kind: str, key: str) -> str:
    return hashlib.sha256(f"{kind}:{key}".encode()).hexdigest()


def credential_of(request) -> str | None:
    """The login a request comes with: its knox token when it sent one, else its browser
    session; None when it has neither (nothing can then be fresh)."""
    auth = getattr(request, "auth", None)
    if isinstance(auth, AuthToken):
        return credential_of_token(auth)
    session = getattr(request, "session", None)
    key = getattr(session, "session_key", None)
    return _hash("session", key) if key else None


def credential_of_token(token: AuthToken) -> str:
    return _hash("token", token.digest)


def credential_of_session(session_key: str | None) -> str | None:
    """The login of a signalling socket opened with the browser's session cookie."""
    return _hash("session", session_key) if session_key else None


def credential_of_ticket(ticket: str | None) -> str | None:
    """The login of a signalling socket opened with a one-time ticket: the ticket carries the
    freshness of the token that asked for it (`carry_over`)."""
    return _hash("ticket", ticket) if ticket else None


def carry_over(*, user, source: str | None, target: str | None) -> None:
    """Let `target` (a socket ticket) share `source`'s last proof, timed from the proof itself:
    a ticket is never fresher than the token that asked for it."""
    at = verified_at(user=user, credential=source)
    if at is not None and target:
        SecondFactorCheck.objects.update_or_create(credential=target, defaults={"user": user, "verified_at": at})


# --- Enrolment ----------------------------------------------------------------------------
def device_for(user) -> TOTPDevice | None:
    """The user's confirmed authenticator, if they have enrolled one."""
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("-pk").first()


@transaction.atomic
def device_enrol(*, user) -> TOTPDevice:
    """Start enrolling an authenticator: a new secret, unconfirmed until its first code
    (`device_confirm`). A pending enrolment is replaced; a confirmed device stays in force
    until the new one is confirmed."""
    TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    return TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=False)


def device_pending(user) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-pk").first()


def device_confirm(*, user, code: str) -> TOTPDevice:
    """Confirm the pending authenticator with its first code; it replaces any earlier one.

    Errors: `second_factor_not_started` (no pending enrolment), `otp_required`,
    `otp_invalid`, `otp_throttled` (at `otp`)."""
    device = device_pending(user)
    if device is None:
        raise DomainError(_("Start enrolling an authenticator first."), code="second_factor_not_started",
                          kind=Kind.CONFLICT)
    _check_code_locked(device, code)
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user, confirmed=True).delete()
        device.confirmed = True
        device.save(update_fields=["confirmed"])
    return device


def provisioning_uri(device: TOTPDevice) -> str:
    """The otpauth:// URI an authenticator app reads from the QR code (issuer OTP_TOTP_ISSUER,
    account the login's phone)."""
    return device.config_url


def qr_svg(uri: str) -> str:
    """The URI as an inline SVG QR code (no external service sees the secret)."""
    image = qrcode.make(uri, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    buffer = io.BytesIO()
    image.save(buffer)
    return buffer.getvalue().decode()


def secret_base32(device: TOTPDevice) -> str:
    """The secret as authenticator apps take it when typed in (base32, in groups of four)."""
    text = base64.b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(text[i:i + 4] for i in range(0, len(text), 4))


# --- Checking a code ----------------------------------------------------------------------
def _check_code(device: TOTPDevice, code: str | None) -> None:
    code = (code or "").strip().replace(" ", "")
    if not code:
        # 互联网诊疗监管细则（试行）: the doctor's identity is verified; no script stands in.
        raise DomainError(_("互联网诊疗监管细则（试行）: enter the 6-digit code from your authenticator."),
                          code="otp_required", field="otp", kind=Kind.INVALID)
    allowed, info = device.verify_is_allowed()
    if not allowed:
        wait = ""
        if info and info.get("reason") == VerifyNotAllowed.N_FAILED_ATTEMPTS and info.get("locked_until"):
            wait = max(1, int((info["locked_until"] - timezone.now()).total_seconds()))
        raise DomainError(_("Too many wrong codes: wait %(seconds)s seconds and try again.") % {"seconds": wait or 1},
                          code="otp_throttled", field="otp", kind=Kind.INVALID)
    if not device.verify_token(code):
        # verify_token refuses a code already used (replay) and counts the failure (throttle).
        raise DomainError(_("That code is wrong or already used: enter the current code from your authenticator."),
                          code="otp_invalid", field="otp", kind=Kind.INVALID)


def _check_code_locked(device: TOTPDevice, code: str | None) -> None:
    """Check a code with the device row locked, so two requests cannot both spend one code.
    The refusal is raised after the transaction, so the failure count it wrote is kept."""
    refusal = None
    with transaction.atomic():
        locked = TOTPDevice.objects.select_for_update().get(pk=device.pk)
        try:
            _check_code(locked, code)
        except DomainError as exc:
            refusal = exc
    if refusal is not None:
        raise refusal


def _device_or_refuse(user) -> TOTPDevice:
    device = device_for(user)
    if device is None:
        raise DomainError(
            _("互联网诊疗监管细则（试行）: the doctor's identity is verified with a second factor; enrol an "
              "authenticator first."), code="second_factor_not_enrolled", field="otp", kind=Kind.FORBIDDEN)
    return device


def verify(*, user, credential: str | None, code: str | None) -> datetime:
    """Check `code` against the user's authenticator and record that this login (and only
    this one) proved its second factor now. Returns the time recorded.

    Errors: `second_factor_not_enrolled`, `otp_required`, `otp_invalid`, `otp_throttled`."""
    _check_code_locked(_device_or_refuse(user), code)
    now = timezone.now()
    if credential:
        SecondFactorCheck.objects.update_or_create(credential=credential, defaults={"user": user, "verified_at": now})
    return now


def verified_at(*, user, credential: str | None) -> datetime | None:
    if not credential:
        return None
    return SecondFactorCheck.objects.filter(credential=credential, user=user).values_list("verified_at", flat=True).first()


def window() -> timedelta:
    return timedelta(minutes=settings.DOCTOR_REAUTH_WINDOW_MINUTES)


def is_fresh(*, user, credential: str | None) -> bool:
    """Has this login proved its second factor within DOCTOR_REAUTH_WINDOW_MINUTES?"""
    at = verified_at(user=user, credential=credential)
    return at is not None and timezone.now() - at <= window()


def require_fresh(*, user, credential: str | None) -> None:
    """Refuse unless this login proved its second factor within the window (admission).

    互联网诊疗监管细则（试行）: the doctor's identity is verified before each consult."""
    if not is_fresh(user=user, credential=credential):
        raise DomainError(
            _("互联网诊疗监管细则（试行）: the doctor's identity is verified before each consult; enter the code "
              "from your authenticator (valid for %(minutes)s minutes).") % {"minutes": settings.DOCTOR_REAUTH_WINDOW_MINUTES},
            code="second_factor_required", field="otp", kind=Kind.FORBIDDEN)


def require_code(*, user, credential: str | None, code: str | None) -> None:
    """Signing's step-up: a code in this very request, whatever the login's freshness.

    互联网诊疗监管细则（试行）: a prescription is issued by the doctor in person, never generated
    automatically, so a token alone cannot sign."""
    verify(user=user, credential=credential, code=code)


def fresh_or_verify(*, user, credential: str | None, code: str | None) -> None:
    """Admission from a form or request that may carry a code: a code given is checked (and
    recorded); without one, the login must already be fresh."""
    if code:
        verify(user=user, credential=credential, code=code)
    else:
        require_fresh(user=user, credential=credential)
