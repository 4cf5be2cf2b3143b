from __future__ import annotations

from django.urls import path

from . import api

urlpatterns = [
    path("sales-settings/", api.SalesSettingsView.as_view(), name="api-sales-settings"),
    path("pipelines/", api.PipelineListView.as_view(), name="api-pipeline-list"),
    path("pipelines/<int:pk>/", api.PipelineDetailView.as_view(), name="api-pipeline-detail"),
    path(
        "pipelines/<int:pk>/stages/", api.PipelineStageCreateView.as_view(), name="api-pipeline-stage-create"
    ),
    path("stages/<int:pk>/", api.StageDetailView.as_view(), name="api-stage-detail"),
    path("stages/<int:pk>/move/", api.StageMoveView.as_view(), name="api-stage-move"),
    path("loss-reasons/", api.LossReasonListView.as_view(), name="api-loss-reason-list"),
    path("loss-reasons/<int:pk>/", api.LossReasonDetailView.as_view(), name="api-loss-reason-detail"),
    path("rejection-reasons/", api.RejectionReasonListView.as_view(), name="api-rejection-reason-list"),
    path(
        "rejection-reasons/<int:pk>/",
        api.RejectionReasonDetailView.as_view(),
        name="api-rejection-reason-detail",
    ),
    path("teams/", api.TeamListView.as_view(), name="api-team-list"),
    path("teams/<int:pk>/", api.TeamDetailView.as_view(), name="api-team-detail"),
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
