from __future__ import annotations

from django.urls import path

from . import views

app_name = "alignment"

urlpatterns = [
    path("", views.HomeView.as_view(), name="home"),
]
