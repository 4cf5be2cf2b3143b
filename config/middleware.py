from __future__ import annotations

import re
import uuid

_VALID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


class RequestIdMiddleware:
    """Give every request an id (kept from ``X-Request-ID`` when sane) and echo it back."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.META.get("HTTP_X_REQUEST_ID", "")
        request.id = incoming if _VALID.match(incoming) else uuid.uuid4().hex
        response = self.get_response(request)
        response["X-Request-ID"] = request.id
        return response


class DatabaseUnavailableMiddleware:
    """PostgreSQL unreachable (restarting, failing over): a 503 with ``Retry-After``, the error page in the
    portal and the error body in the API, instead of a 500 with a traceback in the log.

    Views' errors arrive here (DRF re-raises what its handler does not know); an error raised by a
    middleware reaches ``config.views.handler500``, which answers the same. Django then closes the broken
    connection at the end of the request (errors occurred and it is no longer usable) and the next
    request opens a new one (``CONN_HEALTH_CHECKS``): nothing needs restarting.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        from config.views import database_unavailable_response, is_database_unavailable

        if is_database_unavailable(exception):
            return database_unavailable_response(request, exception)
        return None
