"""Host resolution: the in-process cache, its invalidation, and the states a tenant can be in."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.tenancy import cache as tenant_cache
from accounts.tenancy.models import Domain, Tenant
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def test_host_lookup_is_cached_in_process(tenant_a):
    client = client_for("alpha")
    with CaptureQueriesContext(connection) as first:
        client.get("/login/")
    connection.set_schema_to_public()
    with CaptureQueriesContext(connection) as second:
        client.get("/login/")
    lookups = [q for q in first.captured_queries if "tenancy_domain" in q["sql"]]
    assert len(lookups) == 1
    assert not [q for q in second.captured_queries if "tenancy_domain" in q["sql"]]


def test_cache_is_invalidated_when_a_domain_changes(tenant_a):
    assert client_for("alpha").get("/login/").status_code == 200
    connection.set_schema_to_public()
    Domain.objects.create(domain="alpha-alias.localhost", tenant=tenant_a, is_primary=False)
    assert client_for("alpha-alias").get("/login/").status_code == 200
    connection.set_schema_to_public()
    Domain.objects.filter(domain="alpha-alias.localhost").delete()
    assert client_for("alpha-alias").get("/login/").status_code == 404


def test_cache_is_invalidated_when_a_tenant_is_deactivated(tenant_a):
    assert client_for("alpha").get("/login/").status_code == 200
    connection.set_schema_to_public()
    tenant_a.is_active = False
    tenant_a.save(update_fields=["is_active"])
    assert client_for("alpha").get("/login/").status_code == 404


def test_cached_entries_expire(tenant_a, settings, monkeypatch):
    import time

    settings.TANDEM_TENANT_CACHE_SECONDS = 30
    assert tenant_cache.tenant_for_host("alpha.localhost") is not None
    Tenant.objects.filter(pk=tenant_a.pk).update(is_active=False)  # no signal: another process did it
    assert tenant_cache.tenant_for_host("alpha.localhost").is_active  # still cached
    now = time.monotonic()
    monkeypatch.setattr(time, "monotonic", lambda: now + 31)
    assert not tenant_cache.tenant_for_host("alpha.localhost").is_active


def test_tenant_not_ready_answers_503_and_failed_says_so(tenant_a):
    tenant = Tenant(name="Zeta", slug="zeta")
    tenant.save()
    Domain.objects.create(domain="zeta.localhost", tenant=tenant, is_primary=True)
    response = client_for("zeta").get("/")
    assert response.status_code == 503 and response["Retry-After"] == "5"
    assert b"being set up" in response.content
    Tenant.objects.filter(pk=tenant.pk).update(status=Tenant.Status.FAILED)
    tenant_cache.clear()
    assert b"failed" in client_for("zeta").get("/").content
    api = client_for("zeta").get("/api/v1/users/")
    assert api.status_code == 503 and api.json()["error"]["code"] == "unavailable"


def test_limit_set_calls_is_on(settings):
    assert settings.TENANT_LIMIT_SET_CALLS is True
    assert settings.SHOW_PUBLIC_IF_NO_TENANT_FOUND is False
