from __future__ import annotations

from accounts.portal import PortalView
from accounts.roles import WRITE, Area


class SalesPage(PortalView):
    area = Area.SALES


class SalesWritePage(PortalView):
    area = Area.SALES
    access = WRITE
