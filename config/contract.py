"""The published OpenAPI schema, enforced at the door of every API call.

A request that breaks the schema (a wrong type, a value outside an enum, a field or parameter the
operation does not take, a parameter given twice) is a 400 naming each field, before any view code runs.
A request that fits the schema but breaks a rule the schema cannot say (an unknown referenced id, a
cross-field rule, a state that does not allow the change) is a 422; a conflict with stored data is a 409.
Because the 400s come from the schema itself, the two cannot drift apart: schema-valid data is never
answered "malformed", and malformed data is never accepted.

The schema is generated once per process from the tenant URL configuration (about half a second) and the
validators are built per operation on first use.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker

_PATH_PARAM = re.compile(r"<(?:\w+:)?(\w+)>")
_lock = threading.Lock()
_state: dict[str, Any] = {}


def _schema() -> dict:
    if "schema" not in _state:
        with _lock:
            if "schema" not in _state:
                from drf_spectacular.generators import SchemaGenerator

                schema = SchemaGenerator(urlconf="config.urls_tenants").get_schema(request=None, public=True)
                _state["components"] = _json_schema(schema.get("components", {}).get("schemas", {}))
                _state["validators"] = {}
                _state["schema"] = schema
    return _state["schema"]


def published_schema() -> dict:
    """The OpenAPI schema this process enforces and serves, generated once (it is the same for every
    workspace)."""
    return _schema()


def _json_schema(node: Any) -> Any:
    """OpenAPI 3.0's dialect to JSON Schema 2020-12: ``nullable`` becomes a ``null`` alternative and the
    boolean ``exclusiveMinimum``/``exclusiveMaximum`` become numbers."""
    if isinstance(node, list):
        return [_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _json_schema(value) for key, value in node.items() if key not in ("nullable", "example")}
    for bound, limit in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        if isinstance(out.get(bound), bool) and out.pop(bound) and limit in out:
            out[bound] = out.pop(limit)
    if node.get("nullable"):
        return {"anyOf": [out, {"type": "null"}]}
    return out


def operation_for(request) -> dict | None:
    """The schema's operation for this request (by its URL route and method), or None."""
    match = getattr(request, "resolver_match", None)
    if match is None or not match.route:
        return None
    path = "/" + _PATH_PARAM.sub(lambda m: "{id}" if m[1] == "pk" else "{" + m[1] + "}", match.route)
    return _schema()["paths"].get(path, {}).get(request.method.lower())


def _validator(key: str, schema: dict) -> Draft202012Validator:
    """``schema`` (already JSON Schema) with the converted components its ``$ref``s point at."""
    validators = _state["validators"]
    if key not in validators:
        root = {**schema, "components": {"schemas": _state["components"]}}
        validators[key] = Draft202012Validator(root, format_checker=FORMATS)
    return validators[key]


# What the client reads when a value breaks the schema, by JSON Schema keyword.
def _message(error) -> str:
    keyword, value = error.validator, error.validator_value
    if keyword == "type":
        kinds = value if isinstance(value, list) else [value]
        names = {
            "string": "a string",
            "integer": "a whole number",
            "number": "a number",
            "boolean": "true or false",
            "array": "a list",
            "object": "an object",
            "null": "null",
        }
        return "Give " + " or ".join(names.get(kind, kind) for kind in kinds) + "."
    if keyword == "enum":
        return "Choose one of: " + ", ".join(str(choice) for choice in value) + "."
    if keyword == "required":
        return "This field is required."
    if keyword == "additionalProperties":
        return "Unknown field."
    if keyword == "format":
        return {
            "date": "Give a date as YYYY-MM-DD.",
            "date-time": "Give a date and time (ISO 8601).",
            "email": "Give a valid email address.",
            "uri": "Give a valid URL.",
        }.get(value, f"Give a valid {value}.")
    if keyword in ("minimum", "exclusiveMinimum"):
        return f"Give a number {'of at least' if keyword == 'minimum' else 'above'} {value}."
    if keyword in ("maximum", "exclusiveMaximum"):
        return f"Give a number {'of at most' if keyword == 'maximum' else 'below'} {value}."
    if keyword == "maxLength":
        return f"Give at most {value} characters."
    if keyword == "minLength":
        return "This field may not be blank." if value == 1 else f"Give at least {value} characters."
    if keyword == "maxItems":
        return f"Give at most {value} items."
    if keyword == "minItems":
        return f"Give at least {value} item{'s' if value != 1 else ''}."
    if keyword == "uniqueItems":
        return "Give each item once."
    if keyword == "pattern":
        return "This value is not in the expected format."
    if keyword in ("anyOf", "oneOf"):
        return "This value is not valid here."
    return error.message


def _errors(validator: Draft202012Validator, instance: Any, prefix: str = "") -> dict[str, list[str]]:
    fields: dict[str, list[str]] = {}
    for error in validator.iter_errors(instance):
        # The deepest alternative names the field best ("items.3.email", not "items").
        best = error
        while best.context:
            best = min(best.context, key=lambda e: (-len(e.absolute_path), e.schema == {"type": "null"}))
        path = [str(part) for part in best.absolute_path]
        if best.validator == "additionalProperties":
            extra = set(best.instance) - set(best.schema.get("properties", {}))
            for name in sorted(extra):
                fields.setdefault(".".join([*path, name]), []).append("Unknown field.")
            continue
        if best.validator == "required":
            missing = [name for name in best.validator_value if name not in best.instance]
            for name in missing:
                fields.setdefault(".".join([*path, name]), []).append("This field is required.")
            continue
        name = ".".join(path) or prefix or "non_field_errors"
        message = _message(best)
        if message not in fields.get(name, []):
            fields.setdefault(name, []).append(message)
    return fields


def _query_value(raw: str, schema: dict) -> tuple[Any, str | None]:
    """A query string value typed by its schema, or an error message."""
    kind = schema.get("type")
    if kind == "integer":
        if not re.fullmatch(r"-?\d+", raw) or len(raw) > 4000:
            return None, "Give a whole number."
        return int(raw), None
    if kind == "number":
        try:
            return float(raw), None
        except ValueError:
            return None, "Give a number."
    if kind == "boolean":
        if raw not in ("true", "false"):
            return None, "Give true or false."
        return raw == "true", None
    return raw, None  # text: its format (date, date-time) is the validator's to check


def check_request(request) -> dict[str, list[str]]:
    """The schema's complaints about this request's query parameters and JSON body (empty: it fits)."""
    operation = operation_for(request)
    if operation is None:
        return {}
    fields: dict[str, list[str]] = {}
    for param in operation.get("parameters", []):
        if param.get("in") not in ("query", "header"):
            continue
        name, schema = param["name"], _json_schema(param.get("schema", {}))
        if param["in"] == "header":
            values = [request.headers[name]] if name in request.headers else []
        else:
            values = request.query_params.getlist(name)
        if not values:
            if param.get("required"):
                fields[name] = ["This parameter is required."]
            continue
        if schema.get("type") == "array":
            items, typed = schema.get("items", {}), []
            for raw in values:
                value, problem = _query_value(raw, items)
                if problem:
                    fields.setdefault(name, []).append(problem)
                typed.append(value)
            instance = typed
        else:
            if len(values) > 1:
                fields[name] = ["Give this parameter once."]
                continue
            instance, problem = _query_value(values[0], schema)
            if problem:
                fields[name] = [problem]
                continue
        key = f"{request.method} {request.resolver_match.route} {param['in']}:{name}"
        for problem in _errors(_validator(key, schema), instance, prefix=name).values():
            fields.setdefault(name, []).extend(problem)
    content = (operation.get("requestBody") or {}).get("content", {})
    if request.method in ("POST", "PUT", "PATCH") and request.content_type.startswith("multipart/"):
        # Form fields arrive as text, so only their names are checked here; the serializer types them.
        component = content.get("multipart/form-data", {}).get("schema", {}).get("$ref", "").split("/")[-1]
        known = _state["components"].get(component, {}).get("properties")
        if known is not None:
            for name in sorted({*request.data.keys(), *request.FILES.keys()} - set(known)):
                fields[name] = ["Unknown field."]
    body = content.get("application/json")
    if body and request.content_type == "application/json" and request.method in ("POST", "PUT", "PATCH"):
        has_body = int(request.META.get("CONTENT_LENGTH") or 0) > 0
        if has_body or operation["requestBody"].get("required"):
            key = f"{request.method} {request.resolver_match.route}"
            problems = _errors(_validator(key, _json_schema(body.get("schema", {}))), request.data)
            batch = "/" + request.resolver_match.route + "batch/"
            is_list = isinstance(request.data, list)
            if is_list and "non_field_errors" in problems and batch in _schema()["paths"]:
                problems["non_field_errors"] = [f"Give one object here; send a list of them to {batch}."]
            fields.update(problems)
    return fields


def component_errors(name: str, instance: Any) -> dict[str, list[str]]:
    """The schema's complaints about ``instance`` as the component ``name`` (empty: it fits). For a batch's
    items, which the schema leaves free-form, so that each item is typed like the single create: a number
    where text belongs is refused in a batch too, not turned into text."""
    _schema()
    return _errors(_validator(f"component:{name}", {"$ref": f"#/components/schemas/{name}"}), instance)


def nul_parameters(request) -> dict[str, list[str]]:
    """Query parameters holding a NUL character (the schema allows any text; PostgreSQL does not)."""
    return {
        name: ["A parameter cannot contain NUL characters."]
        for name, values in request.query_params.lists()
        if any("\x00" in value for value in values)
    }


FORMATS = FormatChecker()
RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")


@FORMATS.checks("date-time", raises=ValueError)
def _date_time(value) -> bool:
    if not isinstance(value, str):
        return True
    if not RFC3339.fullmatch(value):
        return False
    dt.datetime.fromisoformat(value.replace("z", "Z").replace("Z", "+00:00"))
    return True


@FORMATS.checks("uri")
def _uri(value) -> bool:
    from urllib.parse import urlsplit

    if not isinstance(value, str):
        return True
    parts = urlsplit(value)
    return bool(parts.scheme and (parts.netloc or parts.path))
