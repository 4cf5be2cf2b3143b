"""Public API on the bare domain: create a workspace and follow its set-up."""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import permissions, serializers, status
from rest_framework.exceptions import NotFound, Throttled
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.throttle import client_ip, over_limit

from .links import workspace_url
from .selectors import signup_by_token
from .services import signup_create


class SignupIn(serializers.Serializer):
    company_name = serializers.CharField(max_length=100, trim_whitespace=True)
    slug = serializers.CharField(max_length=63, help_text="Subdomain: lower-case letters, digits, hyphens.")
    admin_name = serializers.CharField(max_length=150)
    admin_email = serializers.EmailField(max_length=254)
    admin_password = serializers.CharField(max_length=256, write_only=True, trim_whitespace=False)


class SignupOut(serializers.Serializer):
    token = serializers.CharField()
    slug = serializers.CharField()
    status = serializers.CharField()
    ready = serializers.BooleanField()
    status_url = serializers.URLField()
    workspace_url = serializers.URLField()


def signup_payload(request, signup) -> dict:
    tenant = signup.tenant
    return {
        "token": signup.token,
        "slug": tenant.slug,
        "status": tenant.status,
        "ready": tenant.ready,
        "status_url": request.build_absolute_uri(reverse("api-signup-detail", args=[signup.token])),
        "workspace_url": workspace_url(tenant.slug, "/login/", request=request),
    }


def signup_rate_limited(request) -> bool:
    """At most TANDEM_SIGNUPS_PER_ADDRESS_PER_HOUR sign-ups per client address."""
    return over_limit(
        f"signup:{client_ip(request)}",
        limit=settings.TANDEM_SIGNUPS_PER_ADDRESS_PER_HOUR,
        window_seconds=3600,
    )


class PublicAPIView(APIView):
    authentication_classes: list = []
    permission_classes = [permissions.AllowAny]


class SignupCreateView(PublicAPIView):
    @extend_schema(request=SignupIn, responses={202: SignupOut}, summary="Create a workspace")
    def post(self, request):
        data = SignupIn(data=request.data)
        data.is_valid(raise_exception=True)
        if signup_rate_limited(request):
            raise Throttled(detail="Too many sign-ups from this address. Try again in an hour.")
        signup = signup_create(**data.validated_data, ip_address=client_ip(request))
        return Response(signup_payload(request, signup), status=status.HTTP_202_ACCEPTED)


class SignupDetailView(PublicAPIView):
    @extend_schema(responses=SignupOut, summary="Follow a workspace's set-up")
    def get(self, request, token: str):
        signup = signup_by_token(token)
        if signup is None:
            raise NotFound()
        return Response(signup_payload(request, signup))
