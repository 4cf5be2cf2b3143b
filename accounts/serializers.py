from __future__ import annotations

from rest_framework import serializers

from .models import ApiKey, Invitation, User
from .roles import ALL_SCOPES, Role


class UserOut(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "email", "full_name", "roles", "is_active", "date_joined", "last_login"]
        read_only_fields = fields


class InvitationIn(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    roles = serializers.ListField(
        child=serializers.ChoiceField(choices=Role.choices), min_length=1, max_length=4
    )


class InvitationOut(serializers.ModelSerializer):
    state = serializers.CharField(read_only=True)

    class Meta:
        model = Invitation
        fields = ["id", "email", "roles", "state", "created", "expires", "accepted", "revoked"]
        read_only_fields = fields


class ApiKeyIn(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    scopes = serializers.ListField(
        child=serializers.ChoiceField(choices=[(s, s) for s in ALL_SCOPES]),
        min_length=1,
        max_length=len(ALL_SCOPES),
    )
    expires = serializers.DateTimeField(required=False, allow_null=True)


class ApiKeyOut(serializers.ModelSerializer):
    state = serializers.CharField(read_only=True)

    class Meta:
        model = ApiKey
        fields = ["id", "name", "prefix", "scopes", "state", "created", "expires", "revoked", "last_used"]
        read_only_fields = fields


class ApiKeyCreatedOut(ApiKeyOut):
    key = serializers.CharField(read_only=True, help_text="The secret. Shown once; store it now.")

    class Meta(ApiKeyOut.Meta):
        fields = [*ApiKeyOut.Meta.fields, "key"]
        read_only_fields = fields


class MeOut(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["user", "api_key"])
    workspace = serializers.CharField()
    name = serializers.CharField()
    email = serializers.EmailField(allow_null=True)
    roles = serializers.ListField(child=serializers.CharField())
    scopes = serializers.ListField(child=serializers.CharField())
