"""The API's one error shape, and the translation of every refusal into it.

Every 4xx/5xx answer under /api/ has the body drf-standardized-errors defines:

    {"type": "validation_error" | "client_error" | "server_error",
     "errors": [{"code": "slot_full", "detail": "This slot is fully booked.", "attr": "slot"}]}

`code` is stable and machine-readable, `detail` is for people (in the request's language), and
`attr` names the input at fault (null when the error is about the request as a whole). Only
validation errors carry several entries. This module holds the one table from domain error
kinds to HTTP statuses and turns DomainError, Django's ValidationError and lost unique-constraint
races into DRF exceptions, which the library formats; `api_not_found` and `api_server_error`
give Django's own 404/500 (an unknown /api/ path) the same body.
"""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from django.http import JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from drf_standardized_errors.handler import ExceptionHandler as BaseExceptionHandler
from rest_framework import exceptions, status
from rest_framework.settings import api_settings

from cloudhospital.errors import DomainError, Kind, error_body

HTTP_STATUS: dict[Kind, int] = {
    Kind.INVALID: status.HTTP_400_BAD_REQUEST,
    Kind.FORBIDDEN: status.HTTP_403_FORBIDDEN,
    Kind.NOT_FOUND: status.HTTP_404_NOT_FOUND,
    Kind.CONFLICT: status.HTTP_409_CONFLICT,
    Kind.UNPROCESSABLE: status.HTTP_422_UNPROCESSABLE_ENTITY,
}


class Refusal(exceptions.APIException):
    """A domain refusal that is not a validation error (403/404/409/422), as DRF sees it."""

    def __init__(self, error: DomainError):
        self.status_code = HTTP_STATUS[error.kind]
        detail = exceptions.ErrorDetail(error.message, code=error.code)
        # A field, when the rule names one, becomes the error's `attr`.
        super().__init__({error.field: [detail]} if error.field else detail, error.code)


def as_api_exception(error: DomainError) -> exceptions.APIException:
    if error.kind == Kind.INVALID:
        field = error.field or api_settings.NON_FIELD_ERRORS_KEY
        return exceptions.ValidationError({field: [exceptions.ErrorDetail(error.message, code=error.code)]})
    return Refusal(error)


class ExceptionHandler(BaseExceptionHandler):
    def convert_known_exceptions(self, exc: Exception) -> Exception:
        if isinstance(exc, DomainError):
            return as_api_exception(exc)
        if isinstance(exc, DjangoValidationError):
            return exceptions.ValidationError(
                detail=exc.message_dict if hasattr(exc, "error_dict") else exc.messages
            )
        if isinstance(exc, IntegrityError):
            # A unique constraint lost a race with a concurrent request: the state changed
            # under us, which is a conflict, not a server error.
            return Conflict()
        return super().convert_known_exceptions(exc)


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"

    @property
    def default_detail(self):
        return _("The request conflicts with a concurrent change; please retry.")

    def __init__(self):
        super().__init__(self.default_detail, self.default_code)


def error_response(status_code: int, code: str, detail: str, **kwargs) -> JsonResponse:
    kind = "server_error" if status_code >= 500 else "client_error"
    return JsonResponse(error_body(code, detail, kind=kind, **kwargs), status=status_code)


@csrf_exempt  # it changes nothing: a POST to no endpoint is a 404, not a CSRF page
def api_not_found(request, exception=None):
    """A path no URL matches: the error shape under /api/ (the URL conf's last API pattern
    sends every unmatched /api/ path here, DEBUG or not), Django's page elsewhere."""
    if request.path.startswith("/api/"):
        detail = _("No API endpoint at %(path)s.") % {"path": request.path}
        if not request.path.endswith("/") and _resolves(request.path + "/"):
            detail = _("No API endpoint at %(path)s; API paths end with a slash: %(path)s/") % {"path": request.path}
        return error_response(404, "not_found", detail)
    from django.views.defaults import page_not_found

    return page_not_found(request, exception)


def _resolves(path: str) -> bool:
    from django.urls import Resolver404, resolve

    try:
        return resolve(path).url_name != "api-not-found"
    except Resolver404:
        return False


def api_server_error(request):
    if request.path.startswith("/api/"):
        return error_response(500, "error", _("Server error."))
    from django.views.defaults import server_error

    return server_error(request)
