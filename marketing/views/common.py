from __future__ import annotations

from accounts.models import User
from accounts.portal import PortalView
from accounts.roles import WRITE, Area


class MarketingPage(PortalView):
    area = Area.MARKETING


class MarketingWritePage(PortalView):
    area = Area.MARKETING
    access = WRITE


def actor(request) -> User | None:
    return request.user if isinstance(request.user, User) else None


def chart_config(
    kind: str, labels: list, datasets: list[dict], *, stacked: bool = False, money: bool = False
) -> dict:
    """A Chart.js config for ``{{ config|json_script:"id" }}``; app.js draws it (no inline script)."""
    scales = {"x": {"stacked": stacked}, "y": {"stacked": stacked, "beginAtZero": True}}
    return {
        "type": kind,
        "data": {"labels": labels, "datasets": datasets},
        "options": {"scales": scales, "plugins": {"legend": {"position": "bottom"}}},
    }
