"""Workspace API: who am I, users, invitations and API keys (admin scope)."""

from __future__ import annotations

from django.db import connection
from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from . import selectors, services
from .api_auth import ApiKeyPrincipal, principal_scopes
from .api_base import SELF, TenantAPIView, TenantListAPIView, TenantListCreateAPIView, TenantRetrieveAPIView
from .models import AuditEntry
from .roles import Area
from .serializers import ApiKeyCreatedOut, ApiKeyIn, ApiKeyOut, InvitationIn, InvitationOut, MeOut, UserOut


class MeView(TenantAPIView):
    scope_area = SELF

    @extend_schema(responses=MeOut, summary="The caller: a user or an API key, with its scopes")
    def get(self, request):
        principal = request.user
        is_key = isinstance(principal, ApiKeyPrincipal)
        data = {
            "kind": "api_key" if is_key else "user",
            "workspace": connection.schema_name,
            "name": principal.api_key.name if is_key else principal.full_name,
            "email": None if is_key else principal.email,
            "roles": [] if is_key else list(principal.roles),
            "scopes": sorted(principal_scopes(request)),
        }
        return Response(MeOut(data).data)


@extend_schema(
    parameters=[
        OpenApiParameter("search", str, description="Match in name or email"),
        OpenApiParameter("role", str, enum=["admin", "marketing", "sales", "leadership"]),
    ],
    summary="List the workspace's users",
)
class UserListView(TenantListAPIView):
    scope_area = Area.ADMIN
    serializer_class = UserOut
    allowed_params = ("search", "role")
    default_ordering = ("id",)

    def get_queryset(self):
        params = self.request.query_params
        return selectors.user_list(search=params.get("search", ""), role=params.get("role", ""))


class UserDetailView(TenantRetrieveAPIView):
    scope_area = Area.ADMIN
    serializer_class = UserOut

    def get_queryset(self):
        return selectors.user_list()


class InvitationListView(TenantListCreateAPIView):
    scope_area = Area.ADMIN
    serializer_class = InvitationOut

    def get_queryset(self):
        return selectors.invitation_list(pending_only=False)

    @extend_schema(request=InvitationIn, responses={201: InvitationOut}, summary="Invite a person by e-mail")
    def post(self, request):
        data = InvitationIn(data=request.data)
        data.is_valid(raise_exception=True)
        inviter = request.user if not isinstance(request.user, ApiKeyPrincipal) else None
        invitation, token = services.invitation_create(
            email=data.validated_data["email"], roles=data.validated_data["roles"], invited_by=inviter
        )
        accept_url = request.build_absolute_uri(reverse("invitation_accept", args=[token]))
        services.invitation_send(invitation=invitation, token=token, accept_url=accept_url)
        return Response(InvitationOut(invitation).data, status=status.HTTP_201_CREATED)


class InvitationRevokeView(TenantAPIView):
    scope_area = Area.ADMIN

    @extend_schema(request=None, responses=InvitationOut, summary="Revoke a pending invitation")
    def post(self, request, pk: int):
        invitation = get_object_or_404(selectors.invitation_list(pending_only=False), pk=pk)
        services.invitation_revoke(invitation=invitation)
        return Response(InvitationOut(invitation).data)


class ApiKeyListView(TenantListCreateAPIView):
    scope_area = Area.ADMIN
    serializer_class = ApiKeyOut

    def get_queryset(self):
        return selectors.api_key_list()

    @extend_schema(request=ApiKeyIn, responses={201: ApiKeyCreatedOut}, summary="Create an API key")
    def post(self, request):
        data = ApiKeyIn(data=request.data)
        data.is_valid(raise_exception=True)
        creator = request.user if not isinstance(request.user, ApiKeyPrincipal) else None
        key, secret = services.api_key_create(
            name=data.validated_data["name"],
            scopes=data.validated_data["scopes"],
            expires=data.validated_data.get("expires"),
            created_by=creator,
        )
        key.key = secret
        return Response(ApiKeyCreatedOut(key).data, status=status.HTTP_201_CREATED)


class ApiKeyRevokeView(TenantAPIView):
    scope_area = Area.ADMIN

    @extend_schema(request=None, responses=ApiKeyOut, summary="Revoke an API key")
    def post(self, request, pk: int):
        key = get_object_or_404(selectors.api_key_list(), pk=pk)
        services.api_key_revoke(key=key)
        return Response(ApiKeyOut(key).data)


class AuditEntryOut(serializers.ModelSerializer):
    class Meta:
        model = AuditEntry
        fields = [
            "id", "at", "source", "actor_kind", "actor_id", "actor_label", "action", "method", "path",
            "status", "object_type", "object_id", "changed_fields", "changes", "count", "request_id",
        ]  # fmt: skip
        read_only_fields = fields


@extend_schema(
    parameters=[
        OpenApiParameter(
            "search", str, description="Match in the actor, action, object type or id, or request id"
        ),
        OpenApiParameter("source", str, enum=AuditEntry.Source.values),
        OpenApiParameter("since", OpenApiTypes.DATE, description="From this UTC date, included"),
        OpenApiParameter("until", OpenApiTypes.DATE, description="To this UTC date, included"),
    ],
    summary="The workspace's audit log, newest first (read only)",
)
class AuditEntryListView(TenantListAPIView):
    scope_area = Area.ADMIN
    serializer_class = AuditEntryOut
    allowed_params = ("search", "source", "since", "until")

    def get_queryset(self):
        from config.api import query_choice, query_date

        request = self.request
        return selectors.audit_list(
            search=request.query_params.get("search", "")[:200],
            source=query_choice(request, "source", AuditEntry.Source.values),
            since=query_date(request, "since"),
            until=query_date(request, "until"),
        )
