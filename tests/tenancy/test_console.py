"""The platform console on the public host: platform admins manage tenants, and only tenants."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.db import connection

from accounts.tenancy.models import Tenant
from accounts.tenancy.services import platform_admin_create
from tests.conftest import PASSWORD, client_for, member

pytestmark = pytest.mark.django_db

ADMIN_EMAIL = "ops@tandem.example"


@pytest.fixture
def console(tenant_a):
    platform_admin_create(email=ADMIN_EMAIL, password=PASSWORD)
    client = client_for(None)
    response = client.post("/console/login/", {"username": ADMIN_EMAIL, "password": PASSWORD})
    assert response.status_code == 302
    return client


def test_console_lists_tenants(console):
    html = console.get("/console/").content.decode()
    assert "Alpha Corp" in html and "Beta Ltd" in html
    assert "Beta Ltd" not in console.get("/console/?q=alpha").content.decode()


def test_console_needs_a_platform_admin(tenant_a):
    client = client_for(None)
    assert client.get("/console/")["Location"].startswith("/console/login/")
    # a workspace user's credentials do not open the console
    response = client.post(
        "/console/login/", {"username": member("alpha", "admin").email, "password": PASSWORD}
    )
    assert response.status_code == 400
    assert client.get("/console/").status_code == 302


def test_platform_admin_cannot_sign_in_on_a_workspace(tenant_a):
    platform_admin_create(email=ADMIN_EMAIL, password=PASSWORD)
    response = client_for("alpha").post("/login/", {"username": ADMIN_EMAIL, "password": PASSWORD})
    assert response.status_code == 400
    connection.set_schema_to_public()


def test_console_session_means_nothing_on_a_workspace(console):
    cookie = console.cookies[settings.SESSION_COOKIE_NAME].value
    alpha = client_for("alpha")
    alpha.cookies[settings.SESSION_COOKIE_NAME] = cookie
    assert alpha.get("/").status_code == 302


def test_deactivating_a_tenant_makes_its_host_404_and_reactivating_restores_it(console, tenant_a):
    assert client_for("alpha").get("/login/").status_code == 200
    connection.set_schema_to_public()
    response = console.post(f"/console/tenants/{tenant_a.pk}/", {"action": "deactivate"})
    assert response.status_code == 302
    assert client_for("alpha").get("/login/").status_code == 404  # the cache was cleared on save
    connection.set_schema_to_public()
    console.post(f"/console/tenants/{tenant_a.pk}/", {"action": "activate"})
    assert client_for("alpha").get("/login/").status_code == 200


def test_retry_is_refused_for_a_ready_tenant(console, tenant_a):
    response = console.post(f"/console/tenants/{tenant_a.pk}/", {"action": "retry"}, follow=True)
    assert b"already set up" in response.content
    assert Tenant.objects.get(pk=tenant_a.pk).ready


def test_a_platform_admin_sets_the_api_plan_and_the_limits_follow(console, tenant_a, settings):
    from tests.conftest import api_client, api_key_for

    settings.TANDEM_API_PLANS = {
        "standard": {"key": 150, "workspace": 190, "daily": 1000},
        "enterprise": {"key": 400, "workspace": 500, "daily": 5000},
    }
    page = console.get(f"/console/tenants/{tenant_a.pk}/").content.decode()
    assert 'value="enterprise"' in page and '<option value="standard" selected>' in page
    response = console.post(f"/console/tenants/{tenant_a.pk}/", {"action": "plan", "plan": "enterprise"})
    assert response.status_code == 302 and Tenant.objects.get(pk=tenant_a.pk).plan == "enterprise"
    key = api_key_for("alpha", ["marketing:read"])
    answer = api_client("alpha", key).get("/api/v1/me/")  # this process's tenant cache was cleared on save
    connection.set_schema_to_public()
    assert answer["X-RateLimit-Limit"] == "400" and answer["X-RateLimit-Daily-Limit"] == "5000"
    refused = console.post(
        f"/console/tenants/{tenant_a.pk}/", {"action": "plan", "plan": "gold"}, follow=True
    )
    assert b"Choose one of: standard, enterprise" in refused.content
    assert Tenant.objects.get(pk=tenant_a.pk).plan == "enterprise"


def test_console_login_is_throttled(tenant_a, settings):
    settings.TANDEM_LOGIN_MAX_FAILURES_PER_ACCOUNT = 2
    platform_admin_create(email=ADMIN_EMAIL, password=PASSWORD)
    for _ in range(2):
        client_for(None).post("/console/login/", {"username": ADMIN_EMAIL, "password": "wrong"})
    response = client_for(None).post("/console/login/", {"username": ADMIN_EMAIL, "password": PASSWORD})
    assert response.status_code == 429
