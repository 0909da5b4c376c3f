"""One domain error type, and the API's translation of it into a 4xx answer."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import exception_handler


class DomainError(Exception):
    """A domain rule refused the request.

    `code` is a stable machine-readable reason ("slot_full"), `field` names the input at
    fault when there is one, and `status` is the HTTP status the API answers with:
    400 for bad input, 409 for a conflict with the current state, 422 for a request
    that is well-formed but not allowed.
    """

    def __init__(self, message: str, *, code: str, field: str | None = None, status: int = 409):
        super().__init__(message)
        self.message = message
        self.code = code
        self.field = field
        self.status = status

    def as_body(self) -> dict:
        body: dict = {"detail": self.message, "code": self.code}
        if self.field:
            body[self.field] = [self.message]
        return body


def api_exception_handler(exc, context):
    if isinstance(exc, DomainError):
        return Response(exc.as_body(), status=exc.status)
    if isinstance(exc, DjangoValidationError):
        exc = ValidationError(detail=exc.message_dict if hasattr(exc, "error_dict") else exc.messages)
    if isinstance(exc, IntegrityError):
        # A unique constraint lost a race with a concurrent request: the state changed
        # under us, which is a conflict, not a server error.
        return Response(
            {"detail": "The request conflicts with a concurrent change; please retry.", "code": "conflict"},
            status=status.HTTP_409_CONFLICT,
        )
    return exception_handler(exc, context)
