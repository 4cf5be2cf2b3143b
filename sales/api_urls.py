from __future__ import annotations

from django.urls import path

from . import api

urlpatterns = [
    path("pipelines/", api.PipelineListView.as_view(), name="api-pipeline-list"),
    path("deals/", api.DealListView.as_view(), name="api-deal-list"),
    path("deals/<int:pk>/", api.DealDetailView.as_view(), name="api-deal-detail"),
    path("deals/<int:pk>/move/", api.DealMoveView.as_view(), name="api-deal-move"),
    path("deals/<int:pk>/won/", api.DealWonView.as_view(), name="api-deal-won"),
    path("deals/<int:pk>/lost/", api.DealLostView.as_view(), name="api-deal-lost"),
    path("activities/", api.ActivityListView.as_view(), name="api-activity-list"),
    path("activities/<int:pk>/", api.ActivityDetailView.as_view(), name="api-activity-detail"),
    path("customers/", api.CustomerListView.as_view(), name="api-customer-list"),
    path(
        "customers/<int:pk>/subscriptions/", api.SubscriptionListView.as_view(), name="api-subscription-list"
    ),
    path(
        "subscriptions/<int:pk>/change/", api.SubscriptionChangeView.as_view(), name="api-subscription-change"
    ),
    path("subscription-events/", api.SubscriptionEventListView.as_view(), name="api-subscription-event-list"),
    path("quotas/", api.QuotaListView.as_view(), name="api-quota-list"),
    path("leads/", api.LeadQueueView.as_view(), name="api-lead-queue"),
    path("leads/<int:pk>/accept/", api.LeadAcceptView.as_view(), name="api-lead-accept"),
    path("leads/<int:pk>/reject/", api.LeadRejectView.as_view(), name="api-lead-reject"),
    path("leads/<int:pk>/assign/", api.LeadAssignView.as_view(), name="api-lead-assign"),
]
