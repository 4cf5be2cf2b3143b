from __future__ import annotations

from django.contrib.auth import SESSION_KEY
from django.db import connection

from .services import SESSION_TENANT_KEY


class SessionTenantGuardMiddleware:
    """A session is valid only in the schema that made it.

    Sessions already live in each tenant's own table and cookies are host-only; this is the second
    wall: a session that carries a login but was bound to another schema (or to none) is emptied
    before authentication looks at it.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        session = getattr(request, "session", None)
        if (
            session is not None
            and session.get(SESSION_KEY) is not None
            and session.get(SESSION_TENANT_KEY) != connection.schema_name
        ):
            session.flush()
        return self.get_response(request)
