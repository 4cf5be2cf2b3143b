from __future__ import annotations

from django.contrib.auth.backends import BaseBackend
from django.db import connection

from .models import PlatformAdmin


class PlatformAdminBackend(BaseBackend):
    """Authenticates platform admins, and only on the public schema."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if connection.schema_name != "public" or not username or password is None:
            return None
        admin = PlatformAdmin.objects.filter(email=username.strip().lower()).first()
        if admin is None:
            PlatformAdmin().set_password(password)  # same work as a real check: no timing oracle
            return None
        if admin.check_password(password) and admin.is_active:
            return admin
        return None

    def get_user(self, user_id):
        if connection.schema_name != "public":
            return None
        return PlatformAdmin.objects.filter(pk=user_id, is_active=True).first()
