"""Scorecard API: the alignment score of a month or quarter with its components and trends, the records
behind a component (a page at a time), and the two self-assessment checklists. Reads need alignment:read;
nothing here writes."""

from __future__ import annotations

from django.http import Http404
from django.urls import path
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from accounts.api_base import TenantAPIView
from accounts.roles import Area

from . import checklists, scorecard
from .reports.base import json_value

PERIOD_PARAMS = [
    OpenApiParameter("period", str, enum=scorecard.GRAINS, description="month (default) or quarter"),
    OpenApiParameter("start", str, description="A day of the period, YYYY-MM-DD; default: today (UTC)"),
]
RATIO = {"max_digits": 10, "decimal_places": 6, "allow_null": True}


class ScoreTrendPointOut(serializers.Serializer):
    period_start = serializers.DateField()
    value = serializers.DecimalField(**RATIO, help_text="null: no data")


class ScorePartOut(serializers.Serializer):
    label = serializers.CharField()
    value = serializers.DecimalField(**RATIO)


class ScoreComponentOut(serializers.Serializer):
    key = serializers.ChoiceField(choices=[c.key for c in scorecard.COMPONENTS])
    label = serializers.CharField()
    team = serializers.CharField(help_text="Who moves it: marketing, sales or both")
    formula = serializers.CharField()
    value = serializers.DecimalField(**RATIO, help_text="0 to 1; null: no data (left out of the score)")
    weight = serializers.DecimalField(max_digits=5, decimal_places=2)
    points = serializers.DecimalField(
        max_digits=5, decimal_places=1, allow_null=True, help_text="What it adds to the score"
    )
    parts = ScorePartOut(many=True, help_text="The SLA's two sides; empty for the others")
    trend = ScoreTrendPointOut(many=True)


class ScorecardOut(serializers.Serializer):
    period = serializers.CharField()
    period_start = serializers.DateField()
    period_end = serializers.DateField(help_text="Exclusive")
    to_date = serializers.BooleanField(help_text="The period has not ended: its figures so far")
    score = serializers.DecimalField(max_digits=10, decimal_places=6, allow_null=True, help_text="0 to 100")
    definition = serializers.IntegerField(help_text="The definitions version the values were computed under")
    trend = ScoreTrendPointOut(many=True)
    components = ScoreComponentOut(many=True)


class ChecklistAnswerOut(serializers.Serializer):
    key = serializers.CharField()
    team = serializers.CharField()
    question = serializers.CharField()
    status = serializers.ChoiceField(choices=["yes", "partly", "no", "no_data"])
    evidence = serializers.CharField()
    link = serializers.CharField(help_text="The portal page that shows the evidence")
    figures = serializers.DictField(help_text="The numbers behind the evidence")


class ChecklistsOut(serializers.Serializer):
    marketing = ChecklistAnswerOut(many=True)
    sales = ChecklistAnswerOut(many=True)


class DrillColumnOut(serializers.Serializer):
    label = serializers.CharField()
    unit = serializers.CharField()


class DrillRowOut(serializers.Serializer):
    cells = serializers.ListField(child=serializers.JSONField())
    link = serializers.CharField()


class DrillOut(serializers.Serializer):
    component = serializers.CharField()
    title = serializers.CharField()
    explanation = serializers.CharField()
    summary_columns = DrillColumnOut(many=True)
    summary = serializers.ListField(child=serializers.ListField(child=serializers.JSONField()))
    columns = DrillColumnOut(many=True)
    rows = DrillRowOut(many=True)
    total = serializers.IntegerField()
    page = serializers.IntegerField()
    pages = serializers.IntegerField()


def _trend(points) -> list[dict]:
    return [{"period_start": start, "value": value} for start, value in points]


class ScorecardView(TenantAPIView):
    scope_area = Area.ALIGNMENT
    allowed_params = ("period", "start")

    @extend_schema(
        parameters=PERIOD_PARAMS, responses=ScorecardOut, summary="The alignment score of a period"
    )
    def get(self, request):
        grain, start = scorecard.parse_period(
            request.query_params.get("period"), request.query_params.get("start")
        )
        card = scorecard.scorecard(grain=grain, start=start)
        body = {
            "period": card.grain,
            "period_start": card.start,
            "period_end": card.end,
            "to_date": card.to_date,
            "score": card.score,
            "definition": card.definition.pk,
            "trend": _trend(card.trend),
            "components": [
                {
                    **{
                        name: getattr(c, name)
                        for name in ("key", "label", "team", "formula", "value", "weight")
                    },
                    "points": c.points,
                    "parts": [{"label": label, "value": value} for label, value in c.parts],
                    "trend": _trend(c.trend),
                }
                for c in card.components
            ],
        }
        return Response(ScorecardOut(body).data)


def _plain(value):
    """A drill cell as JSON: (value, unit) pairs lose the unit; numbers as exact decimal strings."""
    if isinstance(value, tuple):
        value = value[0]
    return json_value(value)


class DrillView(TenantAPIView):
    scope_area = Area.ALIGNMENT
    allowed_params = ("period", "start", "page")

    @extend_schema(
        parameters=[*PERIOD_PARAMS, OpenApiParameter("page", int, description="From 1; 50 records a page")],
        responses=DrillOut,
        summary="The records behind one component of the score",
    )
    def get(self, request, key: str):
        if key not in scorecard.BY_KEY:
            raise Http404
        grain, start = scorecard.parse_period(
            request.query_params.get("period"), request.query_params.get("start")
        )
        page = scorecard.parse_page(request.query_params.get("page"))
        result = scorecard.drill(key, grain=grain, start=start, page=page)
        body = {
            "component": key,
            "title": result.title,
            "explanation": result.explanation,
            "summary_columns": [{"label": label, "unit": unit} for label, unit in result.summary_columns],
            "summary": [[_plain(v) for v in row] for row in result.summary],
            "columns": [{"label": label, "unit": unit} for label, unit in result.columns],
            "rows": [{"cells": [_plain(v) for v in r["cells"]], "link": r["link"]} for r in result.rows],
            "total": result.total,
            "page": result.page,
            "pages": result.pages,
        }
        return Response(DrillOut(body).data)


class ChecklistsView(TenantAPIView):
    scope_area = Area.ALIGNMENT

    @extend_schema(responses=ChecklistsOut, summary="The marketing and sales self-assessments, with evidence")
    def get(self, request):
        answers = checklists.checklists()
        body = {
            team: [
                {
                    **{n: getattr(a, n) for n in ("key", "team", "question", "status", "evidence", "link")},
                    "figures": {k: json_value(v) for k, v in a.figures.items()},
                }
                for a in answers[team]
            ]
            for team in ("marketing", "sales")
        }
        return Response(ChecklistsOut(body).data)


urlpatterns = [
    path("scorecard/", ScorecardView.as_view(), name="api-scorecard"),
    path("scorecard/checklists/", ChecklistsView.as_view(), name="api-scorecard-checklists"),
    path("scorecard/components/<slug:key>/", DrillView.as_view(), name="api-scorecard-drill"),
]
