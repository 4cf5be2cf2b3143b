from __future__ import annotations

from django.shortcuts import render

from accounts.portal import PortalView
from accounts.roles import Area


class HomeView(PortalView):
    area = Area.SALES

    def get(self, request):
        return render(request, "sales/home.html", {"can_write": self.can_write()})
