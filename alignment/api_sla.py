"""SLA API: the business calendar, the policies, the clocks (``?state=breached`` lists the breaches) and
the monthly report of both sides. Reads need alignment:read; changing the calendar and policies
alignment:write, and a person's key or session of leadership or an admin (a key acts for its workspace)."""

from __future__ import annotations

import datetime as dt

from django.db.models import Q, QuerySet
from django.urls import path
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from accounts.api_base import TenantAPIView, TenantServiceDetailAPIView, TenantServiceListCreateAPIView
from accounts.models import acting_user
from accounts.roles import Area
from config.api import query_choice, query_int

from . import sla, sla_report
from .api import AlignmentList
from .models import BusinessCalendar, GoalPeriod, SlaClock, SlaPolicy
from .schedules import MANAGERS


class SlaCalendarOut(serializers.ModelSerializer):
    class Meta:
        model = BusinessCalendar
        fields = ["time_zone", "working_days", "day_start", "day_end", "holidays", "updated_at"]
        read_only_fields = fields


class SlaCalendarIn(serializers.Serializer):
    time_zone = serializers.CharField(max_length=64, required=False)
    working_days = serializers.ListField(child=serializers.IntegerField(), max_length=7, required=False)
    day_start = serializers.TimeField(required=False)
    day_end = serializers.TimeField(required=False)
    holidays = serializers.ListField(child=serializers.DateField(), max_length=366, required=False)


class PolicyOut(serializers.ModelSerializer):
    class Meta:
        model = SlaPolicy
        fields = ["id", *sla.POLICY_FIELDS, "is_active", "created_at"]
        read_only_fields = fields


class PolicyIn(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    segment = serializers.IntegerField(min_value=1, required=False, allow_null=True)
    team = serializers.IntegerField(min_value=1, required=False, allow_null=True)
    first_touch_hours = serializers.DecimalField(max_digits=6, decimal_places=2, required=False)
    decision_hours = serializers.DecimalField(max_digits=6, decimal_places=2, required=False)
    at_risk_share = serializers.DecimalField(max_digits=3, decimal_places=2, required=False)
    escalate_after_hours = serializers.DecimalField(max_digits=6, decimal_places=2, required=False)
    reassign_on_breach = serializers.BooleanField(required=False)
    mql_commitment = serializers.IntegerField(
        min_value=0, max_value=10_000_000, required=False, allow_null=True
    )
    commitment_period = serializers.ChoiceField(
        choices=[GoalPeriod.MONTH, GoalPeriod.QUARTER], required=False
    )
    min_acceptance_rate = serializers.DecimalField(
        max_digits=5, decimal_places=4, required=False, allow_null=True
    )

    def validate(self, data):
        from marketing.models import Segment
        from sales.models import Team

        errors = {}
        if data.get("segment") and not Segment.objects.filter(pk=data["segment"]).exists():
            errors["segment"] = ["No segment with this id."]
        if data.get("team") and not Team.objects.filter(pk=data["team"]).exists():
            errors["team"] = ["No team with this id."]
        if errors:
            raise ValidationError(errors)
        return data


class ClockOut(serializers.ModelSerializer):
    contact = serializers.IntegerField(source="contact_id")
    owner = serializers.IntegerField(source="owner_id", allow_null=True)
    policy = serializers.IntegerField(source="policy_id", allow_null=True)

    class Meta:
        model = SlaClock
        fields = [
            "id", "contact", "mql_at", "policy", "owner", "first_touch_hours", "decision_hours",
            "first_touch_at", "decided_at", "first_touch_warned_at", "first_touch_breached_at",
            "decision_warned_at", "decision_breached_at", "escalation_level",
        ]  # fmt: skip
        read_only_fields = fields


class SlaSideOut(serializers.Serializer):
    key = serializers.IntegerField(
        allow_null=True, help_text="The rep's or team's id; null for the workspace"
    )
    label = serializers.CharField()
    mqls = serializers.IntegerField()
    touch_met = serializers.IntegerField()
    touch_breached = serializers.IntegerField()
    touch_attainment = serializers.DecimalField(max_digits=6, decimal_places=4, allow_null=True)
    decision_met = serializers.IntegerField()
    decision_breached = serializers.IntegerField()
    decision_attainment = serializers.DecimalField(max_digits=6, decimal_places=4, allow_null=True)
    escalated = serializers.IntegerField()
    median_touch_hours = serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True)


class SlaMarketingOut(serializers.Serializer):
    period = serializers.CharField()
    period_start = serializers.DateField()
    mqls = serializers.DecimalField(max_digits=20, decimal_places=0, allow_null=True)
    commitment = serializers.IntegerField(allow_null=True)
    volume_met = serializers.BooleanField(allow_null=True)
    acceptance_rate = serializers.DecimalField(max_digits=10, decimal_places=6, allow_null=True)
    min_acceptance_rate = serializers.DecimalField(max_digits=5, decimal_places=4, allow_null=True)
    acceptance_met = serializers.BooleanField(allow_null=True)


class SlaReportOut(serializers.Serializer):
    month = serializers.DateField()
    reps = SlaSideOut(many=True)
    teams = SlaSideOut(many=True)
    marketing = SlaMarketingOut()


class CalendarView(TenantAPIView):
    scope_area = Area.ALIGNMENT
    write_roles = MANAGERS

    @extend_schema(responses=SlaCalendarOut, summary="The business calendar SLA clocks count on")
    def get(self, request):
        return Response(SlaCalendarOut(sla.calendar_row()).data)

    @extend_schema(request=SlaCalendarIn, responses=SlaCalendarOut, summary="Change the business calendar")
    def patch(self, request):
        data = SlaCalendarIn(data=request.data)
        data.is_valid(raise_exception=True)
        row = sla.calendar_update(actor=acting_user(request), data=dict(data.validated_data))
        return Response(SlaCalendarOut(row).data)


class PolicyListView(TenantServiceListCreateAPIView):
    """SLA policies, active first; POST adds one for the workspace, a segment or a team."""

    scope_area = Area.ALIGNMENT
    write_roles = MANAGERS
    serializer_class = PolicyOut
    input_serializer = PolicyIn
    default_ordering = ("-is_active", "id")

    def get_queryset(self) -> QuerySet:
        return SlaPolicy.objects.all()

    def create_object(self, data, request):
        return sla.policy_save(actor=acting_user(request), data=data)


class PolicyDetailView(TenantServiceDetailAPIView):
    """One policy; PATCH changes it (clocks already running keep their hours); DELETE switches it off."""

    scope_area = Area.ALIGNMENT
    write_roles = MANAGERS
    serializer_class = PolicyOut
    input_serializer = PolicyIn

    def get_queryset(self) -> QuerySet:
        return SlaPolicy.objects.all()

    def update_object(self, obj, data, request):
        sla.policy_save(actor=acting_user(request), data=data, policy=obj)

    def delete_object(self, obj, request) -> None:
        sla.policy_deactivate(actor=acting_user(request), policy=obj)


STATES = ("running", "at_risk", "breached", "met")


@extend_schema(
    parameters=[
        OpenApiParameter(
            "state", str, enum=STATES, description="breached: a breach was raised on either side"
        ),
        OpenApiParameter("owner", int),
    ]
)
class ClockListView(AlignmentList):
    """SLA clocks of MQL entries, newest first."""

    serializer_class = ClockOut
    allowed_params = ("state", "owner")
    default_ordering = ("-mql_at", "-id")

    def get_queryset(self) -> QuerySet:
        rows = SlaClock.objects.all()
        state = query_choice(self.request, "state", STATES)
        owner = query_int(self.request, "owner")
        breached = Q(first_touch_breached_at__isnull=False) | Q(decision_breached_at__isnull=False)
        if state == "breached":
            rows = rows.filter(breached)
        elif state == "met":
            rows = rows.exclude(breached).filter(first_touch_at__isnull=False, decided_at__isnull=False)
        elif state == "at_risk":
            warned = Q(first_touch_warned_at__isnull=False) | Q(decision_warned_at__isnull=False)
            rows = rows.exclude(breached).filter(warned).filter(Q(first_touch_at=None) | Q(decided_at=None))
        elif state == "running":
            rows = rows.exclude(breached).filter(Q(first_touch_at=None) | Q(decided_at=None))
        if owner is not None:
            rows = rows.filter(owner_id=owner)
        return rows


class ReportView(TenantAPIView):
    scope_area = Area.ALIGNMENT
    allowed_params = ("month",)

    @extend_schema(
        parameters=[OpenApiParameter("month", str, description="YYYY-MM; default: this month (UTC)")],
        responses=SlaReportOut,
        summary="Both sides of the SLA for a month: sales per rep and team, marketing against its commitment",
    )
    def get(self, request):
        raw = request.query_params.get("month")
        try:
            month = dt.date.fromisoformat(f"{raw}-01") if raw else timezone.now().date().replace(day=1)
        except ValueError as exc:
            raise ValidationError({"month": ["Give a month as YYYY-MM."]}) from exc
        if not dt.date(2000, 1, 1) <= month <= dt.date(2100, 1, 1):
            raise ValidationError({"month": ["Give a month from 2000 to 2100."]})
        start, end = sla_report.month_range(month)
        side = sla_report.sales_side(start, end)
        body = {
            "month": start,
            "reps": side["reps"],
            "teams": side["teams"],
            "marketing": sla_report.marketing_side(start),
        }
        return Response(SlaReportOut(body).data)


urlpatterns = [
    path("sla/calendar/", CalendarView.as_view(), name="api-sla-calendar"),
    path("sla/policies/", PolicyListView.as_view(), name="api-sla-policy-list"),
    path("sla/policies/<int:pk>/", PolicyDetailView.as_view(), name="api-sla-policy-detail"),
    path("sla/clocks/", ClockListView.as_view(), name="api-sla-clock-list"),
    path("sla/report/", ReportView.as_view(), name="api-sla-report"),
]
