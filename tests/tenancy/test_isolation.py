"""Tenant A's session, key and rows mean nothing on tenant B; unknown hosts are 404 everywhere."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import connection
from django.test import Client
from django_tenants.utils import schema_context

from accounts.models import User
from accounts.services import user_create
from tests.conftest import api_client, api_key_for, client_for, host_of, login

pytestmark = pytest.mark.django_db


def test_session_cookie_of_a_replayed_on_b_is_not_logged_in(tenant_a, tenant_b):
    # given alice is logged in on alpha
    alpha = login("alpha", "admin")
    cookie = alpha.cookies[settings.SESSION_COOKIE_NAME].value
    assert alpha.get("/").status_code == 200
    # when the same cookie is sent to beta's host
    beta = client_for("beta")
    beta.cookies[settings.SESSION_COOKIE_NAME] = cookie
    response = beta.get("/")
    # then beta sends it to its login page
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")
    assert beta.get("/settings/users/").status_code == 302


def test_session_bound_to_another_schema_is_rejected_by_the_tenant_guard(tenant_a, tenant_b):
    """Second wall: a session row that is valid in every other respect (user, auth hash) but was
    made in another schema is emptied before authentication reads it."""
    from accounts.services import SESSION_TENANT_KEY

    beta = login("beta", "admin")
    assert beta.get("/").status_code == 200
    key = beta.cookies[settings.SESSION_COOKIE_NAME].value
    with schema_context("beta"):
        store = Session.get_session_store_class()(session_key=key)
        assert store[SESSION_TENANT_KEY] == "beta"
        store[SESSION_TENANT_KEY] = "alpha"
        store.save()
    response = beta.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_session_cookies_are_host_only(tenant_a):
    alpha = login("alpha", "admin")
    morsel = alpha.cookies[settings.SESSION_COOKIE_NAME]
    assert morsel["domain"] == ""
    assert morsel["httponly"]
    assert alpha.cookies[settings.CSRF_COOKIE_NAME]["domain"] == ""


def test_api_key_of_a_on_b_gets_401(tenant_a, tenant_b):
    key = api_key_for("alpha", ["admin:read"])
    assert api_client("alpha", key).get("/api/v1/users/").status_code == 200
    response = api_client("beta", key).get("/api/v1/users/")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/login/",
        "/signup/",
        "/api/v1/users/",
        "/api/schema/",
        "/healthz",
        "/static/css/tandem.css",
        "/console/",
        "/settings/users/",
        "/nonexistent",
    ],
)
@pytest.mark.parametrize("host", ["unknown.localhost", "alpha.localhost.evil.com", "evil.com", "127.0.0.1"])
def test_unknown_host_is_404_on_every_route(tenant_a, host, path):
    response = Client(HTTP_HOST=host).get(path)
    assert response.status_code == 404


def test_rows_of_a_are_invisible_on_b(tenant_a, tenant_b):
    with schema_context("alpha"):
        canary = user_create(email="canary-alpha@alpha.example", full_name="Canary Alpha", roles=["sales"])
    # portal list and detail on beta
    beta = login("beta", "admin")
    listing = beta.get("/settings/users/?q=canary")
    assert listing.status_code == 200
    assert b"canary-alpha" not in listing.content
    with schema_context("beta"):
        assert not User.objects.filter(pk=canary.pk, email=canary.email).exists()
    assert beta.get(f"/settings/users/{canary.pk + 1000}/").status_code == 404
    # API list and detail on beta
    key = api_key_for("beta", ["admin:read"])
    body = api_client("beta", key).get("/api/v1/users/?search=canary").json()
    assert body["results"] == []
    assert api_client("beta", key).get(f"/api/v1/users/{canary.pk + 1000}/").status_code == 404
    # and alpha sees it
    alpha_key = api_key_for("alpha", ["admin:read"])
    emails = [
        u["email"]
        for u in api_client("alpha", alpha_key).get("/api/v1/users/?search=canary").json()["results"]
    ]
    assert emails == ["canary-alpha@alpha.example"]


def test_foreign_object_is_the_same_404_as_a_missing_one(tenant_a, tenant_b):
    with schema_context("alpha"):
        alpha_user = User.objects.order_by("-pk").first()
    beta = login("beta", "admin")
    foreign = beta.get(f"/settings/users/{alpha_user.pk}/")
    missing = beta.get("/settings/users/999999/")
    with schema_context("beta"):
        assert not User.objects.filter(email=alpha_user.email).exists()
    assert missing.status_code == 404
    # alpha's largest pk may coincide with a beta user's pk: then it is beta's own user, not alpha's
    if foreign.status_code == 200:
        assert alpha_user.email.encode() not in foreign.content
    else:
        assert foreign.status_code == 404


def _tables(schema: str) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = %s", [schema])
        return {row[0] for row in cursor.fetchall()}


def test_no_tenant_table_exists_in_public(tenant_a):
    from django.apps import apps

    tenant_only = {app for app in settings.TENANT_APPS if app not in settings.SHARED_APPS}
    tenant_tables = {
        model._meta.db_table
        for model in apps.get_models(include_auto_created=True)
        if model._meta.app_config.name in tenant_only
    }
    assert "accounts_user" in tenant_tables
    assert tenant_tables & _tables("public") == set()
    assert tenant_tables <= _tables("alpha")


def test_tenant_schemas_hold_no_shared_only_table(tenant_a):
    from django.apps import apps

    shared_only = {app for app in settings.SHARED_APPS if app not in settings.TENANT_APPS}
    shared_tables = {
        model._meta.db_table
        for model in apps.get_models(include_auto_created=True)
        if model._meta.app_config.name in shared_only
    }
    assert "tenancy_tenant" in shared_tables
    assert shared_tables & _tables("alpha") == set()
    assert shared_tables <= _tables("public")


def test_requests_run_in_the_schema_postgres_reports(tenant_a, tenant_b):
    """Ask PostgreSQL itself, not only the rows: after a request the connection sits in its tenant."""
    for slug in ("alpha", "beta", "alpha"):
        client_for(slug).get("/login/")
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_schema()")
            assert cursor.fetchone()[0] == slug


def test_rolled_back_search_path_is_set_again(tenant_a, tenant_b):
    """A SET search_path inside a rolled-back transaction is undone by PostgreSQL; the backend must
    not trust its cached path afterwards (TENANT_LIMIT_SET_CALLS is on)."""
    from django.db import transaction

    assert settings.TENANT_LIMIT_SET_CALLS is True
    connection.set_schema("beta")
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")  # search_path = beta, set outside the inner transaction
    connection.set_schema("alpha")
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SELECT current_schema()")  # SET search_path = alpha inside the savepoint
                assert cursor.fetchone()[0] == "alpha"
            raise RuntimeError("roll back")
    except RuntimeError:
        pass
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_schema()")
        assert cursor.fetchone()[0] == "alpha"


def test_host_matching_ignores_case_and_trailing_dot(tenant_a):
    assert Client(HTTP_HOST=host_of("alpha").upper()).get("/login/").status_code == 200


def test_content_types_are_the_same_in_every_tenant_schema(tenant_a, tenant_b):
    """contenttypes lives in every schema (decision in docs/architecture.md). The per-process
    ContentType cache is shared across schemas, so ids must agree between tenants, and a schema
    switch must clear it (django-tenants #232, #348, #482)."""
    from django.contrib.contenttypes.models import ContentType

    def mapping(schema: str) -> dict[tuple[str, str], int]:
        with schema_context(schema):
            return {(ct.app_label, ct.model): ct.pk for ct in ContentType.objects.all()}

    alpha, beta = mapping("alpha"), mapping("beta")
    assert ("accounts", "user") in alpha
    assert alpha == beta
    with schema_context("alpha"):
        ContentType.objects.get_for_model(User)
        assert ContentType.objects._cache
    with schema_context("beta"):
        assert not ContentType.objects._cache.get(connection.alias)
