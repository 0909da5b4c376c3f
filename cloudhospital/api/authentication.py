"""The API's token authentication: `Authorization: Token <key>`, a django-rest-knox token
(hashed at rest, one per device, expiring; cloudhospital.tokens). An expired or revoked
token is a 401 in the API's error shape, with `WWW-Authenticate: Token`."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from knox.auth import TokenAuthentication
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions


class ExpiringTokenAuthentication(TokenAuthentication):
    def authenticate_credentials(self, token: bytes):
        # knox decodes the header as UTF-8 unguarded; a stray byte is a bad token, not a 500.
        try:
            token.decode("utf-8")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed(_("Invalid token.")) from None
        return super().authenticate_credentials(token)


class ExpiringTokenScheme(OpenApiAuthenticationExtension):
    """The header in the OpenAPI schema, under the name DRF's token scheme had."""

    target_class = "cloudhospital.api.authentication.ExpiringTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Token <key>` from `POST /api/auth/login/` (or register). A token belongs to "
            "one device and expires at `expires_at`; `POST /api/auth/logout/` revokes it.",
        }
