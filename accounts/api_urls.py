from __future__ import annotations

from django.urls import path

from . import api, api_webhooks

urlpatterns = [
    path("me/", api.MeView.as_view(), name="api-me"),
    path("users/", api.UserListView.as_view(), name="api-user-list"),
    path("users/<int:pk>/", api.UserDetailView.as_view(), name="api-user-detail"),
    path("invitations/", api.InvitationListView.as_view(), name="api-invitation-list"),
    path("invitations/<int:pk>/revoke/", api.InvitationRevokeView.as_view(), name="api-invitation-revoke"),
    path("api-keys/", api.ApiKeyListView.as_view(), name="api-key-list"),
    path("api-keys/<int:pk>/revoke/", api.ApiKeyRevokeView.as_view(), name="api-key-revoke"),
    path("audit/", api.AuditEntryListView.as_view(), name="api-audit-list"),
    *api_webhooks.urlpatterns,
]
