"""DRF authentication for pharmacy systems: `Authorization: Pharmacy <token>`.

Only the pharmacy-side views list this class, so a pharmacy token opens /api/pharmacy/...
and nothing else. A successful authentication gives `request.auth` = the PharmacyApiToken
and `request.user` = a `PharmacyTokenUser` (authenticated, no database row) whose
`pharmacy` is the token's pharmacy.
"""

from django.utils.translation import gettext as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from pharmacy.access import token_authenticate
from pharmacy.models import PharmacyApiToken

KEYWORD = "Pharmacy"


class PharmacyTokenUser:
    """The principal behind a pharmacy API token. Not a User: it cannot log in anywhere
    else, holds no permissions, and history rows written for it carry no user."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False
    pk = None
    id = None
    role = "pharmacy_api"

    def __init__(self, token: PharmacyApiToken):
        self.token = token
        self.pharmacy = token.pharmacy

    def __str__(self):
        return f"API token {self.token.prefix}… of {self.pharmacy}"

    def has_perm(self, perm, obj=None) -> bool:
        return False


class PharmacyTokenAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request):
        parts = authentication.get_authorization_header(request).split()
        if not parts or parts[0].lower() != KEYWORD.lower().encode():
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(_("Invalid pharmacy token header: expected 'Pharmacy <token>'."))
        try:
            plaintext = parts[1].decode()
        except UnicodeError:
            raise exceptions.AuthenticationFailed(_("Invalid pharmacy token.")) from None
        token = token_authenticate(plaintext)
        if token is None:
            raise exceptions.AuthenticationFailed(_("Invalid or revoked pharmacy token."))
        return PharmacyTokenUser(token), token

    def authenticate_header(self, request):
        return KEYWORD


class PharmacyTokenScheme(OpenApiAuthenticationExtension):
    """Describes the header in the OpenAPI schema (registered by subclassing)."""

    target_class = "pharmacy.authentication.PharmacyTokenAuthentication"
    name = "pharmacyToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "A pharmacy system's API token, sent as `Pharmacy <token>`.",
        }
