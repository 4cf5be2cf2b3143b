"""Guards for the rows of the shared tenancy table (../shared/tenancy.md) that the other tenancy tests do not
already name. docs/security.md maps every row to its test."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.core.cache import caches
from django.db import connection
from django_tenants.utils import schema_context

from accounts.models import User
from tests.conftest import PASSWORD, client_for, member
from tests.security.routes import all_routes

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


def test_tenant_code_runs_synchronously_under_wsgi():
    """Threads and async code run in ``public`` (django-tenants #632, #1168): no view of either URLconf is
    async, the project serves WSGI only, and no view module starts a thread pool."""
    assert not hasattr(settings, "ASGI_APPLICATION")
    assert not (ROOT / "config" / "asgi.py").exists()
    views = [
        r.callback
        for urlconf in (settings.ROOT_URLCONF, settings.PUBLIC_SCHEMA_URLCONF)
        for r in all_routes(urlconf)
    ]
    assert len(views) > 150
    for view in views:
        view_class = getattr(view, "view_class", None) or getattr(view, "cls", None)
        assert not inspect.iscoroutinefunction(view), view
        assert not getattr(view_class, "view_is_async", False), view_class
    for app in ("accounts", "marketing", "sales", "alignment", "config"):
        for path in (ROOT / app).rglob("*.py"):
            text = path.read_text()
            assert "ThreadPoolExecutor" not in text and "async def " not in text, path


def test_a_cached_value_and_a_throttle_count_of_one_tenant_mean_nothing_on_another(tenant_a, tenant_b):
    """Cache keys per tenant (django-tenants #599, #1052), checked by behaviour on every alias: the same key
    set in alpha is a miss in beta; failed logins counted on alpha do not lock the same address on beta."""
    for alias in settings.CACHES:
        cache = caches[alias]
        with schema_context("alpha"):
            cache.set("greeting", "alpha's")
        with schema_context("beta"):
            assert cache.get("greeting") is None, alias
            cache.set("greeting", "beta's")
        with schema_context("alpha"):
            assert cache.get("greeting") == "alpha's", alias
    # the throttle: alpha's limit of failures for one address is reached ...
    alpha = client_for("alpha")
    for n in range(settings.TANDEM_LOGIN_MAX_FAILURES_PER_ADDRESS):  # (each account has a lower limit)
        alpha.post("/login/", {"username": f"nobody{n}@alpha.example", "password": "wrong-password-1"})
    connection.set_schema_to_public()
    blocked = alpha.post("/login/", {"username": member("alpha", "sales").email, "password": PASSWORD})
    assert blocked.status_code != 302  # locked out on alpha, even with the right password
    connection.set_schema_to_public()
    # ... and the same address signs in on beta
    beta = client_for("beta").post(
        "/login/", {"username": member("beta", "sales").email, "password": PASSWORD}
    )
    assert beta.status_code == 302


def test_content_types_are_the_same_in_every_schema_and_nothing_points_at_them(tenant_a, tenant_b):
    """The ContentType cache is per process, not per schema (django-tenants #232, #348, #482). Decision:
    ``contenttypes`` lives in every schema, its ids are the same everywhere (every schema is migrated the
    same way), and no model holds a generic foreign key, so a cached id can never point into another
    tenant's rows."""
    from django.contrib.contenttypes.models import ContentType

    mappings = []
    for slug in ("alpha", "beta"):
        with schema_context(slug):
            mappings.append(
                {
                    (app, model): pk
                    for pk, app, model in ContentType.objects.values_list("id", "app_label", "model")
                }
            )
    assert mappings[0] == mappings[1] and len(mappings[0]) > 50
    for model in apps.get_models():
        if model._meta.app_label in ("accounts", "marketing", "sales", "alignment", "tenancy"):
            assert not [f for f in model._meta.private_fields if isinstance(f, GenericForeignKey)], model
            assert not [
                f for f in model._meta.concrete_fields if f.is_relation and f.related_model is ContentType
            ], model


def test_there_is_no_tenant_admin_and_the_console_lives_on_the_public_host_only(tenant_a):
    """Tenant admin showing shared models (django-tenant-schemas #642): Django's admin is not installed; the
    platform console (tenants, domains) is on the bare domain and a 404 on a workspace host."""
    assert "django.contrib.admin" not in settings.INSTALLED_APPS
    assert client_for("alpha").get("/console/").status_code == 404
    assert client_for("alpha").get("/admin/").status_code == 404
    connection.set_schema_to_public()
    assert client_for(None).get("/console/").status_code in (200, 302)


def test_a_server_side_cursor_reads_the_schema_it_was_opened_in(tenant_a, tenant_b):
    """``.iterator()`` opens a named cursor, which cannot carry ``SET search_path`` (django-tenants PR #1245).
    The first query after each switch is a server-side cursor here, so a missing path shows up as the
    previous tenant's rows."""
    for slug in ("alpha", "beta", "alpha"):
        connection.set_schema(slug)
        emails = [u.email for u in User.objects.order_by("pk").iterator(chunk_size=2)]
        assert emails and all(email.endswith(f"@{slug}.example") for email in emails), (slug, emails)
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_schema()")
            assert cursor.fetchone()[0] == slug
    connection.set_schema_to_public()


def test_deployment_requires_session_pooling():
    """Transaction pooling loses ``SET search_path`` (django-tenants #545, #732, #1112): the deployment guide
    says session pooling only and shows the PgBouncer setting."""
    text = (ROOT / "docs" / "deployment.md").read_text()
    assert "**Session pooling only.**" in text
    assert "pool_mode = session" in text
