"""The doctor's second factor in tests: enrol an authenticator, read its next code, and
verify a token or a browser session (cloudhospital.step_up).

A code is what the doctor's phone would show: the device's own TOTP at its current drift.
A second code within the same 30 s step is the next step's (django-otp accepts one step
ahead and then follows the drift), so a test may ask for as many codes as it needs."""

import time

from django_otp.oath import hotp
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from cloudhospital import step_up, tokens


def enrol(user) -> TOTPDevice:
    """The user's confirmed authenticator (created once)."""
    device = step_up.device_for(user)
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=step_up.DEVICE_NAME, confirmed=True)
    return device


def code_for(user_or_device) -> str:
    """The next code the server will accept: this step's, or the next step's when this one
    was already used."""
    device = user_or_device if isinstance(user_or_device, TOTPDevice) else enrol(user_or_device)
    device.refresh_from_db()
    now = int((time.time() - device.t0) // device.step) + device.drift
    t = max(now, device.last_t + 1)
    return str(hotp(device.bin_key, t, digits=device.digits)).zfill(device.digits)


def verify_token(user, token) -> None:
    """Record a fresh second factor for this knox token (an AuthToken)."""
    step_up.verify(user=user, credential=step_up.credential_of_token(token), code=code_for(user))


def token_client(user, *, verified: bool = True) -> APIClient:
    """An APIClient with a real token of `user` (one device), its second factor proved unless told not."""
    issued = tokens.token_issue(user=user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {issued.key}")
    client.token = issued.record
    if verified:
        verify_token(user, issued.record)
    return client


def verify_session(client, user) -> None:
    """Record a fresh second factor for a logged-in Django test client's session."""
    key = client.session.session_key
    assert key, "log the client in first"
    step_up.verify(user=user, credential=step_up.credential_of_session(key), code=code_for(user))


def verified_session(user):
    """A saved browser session whose second factor is proved (for a socket's scope["session"])."""
    from django.contrib.sessions.backends.db import SessionStore

    session = SessionStore()
    session.create()
    step_up.verify(user=user, credential=step_up.credential_of_session(session.session_key), code=code_for(user))
    return session


def admit_in_room(page, user, *, timeout: int = 15_000) -> None:
    """In the doctor's room (Playwright page): press Admit, enter the authenticator's code in
    the prompt the room shows, and let the room send the admission again."""
    page.wait_for_selector("#admit:not([disabled])", timeout=timeout)
    page.click("#admit")
    field = "#second-factor input[name=otp]"
    page.wait_for_selector(field, timeout=timeout)
    page.fill(field, code_for(user))
    page.click("#second-factor button")
