"""New workspaces are copies of the template schema (accounts/tenancy/template.py): a copy must be what
Django's migrations build, and the template must never hold a workspace's data.

The template of the test database is built by Django's own migrations (``migrate`` at set-up runs the
executor, which migrates it with django-tenants' standard runner); alpha and beta were copied from it."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.utils import timezone

from accounts.tenancy import services, template
from accounts.tenancy.models import Tenant
from tests.tenancy.catalog import catalog, differences, rows

pytestmark = pytest.mark.django_db

# What migrations write into every schema (data migrations and post_migrate); nothing else, ever.
REFERENCE_TABLES = {
    "django_migrations",
    "django_content_type",
    "auth_permission",
    "marketing_mqlrule",
    "sales_pipeline",
    "sales_stage",
    "sales_lossreason",
    "sales_rejectionreason",
    "sales_salessettings",
    "alignment_businesscalendar",
    "alignment_slapolicy",
}


def test_the_template_is_built_by_migrations_and_current():
    # given the code's migrations
    graph = MigrationLoader(None, ignore_no_migrations=True).graph

    # then the template has every one applied, and none more
    assert template.template_is_current()
    assert set(catalog(template.template_schema())["migrations"]) == set(graph.nodes)


def test_a_copy_equals_the_schema_migrations_built(tenant_a):
    # given the template (migrated) and a fresh copy of it
    started = timezone.now()
    template.template_clone(schema_name="copycheck")

    # then PostgreSQL describes both alike: tables, columns (types, defaults, nullability), constraints
    # (foreign keys and checks), indexes, sequences and their owning columns, triggers (the audit log's
    # immutability), functions, views and the applied migrations
    built, copied = catalog(template.template_schema()), catalog("copycheck")
    assert differences(built, copied) == {}
    assert built["triggers"] and built["functions"] and built["sequences"]
    assert any("accounts_auditentry_immutable" in str(t) for t in copied["triggers"])
    assert any(c[2] == "f" for c in copied["constraints"]) and any(c[2] == "c" for c in copied["constraints"])
    # the same rows that migrations wrote, their times those of the copy (as migrating it now would give)
    assert rows("copycheck") == rows(template.template_schema())
    with connection.cursor() as cursor:
        cursor.execute('SELECT min(applied) FROM "copycheck".django_migrations')
        assert cursor.fetchone()[0] >= started - timezone.timedelta(seconds=1)
        cursor.execute('SELECT created_at FROM "copycheck".marketing_mqlrule')
        assert cursor.fetchone()[0] >= started - timezone.timedelta(seconds=1)
        # identity sequences start where the template's stand: the next user is number 1
        cursor.execute("SELECT nextval(pg_get_serial_sequence('\"copycheck\".accounts_user', 'id'))")
        assert cursor.fetchone()[0] == 1


def test_provisioned_workspaces_are_copies_with_their_own_data(tenant_a, tenant_b):
    # alpha was provisioned from the template: its structure is the template's
    assert differences(catalog(template.template_schema()), catalog(tenant_a.schema_name)) == {}

    # and the template holds only what migrations write, never a workspace's users or anything else
    held = rows(template.template_schema())
    assert set(held) <= REFERENCE_TABLES, set(held) - REFERENCE_TABLES
    assert "accounts_user" in rows(tenant_a.schema_name)


def test_provisioning_migrates_where_no_copy_can_be_made(monkeypatch):
    # given a machine without a usable pg_dump
    def unavailable(**kwargs):
        raise template.CloneUnavailable("no pg_dump here")

    migrated = []

    def create_schema(self, **kwargs):  # stands in for the (slow) migrations, recording the call
        migrated.append(self.schema_name)
        real_clone(schema_name=self.schema_name)

    real_clone = template.template_clone
    monkeypatch.setattr(services, "template_clone", unavailable)
    monkeypatch.setattr(Tenant, "create_schema", create_schema)

    # when a workspace is created
    tenant = services.tenant_create(
        slug="fallback", name="Fallback", admin_email="f@fallback.example", admin_password="A-long-pass-2026"
    )

    # then it was made by the migrations path, and is ready
    assert migrated == ["fallback"]
    assert tenant.ready and tenant.status == Tenant.Status.READY


def test_the_template_is_rebuilt_when_behind(monkeypatch):
    # given a template missing its latest migration record (as after a deploy with a new migration)
    name = template.template_schema()
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT app, name FROM "{name}".django_migrations ORDER BY id DESC LIMIT 1')  # noqa: S608
        app, last = cursor.fetchone()
        cursor.execute(f'DELETE FROM "{name}".django_migrations WHERE app = %s AND name = %s', [app, last])  # noqa: S608
    assert not template.template_is_current()
    ran = []
    monkeypatch.setattr(
        "django.core.management.call_command", lambda *args, **kwargs: ran.append((args, kwargs))
    )

    # when a copy is asked for, the template is migrated first (under the lock), by Django's runner
    assert template.template_ensure() is True
    assert ran and ran[0][0] == ("migrate_schemas",) and ran[0][1]["schema_name"] == name
    assert ran[0][1]["executor"] == "django"
