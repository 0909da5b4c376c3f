"""The JSON parser every endpoint uses: the body limit applies to JSON as it does to forms,
and any body that cannot be parsed — malformed, nested past what a reasonable client sends,
not UTF-8 — is a 400 saying so, never a 500."""

import codecs
import json

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework import exceptions, status
from rest_framework.parsers import JSONParser

# Nothing this API accepts nests deeper than a few levels (a prescription's items); a body
# nesting deeper is refused before it can exhaust the parser's recursion.
MAX_DEPTH = 32


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = gettext_lazy("The request body is too large.")
    default_code = "payload_too_large"


def _too_deep(text: str) -> bool:
    depth = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return True
        elif char in "]}":
            depth -= 1
    return False


class SafeJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        raw = stream.read(limit + 1) if stream is not None else b""
        if limit is not None and len(raw) > limit:
            raise PayloadTooLarge(_("The request body is larger than %(size)s KiB.") % {"size": limit // 1024})
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = codecs.decode(raw, encoding)
        except (UnicodeDecodeError, LookupError):
            raise exceptions.ParseError(_("The body is not valid %(encoding)s text.") % {"encoding": encoding}) from None
        if _too_deep(text):
            raise exceptions.ParseError(_("JSON nested deeper than %(depth)s levels is not accepted.") % {"depth": MAX_DEPTH})
        try:
            return json.loads(text, parse_constant=_refuse_constant)
        except (ValueError, RecursionError) as error:
            raise exceptions.ParseError((_("JSON parse error - %(error)s") % {"error": error})[:300]) from None


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a JSON value")
