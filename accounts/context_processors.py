from __future__ import annotations

from config.navigation import navigation_for

from .models import User
from .roles import nav_sections_for, scopes_for_roles


def portal(request) -> dict:
    """Navigation and workspace for the portal layout; nothing on the public host."""
    user = getattr(request, "user", None)
    tenant = getattr(request, "tenant", None)
    if tenant is None or not isinstance(user, User):
        return {"workspace": tenant}
    return {
        "workspace": tenant,
        "nav_sections": navigation_for(
            nav_sections_for(user.roles), request.path, scopes_for_roles(user.roles)
        ),
    }
