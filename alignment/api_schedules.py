"""Scheduled joint reports API: leadership's weekly or monthly report by email, and a preview to oneself.
Reads need alignment:read; creating, changing and deleting schedules alignment:write, and a person's
session of leadership or an admin (``alignment.schedules``; a key acts for its workspace). The preview
goes to the person asking, so it takes a session: an API key is answered 422."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from django.urls import path
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field, extend_schema_view
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from accounts.api_base import TenantAPIView, TenantServiceDetailAPIView, TenantServiceListCreateAPIView
from accounts.models import User, acting_user
from accounts.roles import Area
from config.api import error_body
from config.api_schema import ErrorOut

from . import schedules
from .models import ReportSchedule

# The service reads one address per line and also splits on commas and semicolons: an item holding one
# would silently become several addresses, so the API refuses it instead.
SEPARATORS = (",", ";", "\n", "\r")


class ReportScheduleOut(serializers.ModelSerializer):
    recipients = serializers.SerializerMethodField()
    created_by = serializers.IntegerField(source="created_by_id", allow_null=True)
    next_send_date = serializers.SerializerMethodField(
        help_text="The UTC day the report is sent next (today if due and not sent yet); null while paused"
    )

    class Meta:
        model = ReportSchedule
        fields = [
            "id", "frequency", "recipients", "is_active", "created_at", "created_by", "last_sent_at",
            "next_send_date",
        ]  # fmt: skip
        read_only_fields = fields
        extra_kwargs = {"frequency": {"help_text": "weekly: on Mondays; monthly: on the 1st (UTC)"}}

    def get_recipients(self, schedule) -> list[str]:
        return schedules.recipients_of(schedule)

    @extend_schema_field(serializers.DateField(allow_null=True))
    def get_next_send_date(self, schedule) -> str | None:
        now = self.context.get("now") or timezone.now()
        day = schedules.next_send_date(schedule, now)
        return None if day is None else day.isoformat()


class ReportScheduleIn(serializers.Serializer):
    frequency = serializers.ChoiceField(choices=ReportSchedule.Frequency.choices)
    recipients = serializers.ListField(
        child=serializers.CharField(max_length=254),
        min_length=1,
        max_length=schedules.MAX_RECIPIENTS,
        help_text=f"Email addresses, at most {schedules.MAX_RECIPIENTS}; repeats (in any case) are dropped",
    )
    is_active = serializers.BooleanField(required=False, help_text="false pauses the schedule")

    def validate_recipients(self, value: list[str]) -> list[str]:
        errors = {
            str(index): ["Give one address per item."]
            for index, address in enumerate(value)
            if any(mark in address for mark in SEPARATORS)
        }
        if errors:
            raise ValidationError(errors)
        return value


class ReportPreviewIn(serializers.Serializer):
    frequency = serializers.ChoiceField(choices=ReportSchedule.Frequency.choices)


class ReportPreviewOut(serializers.Serializer):
    frequency = serializers.ChoiceField(choices=ReportSchedule.Frequency.choices)
    to = serializers.EmailField(help_text="The address the preview goes to: the caller's")


def _service_data(data: dict) -> dict:
    """The API's list of addresses as the service's text, one address per line."""
    if "recipients" in data:
        data["recipients"] = "\n".join(data["recipients"])
    return data


class ScheduleViewMixin:
    scope_area = Area.ALIGNMENT
    write_roles = schedules.MANAGERS
    serializer_class = ReportScheduleOut
    input_serializer = ReportScheduleIn

    def get_queryset(self) -> QuerySet:
        return ReportSchedule.objects.order_by("id")

    def get_serializer_context(self) -> dict:
        return {**super().get_serializer_context(), "now": timezone.now()}


@extend_schema_view(
    get=extend_schema(summary="The workspace's scheduled joint reports, oldest first"),
    post=extend_schema(summary="Schedule a joint report (leadership and admins)"),
)
class ScheduleListView(ScheduleViewMixin, TenantServiceListCreateAPIView):
    """Scheduled joint reports; POST adds one (at most ``MAX_SCHEDULES`` per workspace)."""

    default_ordering = ("id",)

    def create_object(self, data, request):
        return schedules.schedule_create(actor=acting_user(request), data=_service_data(data))


@extend_schema_view(
    get=extend_schema(summary="One scheduled joint report"),
    patch=extend_schema(
        summary="Change a scheduled report's frequency or recipients, or pause (is_active false) or resume it"
    ),
    delete=extend_schema(summary="Delete a scheduled joint report"),
)
class ScheduleDetailView(ScheduleViewMixin, TenantServiceDetailAPIView):
    """One scheduled report; PATCH changes the fields sent (recipients replace the list)."""

    def update_object(self, obj, data, request):
        schedules.schedule_update(schedule=obj, actor=acting_user(request), data=_service_data(data))

    def delete_object(self, obj, request) -> None:
        schedules.schedule_delete(schedule=obj, actor=acting_user(request))


class SchedulePreviewView(TenantAPIView):
    scope_area = Area.ALIGNMENT

    @extend_schema(
        request=ReportPreviewIn,
        responses={
            202: ReportPreviewOut,
            429: OpenApiResponse(
                ErrorOut,
                description=f"{schedules.PREVIEWS_PER_WINDOW} previews were asked for in the last "
                f"{schedules.PREVIEW_WINDOW_SECONDS // 60} minutes; Retry-After says when to ask again",
            ),
        },
        summary="Send the joint report to yourself now (a person's session only: an API key is a 422)",
    )
    def post(self, request):
        data = ReportPreviewIn(data=request.data)
        data.is_valid(raise_exception=True)
        user = acting_user(request)
        if not isinstance(user, User):
            raise ValidationError(
                {"non_field_errors": ["A preview goes to the person asking; an API key has no address."]}
            )
        frequency = data.validated_data["frequency"]
        try:
            schedules.report_preview_send(actor=user, frequency=frequency)
        except DjangoValidationError as exc:
            if not schedules.is_throttled(exc):
                raise
            return Response(
                error_body(429, "throttled", " ".join(exc.message_dict["non_field_errors"])),
                status=status.HTTP_429_TOO_MANY_REQUESTS,
                headers={"Retry-After": str(schedules.PREVIEW_WINDOW_SECONDS)},
            )
        return Response(ReportPreviewOut({"frequency": frequency, "to": user.email}).data, status=202)


urlpatterns = [
    path("report-schedules/", ScheduleListView.as_view(), name="api-report-schedule-list"),
    path("report-schedules/preview/", SchedulePreviewView.as_view(), name="api-report-schedule-preview"),
    path("report-schedules/<int:pk>/", ScheduleDetailView.as_view(), name="api-report-schedule-detail"),
]
