"""OpenAPI generation tweaks (kept apart from config.api, which DRF imports while it loads)."""

from __future__ import annotations

from drf_spectacular.openapi import AutoSchema


class TandemAutoSchema(AutoSchema):
    """Views that read their body with a separate input serializer name it ``input_serializer``."""

    def get_request_serializer(self):
        method_inputs = getattr(self.view, "input_serializers", {})
        if self.method in method_inputs:
            return method_inputs[self.method]
        if self.method in ("POST", "PUT", "PATCH") and getattr(self.view, "input_serializer", None):
            return self.view.input_serializer
        return super().get_request_serializer()
