"""OpenAPI generation tweaks (kept apart from config.api, which DRF imports while it loads).

Every operation documents the errors every operation can answer, in the one error body
(``config.api.error_body``), and the rate-limit headers every counted answer carries: a client generated
from the schema knows them all, and the schema's own checks (schemathesis in the integration suite) hold
the API to them.
"""

from __future__ import annotations

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers


class ErrorDetailOut(serializers.Serializer):
    status = serializers.IntegerField()
    code = serializers.CharField(
        help_text="invalid, not_authenticated, permission_denied, not_found, throttled..."
    )
    message = serializers.CharField()
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text="What is wrong with each field or parameter (``items.3.email`` for nested ones)",
    )


class ErrorOut(serializers.Serializer):
    error = ErrorDetailOut()


ERRORS = {
    "400": "A field, a query parameter or the body is not valid: ``fields`` names each",
    "401": "No credentials, or an API key that is invalid, revoked, expired or of another workspace",
    "403": "The credentials lack the scope this operation needs",
    "404": "No such object in this workspace",
    "429": "A rate limit or the daily quota is used up: retry after ``Retry-After`` seconds",
}
WRITE_ERRORS = {
    "409": "A conflict to resolve and retry (a stale version, a request with this Idempotency-Key in flight)",
    "422": "The Idempotency-Key was used with another method, path or body",
}
RATE_HEADERS = {
    "X-RateLimit-Limit": "Calls allowed in the current window (the key's or the workspace's, the tighter)",
    "X-RateLimit-Remaining": "Calls left in the window",
    "X-RateLimit-Reset": "Seconds until the window turns",
    "X-RateLimit-Daily-Limit": "Calls the workspace may make today (UTC)",
    "X-RateLimit-Daily-Remaining": "Calls left today",
}


class TandemAutoSchema(AutoSchema):
    """Views that read their body with a separate input serializer name it ``input_serializer``."""

    def get_request_serializer(self):
        method_inputs = getattr(self.view, "input_serializers", {})
        if self.method in method_inputs:
            return method_inputs[self.method]
        if self.method in ("POST", "PUT", "PATCH") and getattr(self.view, "input_serializer", None):
            return self.view.input_serializer
        return super().get_request_serializer()

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        errors = {**ERRORS, **(WRITE_ERRORS if self.method in ("POST", "PATCH", "PUT", "DELETE") else {})}
        for code, description in errors.items():
            if code not in responses:
                responses[code] = self._get_response_for_code(
                    OpenApiResponse(ErrorOut, description=description), code, direction=direction
                )
        return responses

    def _get_response_headers_for_code(self, status_code, direction="response") -> dict:
        headers = super()._get_response_headers_for_code(status_code, direction)
        if str(status_code) != "401":  # counted once the caller is known
            for name, description in RATE_HEADERS.items():
                headers.setdefault(name, {"schema": {"type": "integer"}, "description": description})
        if str(status_code) == "429":
            headers.setdefault(
                "Retry-After",
                {"schema": {"type": "integer"}, "description": "Seconds to wait", "required": True},
            )
        return headers
