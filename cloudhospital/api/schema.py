"""The OpenAPI schema's error responses: every operation lists the statuses it can answer with,
each with the codes it can carry as an enum and an example per code.

drf-standardized-errors decides which generic statuses apply to an operation (401 with
authentication, 404 with a path parameter or pagination, 415, 429 with a throttle ...). On top
of it, the domain refusals an operation declares with `@refuses(...)` (cloudhospital.api.refusals)
go under the status their kind maps to, 400/403/404/409/422.

Each status gets one component per operation with the same shape the handler writes:
{"type", "errors": [{"code": <enum>, "detail", "attr"}]}. `attr` is a string (or null), not an
enum: nested inputs are named by position ("items[0].dose"), which no enum can list.
"""

import functools
from collections import defaultdict

from drf_spectacular.utils import OpenApiExample, OpenApiResponse
from drf_spectacular.plumbing import is_serializer
from drf_standardized_errors.openapi import AutoSchema as StandardizedErrorsAutoSchema
from drf_standardized_errors.openapi_utils import get_flat_serializer_fields, get_serializer_fields_with_error_codes
from drf_standardized_errors.settings import package_settings
from inflection import camelize
from rest_framework import serializers

from cloudhospital.api.errors import HTTP_STATUS
from cloudhospital.api.refusals import declared_codes, refusal_for

# The codes DRF itself raises for each status, whatever the operation.
GENERIC_CODES = {
    # Any text input, query parameters included, refuses NUL and lone surrogates.
    "400": {"parse_error", "invalid", "null_characters_not_allowed", "surrogate_characters_not_allowed"},
    "401": {"not_authenticated", "authentication_failed"},
    "403": {"permission_denied"},
    "404": {"not_found"},
    "405": {"method_not_allowed"},
    "406": {"not_acceptable"},
    "415": {"unsupported_media_type"},
    "429": {"throttled", "locked_out"},  # locked_out: too many failed logins (django-axes)
    "500": {"error"},
}
# What DRF's fields answer for a malformed query parameter (views that validate their query
# string with a serializer or a filter form, whichever the schema can see).
QUERY_PARAMETER_CODES = {"required", "invalid", "invalid_choice", "min_value", "max_value", "max_length", "blank", "null"}
GENERIC_STATUS = {code: status for status, codes in GENERIC_CODES.items() for code in codes}
DESCRIPTIONS = {
    "400": "The input is malformed: `attr` names the field.",
    "401": "No valid credentials.",
    "403": "Not allowed for you.",
    "404": "No such object among those you may see.",
    "409": "The object's current state does not allow it.",
    "422": "Well formed and allowed, but a rule says no.",
    "429": "Too many requests; retry after the Retry-After header.",
}


@functools.cache
def error_serializer(name: str, status_code: str, codes: frozenset[str]) -> type[serializers.Serializer]:
    """The error shape with `codes` as the enum (cached: one class per component name)."""
    types = ["validation_error", "client_error"] if status_code == "400" else (
        ["server_error"] if status_code.startswith("5") else ["client_error"])

    class ErrorItem(serializers.Serializer):
        code = serializers.ChoiceField(choices=sorted(codes))
        detail = serializers.CharField(help_text="For people, in the request's language.")
        attr = serializers.CharField(allow_null=True, help_text="The input at fault, or null.")

        class Meta:
            # The suffix keeps the per-operation code enums out of spectacular's enum
            # deduplication (drf_standardized_errors.openapi_hooks.postprocess_schema_enums).
            ref_name = f"{name}{package_settings.ERROR_COMPONENT_NAME_SUFFIX}"

    class ErrorResponse(serializers.Serializer):
        type = serializers.ChoiceField(choices=types)
        errors = ErrorItem(many=True)

        class Meta:
            ref_name = name

    return ErrorResponse


class AutoSchema(StandardizedErrorsAutoSchema):
    def _domain_codes(self) -> dict[str, dict[str, object]]:
        """Declared refusal codes by status: {"409": {"slot_full": Refusal, ...}}."""
        by_status: dict[str, dict[str, object]] = defaultdict(dict)
        for code in declared_codes(self.view, self.method):
            refusal = refusal_for(code)
            if refusal is not None:
                by_status[str(HTTP_STATUS[refusal.kind])][code] = refusal
            elif code in GENERIC_STATUS:  # e.g. a view's own PermissionDenied
                by_status[GENERIC_STATUS[code]][code] = None
        return by_status

    def _get_allowed_error_status_codes(self) -> list[str]:
        return sorted(set(super()._get_allowed_error_status_codes()) | set(self._domain_codes()))

    def _should_add_validation_error_response(self) -> bool:
        # Every paginated list refuses a bad `page` or `page_size` (cloudhospital.api.pagination).
        paginated = self._is_list_view() and self._get_paginator() is not None
        return paginated or super()._should_add_validation_error_response()

    def _should_add_error_response(self, responses: dict, status_code: str) -> bool:
        declared = status_code in self._domain_codes()
        if declared and status_code not in responses:
            return True
        if status_code not in GENERIC_CODES:  # 409, 422: only with declared refusals
            return False
        if status_code == "400" and status_code not in responses and self._query_parameters():
            return True  # a query parameter can be malformed
        return super()._should_add_error_response(responses, status_code)

    def _query_parameters(self) -> list[dict]:
        return [parameter for parameter in self._get_parameters() if parameter["in"] == "query"]

    def _query_serializer_codes(self) -> set[str]:
        """Error codes of the fields of serializers given as `parameters=[...]` (a view that
        validates its query string with a serializer)."""
        codes: set[str] = set()
        for parameter in self.get_override_parameters():
            if is_serializer(parameter) or (isinstance(parameter, type) and issubclass(parameter, serializers.Serializer)):
                for field in get_serializer_fields_with_error_codes(get_flat_serializer_fields(parameter)):
                    codes |= field.error_codes
        return codes

    def _error_codes(self, status_code: str) -> set[str]:
        codes = set(GENERIC_CODES.get(status_code, ())) | set(self._domain_codes().get(status_code, {}))
        if status_code == "400":
            for field in self._determine_fields_with_error_codes():
                codes |= field.error_codes
            for extra in self._get_extra_validation_errors().values():
                codes |= set(extra)
            codes |= self._query_serializer_codes()
            if self._query_parameters():
                codes |= QUERY_PARAMETER_CODES
        return codes

    def _get_error_response_serializer(self, status_code: str):
        # Statuses without refusals of their own share one component ("Error401").
        specific = status_code == "400" or status_code in self._domain_codes()
        name = f"{camelize(self.get_operation_id())}Error{status_code}" if specific else f"Error{status_code}"
        return error_serializer(name, status_code, frozenset(self._error_codes(status_code)))

    def _get_response_for_code(self, serializer, status_code, media_types=None, direction="response"):
        status_code = str(status_code)
        if direction == "response" and status_code[:1] in "45" and not isinstance(serializer, OpenApiResponse) \
                and getattr(getattr(serializer, "Meta", None), "ref_name", "").endswith(f"Error{status_code}"):
            serializer = OpenApiResponse(
                response=serializer, description=DESCRIPTIONS.get(status_code, ""),
                examples=self._refusal_examples(status_code),
            )
        return super()._get_response_for_code(serializer, status_code, media_types, direction)

    def _refusal_examples(self, status_code: str) -> list[OpenApiExample]:
        examples = []
        for code, refusal in sorted(self._domain_codes().get(status_code, {}).items()):
            if refusal is None:
                continue
            attr = next((field for field in sorted(refusal.fields, key=str) if field), None)
            kind = "validation_error" if status_code == "400" else "client_error"
            examples.append(OpenApiExample(
                code, status_codes=[status_code], response_only=True,
                value={"type": kind, "errors": [{"code": code, "detail": refusal.message, "attr": attr}]},
            ))
        return examples
