"""The joint reports as JSON: the same tables the portal shows, from the same selectors
(``alignment.reports``), read from stored values under the reporting definition version. Scope
alignment:read. A bad filter is a 400 naming the parameter.

Every table is ``{title, note, columns: [{key, label, unit, note}], rows: [{<column key>: value}]}``. Numbers
are decimal strings (ratios as fractions: "0.25" is 25%); ``null`` is no data (never 0), and a column whose
``note`` is set is not stored for the chosen view (the note says why).
"""

from __future__ import annotations

from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from accounts.api_base import TenantAPIView
from accounts.roles import Area
from marketing.models.campaigns import Channel

from . import reports


class ReportColumnOut(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    unit = serializers.CharField(
        help_text="text, period, datetime, count, currency, ratio (a fraction), points (a change of a "
        "ratio), relative (x the average), days, hours, months or index"
    )
    note = serializers.CharField(help_text="Why the column holds no values for this view; empty when it does")


class ReportTableOut(serializers.Serializer):
    title = serializers.CharField()
    note = serializers.CharField()
    columns = ReportColumnOut(many=True)
    rows = serializers.ListField(
        child=serializers.DictField(), help_text="One object per row: column key -> value (null = no data)"
    )


class ReportDefinitionOut(serializers.Serializer):
    version = serializers.IntegerField(help_text="The definition version every value was computed with")
    created_at = serializers.DateTimeField()


class ReportHeadlineOut(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    unit = serializers.CharField()
    value = serializers.CharField(allow_null=True)


class ReportOut(serializers.Serializer):
    report = serializers.ChoiceField(choices=list(reports.SPECS))
    definition = ReportDefinitionOut()
    pending_version = serializers.IntegerField(
        allow_null=True, help_text="A newer definition version whose values are still being computed"
    )
    computed = serializers.BooleanField(help_text="False until the metric engine has stored anything")
    computed_at = serializers.DateTimeField(allow_null=True)
    filters = serializers.DictField(help_text="The filters applied, defaults included")
    periods = serializers.ListField(child=serializers.DateField())
    headline = ReportHeadlineOut(many=True)
    tables = serializers.DictField(child=ReportTableOut())


ID_OR_NONE = {"type": "string", "pattern": "^(none|[1-9][0-9]{0,17})$"}  # campaign=3, campaign=none


def _parameters(report: str) -> list[OpenApiParameter]:
    spec = reports.SPECS[report]
    params = [
        OpenApiParameter("granularity", str, enum=list(spec.granularities), description="Default: month"),
        OpenApiParameter(
            "start",
            OpenApiTypes.DATE,
            description="Widened to the start of its period; default: 6 months ago",
        ),
        OpenApiParameter(
            "end", OpenApiTypes.DATE, description="The last period holds this day; default: today"
        ),
    ]
    described = {
        "channel": ("Filter by a channel (or 'none')", [*Channel.values, "none"]),
        "campaign": ("Filter by a campaign id (or 'none')", None),
        "segment": ("Filter by a segment id (or 'none')", None),
        "team": ("Filter by a team id (or 'none')", None),
    }
    for name in spec.dimensions:
        text, enum = described[name]
        kind = str if enum else ID_OR_NONE
        params.append(OpenApiParameter(name, kind, enum=enum, description=f"{text}; one dimension at a time"))
    for name, choices in spec.choices.items():
        params.append(OpenApiParameter(name, str, enum=list(choices), description=f"Default: {choices[0]}"))
    if spec.send:
        params.append(
            OpenApiParameter("send", int, description="The send whose curve to show; default: latest")
        )
    return params


class ReportView(TenantAPIView):
    scope_area = Area.ALIGNMENT
    report = ""

    def get(self, request):
        filters = reports.parse_filters(request.query_params, report=self.report)
        return Response(reports.build(self.report, filters).as_dict())


class JointReportView(ReportView):
    report = "joint"
    allowed_params = reports.API_PARAMS["joint"]

    @extend_schema(
        summary="The joint funnel report",
        description="Tables: funnel, funnel_trend, conversion_trend, pipeline, velocity, economics, cohorts, "
        "campaign_horizon, attainment; headline: this quarter to date.",
        parameters=_parameters("joint"),
        responses=ReportOut,
    )
    def get(self, request):
        return super().get(request)


class AttributionReportView(ReportView):
    report = "attribution"
    allowed_params = reports.API_PARAMS["attribution"]

    @extend_schema(
        summary="Attribution models side by side, reconciled against booked revenue",
        description="Tables: reconciliation, comparison (the measure under each model), detail (one model).",
        parameters=_parameters("attribution"),
        responses=ReportOut,
    )
    def get(self, request):
        return super().get(request)


class LeadQualityReportView(ReportView):
    report = "lead_quality"
    allowed_params = reports.API_PARAMS["lead_quality"]

    @extend_schema(
        summary="Lead quality against the workspace average, and send-to-lead lag",
        description="Tables: quality, quality_trend, send_lag, lag_by_channel, send_curve.",
        parameters=_parameters("lead_quality"),
        responses=ReportOut,
    )
    def get(self, request):
        return super().get(request)


urlpatterns = [
    path("reports/joint/", JointReportView.as_view(), name="api-report-joint"),
    path("reports/attribution/", AttributionReportView.as_view(), name="api-report-attribution"),
    path("reports/lead-quality/", LeadQualityReportView.as_view(), name="api-report-lead-quality"),
]
