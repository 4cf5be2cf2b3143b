from __future__ import annotations

from django.urls import path

from . import audit_views, views, views_webhooks

urlpatterns = [
    path("", views.HomeView.as_view(), name="home"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("profile/", views.ProfileView.as_view(), name="profile"),
    path("password/reset/", views.PasswordResetView.as_view(), name="password_reset"),
    path("password/reset/sent/", views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path(
        "password/reset/<uidb64>/<token>/",
        views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path("password/reset/done/", views.PasswordResetCompleteView.as_view(), name="password_reset_complete"),
    path("invitations/<str:token>/", views.InvitationAcceptView.as_view(), name="invitation_accept"),
    path("settings/users/", views.UserListView.as_view(), name="settings_users"),
    path("settings/users/<int:pk>/", views.UserEditView.as_view(), name="settings_user_edit"),
    path(
        "settings/invitations/<int:pk>/revoke/",
        views.InvitationRevokeView.as_view(),
        name="invitation_revoke",
    ),
    path("settings/api-keys/", views.ApiKeyListView.as_view(), name="settings_api_keys"),
    path("settings/audit/", audit_views.AuditLogView.as_view(), name="settings_audit"),
    path("settings/audit/export.csv", audit_views.AuditExportView.as_view(), name="settings_audit_export"),
    path("settings/api-keys/<int:pk>/revoke/", views.ApiKeyRevokeView.as_view(), name="api_key_revoke"),
    *views_webhooks.urlpatterns,
]
