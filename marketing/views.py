from __future__ import annotations

from django.shortcuts import render

from accounts.portal import PortalView
from accounts.roles import Area


class HomeView(PortalView):
    area = Area.MARKETING

    def get(self, request):
        return render(request, "marketing/home.html", {"can_write": self.can_write()})
