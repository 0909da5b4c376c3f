"""The API's translation of refusals into 4xx answers: one table from domain error kinds to
HTTP statuses, and DRF's exception handler built on it."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import exception_handler

from cloudhospital.errors import DomainError, Kind

HTTP_STATUS: dict[Kind, int] = {
    Kind.INVALID: status.HTTP_400_BAD_REQUEST,
    Kind.FORBIDDEN: status.HTTP_403_FORBIDDEN,
    Kind.NOT_FOUND: status.HTTP_404_NOT_FOUND,
    Kind.CONFLICT: status.HTTP_409_CONFLICT,
    Kind.UNPROCESSABLE: status.HTTP_422_UNPROCESSABLE_ENTITY,
}


def api_exception_handler(exc, context):
    if isinstance(exc, DomainError):
        return Response(exc.as_body(), status=HTTP_STATUS[exc.kind])
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
