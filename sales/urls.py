from __future__ import annotations

from django.urls import path

from . import views

app_name = "sales"

urlpatterns = [
    path("", views.DashboardView.as_view(), name="home"),
    path("board/", views.BoardView.as_view(), name="board"),
    path("board/<int:pk>/", views.BoardView.as_view(), name="board_pipeline"),
    path("leads/", views.LeadQueueView.as_view(), name="lead_queue"),
    path("deals/new/", views.DealCreateView.as_view(), name="deal_create"),
    path("deals/<int:pk>/", views.DealDetailView.as_view(), name="deal_detail"),
    path("deals/<int:pk>/move/", views.DealMoveView.as_view(), name="deal_move"),
    path("activities/", views.MyActivitiesView.as_view(), name="my_activities"),
    path("activities/<int:pk>/done/", views.ActivityDoneView.as_view(), name="activity_done"),
    path("customers/", views.CustomersView.as_view(), name="customers"),
    path("setup/", views.SalesSetupView.as_view(), name="setup"),
    path("setup/pipelines/<int:pk>/", views.PipelineSetupView.as_view(), name="setup_pipeline"),
    path("quotas/", views.QuotasView.as_view(), name="quotas"),
    path("quotas/<int:pk>/delete/", views.QuotaDeleteView.as_view(), name="quota_delete"),
]
