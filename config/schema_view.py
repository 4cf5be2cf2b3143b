"""The view that serves the published OpenAPI schema."""

from __future__ import annotations

import threading

from django.http import HttpResponse
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularAPIView
from rest_framework.response import Response

_rendered: dict[str, tuple[bytes, str, str]] = {}
_lock = threading.Lock()


class SchemaView(SpectacularAPIView):
    """``/api/schema/``: the schema this process enforces at the door (config.contract), generated once and
    rendered once per format per process (generating and rendering it took more than a second a request).
    It is the same for every workspace."""

    @extend_schema(exclude=True)
    def get(self, request, *args, **kwargs):
        media_type = request.accepted_media_type or request.accepted_renderer.media_type
        if media_type not in _rendered:
            with _lock:
                if media_type not in _rendered:
                    response = super().get(request, *args, **kwargs)
                    response.accepted_renderer = request.accepted_renderer
                    response.accepted_media_type = media_type
                    response.renderer_context = self.get_renderer_context()
                    response.render()
                    _rendered[media_type] = (
                        response.content,
                        response["Content-Type"],
                        response["Content-Disposition"],
                    )
        content, content_type, disposition = _rendered[media_type]
        return HttpResponse(content, content_type=content_type, headers={"Content-Disposition": disposition})

    def _get_schema_response(self, request):
        from config.contract import published_schema

        version = self.api_version or request.version or self._get_version_parameter(request)
        return Response(
            data=published_schema(),
            headers={"Content-Disposition": f'inline; filename="{self._get_filename(request, version)}"'},
        )
