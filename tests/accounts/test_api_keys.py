"""API keys: hashed, shown once, prefix visible, scopes, expiry, revocation and last use."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from django_tenants.utils import schema_context

from accounts.models import ApiKey
from accounts.services import api_key_create
from tests.conftest import api_client, login

pytestmark = pytest.mark.django_db


def test_admin_creates_a_key_sees_it_once_and_its_prefix_in_the_list(tenant_a):
    admin = login("alpha", "admin")
    response = admin.post("/settings/api-keys/", {"name": "Agency sync", "scopes": ["marketing:write"]})
    assert response.status_code == 302
    page = admin.get("/settings/api-keys/").content.decode()
    with schema_context("alpha"):
        key = ApiKey.objects.get(name="Agency sync")
    secret = page.split('id="new-key-secret">')[1].split("<")[0]
    assert secret.startswith(key.prefix + "_")
    assert key.key_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in key.key_hash and key.scopes == ["marketing:read", "marketing:write"]
    assert key.prefix in page
    connection.set_schema_to_public()
    # shown once: the next visit shows the prefix but not the secret
    again = admin.get("/settings/api-keys/").content.decode()
    assert secret not in again and key.prefix in again
    connection.set_schema_to_public()
    assert api_client("alpha", secret).get("/api/v1/me/").json()["scopes"] == [
        "marketing:read",
        "marketing:write",
    ]


def test_key_form_errors(tenant_a):
    admin = login("alpha", "admin")
    response = admin.post("/settings/api-keys/", {"name": "", "scopes": ["root:all"]})
    assert response.status_code == 400
    assert {"name", "scopes"} <= set(response.context["form"].errors)
    past = admin.post("/settings/api-keys/", {"name": "x", "scopes": ["sales:read"], "expires": "2001-01-01"})
    assert past.status_code == 400 and "expires" in past.context["form"].errors


def test_revoked_and_expired_keys_get_401(tenant_a):
    with schema_context("alpha"):
        revoked, revoked_secret = api_key_create(name="r", scopes=["admin:read"], created_by=None)
        expired, expired_secret = api_key_create(
            name="e", scopes=["admin:read"], created_by=None, expires=timezone.now() + dt.timedelta(days=1)
        )
        ApiKey.objects.filter(pk=expired.pk).update(expires=timezone.now() - dt.timedelta(seconds=1))
    assert api_client("alpha", revoked_secret).get("/api/v1/users/").status_code == 200
    admin = login("alpha", "admin")
    assert admin.post(f"/settings/api-keys/{revoked.pk}/revoke/").status_code == 302
    connection.set_schema_to_public()
    assert api_client("alpha", revoked_secret).get("/api/v1/users/").status_code == 401
    assert api_client("alpha", expired_secret).get("/api/v1/users/").status_code == 401


def test_last_used_is_recorded_at_most_once_a_minute(tenant_a, django_assert_num_queries):
    with schema_context("alpha"):
        key, secret = api_key_create(name="u", scopes=["admin:read"], created_by=None)
        assert key.last_used is None
    api_client("alpha", secret).get("/api/v1/me/")
    with schema_context("alpha"):
        first = ApiKey.objects.get(pk=key.pk).last_used
    assert first is not None
    api_client("alpha", secret).get("/api/v1/me/")
    with schema_context("alpha"):
        assert ApiKey.objects.get(pk=key.pk).last_used == first


def test_create_api_key_command_prints_a_working_key(tenant_a, capsys):
    call_command("create_api_key", tenant="alpha", name="cli", scopes=["sales:read", "marketing:read"])
    secret = capsys.readouterr().out.strip()
    body = api_client("alpha", secret).get("/api/v1/me/").json()
    assert body["kind"] == "api_key" and body["scopes"] == ["marketing:read", "sales:read"]


def test_create_api_key_command_refuses_unknown_scopes_and_tenants(tenant_a):
    from django.core.management import CommandError

    with pytest.raises(CommandError, match="Unknown scope"):
        call_command("create_api_key", tenant="alpha", name="cli", scopes=["everything"])
    with pytest.raises(CommandError, match="No ready workspace"):
        call_command("create_api_key", tenant="nowhere", name="cli", scopes=["sales:read"])
