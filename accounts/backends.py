from __future__ import annotations

from django.contrib.auth.backends import BaseBackend
from django.db import connection

from .models import User


class TenantUserBackend(BaseBackend):
    """Authenticates workspace users, and only inside a tenant schema: never on the public host."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if connection.schema_name == "public" or not isinstance(username, str) or password is None:
            return None
        user = User.objects.filter(email__iexact=username.strip()).first()
        if user is None:
            User().set_password(password)  # same work as a real check: no timing oracle
            return None
        if user.is_active and user.check_password(password):
            return user
        return None

    def get_user(self, user_id):
        if connection.schema_name == "public":
            return None
        return User.objects.filter(pk=user_id, is_active=True).first()
