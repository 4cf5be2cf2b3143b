from __future__ import annotations

from django.shortcuts import render

from accounts.portal import PortalView
from accounts.roles import Area

from .. import reports
from .reports import display


def _trend(figure: dict) -> None:
    """The change against last quarter: green up or red down where the arrow and the meaning agree
    (the stylesheet ties the arrow to the colour); otherwise neutral, saying better or worse."""
    change = figure["change"]
    if change is None:
        return
    unit = "points" if figure["unit"] == "ratio" else figure["unit"]
    text = display(change, unit)["text"]
    figure["change_text"] = text if unit == "points" or change < 0 else f"+{text}"
    if figure["good"] is None:
        figure["change_class"] = ""
    elif (change > 0) == figure["good"]:
        figure["change_class"] = "is-up" if change > 0 else "is-down"
    else:
        figure["change_class"] = ""
        figure["change_text"] += " (better)" if figure["good"] else " (worse)"


class HomeView(PortalView):
    """The alignment overview: this quarter's headline figures as stored, against last quarter, with links
    to the joint reports. Two queries for the figures."""

    area = Area.ALIGNMENT

    def get(self, request):
        summary = reports.headline()
        for figure in summary["figures"]:
            figure["display"] = display(figure["value"], figure["unit"])
            _trend(figure)
        return render(request, "alignment/home.html", {"summary": summary, "can_write": self.can_write()})
