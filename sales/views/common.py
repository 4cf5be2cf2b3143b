from __future__ import annotations

from accounts.models import User
from accounts.portal import PortalView
from accounts.roles import WRITE, Area


class SalesPage(PortalView):
    area = Area.SALES


class SalesWritePage(PortalView):
    area = Area.SALES
    access = WRITE


def acting_user(request) -> User | None:
    return request.user if isinstance(request.user, User) else None
