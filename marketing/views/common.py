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
