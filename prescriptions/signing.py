"""Signing and verifying prescription content with each doctor's Ed25519 key.

The content (patient, doctor, items, diagnosis, issue time ...) is turned into canonical
JSON bytes and signed. Anyone holding the public key (published at /api/signing-keys/) can
verify offline: same canonicalisation, Ed25519 verify. Private keys never leave the server:
they are stored encrypted with Fernet under a key derived (HKDF-SHA256) from
settings.PRESCRIPTION_SIGNING_SECRETS and decrypted only inside `content_sign`.

Key life: created on a doctor's first signature; `signing_key_rotate` retires the current
key (it keeps verifying what it signed) and makes a new one; `signing_key_revoke` marks a key
compromised, after which everything it signed verifies as invalid.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import hashlib
import json
import uuid
from collections.abc import Mapping
from decimal import Decimal
from functools import lru_cache

from cryptography.exceptions import InvalidSignature
from cryptography.fernet import Fernet, MultiFernet
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cloudhospital.audit import stamp
from cloudhospital.errors import DomainError, Kind
from cloudhospital.permissions import require
from cloudhospital.models import Role, User
from prescriptions.models import SigningKey

SIGNATURE_BYTES = 64


# --- Canonical JSON -------------------------------------------------------------------------
def _canonical(value):
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        # Binary floats have no single textual form across languages; a verifier in another
        # stack could print them differently and reject a genuine signature.
        raise TypeError("Floats cannot be signed; use Decimal.")
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise TypeError("Only finite decimals can be signed.")
        # normalize(): 5, 5.0 and 5.00 are the same dose and must sign the same, whatever
        # precision the database column gives back.
        return format(value.normalize(), "f")
    if isinstance(value, datetime.datetime):
        if timezone.is_naive(value):
            raise TypeError("Naive datetimes cannot be signed; their instant is ambiguous.")
        return value.astimezone(datetime.timezone.utc).isoformat().replace("+00:00", "Z")
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, Mapping):
        if not all(isinstance(key, str) for key in value):
            # json would turn 1 into "1" and two different mappings would sign alike.
            raise TypeError("Only string keys can be signed.")
        return {key: _canonical(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_canonical(item) for item in value]
    raise TypeError(f"Cannot sign a value of type {type(value).__name__}.")


def canonical_content(content):
    """`content` in its canonical JSON-ready form (decimals and datetimes as their canonical
    strings): what canonical_json serialises, and what may be stored in a JSONField and
    compared later without any loss."""
    return _canonical(content)


def canonical_json(content) -> bytes:
    """The bytes that are signed: JSON with keys sorted (by code point), no whitespace, UTF-8
    (not \\u-escaped), decimals as plain strings ("5", "47.5"), datetimes as ISO 8601 in UTC
    with "Z", dates as ISO 8601. Floats, naive datetimes and non-string keys are refused
    (TypeError) because they have no single canonical text."""
    return json.dumps(
        _canonical(content), sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


# --- Private keys at rest -------------------------------------------------------------------
@lru_cache(maxsize=4)
def _box_for(secrets: tuple[str, ...]) -> MultiFernet:
    def fernet(secret: str) -> Fernet:
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"cloudhospital.prescriptions.signing",
                   info=b"signing-key-encryption-v1").derive(secret.encode("utf-8"))
        return Fernet(base64.urlsafe_b64encode(key))

    return MultiFernet([fernet(secret) for secret in secrets])


def _box() -> MultiFernet:
    secrets = tuple(settings.PRESCRIPTION_SIGNING_SECRETS)
    if not secrets:
        raise ImproperlyConfigured("PRESCRIPTION_SIGNING_SECRET must be set when DEBUG is off.")
    return _box_for(secrets)


def _private_key(key: SigningKey) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(_box().decrypt(bytes(key.private_key_encrypted)))


def key_id_for(public_raw: bytes) -> str:
    """A key id that is the public key's fingerprint, so a verifier can check it is not swapped."""
    return "ed25519-" + hashlib.sha256(public_raw).hexdigest()[:24]


def public_key_pem(key: SigningKey) -> str:
    """The public key as SubjectPublicKeyInfo PEM, for `openssl pkeyutl -verify` and friends."""
    public = Ed25519PublicKey.from_public_bytes(base64.b64decode(key.public_key))
    return public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def _key_create(doctor: User, *, by, reason: str) -> SigningKey:
    private = Ed25519PrivateKey.generate()
    public_raw = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    private_raw = private.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    key = SigningKey(
        doctor=doctor, key_id=key_id_for(public_raw), public_key=base64.b64encode(public_raw).decode("ascii"),
        private_key_encrypted=_box().encrypt(private_raw),
    )
    stamp(key, by=by, reason=reason)
    key.save()
    return key


def _lock_doctor(doctor: User, roles: tuple[str, ...] = (Role.DOCTOR,)) -> User:
    # Lock the doctor's row so two first signatures at once cannot both create a key.
    locked = User.objects.select_for_update().get(pk=doctor.pk)
    if locked.role not in roles or not locked.is_active:
        raise DomainError(_("Only an active doctor has a signing key."), code="not_a_doctor", field="doctor", kind=Kind.FORBIDDEN)
    return locked


# --- Key life -------------------------------------------------------------------------------
def signing_key_current(*, doctor: User, roles: tuple[str, ...] = (Role.DOCTOR,)) -> SigningKey:
    """The doctor's current signing key, created on first use. `roles` widens who may hold
    one: a review pharmacist signs their review decision (prescriptions.rules.review_sign).

    Raises DomainError 403 `not_a_doctor` for anyone but an active user of `roles`, and
    ImproperlyConfigured when no PRESCRIPTION_SIGNING_SECRET is configured.
    """
    with transaction.atomic():
        doctor = _lock_doctor(doctor, roles)
        key = SigningKey.objects.filter(doctor=doctor, retired_at__isnull=True, revoked_at__isnull=True).first()
        return key or _key_create(doctor, by=doctor, reason="signing key created on first use")


def signing_key_rotate(*, doctor: User, by: User, reason: str = "") -> SigningKey:
    """Retire the doctor's current key (it still verifies what it signed) and make a new one.

    Only the doctor, an admin of their hospital or a superuser (403). Raises DomainError 403
    `not_a_doctor` when `doctor` is not an active doctor.
    """
    require("prescriptions.manage_signing_keys", by, doctor, message=_("Only the doctor or their hospital's admin may rotate this key."))
    with transaction.atomic():
        doctor = _lock_doctor(doctor)
        now = timezone.now()
        for key in SigningKey.objects.select_for_update().filter(doctor=doctor, retired_at__isnull=True,
                                                                  revoked_at__isnull=True):
            key.retired_at = now
            stamp(key, by=by, reason=reason or "rotated")
            key.save(update_fields=["retired_at"])
        return _key_create(doctor, by=by, reason=reason or "rotated")


def signing_key_revoke(*, key: SigningKey, by: User, reason: str) -> SigningKey:
    """Mark `key` compromised: every signature made with it verifies as invalid from now on.

    A doctor whose current key is revoked gets a fresh one on their next signature.
    Only the key's doctor, an admin of their hospital or a superuser (403). Raises DomainError
    400 `reason_required` without a reason, 409 `already_revoked` when the key was revoked before.
    """
    require("prescriptions.manage_signing_keys", by, key.doctor, message=_("Only the doctor or their hospital's admin may revoke this key."))
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_("Say why the key is revoked."), code="reason_required", field="reason", kind=Kind.INVALID)
    with transaction.atomic():
        key = SigningKey.objects.select_for_update().get(pk=key.pk)
        if key.revoked_at is not None:
            raise DomainError(_("Key %(key)s was already revoked.") % {"key": key.key_id}, code="already_revoked",
                              kind=Kind.CONFLICT)
        key.revoked_at = timezone.now()
        key.revoked_reason = reason[:200]
        stamp(key, by=by, reason=f"revoked: {reason}")
        key.save(update_fields=["revoked_at", "revoked_reason"])
        return key


# --- Sign and verify ------------------------------------------------------------------------
def content_sign(*, signer: User, content, roles: tuple[str, ...] = (Role.DOCTOR,)) -> tuple[str, str]:
    """Sign canonical_json(content) with the signer's current key: (key_id, base64 signature).

    Raises DomainError 403 `not_a_doctor` when the signer is not an active doctor (or user of
    `roles`), and TypeError for content that has no canonical form (see canonical_json).
    """
    payload = canonical_json(content)
    key = signing_key_current(doctor=signer, roles=roles)
    signature = _private_key(key).sign(payload)
    return key.key_id, base64.b64encode(signature).decode("ascii")


def content_verify(*, content, key_id: str, signature: str, expected_signer: User | None = None) -> tuple[bool, str]:
    """Whether `signature` (base64) is `key_id`'s signature over canonical_json(content).

    Returns (valid, reason). Invalid when the key is unknown or revoked, belongs to someone
    other than `expected_signer` (when given), the signature is malformed, or the content
    differs in any way from what was signed. A retired (rotated) key still verifies.
    """
    key = SigningKey.objects.select_related("doctor").filter(key_id=key_id).first() if key_id else None
    if key is None:
        return False, f"Unknown signing key {key_id!r}."
    if key.revoked_at is not None:
        return False, f"Signing key {key_id} was revoked on {key.revoked_at:%Y-%m-%d %H:%M} ({key.revoked_reason})."
    if expected_signer is not None and key.doctor_id != expected_signer.pk:
        return False, f"Signing key {key_id} belongs to another doctor."
    try:
        raw = base64.b64decode(signature or "", validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != SIGNATURE_BYTES:
        return False, "Malformed signature (expected 64 bytes, base64)."
    public = Ed25519PublicKey.from_public_bytes(base64.b64decode(key.public_key))
    try:
        public.verify(raw, canonical_json(content))
    except InvalidSignature:
        return False, "Signature does not match the content: it was changed after signing, or signed by another key."
    return True, f"Valid signature by {key.doctor.full_name} with key {key_id}."
