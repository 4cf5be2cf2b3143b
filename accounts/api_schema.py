"""How the API's authentication appears in the OpenAPI schema."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.api_auth.ApiKeyAuthentication"
    name = "apiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "tdm_<prefix>_<secret>",
            "description": "A workspace API key, created by an admin under Settings · API keys.",
        }


class PortalSessionScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.api_auth.PortalSessionAuthentication"
    name = "portalSession"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "cookie",
            "name": settings.SESSION_COOKIE_NAME,
            "description": "The portal's session (browser use only; writes need the CSRF token).",
        }
