from __future__ import annotations

from django.urls import path

from . import api, views

urlpatterns = [
    path("", views.LandingView.as_view(), name="landing"),
    path("signup/", views.SignupView.as_view(), name="signup"),
    path("signup/status/<str:token>/", views.SignupStatusView.as_view(), name="signup_status"),
    path("console/login/", views.ConsoleLoginView.as_view(), name="console_login"),
    path("console/logout/", views.ConsoleLogoutView.as_view(), name="console_logout"),
    path("console/", views.ConsoleTenantListView.as_view(), name="console_tenants"),
    path("console/tenants/<int:pk>/", views.ConsoleTenantDetailView.as_view(), name="console_tenant"),
    path("api/v1/signups/", api.SignupCreateView.as_view(), name="api-signup-create"),
    path("api/v1/signups/<str:token>/", api.SignupDetailView.as_view(), name="api-signup-detail"),
]
