"""OpenAPI generation tweaks (kept apart from config.api, which DRF imports while it loads).

Every operation documents the errors every operation can answer, in the one error body
(``config.api.error_body``), and the rate-limit headers every counted answer carries: a client generated
from the schema knows them all, and the schema's own checks (schemathesis in the integration suite) hold
the API to them.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import FieldDoesNotExist
from django.db.models import CharField
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers

from accounts import idempotency
from config.api import RULE_MESSAGE, VALIDATION_MESSAGE, CursorPagination, error_body

MAX_PAGE_SIZE = CursorPagination.max_page_size
BODY_LIMIT_MB = settings.DATA_UPLOAD_MAX_MEMORY_SIZE // (1024 * 1024)
IDEMPOTENCY_PARAMETER = {
    "name": idempotency.HEADER,
    "in": "header",
    "required": False,
    "description": "Send it to retry safely: the first answer is replayed for 24 hours (docs/api.md)",
    "schema": {
        "type": "string",
        "minLength": 1,
        "maxLength": idempotency.MAX_KEY,
        "pattern": f"^{idempotency.KEY_PATTERN}$",
    },
}


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
    "400": "The request breaks this schema (a type, an enum, an unknown field or parameter): ``fields`` "
    "names each",
    "401": "No credentials, or an API key that is invalid, revoked, expired or of another workspace",
    "403": "The credentials lack the scope this operation needs",
    "404": "No such object in this workspace",
    "422": "The request fits this schema but breaks a rule it cannot express (an unknown referenced id, a "
    "cross-field rule, a state that does not allow the change; or an Idempotency-Key reused with another "
    "method, path or body): ``fields`` names each",
    "429": "A rate limit or the daily quota is used up: retry after ``Retry-After`` seconds",
}
WRITE_ERRORS = {
    "413": f"The body is larger than the API takes ({BODY_LIMIT_MB} MB, uploaded files excepted)",
    "409": "A conflict with stored data to resolve and retry (a stale version, a duplicate, a request with "
    "this Idempotency-Key in flight)",
}
# One example of the one error body per status (config.api.error_body).
ERROR_EXAMPLES = {
    code: error_body(int(code), error, message, fields)
    for code, error, message, fields in (
        ("400", "invalid", VALIDATION_MESSAGE, {"email": ["Give a string."], "colour": ["Unknown field."]}),
        ("401", "not_authenticated", "Authentication credentials were not provided.", {}),
        ("403", "permission_denied", "This operation needs the 'sales:write' scope.", {}),
        ("404", "not_found", "Not found.", {}),
        ("413", "too_large", f"The request body is larger than {BODY_LIMIT_MB} MB (files excepted).", {}),
        ("409", "conflict", RULE_MESSAGE, {"email": ["A contact with this email address already exists."]}),
        ("422", "unprocessable", RULE_MESSAGE, {"end_date": ["The end date is before the start date."]}),
        ("429", "throttled", "Request was throttled. Expected available in 7 seconds.", {}),
    )
}
# Answered by the web server before the API sees the request (gunicorn takes request lines of 4094 bytes).
URI_TOO_LONG = {
    "description": "The path and query are longer than the web server takes; it answers itself, in HTML",
    "content": {"text/html": {"schema": {"type": "string"}}},
}
RATE_HEADERS = {
    "X-RateLimit-Limit": "Calls allowed in the current window (the key's or the workspace's, the tighter)",
    "X-RateLimit-Remaining": "Calls left in the window",
    "X-RateLimit-Reset": "Seconds until the window turns",
    "X-RateLimit-Daily-Limit": "Calls the workspace may make today (UTC)",
    "X-RateLimit-Daily-Remaining": "Calls left today",
}


def _model_field(field):
    """The model column behind a serializer field (``company.name`` walks the relation), and whether a
    null on the way can make the value null."""
    model = getattr(getattr(field.parent, "Meta", None), "model", None)
    source = getattr(field, "source", "")
    if not source or source == "*":
        return None, False
    column, nullable = None, False
    for part in source.split("."):
        if model is None:  # no model here, or a column that is not a relation before the last part
            return None, False
        try:
            column = model._meta.get_field(part)
        except FieldDoesNotExist:
            return None, False
        if not getattr(column, "concrete", False):
            return None, False
        nullable = nullable or column.null
        model = column.related_model
    return column, nullable


def request_bodies_closed(result, generator, request, public):
    """Postprocessing hook: every request body object takes its listed fields only
    (``additionalProperties: false``), as the API does (config.contract)."""
    for name, component in result.get("components", {}).get("schemas", {}).items():
        if name.endswith("Request") and component.get("type") == "object" and "properties" in component:
            component.setdefault("additionalProperties", False)
    return result


class TandemAutoSchema(AutoSchema):
    """Views that read their body with a separate input serializer name it ``input_serializer``."""

    def get_request_serializer(self):
        method_inputs = getattr(self.view, "input_serializers", {})
        if self.method in method_inputs:
            return method_inputs[self.method]
        if self.method in ("POST", "PUT", "PATCH") and getattr(self.view, "input_serializer", None):
            return self.view.input_serializer
        return super().get_request_serializer()

    def _get_parameters(self):
        """Filters and ``ordering`` (from the view's ``ordering_fields``) belong to the list (GET); a create
        on the same path takes none, and a POST or PATCH takes an ``Idempotency-Key``."""
        parameters = super()._get_parameters()
        if self.method in ("POST", "PUT", "PATCH"):
            parameters = [p for p in parameters if p.get("in") != "query"]
        for parameter in parameters:
            if parameter.get("in") == "query" and parameter["name"] == "limit":
                parameter["schema"] = {**parameter["schema"], "minimum": 1, "maximum": MAX_PAGE_SIZE}
        ordering_fields = getattr(self.view, "ordering_fields", None)
        if self.method == "GET" and ordering_fields:
            default = next(
                (key for key, value in ordering_fields.items() if value == self.view.default_ordering), None
            )
            parameters.append(
                {
                    "name": "ordering",
                    "in": "query",
                    "schema": {"type": "string", "enum": sorted(ordering_fields)},
                    "description": f"Default: {default}" if default else "Default: newest first",
                }
            )
        if self.method in idempotency.METHODS:
            parameters.append(IDEMPOTENCY_PARAMETER)
        return parameters

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        """What the model allows, said for read-only fields too: a blank choice or URL as ``""``, a null
        column as ``nullable``; a time of day as ``HH:MM[:SS]`` (JSON Schema's ``time`` wants an offset)."""
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        if isinstance(field, serializers.DecimalField) and direction == "request":
            # A decimal is written as a JSON number or as a string ("0.70"), and is answered as a string.
            bounds = {key: schema[key] for key in ("minimum", "maximum") if key in schema}
            schema = {"anyOf": [{"type": "number", **bounds}, schema]}
        if schema.get("format") == "time":
            schema = {**schema, "pattern": r"^\d{2}:\d{2}(:\d{2}(\.\d+)?)?$"}
            del schema["format"]
        model_field, nullable = _model_field(field)
        if model_field is None:
            return schema
        if nullable and not schema.get("nullable") and (field.read_only or field.allow_null):
            schema = {**schema, "nullable": True}
        takes_blank = model_field.blank and not model_field.null and isinstance(model_field, CharField)
        if (
            takes_blank
            and "." not in field.source
            and ("format" in schema or "allOf" in schema or "enum" in schema)
        ):
            outer = {key: schema[key] for key in ("readOnly", "description", "nullable") if key in schema}
            inner = {key: value for key, value in schema.items() if key not in outer}
            schema = {"anyOf": [inner, {"type": "string", "enum": [""]}], **outer}
        return schema

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        errors = {**ERRORS, **(WRITE_ERRORS if self.method in ("POST", "PATCH", "PUT", "DELETE") else {})}
        for code, description in errors.items():
            if "content" not in responses.get(code, {}):  # absent, or a view's description alone
                description = responses.get(code, {}).get("description", description)
                responses[code] = self._get_response_for_code(
                    OpenApiResponse(ErrorOut, description=description), code, direction=direction
                )
        for code, example in ERROR_EXAMPLES.items():
            if "application/json" in responses.get(code, {}).get("content", {}):
                responses[code]["content"]["application/json"].setdefault("example", example)
        responses.setdefault("414", URI_TOO_LONG)
        return responses

    def _get_response_headers_for_code(self, status_code, direction="response") -> dict:
        headers = super()._get_response_headers_for_code(status_code, direction)
        if str(status_code) not in ("401", "414"):  # counted once the caller is known
            for name, description in RATE_HEADERS.items():
                headers.setdefault(name, {"schema": {"type": "integer"}, "description": description})
        if str(status_code) == "429":
            headers.setdefault(
                "Retry-After",
                {"schema": {"type": "integer"}, "description": "Seconds to wait", "required": True},
            )
        return headers


# --- Examples -------------------------------------------------------------------------------------------

_STRING_EXAMPLES = {
    "date": "2026-03-02",
    "date-time": "2026-03-02T09:30:00Z",
    "email": "ada@example.com",
    "uri": "https://example.com/",
    "uuid": "3f1c2a9e-8d4b-4c1a-9f0e-2b7d5c6a8e10",
    "byte": "JVBERi0xLjQ=",
    "binary": "",
}
_PATTERN_CANDIDATES = ("10.00", "0.50", "09:00", "12", "none", "example")


def _example(schema, components: dict, depth: int = 0):
    """A plain value that fits ``schema`` (the first choice, a small number, a made-up address...)."""
    if depth > 12:
        return None
    if "$ref" in schema:
        return _example(components.get(schema["$ref"].rsplit("/", 1)[-1], {}), components, depth + 1)
    if "example" in schema:
        return schema["example"]
    if schema.get("enum"):
        return next((value for value in schema["enum"] if value not in ("", None)), schema["enum"][0])
    for key in ("allOf", "anyOf", "oneOf"):
        if schema.get(key):
            branches = [b for b in schema[key] if b.get("type") != "null" and b.get("enum") != [""]]
            return _example((branches or schema[key])[0], components, depth + 1)
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        return {
            name: _example(sub, components, depth + 1) for name, sub in schema.get("properties", {}).items()
        }
    if kind == "array":
        return [_example(schema.get("items", {}), components, depth + 1)]
    if kind in ("integer", "number"):
        low = schema.get("minimum", 1)
        return max(low, 1) if schema.get("maximum", 1) >= 1 else low
    if kind == "boolean":
        return True
    if kind == "string":
        if "pattern" in schema:
            import re

            return next((c for c in _PATTERN_CANDIDATES if re.search(schema["pattern"], c)), "example")
        text = _STRING_EXAMPLES.get(schema.get("format"), "Example")
        return text[: schema.get("maxLength", len(text))]
    return None


def component_examples(result, generator, request, public):
    """Postprocessing hook: every body component gets an example made from its own schema, kept only when
    it fits the schema (so an example never teaches a client something the API refuses as malformed)."""
    from jsonschema import Draft202012Validator

    from config.contract import FORMATS, _json_schema

    components = result.get("components", {}).get("schemas", {})
    converted = _json_schema(components)
    for name, component in components.items():
        if "example" in component or component.get("type") != "object":
            continue
        example = _example(component, components)
        root = {"$ref": f"#/components/schemas/{name}", "components": {"schemas": converted}}
        if Draft202012Validator(root, format_checker=FORMATS).is_valid(example):
            component["example"] = example
    return result
