"""Migration executor for ``migrate_schemas``: only the schemas that are behind are migrated.

The stock executor runs Django's whole ``migrate`` command in every schema: a new loader and graph, a
project state rebuilt from every migration, one schema after another (about 85 ms per schema with
nothing to apply). Here:

- the applied migrations of every workspace schema are read in a few queries (one ``UNION ALL`` per 200
  schemas) and compared with the migration graph; a schema that has them all is skipped;
- schemas behind by the same migrations share one plan and one rendered project state, computed once;
  each schema gets a copy of it and runs the plan in one transaction of its own (migrations, their
  records and the content types and permissions of ``post_migrate``, sent for the apps whose migrations
  ran), so a failure leaves that schema as it was and the others migrated;
- the schemas run in up to ``TANDEM_MIGRATION_WORKERS`` forked processes (by default one per core);
- every failure is reported (schema, migration, error) and the command exits non-zero; running it again
  migrates what is still behind.

The template schema (``template.py``) is brought up to date first, by Django's own runner. Workspaces
whose schema does not exist yet are skipped (their provisioning task creates them). Anything but a plain
forward run (a target migration, ``--fake``, ``--plan``, ``--check``, ``--prune``, squashed migrations
half applied) goes to django-tenants' standard executor, as before.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import time
from contextlib import nullcontext, suppress
from dataclasses import dataclass, field

from django.apps import apps as global_apps
from django.conf import settings
from django.core.management.base import CommandError
from django.core.management.sql import emit_pre_migrate_signal
from django.db import connection, connections, transaction
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder
from django.db.models.signals import post_migrate
from django_tenants.migration_executors import get_executor as stock_get_executor
from django_tenants.migration_executors.standard import StandardExecutor

Key = tuple[str, str]
CHUNK = 200
# Options under which a run is something other than "bring every schema forward to the code".
_SPECIAL = ("app_label", "migration_name", "fake", "fake_initial", "plan", "prune", "check_unapplied")


def existing_schemas() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT nspname FROM pg_namespace")
        return {row[0] for row in cursor.fetchall()}


def migration_graph() -> MigrationLoader:
    """The code's migrations (read from disk, not from any schema)."""
    return MigrationLoader(None, ignore_no_migrations=True)


def applied_migrations(schemas: list[str]) -> dict[str, set[Key] | None]:
    """Each schema's applied migrations; None for a schema without a ``django_migrations`` table."""
    connection.set_schema_to_public()
    result: dict[str, set[Key] | None] = dict.fromkeys(schemas)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relname = 'django_migrations' AND c.relkind = 'r' AND n.nspname = ANY(%s)",
            [list(schemas)],
        )
        recorded = sorted(row[0] for row in cursor.fetchall())
        for start in range(0, len(recorded), CHUNK):
            chunk = recorded[start : start + CHUNK]
            quote = connection.ops.quote_name
            parts = [f"SELECT %s, app, name FROM {quote(s)}.django_migrations" for s in chunk]  # noqa: S608
            cursor.execute(" UNION ALL ".join(parts), chunk)
            for schema in chunk:
                result[schema] = set()
            for schema, app, name in cursor.fetchall():
                result[schema].add((app, name))
    return result


def is_up_to_date(applied: set[Key], loader: MigrationLoader) -> bool:
    """Every migration of the graph is applied (a squashed one counts when all it replaces are)."""
    for key in loader.graph.nodes:
        if key in applied:
            continue
        replaces = loader.replacements.get(key)
        if not (replaces and all(old in applied for old in replaces.replaces)):
            return False
    return True


def _inconsistent(applied: set[Key], loader: MigrationLoader) -> str | None:
    """Django's consistency check on a set: an applied migration whose dependency is not applied."""
    for key in applied:
        if key not in loader.graph.nodes:
            continue
        for parent in loader.graph.node_map[key].parents:
            if parent.key not in applied and parent.key not in loader.replacements:
                return f"{key[0]}.{key[1]} is applied before its dependency {parent.key[0]}.{parent.key[1]}"
    return None


class _SharedLoaderExecutor(MigrationExecutor):
    """Django's executor on a loader built once, instead of a new one per schema."""

    def __init__(self, loader: MigrationLoader, progress_callback=None):
        self.connection = connection
        self.loader = loader
        self.recorder = MigrationRecorder(connection)
        self.progress_callback = progress_callback


@dataclass
class _Group:
    """Schemas that have the same migrations applied: one plan and one rendered state for all of them."""

    plan: list
    state: object
    atomic: bool


@dataclass
class MigrationReport:
    up_to_date: int = 0
    migrated: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0


# Set before the worker processes fork, so that they inherit it rather than receive it pickled.
_RUN: dict = {}


def _migrate_schema(schema: str) -> tuple[str, str | None, int]:
    """Migrate one schema in one transaction; (schema, failure or None, migrations applied)."""
    loader, group = _RUN["loader"], _RUN["groups"][_RUN["group_of"][schema]]
    current: dict = {"migration": None}

    def progress(action, migration=None, fake=False):
        if action == "apply_start":
            current["migration"] = migration

    try:
        problem = _RUN["inconsistent"].get(schema)
        if problem:
            raise CommandError(f"inconsistent migration history: {problem}")
        executor = _SharedLoaderExecutor(loader, progress)
        if _RUN["has_table"].get(schema):
            executor.recorder._has_table = True  # read with the applied migrations: no introspection
        else:
            # the table first, in this schema only (with public on the path, public's own table would do)
            connection.set_schema(schema, include_public=False)
            MigrationRecorder(connection).ensure_schema()
        connection.set_schema(schema)
        with transaction.atomic() if group.atomic else nullcontext():
            executor.migrate(_RUN["targets"], plan=group.plan, state=group.state.clone())
            _post_migrate(group.plan)
    except Exception as exc:  # noqa: BLE001 - reported per schema; the others go on
        migration = current["migration"]
        where = f"{migration.app_label}.{migration.name}" if migration else "before any migration"
        return schema, f"{where}: {type(exc).__name__}: {exc}".strip(), 0
    finally:
        with suppress(Exception):  # a broken connection: the next schema reconnects
            connection.set_schema_to_public()
    return schema, None, len(group.plan)


def _post_migrate(plan: list) -> None:
    """``post_migrate`` as Django's migrate command sends it, for the apps whose migrations ran.

    Its receivers here (content types, permissions) change only for models of those apps; sending it for
    every app cost some 50 queries per schema. The real models are the state after a full forward run
    (``makemigrations --check`` keeps them equal).
    """
    labels = {migration.app_label for migration, _ in plan}
    for app_config in global_apps.get_app_configs():
        if app_config.models_module is None or app_config.label not in labels:
            continue
        post_migrate.send(
            sender=app_config, app_config=app_config, verbosity=0, interactive=False,
            using=connection.alias, apps=global_apps, plan=plan,
        )  # fmt: skip


def _workers(count: int) -> int:
    configured = getattr(settings, "TANDEM_MIGRATION_WORKERS", None) or os.cpu_count() or 1
    if connection.in_atomic_block or "fork" not in multiprocessing.get_all_start_methods():
        return 1  # a test's transaction, or no fork: in this process
    return max(1, min(int(configured), count))


def migrate_tenant_schemas(schemas: list[str], *, verbosity: int = 1, stdout=None) -> MigrationReport:
    """Bring every schema in ``schemas`` up to the code's migrations; failures are in the report."""
    out = stdout or sys.stdout
    started = time.monotonic()
    report = MigrationReport()
    loader = migration_graph()
    applied = applied_migrations(schemas)
    behind = [s for s in schemas if applied[s] is None or not is_up_to_date(applied[s], loader)]
    report.up_to_date = len(schemas) - len(behind)
    if verbosity >= 1:
        out.write(f"{len(schemas)} schemas: {report.up_to_date} up to date, {len(behind)} to migrate.\n")
    if not behind:
        report.seconds = time.monotonic() - started
        return report

    targets = loader.graph.leaf_nodes()
    groups: dict[frozenset, _Group] = {}
    group_of: dict[str, frozenset] = {}
    inconsistent: dict[str, str] = {}
    for schema in behind:
        done = frozenset(applied[schema] or ())
        group_of[schema] = done
        if problem := _inconsistent(set(done), loader):
            inconsistent[schema] = problem
        if done not in groups:
            nodes = loader.graph.nodes
            loader.applied_migrations = {key: nodes[key] for key in done if key in nodes}
            planner = _SharedLoaderExecutor(loader)
            plan = planner.migration_plan(targets)
            state = planner._create_project_state(with_applied_migrations=True)
            if plan:
                state.apps  # noqa: B018 - render once here, not in every schema
            groups[done] = _Group(plan=plan, state=state, atomic=all(m.atomic for m, _ in plan))
    loader.applied_migrations = {}
    union = list({id(m): (m, b) for g in groups.values() for m, b in g.plan}.values())
    # once: its receiver (content type renames) adds operations to the shared migration objects
    emit_pre_migrate_signal(0, False, connection.alias, apps=global_apps, plan=union)
    has_table = {schema: applied[schema] is not None for schema in behind}
    _RUN.update(
        loader=loader, groups=groups, group_of=group_of, targets=targets, inconsistent=inconsistent,
        has_table=has_table,
    )  # fmt: skip

    workers = _workers(len(behind))
    try:
        if workers == 1:
            results = map(_migrate_schema, behind)
            for result in results:
                _record(result, report, out, verbosity)
        else:
            connections.close_all()  # the children open their own
            context = multiprocessing.get_context("fork")
            pool = context.Pool(workers)
            try:
                chunksize = max(1, len(behind) // (workers * 16))
                for result in pool.imap_unordered(_migrate_schema, behind, chunksize=chunksize):
                    _record(result, report, out, verbosity)
            except BaseException:
                pool.terminate()
                raise
            else:
                pool.close()  # the workers exit on their own, closing their connections
            finally:
                pool.join()
    finally:
        _RUN.clear()
    report.seconds = time.monotonic() - started
    if verbosity >= 1:
        out.write(
            f"Migrated {len(report.migrated)} schemas, {len(report.failed)} failed, "
            f"in {report.seconds:.1f} s ({workers} processes).\n"
        )
    return report


def _record(result: tuple[str, str | None, int], report: MigrationReport, out, verbosity: int) -> None:
    schema, failure, count = result
    if failure:
        report.failed[schema] = failure
        out.write(f"[{schema}] FAILED, left as it was: {failure}\n")
    else:
        report.migrated.append(schema)
        if verbosity >= 2:
            out.write(f"[{schema}] applied {count} migrations\n")


class TandemExecutor(StandardExecutor):
    codename = "tandem"

    def _plain_forward_run(self) -> bool:
        return not (self.args or any(self.options.get(name) for name in _SPECIAL))

    def run_migrations(self, tenants=None):
        tenants = list(tenants or [])
        if self.PUBLIC_SCHEMA_NAME in tenants:
            super().run_migrations(tenants=[self.PUBLIC_SCHEMA_NAME])
            tenants.remove(self.PUBLIC_SCHEMA_NAME)
        present = existing_schemas()
        tenants = [name for name in tenants if name in present]
        if not self._plain_forward_run() or migration_graph().replacements:
            return super().run_migrations(tenants=tenants)
        from .template import template_ensure, template_schema

        verbosity = int(self.options.get("verbosity", 1))
        if not self.options.get("schema_name") and not self.options.get("shared"):
            template_ensure(verbosity=max(0, verbosity - 1))
        if not tenants:
            return None
        report = migrate_tenant_schemas(
            [name for name in tenants if name != template_schema()], verbosity=verbosity
        )
        if report.failed:
            lines = [f"  {schema}: {failure}" for schema, failure in sorted(report.failed.items())]
            raise CommandError(
                f"{len(report.failed)} of {len(tenants)} schemas failed to migrate and were left as they "
                "were; the others are migrated. Fix the cause and run migrate_schemas again:\n"
                + "\n".join(lines)
            )
        return None


def get_executor(codename=None):
    if codename in (None, "standard", "tandem"):
        return TandemExecutor
    if codename == "django":  # Django's own migrate command per schema (the template is built by it)
        return StandardExecutor
    return stock_get_executor(codename)
