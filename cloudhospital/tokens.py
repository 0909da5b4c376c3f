"""API tokens: one per device (each login), expiring, revocable one by one or all at once.

django-rest-knox keeps them: only a SHA-512 digest of each token is stored, beside
`token_key`, the token's first 15 characters, which knox looks tokens up by and which the
owner sees as the device's id. A token lives API_TOKEN_TTL_HOURS from its login (and, with
API_TOKEN_AUTO_REFRESH, that long from its last use); an expired token is refused (401) and
deleted by the authentication class. Logging in on a new device never logs another out,
except that a user holds at most API_TOKENS_PER_USER tokens: the oldest goes first.
"""

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from knox.models import AuthToken

from cloudhospital.models import SocketTicket


@dataclass(frozen=True)
class IssuedToken:
    """A token just issued: `key` is the secret, shown this once and never stored."""

    key: str
    record: AuthToken

    @property
    def expires_at(self) -> datetime | None:
        return self.record.expiry


@transaction.atomic
def token_issue(*, user) -> IssuedToken:
    """A new token for one device of `user`. Beyond API_TOKENS_PER_USER live tokens the
    oldest are revoked, so a login loop cannot grow a user's token list without bound."""
    record, key = AuthToken.objects.create(user=user)
    live = tokens_active(user=user)
    stale = [token.digest for token in live[settings.API_TOKENS_PER_USER:]]
    if stale:
        AuthToken.objects.filter(digest__in=stale).delete()
    return IssuedToken(key=key, record=record)


def tokens_active(*, user) -> list[AuthToken]:
    """The user's tokens that have not expired, newest first (expired ones are deleted)."""
    now = timezone.now()
    AuthToken.objects.filter(user=user, expiry__lt=now).delete()
    return list(AuthToken.objects.filter(user=user).order_by("-created", "-digest"))


def token_revoke(*, token: AuthToken) -> None:
    """Log one device out: its token stops working at once."""
    AuthToken.objects.filter(digest=token.digest).delete()


def token_revoke_by_key(*, user, token_key: str) -> int:
    """Revoke one of `user`'s own tokens by the id the device list shows; returns how many
    were revoked. Another user's token id revokes nothing, exactly as an unknown one."""
    deleted, _ = AuthToken.objects.filter(user=user, token_key=token_key).delete()
    return deleted


@transaction.atomic
def tokens_revoke_all(*, user) -> int:
    """Log out everywhere: every token of `user` and their unspent signalling tickets.
    Returns how many tokens were revoked."""
    deleted, _ = AuthToken.objects.filter(user=user).delete()
    SocketTicket.objects.filter(user=user, used_at__isnull=True).delete()
    return deleted
