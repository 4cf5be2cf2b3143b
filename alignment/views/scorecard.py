"""The alignment scorecard in the portal: the score of a month or quarter with its components, their trends
and what each adds, the two self-assessment checklists answered from the workspace's own data, and a
drill-down page per component listing the records behind it. Every alignment user reads them."""

from __future__ import annotations

from urllib.parse import urlencode

from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import render
from django.urls import path, reverse

from accounts.portal import PortalView
from accounts.roles import Area
from config.charts import chart_config

from .. import checklists, registry, scorecard
from ..models import PageVisit
from ..reports.filters import period_label
from ..services import page_visit_record
from .reports import chart_number, display

STATUS_BADGE = {"yes": "badge-green", "partly": "badge-amber", "no": "badge-red", "no_data": "badge-grey"}
STATUS_TEXT = {"yes": "Yes", "partly": "Partly", "no": "No", "no_data": "No data"}
GRAIN_LABELS = {registry.MONTH: "Month", registry.QUARTER: "Quarter"}


def _query(grain: str, start, **extra) -> str:
    return "?" + urlencode({"period": grain, "start": start.isoformat(), **extra})


def _cell(value, unit: str, grain: str) -> dict:
    if isinstance(value, tuple):
        value, unit = value
    return display(value, unit, grain)


class ScorecardView(PortalView):
    area = Area.ALIGNMENT

    def get(self, request):
        try:
            grain, start = scorecard.parse_period(request.GET.get("period"), request.GET.get("start"))
        except ValidationError as exc:
            return render(request, "alignment/scorecard.html", {"errors": exc.message_dict}, status=400)
        card = scorecard.scorecard(grain=grain, start=start)
        page_visit_record(user=request.user, page=PageVisit.Page.SCORECARD)
        labels = [period_label(s, grain) for s, _ in card.trend]
        chart = None
        if any(v is not None for _, v in card.trend):
            chart = chart_config(
                "line",
                labels,
                [{"label": "Alignment score", "data": [chart_number(v) for _, v in card.trend]}],
            )
        components = [
            {
                "c": c,
                "value": display(c.value, "ratio"),
                "points": "—" if c.points is None else f"{c.points}",
                "trend": [display(v, "ratio") for _, v in c.trend],
                "parts": [(label, display(v, "ratio")) for label, v in c.parts],
                "drill": reverse("alignment:scorecard_drill", args=[c.key]) + _query(grain, start),
            }
            for c in card.components
        ]
        answers = checklists.checklists()
        context = {
            "card": card,
            "score": display(card.score, "index"),
            "chart": chart,
            "trend_labels": labels,
            "components": components,
            "checklists": [
                (
                    title,
                    [
                        {"a": a, "badge": STATUS_BADGE[a.status], "status": STATUS_TEXT[a.status]}
                        for a in answers[team]
                    ],
                )
                for team, title in (("marketing", "Marketing"), ("sales", "Sales"))
            ],
            "grains": [(g, label, _query(g, start)) for g, label in GRAIN_LABELS.items()],
            "previous": _query(grain, card.previous),
            "following": _query(grain, card.following) if card.following else "",
        }
        return render(request, "alignment/scorecard.html", context)


class DrillView(PortalView):
    area = Area.ALIGNMENT

    def get(self, request, key: str):
        if key not in scorecard.BY_KEY:
            raise Http404
        try:
            grain, start = scorecard.parse_period(request.GET.get("period"), request.GET.get("start"))
            page = scorecard.parse_page(request.GET.get("page"))
            result = scorecard.drill(key, grain=grain, start=start, page=page)
        except ValidationError as exc:
            context = {"errors": exc.message_dict, "component": scorecard.BY_KEY[key]}
            return render(request, "alignment/scorecard_drill.html", context, status=400)
        card = scorecard.scorecard(grain=grain, start=start)
        value = next(c for c in card.components if c.key == key)
        context = {
            "component": scorecard.BY_KEY[key],
            "drill": result,
            "value": display(value.value, "ratio"),
            "parts": [(label, display(v, "ratio")) for label, v in value.parts],
            "label": card.label,
            "to_date": card.to_date,
            "back": reverse("alignment:scorecard") + _query(grain, start),
            "summary": [[_cell(v, u, grain) for v, (_, u) in zip(row, result.summary_columns, strict=True)]
                        for row in result.summary],
            "rows": [
                {
                    "link": row["link"],
                    "cells": [
                        _cell(v, u, grain) for v, (_, u) in zip(row["cells"], result.columns, strict=True)
                    ],
                }
                for row in result.rows
            ],
            "previous_page": _query(grain, start, page=result.page - 1) if result.page > 1 else "",
            "next_page": _query(grain, start, page=result.page + 1) if result.page < result.pages else "",
        }  # fmt: skip
        return render(request, "alignment/scorecard_drill.html", context)


urlpatterns = [
    path("scorecard/", ScorecardView.as_view(), name="scorecard"),
    path("scorecard/<slug:key>/", DrillView.as_view(), name="scorecard_drill"),
]
