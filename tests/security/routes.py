"""Every route of the portal (the workspace host's URLconf without the API) and of the public site, walked
from the URL resolvers so that a new page is covered the day it is added."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from django.urls import URLPattern, URLResolver, get_resolver

ROOT = Path(__file__).resolve().parents[2]
_PARAM = re.compile(r"<(?:(\w+):)?(\w+)>")
# Not the portal: the partner API (its own contract and tests), the hosted lead form (public, no session),
# the health check and the API docs.
NOT_PORTAL = ("api/", "f/", "healthz")


@dataclass(frozen=True)
class Route:
    route: str  # "marketing/contacts/<int:pk>/"
    name: str
    callback: object

    @property
    def view_class(self):
        return getattr(self.callback, "view_class", None)

    @property
    def has_params(self) -> bool:
        return bool(_PARAM.search(self.route))

    def accepts(self, method: str) -> bool:
        view_class = self.view_class
        if view_class is None:  # a function view: the tests list the few there are
            return True
        return hasattr(view_class, method.lower()) and method.lower() in view_class.http_method_names

    def url(self, **values: str) -> str:
        def fill(match: re.Match) -> str:
            converter, name = match.group(1) or "str", match.group(2)
            if name in values:
                return values[name]
            return "1" if converter == "int" else "x"

        return "/" + _PARAM.sub(fill, self.route)


def _walk(patterns, prefix: str = ""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield Route(
                route=prefix + str(pattern.pattern), name=pattern.name or "", callback=pattern.callback
            )


def all_routes(urlconf: str) -> list[Route]:
    """Every route of ``urlconf``, API and public ones included."""
    return list(_walk(get_resolver(urlconf).url_patterns))


def portal_routes() -> list[Route]:
    return [r for r in all_routes("config.urls_tenants") if not r.route.startswith(NOT_PORTAL)]


def public_routes() -> list[Route]:
    return [r for r in all_routes("config.urls_public") if not r.route.startswith(NOT_PORTAL)]


def template_files() -> list[Path]:
    """Every template of the project (config/templates and each app's templates/)."""
    found = []
    for folder in ROOT.glob("**/templates"):
        if ".venv" in folder.parts or "node_modules" in folder.parts:
            continue
        found.extend(p for p in folder.rglob("*.html"))
    return sorted(found)
