"""Webhooks API (admin scope): subscriptions, the events they can name, the delivery log with each
attempt, and redelivery. The signing secret is shown when a subscription is created and on its detail."""

from __future__ import annotations

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.urls import path
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from config.api import query_choice, query_int

from . import webhooks
from .api_base import (
    TenantAPIView,
    TenantListAPIView,
    TenantServiceDetailAPIView,
    TenantServiceListCreateAPIView,
)
from .models import WebhookDelivery, WebhookSubscription, acting_user
from .roles import Area

EVENT_CHOICES = list(webhooks.EVENTS)


class WebhookOut(serializers.ModelSerializer):
    class Meta:
        model = WebhookSubscription
        fields = ["id", "url", "events", "description", "is_active", "allow_private", "secret", "created"]
        read_only_fields = fields


class WebhookIn(serializers.Serializer):
    url = serializers.CharField(max_length=webhooks.MAX_URL, help_text="http or https; a public address")
    events = serializers.ListField(child=serializers.ChoiceField(choices=EVENT_CHOICES), min_length=1)
    description = serializers.CharField(max_length=200, required=False, allow_blank=True)
    is_active = serializers.BooleanField(required=False)
    allow_private = serializers.BooleanField(
        required=False, help_text="Deliver to loopback and private networks too (off unless set)"
    )

    def validate_url(self, value: str) -> str:
        problems = webhooks.check_url(value.strip())
        if problems:
            raise serializers.ValidationError(problems)
        return value.strip()


class WebhookEventTypeOut(serializers.Serializer):
    type = serializers.CharField()
    description = serializers.CharField()


class WebhookAttemptOut(serializers.Serializer):
    at = serializers.DateTimeField()
    status_code = serializers.IntegerField(allow_null=True, help_text="null: no answer (see error)")
    response = serializers.CharField(help_text="The start of the receiver's answer")
    error = serializers.CharField()
    duration_ms = serializers.IntegerField()


class WebhookDeliveryOut(serializers.ModelSerializer):
    event = serializers.IntegerField(source="event_id")
    event_type = serializers.CharField(source="event.type")
    subscription = serializers.IntegerField(source="subscription_id")

    class Meta:
        model = WebhookDelivery
        fields = [
            "id", "event", "event_type", "subscription", "status", "attempts", "last_status_code",
            "last_error", "next_attempt_at", "delivered_at", "created",
        ]  # fmt: skip
        read_only_fields = fields


class WebhookDeliveryDetailOut(WebhookDeliveryOut):
    payload = serializers.JSONField(source="event.data")
    log = WebhookAttemptOut(source="log.all", many=True)

    class Meta(WebhookDeliveryOut.Meta):
        fields = [*WebhookDeliveryOut.Meta.fields, "payload", "log"]
        read_only_fields = fields


class SubscriptionListView(TenantServiceListCreateAPIView):
    """Webhook subscriptions, newest first; POST adds one (its secret is in the answer)."""

    scope_area = Area.ADMIN
    serializer_class = WebhookOut
    input_serializer = WebhookIn

    def get_queryset(self) -> QuerySet:
        return WebhookSubscription.objects.all()

    def create_object(self, data, request):
        return webhooks.subscription_save(data=data, actor=acting_user(request))


class SubscriptionDetailView(TenantServiceDetailAPIView):
    """One subscription; PATCH changes it; DELETE removes it with its delivery log."""

    scope_area = Area.ADMIN
    serializer_class = WebhookOut
    input_serializer = WebhookIn

    def get_queryset(self) -> QuerySet:
        return WebhookSubscription.objects.all()

    def update_object(self, obj, data, request):
        webhooks.subscription_save(data=data, subscription=obj)

    def delete_object(self, obj, request) -> None:
        obj.delete()


class EventTypeListView(TenantAPIView):
    scope_area = Area.ADMIN

    @extend_schema(responses=WebhookEventTypeOut(many=True), summary="The events a subscription can name")
    def get(self, request):
        return Response([{"type": k, "description": v} for k, v in webhooks.EVENTS.items()])


@extend_schema(
    parameters=[
        OpenApiParameter("subscription", int),
        OpenApiParameter("status", str, enum=WebhookDelivery.Status.values),
        OpenApiParameter("event_type", str, enum=EVENT_CHOICES),
    ]
)
class DeliveryListView(TenantListAPIView):
    """The delivery log, newest first."""

    scope_area = Area.ADMIN
    serializer_class = WebhookDeliveryOut
    allowed_params = ("subscription", "status", "event_type")

    def get_queryset(self) -> QuerySet:
        rows = WebhookDelivery.objects.select_related("event")
        subscription = query_int(self.request, "subscription")
        state = query_choice(self.request, "status", WebhookDelivery.Status.values)
        event_type = query_choice(self.request, "event_type", EVENT_CHOICES)
        if subscription is not None:
            rows = rows.filter(subscription_id=subscription)
        if state:
            rows = rows.filter(status=state)
        if event_type:
            rows = rows.filter(event__type=event_type)
        return rows


class DeliveryDetailView(TenantAPIView):
    scope_area = Area.ADMIN

    @extend_schema(
        responses=WebhookDeliveryDetailOut, summary="One delivery with its payload and every attempt"
    )
    def get(self, request, pk: int):
        delivery = get_object_or_404(
            WebhookDelivery.objects.select_related("event").prefetch_related("log"), pk=pk
        )
        return Response(WebhookDeliveryDetailOut(delivery).data)


class RedeliverView(TenantAPIView):
    scope_area = Area.ADMIN

    @extend_schema(request=None, responses={202: WebhookDeliveryOut}, summary="Deliver the event again, now")
    def post(self, request, pk: int):
        delivery = get_object_or_404(WebhookDelivery.objects.all(), pk=pk)
        copy = webhooks.redeliver(delivery=delivery)
        fresh = WebhookDelivery.objects.select_related("event").get(pk=copy.pk)
        return Response(WebhookDeliveryOut(fresh).data, status=status.HTTP_202_ACCEPTED)


urlpatterns = [
    path("webhooks/", SubscriptionListView.as_view(), name="api-webhook-list"),
    path("webhooks/events/", EventTypeListView.as_view(), name="api-webhook-events"),
    path("webhooks/deliveries/", DeliveryListView.as_view(), name="api-webhook-delivery-list"),
    path("webhooks/deliveries/<int:pk>/", DeliveryDetailView.as_view(), name="api-webhook-delivery-detail"),
    path(
        "webhooks/deliveries/<int:pk>/redeliver/",
        RedeliverView.as_view(),
        name="api-webhook-delivery-redeliver",
    ),
    path("webhooks/<int:pk>/", SubscriptionDetailView.as_view(), name="api-webhook-detail"),
]
