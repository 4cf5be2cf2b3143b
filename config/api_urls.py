"""Every app's API under /api/v1/ on a workspace host."""

from __future__ import annotations

from django.urls import include, path

urlpatterns = [
    path("", include("accounts.api_urls")),
    path("", include("marketing.api_urls")),
    path("", include("sales.api_urls")),
    path("", include("alignment.api_urls")),
]
