from __future__ import annotations

from django.shortcuts import render

from accounts.portal import PortalView
from accounts.roles import Area


class HomeView(PortalView):
    area = Area.ALIGNMENT

    def get(self, request):
        return render(request, "alignment/home.html", {"can_write": self.can_write()})
