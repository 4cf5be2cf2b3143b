from __future__ import annotations

from django.shortcuts import render

from accounts.portal import PortalView
from accounts.roles import Area

from .. import reports, scorecard
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


def _attention() -> dict:
    """What leadership should look at: goals at risk or off track, open SLA breaches, the top of the
    objection backlog (a fixed number of queries)."""

    from .. import goals, objections, sla
    from ..models import Goal

    at_risk = list(
        goals.goal_list()
        .filter(status__in=[Goal.Status.AT_RISK, Goal.Status.OFF_TRACK])
        .order_by("status", "-period_start", "name")[:8]
    )
    for goal in at_risk:
        goal.period_text = goals.period_label(goal.period, goal.period_start)
    breaches = sla.open_breaches()
    return {
        "goals": at_risk,
        "breach_count": breaches.count(),
        "breaches": list(breaches.select_related("contact", "owner").order_by("-mql_at", "-id")[:5]),
        "objections": objections.gap_report()["backlog"][:5],
    }


class HomeView(PortalView):
    """The alignment overview: this quarter's headline figures as stored, against last quarter, with links
    to the joint reports; and what needs leadership's attention (goals at risk, SLA breaches, the top
    objections) with the alignment score of this month and the last. Two queries for the figures, five for
    the rest, two for the score."""

    area = Area.ALIGNMENT

    def get(self, request):
        summary = reports.headline()
        for figure in summary["figures"]:
            figure["display"] = display(figure["value"], figure["unit"])
            _trend(figure)
        score = scorecard.latest_score()
        score["this_shown"] = display(score["this"], "index")
        score["last_shown"] = display(score["last"], "index")
        context = {
            "summary": summary,
            "can_write": self.can_write(),
            "attention": _attention(),
            "score": score,
        }
        return render(request, "alignment/home.html", context)
