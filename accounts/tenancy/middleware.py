"""Host -> schema. First in the middleware stack: nothing runs before the schema is chosen."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.db import InterfaceError, OperationalError, connection
from django.urls import set_urlconf

from config.views import database_unavailable_response, not_found_response, workspace_preparing_response

from .cache import tenant_for_host


def request_hostname(request) -> str:
    host = request.get_host()  # validates against ALLOWED_HOSTS
    if host.startswith("["):  # IPv6 literal
        return host.split("]")[0][1:].lower()
    return host.rsplit(":", 1)[0].lower().rstrip(".") if ":" in host else host.lower().rstrip(".")


class TenantMiddleware:
    """Selects the public site or a tenant's schema from the host name.

    An unknown host, or a deactivated workspace, is a 404 on every route: nothing falls back to the
    public schema (``SHOW_PUBLIC_IF_NO_TENANT_FOUND`` stays off).
    """

    def __init__(self, get_response):
        self.get_response = get_response
        self.public_hosts = {host.lower() for host in settings.TANDEM_PUBLIC_HOSTS}

    def __call__(self, request):
        connection.set_schema_to_public()
        request.tenant = None
        try:
            hostname = request_hostname(request)
        except DisallowedHost:
            return not_found_response(request)

        if hostname in self.public_hosts:
            request.urlconf = settings.PUBLIC_SCHEMA_URLCONF
        else:
            try:
                tenant = tenant_for_host(hostname)
            except (OperationalError, InterfaceError) as exc:  # no view yet: answer here, not with a 500
                return database_unavailable_response(request, exc)
            if tenant is None or not tenant.is_active:
                return not_found_response(request)
            if not tenant.ready:
                return workspace_preparing_response(request, tenant)
            request.tenant = tenant
            connection.set_tenant(tenant)
            request.urlconf = settings.ROOT_URLCONF
        set_urlconf(request.urlconf)
        return self.get_response(request)
