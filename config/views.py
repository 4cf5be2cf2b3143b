"""Project-wide views: health, and error pages that answer JSON under /api/ and HTML elsewhere."""

from __future__ import annotations

import logging
import sys
import time

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import InterfaceError, OperationalError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string

from config.api import error_body

logger = logging.getLogger(__name__)
DATABASE_RETRY_AFTER_SECONDS = 5

_ERRORS = {
    400: ("bad_request", "Bad request", "The request could not be understood."),
    403: (
        "permission_denied",
        "You don't have access to this page",
        "Your role doesn't include this part of the workspace. Ask an admin if you need it.",
    ),
    404: ("not_found", "Page not found", "The page you were looking for doesn't exist or has moved."),
    413: ("too_large", "Request too large", "What was sent is larger than we take. Send less at a time."),
    500: ("server_error", "Something went wrong", "We have been notified. Please try again in a moment."),
    503: ("unavailable", "Temporarily unavailable", "Please try again in a moment."),
}


def _wants_json(request: HttpRequest) -> bool:
    return request.path.startswith("/api/") or request.path == "/healthz"


def error_response(request: HttpRequest, status: int, message: str | None = None) -> HttpResponse:
    code, title, text = _ERRORS[status]
    if _wants_json(request):
        return JsonResponse(error_body(status, code, message or title), status=status)
    return render(
        request,
        "errors/error.html",
        {"status": status, "title": title, "text": message or text},
        status=status,
    )


def not_found_response(request: HttpRequest) -> HttpResponse:
    return error_response(request, 404)


def workspace_preparing_response(request: HttpRequest, tenant) -> HttpResponse:
    text = "This workspace is being set up. It will be ready in a few seconds."
    if tenant.status == tenant.Status.FAILED:
        text = "Setting up this workspace failed. The platform team has been notified."
    response = error_response(request, 503, text)
    response["Retry-After"] = "5"
    return response


def handler400(request, exception=None):
    if isinstance(exception, RequestDataTooBig):  # raised while reading the body: Django calls it a 400
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE // (1024 * 1024)
        return error_response(request, 413, f"The request body is larger than {limit} MB (files excepted).")
    return error_response(request, 400)


def handler403(request, exception=None):
    return error_response(request, 403)


def handler404(request, exception=None):
    return error_response(request, 404)


def handler500(request):
    exception = sys.exc_info()[1]  # Django calls this inside its ``except`` block
    if is_database_unavailable(exception):  # raised by a middleware, before any view
        return database_unavailable_response(request, exception)
    return error_response(request, 500)


def is_database_unavailable(exception: BaseException | None) -> bool:
    return isinstance(exception, OperationalError | InterfaceError)


def database_unavailable_response(request: HttpRequest, exception: BaseException) -> HttpResponse:
    """503 + Retry-After while PostgreSQL cannot be reached. The page is rendered without the request:
    the portal's context (the user, the navigation) would query the database again."""
    logger.warning("database unavailable, 503 for %s %s: %s", request.method, request.path, exception)
    code, title, _ = _ERRORS[503]
    text = "The service is briefly unavailable. Please try again in a few seconds."
    if _wants_json(request):
        response: HttpResponse = JsonResponse(error_body(503, code, text), status=503)
    else:
        page = render_to_string("errors/error.html", {"status": 503, "title": title, "text": text})
        response = HttpResponse(page, status=503)
    response["Retry-After"] = str(DATABASE_RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response


def csrf_failure(request, reason=""):
    return error_response(
        request, 403, "Your form expired or was sent from another site. Reload the page and try again."
    )


def _check_database() -> dict:
    started = time.monotonic()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # noqa: BLE001 - health reports every failure, it does not raise
        return {"ok": False, "error": type(exc).__name__}
    return {
        "ok": True,
        "latency_ms": round((time.monotonic() - started) * 1000, 1),
        "embedded": settings.TANDEM_EMBEDDED_DATABASE,
    }


def _check_broker() -> dict:
    from config.celery import app

    started = time.monotonic()
    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
            transport = conn.transport_cls
    except Exception as exc:  # noqa: BLE001
        return {"ok": False, "error": type(exc).__name__}
    return {"ok": True, "latency_ms": round((time.monotonic() - started) * 1000, 1), "transport": transport}


def healthz(request: HttpRequest) -> JsonResponse:
    checks = {"database": _check_database(), "broker": _check_broker()}
    healthy = all(check["ok"] for check in checks.values())
    return JsonResponse(
        {"status": "ok" if healthy else "degraded", "checks": checks},
        status=200 if healthy else 503,
        headers={"Cache-Control": "no-store"},
    )
