"""The signalling socket's AsyncAPI document (consult/asyncapi.yaml), served next to the
OpenAPI schema: JSON by default, YAML with `?format=yaml` or `Accept: application/yaml`.
Served to whoever may read /api/schema/ (the same permission and authentication classes)."""

from functools import lru_cache
from pathlib import Path

import yaml
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularAPIView
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

DOCUMENT = Path(__file__).resolve().parent.parent / "asyncapi.yaml"


@lru_cache(maxsize=1)
def asyncapi_document() -> dict:
    """The document as data, read once."""
    return yaml.safe_load(DOCUMENT.read_text(encoding="utf-8"))


class YAMLRenderer(BaseRenderer):
    media_type = "application/yaml"
    format = "yaml"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return yaml.safe_dump(data, allow_unicode=True, sort_keys=False).encode("utf-8")


class LegacyYAMLRenderer(YAMLRenderer):
    media_type = "application/x-yaml"


class JSONDocumentRenderer(JSONRenderer):
    format = "json"
    ensure_ascii = False


class AsyncApiView(APIView):
    renderer_classes = [JSONDocumentRenderer, YAMLRenderer, LegacyYAMLRenderer]
    permission_classes = SpectacularAPIView.permission_classes
    authentication_classes = SpectacularAPIView.authentication_classes

    @extend_schema(exclude=True)
    def get(self, request):
        name = "asyncapi.yaml" if request.accepted_renderer.format == "yaml" else "asyncapi.json"
        return Response(asyncapi_document(), headers={"Content-Disposition": f'inline; filename="{name}"'})
