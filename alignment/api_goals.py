"""Goals API: shared goals with their progress and status, the reverse-funnel plan of a goal, and the
caller's in-app notifications. Reads need alignment:read; creating, changing and deleting goals
alignment:write. Progress and status are the last evaluation (``alignment.goals``), never computed on
request."""

from __future__ import annotations

from django.db.models import QuerySet
from django.urls import path
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response

from accounts.api_base import TenantAPIView, TenantServiceDetailAPIView, TenantServiceListCreateAPIView
from accounts.models import User, acting_user
from accounts.roles import Area
from config.api import query_choice

from . import goals
from .api import AlignmentList
from .models import AttributionModel, Goal, GoalPeriod, Notification


class GoalOut(serializers.ModelSerializer):
    owners = serializers.SerializerMethodField()
    parent = serializers.IntegerField(source="parent_id", allow_null=True)
    period_end = serializers.SerializerMethodField()

    class Meta:
        model = Goal
        fields = [
            "id", "name", "metric", "model", "period", "period_start", "period_end", "target", "baseline",
            "description", "parent", "owners", "status", "actual", "expected", "evaluated_at",
            "status_changed_at", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = fields
        extra_kwargs = {
            "actual": {"help_text": "The stored value of the metric for the period; null means no data"},
            "expected": {"help_text": "Where the pace line says the metric should be by now"},
            "status": {"help_text": "on_track | at_risk | off_track | no_data"},
        }

    def get_owners(self, goal) -> list[int]:
        return [user.pk for user in goal.owners.all()]

    def get_period_end(self, goal) -> str:
        return goals.period_end(goal.period, goal.period_start).isoformat()


class GoalIn(serializers.Serializer):
    name = serializers.CharField(max_length=150)
    metric = serializers.ChoiceField(choices=[key for key, _ in goals.metric_choices()])
    model = serializers.ChoiceField(choices=AttributionModel.values, required=False, allow_blank=True)
    period = serializers.ChoiceField(choices=GoalPeriod.values)
    period_start = serializers.DateField(help_text="The first day of the month, quarter or year")
    target = serializers.DecimalField(max_digits=20, decimal_places=6)
    baseline = serializers.DecimalField(max_digits=20, decimal_places=6, required=False, allow_null=True)
    description = serializers.CharField(max_length=5000, required=False, allow_blank=True)
    parent = serializers.IntegerField(min_value=1, required=False, allow_null=True)
    owners = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        max_length=goals.MAX_OWNERS,
        help_text="User ids: at least one from marketing and one from sales",
    )


class ProposalOut(serializers.Serializer):
    metric = serializers.CharField()
    target = serializers.DecimalField(max_digits=20, decimal_places=0, allow_null=True)
    rate = serializers.DecimalField(max_digits=20, decimal_places=6, allow_null=True)
    note = serializers.CharField()


class PlanOut(serializers.Serializer):
    goal = serializers.IntegerField()
    history_months = serializers.IntegerField()
    proposals = ProposalOut(many=True)


class NotificationOut(serializers.ModelSerializer):
    class Meta:
        model = Notification
        fields = ["id", "kind", "title", "body", "link", "created_at", "read_at"]
        read_only_fields = fields


@extend_schema(
    parameters=[
        OpenApiParameter("status", str, enum=Goal.Status.values),
        OpenApiParameter("period", str, enum=GoalPeriod.values),
    ]
)
class GoalListView(TenantServiceListCreateAPIView):
    """Shared goals, newest period first; POST creates one (its progress is evaluated at once)."""

    scope_area = Area.ALIGNMENT
    serializer_class = GoalOut
    input_serializer = GoalIn
    allowed_params = ("status", "period")
    default_ordering = ("-period_start", "-id")

    def get_queryset(self) -> QuerySet:
        rows = goals.goal_list()
        status = query_choice(self.request, "status", Goal.Status.values)
        period = query_choice(self.request, "period", GoalPeriod.values)
        if status:
            rows = rows.filter(status=status)
        if period:
            rows = rows.filter(period=period)
        return rows

    def create_object(self, data, request):
        return goals.goal_create(actor=acting_user(request), data=data)


class GoalDetailView(TenantServiceDetailAPIView):
    """One goal; PATCH changes any field (owners replace the list); DELETE leaves its sub-goals at the top."""

    scope_area = Area.ALIGNMENT
    serializer_class = GoalOut
    input_serializer = GoalIn

    def get_queryset(self) -> QuerySet:
        return goals.goal_list()

    def update_object(self, obj, data, request):
        goals.goal_update(goal=obj, actor=acting_user(request), data=data)

    def delete_object(self, obj, request) -> None:
        goals.goal_delete(goal=obj, actor=acting_user(request))


class GoalPlanView(TenantAPIView):
    scope_area = Area.ALIGNMENT

    @extend_schema(
        responses=PlanOut,
        summary="The reverse-funnel plan of a goal: the sub-goal targets it takes at the historical rates",
    )
    def get(self, request, pk: int):
        goal = Goal.objects.filter(pk=pk).first()
        if goal is None:
            raise NotFound
        history = goals.funnel_history(goal.period_start)
        proposals = goals.plan(goal.metric, goal.target, history)
        body = {"goal": goal.pk, "history_months": goals.HISTORY_MONTHS, "proposals": proposals}
        return Response(PlanOut(body).data)


class NotificationListView(AlignmentList):
    """The caller's notifications, newest first (an API key has none: it is not a person)."""

    serializer_class = NotificationOut
    allowed_params = ("unread",)
    default_ordering = ("-created_at", "-id")

    @extend_schema(parameters=[OpenApiParameter("unread", bool, description="Only the unread ones")])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet:
        user = acting_user(self.request)
        if not isinstance(user, User):
            return Notification.objects.none()
        rows = Notification.objects.filter(user=user)
        unread = self.request.query_params.get("unread")
        if unread not in (None, "true", "false"):
            raise ValidationError({"unread": ["Give true or false."]})
        if unread == "true":
            rows = rows.filter(read_at__isnull=True)
        return rows


class NotificationReadView(TenantAPIView):
    scope_area = Area.ALIGNMENT

    @extend_schema(
        request=None, responses={200: NotificationOut}, summary="Mark one of your notifications read"
    )
    def post(self, request, pk: int):
        user = acting_user(request)
        notice = Notification.objects.filter(pk=pk, user=user).first() if isinstance(user, User) else None
        if notice is None:
            raise NotFound
        if notice.read_at is None:
            notice.read_at = timezone.now()
            notice.save(update_fields=["read_at"])
        return Response(NotificationOut(notice).data)


urlpatterns = [
    path("goals/", GoalListView.as_view(), name="api-goal-list"),
    path("goals/<int:pk>/", GoalDetailView.as_view(), name="api-goal-detail"),
    path("goals/<int:pk>/plan/", GoalPlanView.as_view(), name="api-goal-plan"),
    path("notifications/", NotificationListView.as_view(), name="api-notification-list"),
    path("notifications/<int:pk>/read/", NotificationReadView.as_view(), name="api-notification-read"),
]
