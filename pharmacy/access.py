"""Who acts for a pharmacy: staff memberships and API tokens.

A pharmacy's system authenticates with `Authorization: Pharmacy <token>`; a pharmacist or
pharmacy staff member logged in with their normal user token or session acts for the one
pharmacy they belong to. Either way `pharmacy_for(user=..., auth=...)` names the pharmacy,
and every pharmacy-side query starts from it, so another pharmacy's rows are not found.
"""

import hashlib
import secrets
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cloudhospital.audit import stamp
from cloudhospital.errors import DomainError, Kind
from cloudhospital.permissions import require
from pharmacy.models import PHARMACY_ROLES, Pharmacy, PharmacyApiToken, PharmacyStaff

TOKEN_PREFIX = "chp_"
# Writing last_used_at on every request would turn each read into a write; once a few
# minutes is precise enough to tell a live integration from a forgotten one.
LAST_USED_PRECISION = timedelta(minutes=5)


def _require_administrator(by) -> None:
    require("pharmacy.administer", by, message=_("Only the hospital's administrators manage pharmacy access."))


def token_hash(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()


def token_create(*, pharmacy: Pharmacy, name: str, by, plaintext: str | None = None) -> tuple[PharmacyApiToken, str]:
    """Issue an API token for `pharmacy` and return it with its plaintext, which is not
    stored anywhere and cannot be shown again.

    `plaintext` is for the demo data only (a documented, fixed demo token). Only hospital
    admins, superusers and the system (seeding) issue tokens (403). Errors: an inactive
    pharmacy (422), an empty name (400).
    """
    _require_administrator(by)
    name = (name or "").strip()
    if not name:
        raise DomainError(_("Name the token after what will use it."), code="token_name_required", field="name", kind=Kind.INVALID)
    if not pharmacy.active:
        raise DomainError(_("This pharmacy is not active."), code="pharmacy_inactive", kind=Kind.UNPROCESSABLE)
    plaintext = plaintext or TOKEN_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        token = PharmacyApiToken(
            pharmacy=pharmacy,
            name=name[:80],
            prefix=plaintext[: len(TOKEN_PREFIX) + 8],
            token_hash=token_hash(plaintext),
            created_by=by if getattr(by, "pk", None) else None,
        )
        stamp(token, by=by, reason="token issued")
        token.save()
    return token, plaintext


def token_revoke(*, token: PharmacyApiToken, by) -> PharmacyApiToken:
    """Revoke a token: every later request with it is refused. Revoking twice is harmless.
    Only hospital admins, superusers and the system (403)."""
    _require_administrator(by)
    with transaction.atomic():
        token = PharmacyApiToken.objects.select_for_update().get(pk=token.pk)
        if token.revoked_at is None:
            token.revoked_at = timezone.now()
            token.revoked_by = by if getattr(by, "pk", None) else None
            stamp(token, by=by, reason="token revoked")
            token.save(update_fields=["revoked_at", "revoked_by"])
    return token


def token_authenticate(plaintext: str) -> PharmacyApiToken | None:
    """The live token with this plaintext on an active pharmacy, or None.

    The lookup is by the SHA-256 digest through a unique index; a guess that matches no
    digest learns nothing from timing, because the token carries 256 random bits.
    """
    if not plaintext or len(plaintext) > 200:
        return None
    token = (
        PharmacyApiToken.objects.select_related("pharmacy")
        .filter(token_hash=token_hash(plaintext), revoked_at__isnull=True, pharmacy__active=True)
        .first()
    )
    if token is None:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_PRECISION:
        PharmacyApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


def staff_add(*, pharmacy: Pharmacy, user, by) -> PharmacyStaff:
    """Make `user` act for `pharmacy`. Only hospital admins, superusers and the system add
    staff (403). Only pharmacists and pharmacy staff may join (422); a user belongs to one
    pharmacy at a time (409 if already with another)."""
    _require_administrator(by)
    if user.role not in PHARMACY_ROLES:
        raise DomainError(
            _("Only users with the pharmacist or pharmacy staff role can join a pharmacy."),
            code="not_pharmacy_role", field="user", kind=Kind.UNPROCESSABLE,
        )
    with transaction.atomic():
        existing = PharmacyStaff.objects.select_for_update().filter(user=user).first()
        if existing is not None:
            if existing.pharmacy_id == pharmacy.pk:
                return existing
            raise DomainError(_("This user already works for another pharmacy."), code="already_member", field="user")
        membership = PharmacyStaff(user=user, pharmacy=pharmacy)
        stamp(membership, by=by, reason="staff added")
        membership.save()
    return membership


def pharmacy_for(*, user, auth) -> Pharmacy | None:
    """The pharmacy the caller acts for: the token's pharmacy, or the staff member's own
    (active pharmacies only). None for everyone else."""
    if isinstance(auth, PharmacyApiToken):
        return auth.pharmacy
    if not getattr(user, "is_authenticated", False) or getattr(user, "role", None) not in PHARMACY_ROLES:
        return None
    membership = (
        PharmacyStaff.objects.select_related("pharmacy").filter(user=user, pharmacy__active=True).first()
    )
    return membership.pharmacy if membership else None
