"""URLs of the bare domain: the landing page, sign-up and the platform console."""

from __future__ import annotations

from django.urls import include, path

from config import views

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("", include("accounts.tenancy.urls")),
]

handler400 = "config.views.handler400"
handler403 = "config.views.handler403"
handler404 = "config.views.handler404"
handler500 = "config.views.handler500"
