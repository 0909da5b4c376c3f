"""How the FHIR endpoints speak HTTP, as FHIR clients expect (FHIR R4 http.html#mime-type).

- The body is `application/fhir+json`: for `Accept: application/fhir+json`, `*/*` or no
  Accept. `Accept: application/json` gets the same body labelled `application/json`.
- `_format` wins over Accept, as on a FHIR server: `json`, `application/json` and
  `application/fhir+json` (also written `fhir+json`, or with the `+` decoded to a space by a
  query string) mean FHIR JSON. Any other `_format` (xml, turtle ...) and any Accept that
  names neither JSON type is a 406 in the API's error shape.
- An error body is the API's error shape, not a FHIR resource, so it is labelled
  `application/json` whatever was negotiated.

A view uses FHIR_VIEW (`renderer_classes` and `content_negotiation_class`) and lists
FORMAT_PARAMETER in its schema.
"""

from drf_spectacular.utils import OpenApiParameter
from rest_framework.exceptions import NotAcceptable
from rest_framework.renderers import JSONRenderer
from rest_framework.settings import api_settings

FHIR_JSON = "application/fhir+json"
FORMAT_PARAM = "_format"
JSON_FORMATS = {"json", "application/json", "application/fhir+json", "fhir+json", "application/json+fhir"}


class FhirJSONRenderer(JSONRenderer):
    media_type = FHIR_JSON
    format = "json"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        response = (renderer_context or {}).get("response")
        if response is not None and response.status_code >= 400:
            response["Content-Type"] = "application/json"
        return super().render(data, accepted_media_type, renderer_context)


def _normalised(value: str) -> str:
    # "application/fhir+json" arrives as "application/fhir json" when the + was not escaped.
    return value.strip().lower().replace(" ", "+")


class FhirNegotiation(api_settings.DEFAULT_CONTENT_NEGOTIATION_CLASS):
    """The project's content negotiation (and whatever it adds, e.g. the saved language),
    with `_format` read as FHIR servers read it."""

    def get_accept_list(self, request):
        requested = request.query_params.get(FORMAT_PARAM)
        if requested is None:
            return super().get_accept_list(request)
        if _normalised(requested) in JSON_FORMATS:
            return [FHIR_JSON]
        raise NotAcceptable(f"_format={requested[:40]!r} is not served; use json or application/fhir+json.")


FHIR_VIEW = {"renderer_classes": [FhirJSONRenderer, JSONRenderer], "content_negotiation_class": FhirNegotiation}

FORMAT_PARAMETER = OpenApiParameter(
    FORMAT_PARAM, str, OpenApiParameter.QUERY, required=False,
    enum=["json", "application/json", "application/fhir+json"],
    description="As on a FHIR server, overrides Accept: every value means FHIR JSON (`application/fhir+json`). "
    "Any other value is a 406.",
)
