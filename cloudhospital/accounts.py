"""Logging in and out. Registration of a patient lives with patients in consult.records."""

from django.conf import settings
from django.contrib.auth import authenticate
from django.http import HttpRequest, JsonResponse
from django.utils.translation import gettext as _

from cloudhospital.errors import DomainError, Kind, error_body
from cloudhospital.identity import IdentityError, normalise_mobile
from cloudhospital.tokens import IssuedToken, token_issue, tokens_revoke_all


def client_ip(request) -> str:
    """The client's address: REMOTE_ADDR, unless TRUSTED_PROXY_COUNT proxies of ours stand in
    front (nginx), in which case the address the nearest of them saw, from the right of
    X-Forwarded-For. Entries left of that are whatever the client sent and are never
    trusted, so a client cannot pick its own address (and reset a rate limit) by sending the
    header. The same rule as DRF's NUM_PROXIES, which the throttles use."""
    meta = getattr(request, "META", {})
    count = settings.TRUSTED_PROXY_COUNT
    forwarded = [part.strip() for part in meta.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    if count and forwarded:
        return forwarded[-min(count, len(forwarded))][:64]
    return meta.get("REMOTE_ADDR", "")[:64]


def login_identifier(request: HttpRequest, credentials: dict | None) -> str:
    """The key django-axes counts failures against: the normalised phone number.

    The API sends `phone`; the admin's login form sends `username`. Both are phones.
    """
    raw = (credentials or {}).get("phone") or (credentials or {}).get("username") or ""
    if not raw and request is not None and request.method == "POST":
        raw = request.POST.get("username", "")
    try:
        return normalise_mobile(raw)
    except IdentityError:
        return str(raw)[:32]


def lockout_response(request, original_response=None, credentials=None):
    """Answer a locked-out login with 429 and a message a person can act on."""
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    message = _("Too many failed logins for this phone number. Try again in %(minutes)s minutes.") % {"minutes": minutes}
    return JsonResponse(error_body("locked_out", message), status=429)


def user_login(*, request: HttpRequest, phone: str, password: str) -> IssuedToken:
    """Check phone and password and issue a new API token for this device (cloudhospital.tokens).

    Wrong credentials raise DomainError (400). Repeated failures lock the phone out; the
    axes middleware then answers 429 for this request and the following ones.
    """
    try:
        normalised = normalise_mobile(phone)
    except IdentityError:
        raise DomainError(_("Enter a mainland mobile number: 11 digits starting with 13-19."), code="invalid_phone",
                          field="phone", kind=Kind.INVALID) from None
    user = authenticate(request=request, phone=normalised, password=password)
    if user is None or not user.is_active:
        raise DomainError(_("Wrong phone number or password."), code="bad_credentials", kind=Kind.INVALID)
    return token_issue(user=user)


def user_logout(*, user) -> None:
    """Log the user out everywhere: every API token and their unspent signalling tickets."""
    tokens_revoke_all(user=user)


def user_language_set(*, user, language: str) -> None:
    """Save the language the user reads messages and pages in ("" follows the browser).

    An unknown language raises DomainError (invalid_language, 400)."""
    if language and language not in dict(settings.LANGUAGES):
        raise DomainError(
            _("Choose one of: %(languages)s, or empty to follow the browser.")
            % {"languages": ", ".join(code for code, _name in settings.LANGUAGES)},
            code="invalid_language", field="language", kind=Kind.INVALID,
        )
    user.language = language
    user.save(update_fields=["language"])
