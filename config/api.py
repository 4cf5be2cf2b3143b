"""API conventions shared by every app: one error body, cursor pagination."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, pagination
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.views import exception_handler as drf_exception_handler

VALIDATION_MESSAGE = "Some fields are not valid. See `fields` for what to change."
RULE_MESSAGE = "The request is well formed but breaks a rule. See `fields` for what to change."


def error_body(status: int, code: str, message: str, fields: dict[str, list[str]] | None = None) -> dict:
    """The one shape of every API error: ``{"error": {"status", "code", "message", "fields"}}``."""
    return {"error": {"status": status, "code": code, "message": message, "fields": fields or {}}}


def _flatten(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """Turn DRF's nested error detail into ``{"field" | "items.0.email": [messages]}``."""
    out: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            out.update(_flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    elif isinstance(detail, list):
        if all(not isinstance(item, dict | list) for item in detail):
            out[prefix or "non_field_errors"] = [str(item) for item in detail]
        else:
            for index, item in enumerate(detail):
                out.update(_flatten(item, f"{prefix}.{index}" if prefix else str(index)))
    else:
        out[prefix or "non_field_errors"] = [str(detail)]
    return out


def _codes(codes) -> list[str]:
    if isinstance(codes, dict):
        return [code for value in codes.values() for code in _codes(value)]
    if isinstance(codes, list):
        return [code for value in codes for code in _codes(value)]
    return [str(codes)]


def exception_handler(exc: Exception, context: dict) -> Response | None:
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(detail=as_serializer_error(exc))
    elif isinstance(exc, Http404 | ObjectDoesNotExist):
        # ObjectDoesNotExist: the row was found, then deleted by another request before this one locked it
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        fields = _flatten(exc.detail)
        codes = set(_codes(exc.get_codes()))
        if getattr(context.get("request"), "fits_schema", False):
            # The request fits the published schema (config.contract), so this is a rule the schema cannot
            # express: a conflict with stored data (409) or an unprocessable request (422), never a 400.
            conflict = {"unique", "conflict"} & codes
            response.status_code = 409 if conflict else 422
            code = "conflict" if conflict else "unprocessable"
            response.data = error_body(response.status_code, code, RULE_MESSAGE, fields)
        else:
            response.data = error_body(response.status_code, "invalid", VALIDATION_MESSAGE, fields)
    else:
        detail = getattr(exc, "detail", str(exc))
        codes = exc.get_codes() if isinstance(exc, exceptions.APIException) else "error"
        response.data = error_body(
            response.status_code, codes if isinstance(codes, str) else "error", str(detail)
        )
    return response


class CursorPagination(pagination.CursorPagination):
    """Keyset pagination: no COUNT, no OFFSET, stable under inserts."""

    page_size = 50
    page_size_query_param = "limit"
    max_page_size = 200
    ordering = "-id"

    def get_ordering(self, request, queryset, view) -> tuple[str, ...]:
        """A view may name its own unique ordering with ``cursor_ordering``."""
        ordering = getattr(view, "cursor_ordering", None) or self.ordering
        return (ordering,) if isinstance(ordering, str) else tuple(ordering)


def query_int(request, name: str) -> int | None:
    """An integer query parameter, or a 400 naming it."""
    value = request.query_params.get(name)
    if value in (None, ""):
        return None
    try:
        number = int(value)
    except ValueError:
        number = -1
    if number < 0 or number > 2**62:
        raise exceptions.ValidationError({name: ["Give a whole number."]})
    return number


def query_choice(request, name: str, choices) -> str:
    value = request.query_params.get(name, "")
    if value and value not in choices:
        raise exceptions.ValidationError({name: [f"Choose one of: {', '.join(choices)}."]})
    return value


def query_date(request, name: str):
    """An ISO date query parameter (``2026-04-01``), or a 400 naming it."""
    import datetime as dt

    value = request.query_params.get(name)
    if value in (None, ""):
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise exceptions.ValidationError({name: ["Give a date as YYYY-MM-DD."]}) from None
