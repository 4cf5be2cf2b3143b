"""The declared table of who may do what. Portal views, API permissions and navigation read it.

Access per area is ``read`` or ``write`` (write implies read). API keys carry scopes of the same
shape: ``<area>:<access>``.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import models


class Role(models.TextChoices):
    ADMIN = "admin", "Admin"
    MARKETING = "marketing", "Marketing"
    SALES = "sales", "Sales"
    LEADERSHIP = "leadership", "Leadership"


class Area(models.TextChoices):
    MARKETING = "marketing", "Marketing"
    SALES = "sales", "Sales"
    ALIGNMENT = "alignment", "Alignment"
    ADMIN = "admin", "Admin"


READ = "read"
WRITE = "write"

# role -> area -> strongest access. Absent means no access.
ROLE_ACCESS: dict[str, dict[str, str]] = {
    Role.ADMIN: {Area.MARKETING: WRITE, Area.SALES: WRITE, Area.ALIGNMENT: WRITE, Area.ADMIN: WRITE},
    # Marketing runs its workspace, reads the sales data it needs (deals from its campaigns), and
    # shares the alignment work (goals, SLAs, objections) with sales.
    Role.MARKETING: {Area.MARKETING: WRITE, Area.SALES: READ, Area.ALIGNMENT: WRITE},
    Role.SALES: {Area.MARKETING: READ, Area.SALES: WRITE, Area.ALIGNMENT: WRITE},
    Role.LEADERSHIP: {Area.MARKETING: READ, Area.SALES: READ, Area.ALIGNMENT: WRITE},
}

# Which sections the navigation shows to a role: the teams' own workspaces, not everything readable.
NAV_SECTIONS: dict[str, frozenset[str]] = {
    Area.MARKETING: frozenset({Role.ADMIN, Role.MARKETING, Role.LEADERSHIP}),
    Area.SALES: frozenset({Role.ADMIN, Role.SALES, Role.LEADERSHIP}),
    Area.ALIGNMENT: frozenset({Role.ADMIN, Role.MARKETING, Role.SALES, Role.LEADERSHIP}),
    Area.ADMIN: frozenset({Role.ADMIN}),
}

ALL_SCOPES: tuple[str, ...] = tuple(f"{area}:{access}" for area in Area.values for access in (READ, WRITE))
SCOPE_CHOICES = [(scope, scope) for scope in ALL_SCOPES]


def expand_scopes(scopes: Iterable[str]) -> frozenset[str]:
    """Add the read scope implied by every write scope."""
    result = set(scopes)
    for scope in list(result):
        area, _, access = scope.partition(":")
        if access == WRITE:
            result.add(f"{area}:{READ}")
    return frozenset(result)


def scopes_for_roles(roles: Iterable[str]) -> frozenset[str]:
    scopes: set[str] = set()
    for role in roles:
        for area, access in ROLE_ACCESS.get(role, {}).items():
            scopes.add(f"{area}:{access}")
    return expand_scopes(scopes)


def required_scope(area: str, write: bool) -> str:
    return f"{area}:{WRITE if write else READ}"


def nav_sections_for(roles: Iterable[str]) -> list[str]:
    held = set(roles)
    return [area for area in Area.values if NAV_SECTIONS[area] & held]
