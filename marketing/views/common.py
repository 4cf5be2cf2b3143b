from __future__ import annotations

from accounts.portal import PortalView
from accounts.roles import WRITE, Area


class MarketingPage(PortalView):
    area = Area.MARKETING


class MarketingWritePage(PortalView):
    area = Area.MARKETING
    access = WRITE


def int_or_none(value) -> int | None:
    """A query-string id: a whole number, or None for anything else (a filter that does not apply)."""
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return None
