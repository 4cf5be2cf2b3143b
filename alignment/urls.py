from __future__ import annotations

from django.urls import path

from .views import goals, home, notifications, objections, reports, schedules, scorecard, settings, sla

app_name = "alignment"

urlpatterns = [
    path("", home.HomeView.as_view(), name="home"),
    *reports.urlpatterns,
    *settings.urlpatterns,
    *schedules.urlpatterns,
    *goals.urlpatterns,
    *sla.urlpatterns,
    *objections.urlpatterns,
    *scorecard.urlpatterns,
    *notifications.urlpatterns,
]
