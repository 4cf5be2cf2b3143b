"""URLs of a workspace host (``<slug>.<base domain>``)."""

from __future__ import annotations

from django.urls import include, path
from drf_spectacular.views import SpectacularSwaggerSplitView

from config import views
from config.schema_view import SchemaView

urlpatterns = [
    path("f/", include("marketing.public_urls")),
    path("healthz", views.healthz, name="healthz"),
    path("api/v1/", include("config.api_urls")),
    path("api/schema/", SchemaView.as_view(), name="api-schema"),
    # The split view serves Swagger UI's init script from this address (?script) instead of inline, so
    # the docs page runs under script-src 'self' (config.security).
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("marketing/", include("marketing.urls")),
    path("sales/", include("sales.urls")),
    path("alignment/", include("alignment.urls")),
    path("", include("accounts.urls")),
]

handler400 = "config.views.handler400"
handler403 = "config.views.handler403"
handler404 = "config.views.handler404"
handler500 = "config.views.handler500"
