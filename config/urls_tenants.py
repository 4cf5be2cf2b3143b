"""URLs of a workspace host (``<slug>.<base domain>``)."""

from __future__ import annotations

from django.urls import include, path
from drf_spectacular.views import SpectacularSwaggerView

from config import views
from config.schema_view import SchemaView

urlpatterns = [
    path("f/", include("marketing.public_urls")),
    path("healthz", views.healthz, name="healthz"),
    path("api/v1/", include("config.api_urls")),
    path("api/schema/", SchemaView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("marketing/", include("marketing.urls")),
    path("sales/", include("sales.urls")),
    path("alignment/", include("alignment.urls")),
    path("", include("accounts.urls")),
]

handler400 = "config.views.handler400"
handler403 = "config.views.handler403"
handler404 = "config.views.handler404"
handler500 = "config.views.handler500"
