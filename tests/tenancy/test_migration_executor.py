"""The migrate_schemas executor (accounts/tenancy/migration.py): only schemas that are behind are
migrated, each in a transaction of its own; one schema's failure leaves it as it was and the others
migrated, is reported with its schema and migration, and a second run finishes the rest.

Schemas behind the code are copies of the template with their last accounts migration undone the way
Django undoes it (its reverse SQL, its record deleted); the template is what Django's own runner built,
so a schema the executor migrated must equal it."""

from __future__ import annotations

import importlib

import pytest
from django.core.management.base import CommandError
from django.db import connection

from accounts.tenancy import migration, template
from tests.tenancy.catalog import catalog, differences

pytestmark = pytest.mark.django_db

LAST = ("accounts", "0005_audit_rewrite_changes")
BEHIND = ["behind_one", "behind_two", "behind_three"]


def _undo_last_accounts_migration(schema: str) -> None:
    module = importlib.import_module(f"{LAST[0]}.migrations.{LAST[1]}")
    connection.set_schema(schema)
    with connection.cursor() as cursor:
        cursor.execute(module.ALLOW_LABEL)
        cursor.execute("DELETE FROM django_migrations WHERE app = %s AND name = %s", list(LAST))
    connection.set_schema_to_public()


@pytest.fixture
def behind(tenant_a, tenant_b):
    for schema in BEHIND:
        template.template_clone(schema_name=schema)
        _undo_last_accounts_migration(schema)
    return BEHIND


def _applied(schema: str) -> bool:
    return LAST in migration.applied_migrations([schema])[schema]


def test_only_schemas_behind_are_migrated_and_end_as_django_builds_them(behind, tenant_a, tenant_b):
    # given two current workspaces and three schemas one migration behind
    schemas = [tenant_a.schema_name, tenant_b.schema_name, *behind]
    assert differences(catalog(template.template_schema()), catalog("behind_one"))  # really behind

    # when the executor runs over all five
    report = migration.migrate_tenant_schemas(schemas, verbosity=0)

    # then exactly the three behind were migrated (the current two not even opened) ...
    assert sorted(report.migrated) == sorted(behind)
    assert report.up_to_date == 2 and report.failed == {}
    # ... and each now equals the template, which Django's own migrate command built
    for schema in behind:
        assert differences(catalog(template.template_schema()), catalog(schema)) == {}

    # and a second run has nothing to do
    again = migration.migrate_tenant_schemas(schemas, verbosity=0)
    assert again.migrated == [] and again.up_to_date == 5


def test_a_failing_schema_is_left_as_it_was_reported_and_finished_by_a_second_run(behind, tenant_a):
    # given the middle schema refuses the migration's record (after its SQL has run)
    with connection.cursor() as cursor:
        cursor.execute(
            'ALTER TABLE "behind_two".django_migrations ADD CONSTRAINT refuse_0005 '
            "CHECK (name <> '0005_audit_rewrite_changes')"
        )
        cursor.execute("SELECT pg_get_functiondef('\"behind_two\".tandem_audit_immutable'::regproc)")
        before = cursor.fetchone()[0]
    executor = migration.TandemExecutor(args=[], options={"verbosity": 0, "schema_name": "x"})

    # when migrate_schemas runs over them
    with pytest.raises(CommandError) as failure:
        executor.run_migrations(tenants=[tenant_a.schema_name, *behind])

    # then the error names the schema, the migration and the cause, and says what to do
    message = str(failure.value)
    assert "1 of 4 schemas failed" in message
    assert "behind_two: accounts.0005_audit_rewrite_changes: IntegrityError" in message
    assert "refuse_0005" in message and "run migrate_schemas again" in message
    # the others are migrated; the failed one is as it was: no record, and its function not replaced
    assert _applied("behind_one") and _applied("behind_three") and not _applied("behind_two")
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_get_functiondef('\"behind_two\".tandem_audit_immutable'::regproc)")
        assert cursor.fetchone()[0] == before

    # when the cause is removed and it runs again, it finishes the one left, and only that one
    with connection.cursor() as cursor:
        cursor.execute('ALTER TABLE "behind_two".django_migrations DROP CONSTRAINT refuse_0005')
    report = migration.migrate_tenant_schemas([tenant_a.schema_name, *behind], verbosity=0)
    assert report.migrated == ["behind_two"] and report.up_to_date == 3 and report.failed == {}
    assert differences(catalog(template.template_schema()), catalog("behind_two")) == {}


def test_schemas_without_a_migrations_table_are_migrated_from_the_start(tenant_a):
    # an empty schema (a workspace whose set-up stopped before anything ran) counts as behind
    with connection.cursor() as cursor:
        cursor.execute('CREATE SCHEMA "empty_one"')
    applied = migration.applied_migrations([tenant_a.schema_name, "empty_one"])
    assert applied["empty_one"] is None
    assert migration.is_up_to_date(applied[tenant_a.schema_name], migration.migration_graph())


def test_other_runs_go_to_the_standard_executor(monkeypatch):
    ran = []
    monkeypatch.setattr(
        migration.StandardExecutor, "run_migrations", lambda self, tenants=None: ran.append(tenants)
    )
    monkeypatch.setattr(migration, "migrate_tenant_schemas", lambda *a, **k: pytest.fail("fast path"))
    executor = migration.TandemExecutor(args=[], options={"verbosity": 0, "fake": True})
    executor.run_migrations(tenants=["alpha"])
    assert ran == [["alpha"]]
