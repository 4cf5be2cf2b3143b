from __future__ import annotations

from rest_framework import authentication, exceptions

from .models import User
from .roles import expand_scopes, scopes_for_roles
from .services import api_key_authenticate


class ApiKeyPrincipal:
    """``request.user`` for a call made with an API key: its scopes, nothing else."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    pk = None

    def __init__(self, api_key):
        self.api_key = api_key
        self.scopes = expand_scopes(api_key.scopes)

    def __str__(self) -> str:
        return f"API key {self.api_key.prefix}"


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """``Authorization: Bearer tdm_...``. First in the list, so missing credentials answer 401."""

    keyword = b"bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword:
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Malformed Authorization header: use 'Bearer <key>'.")
        try:
            raw = header[1].decode("ascii")
        except UnicodeDecodeError as exc:
            raise exceptions.AuthenticationFailed("Invalid API key.") from exc
        key = api_key_authenticate(raw=raw)
        if key is None:
            raise exceptions.AuthenticationFailed("Invalid, revoked or expired API key.")
        return ApiKeyPrincipal(key), key

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="api"'


class PortalSessionAuthentication(authentication.SessionAuthentication):
    """A logged-in portal user calling the API from the browser (CSRF enforced on writes)."""

    def authenticate(self, request):
        result = super().authenticate(request)
        if result is None or not isinstance(result[0], User):
            return None
        return result


def principal_scopes(request) -> frozenset[str]:
    user = request.user
    if isinstance(user, ApiKeyPrincipal):
        return user.scopes
    if isinstance(user, User) and user.is_active:
        return scopes_for_roles(user.roles)
    return frozenset()
