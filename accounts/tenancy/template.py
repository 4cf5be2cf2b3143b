"""The template schema: new workspaces are copies of it instead of running every migration again.

``TANDEM_TEMPLATE_SCHEMA`` (``_tandem_template``; a slug cannot start with ``_``, so no workspace can
take the name) is an ordinary tenant schema built and kept current by Django's own migrations: by
``migrate_schemas`` (the executor in ``migration.py`` refreshes it before the workspaces) and, lazily,
by the first provisioning that finds it missing or behind the code. It holds what migrations put in
every schema (``django_migrations``, content types and permissions, default pipelines, rules, the SLA
calendar) and never a workspace's data: provisioning writes the first admin into the copy only.

A copy is a replay of ``pg_dump`` of the template (definitions and those rows), taken once per template
state and cached in the process, with the schema name rewritten; it runs in one transaction, so a
failure leaves no half-made schema. Timestamps the migrations wrote are set to the copy's own time, as
running the migrations then would have. When no ``pg_dump`` at least as new as the server is available
(``TANDEM_PG_DUMP`` names one; the embedded PostgreSQL ships its own), provisioning migrates instead.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction

logger = logging.getLogger(__name__)

TEMPLATE_LOCK = 0x7E4B0000
# Stands for the new schema in a cached script; never a valid identifier, so never in the template itself.
PLACEHOLDER = "\x00tandem-new-schema\x00"
_scripts: dict[str, str] = {}


class CloneUnavailable(Exception):
    """No usable pg_dump here: the caller migrates the new schema instead."""


def template_schema() -> str:
    return getattr(settings, "TANDEM_TEMPLATE_SCHEMA", "_tandem_template")


@contextmanager
def advisory_lock(key: int) -> Iterator[None]:
    """A session advisory lock held on a connection of its own.

    Django's migration runner closes Django's connection when it finishes, which would drop a lock held
    there halfway through.
    """
    import psycopg

    params = connection.settings_dict
    with psycopg.connect(
        dbname=params["NAME"],
        user=params["USER"] or None,
        password=params["PASSWORD"] or None,
        host=params["HOST"] or None,
        port=params["PORT"] or None,
        autocommit=True,
    ) as lock_conn:
        lock_conn.execute("SELECT pg_advisory_lock(%s)", [key])
        yield


# --- State ---------------------------------------------------------------------------------------------


def _applied(schema: str) -> set[tuple[str, str]] | None:
    from .migration import applied_migrations

    return applied_migrations([schema]).get(schema)


def template_is_current() -> bool:
    from .migration import is_up_to_date, migration_graph

    applied = _applied(template_schema())
    return applied is not None and is_up_to_date(applied, migration_graph())


def template_ensure(*, verbosity: int = 0) -> bool:
    """Create or migrate the template when it is missing or behind the code; True when it did."""
    with advisory_lock(TEMPLATE_LOCK):
        return _ensure_locked(verbosity=verbosity)


def _ensure_locked(*, verbosity: int) -> bool:
    if template_is_current():
        return False
    from django.core.management import call_command

    name = template_schema()
    connection.set_schema_to_public()
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE SCHEMA IF NOT EXISTS "{name}"')
    logger.info("migrating the template schema %s", name)
    # Django's own migrations through django-tenants' standard runner, never a copy of anything.
    call_command(
        "migrate_schemas",
        schema_name=name,
        tenant=True,
        executor="django",
        interactive=False,
        verbosity=verbosity,
    )
    connection.set_schema_to_public()
    return True


# --- The copy ------------------------------------------------------------------------------------------


def _shipped_pg_dump() -> str:
    try:
        import pgserver
    except ImportError:
        return ""
    return str(Path(pgserver.__file__).parent / "pginstall" / "bin" / "pg_dump")


def _pg_dump_candidates() -> Iterator[str]:
    yield getattr(settings, "TANDEM_PG_DUMP", "")
    if getattr(settings, "TANDEM_EMBEDDED_DATABASE", False):
        yield _shipped_pg_dump()
    yield shutil.which("pg_dump") or ""
    yield _shipped_pg_dump()  # a development machine's PATH may have an older one than the server


@cache
def _pg_dump() -> str:
    """The pg_dump to use, or CloneUnavailable: configured, the embedded server's own, on the PATH, or
    the one the pgserver package ships; the first at least as new as the server."""
    server_major = connection.pg_version // 10000
    for path in filter(None, _pg_dump_candidates()):
        try:
            done = subprocess.run([path, "--version"], capture_output=True, text=True, check=True)  # noqa: S603
        except (OSError, subprocess.CalledProcessError):
            continue
        found = re.search(r"(\d+)(?:\.\d+)?", done.stdout)
        if found and int(found.group(1)) >= server_major:
            return path
    raise CloneUnavailable(f"no pg_dump of PostgreSQL {server_major} or newer")


def _state_digest(cursor, schema: str) -> str:
    cursor.execute(
        f"SELECT md5(string_agg(app || '.' || name, ',' ORDER BY app, name)) "  # noqa: S608 - settings' name
        f'FROM "{schema}".django_migrations'
    )
    return cursor.fetchone()[0]


_SESSION_SET = re.compile(r"^SET ([a-z_]+) = ([^;\n]*);$", re.MULTILINE)
_TOC_COMMENT = re.compile(r"^-- (Data for )?Name: .*; Type: .*; Schema: .*; Owner: .*$")


def _rewrite(dump: str, schema: str) -> str:
    """pg_dump's output as one transaction's statements with the schema name left open.

    Session settings become transaction-local ones (the script runs on Django's connection); psql's own
    commands, the table-of-contents comments (they name the template) and the schema's creation go; every
    qualified name points at the placeholder.
    """
    lines = []
    for line in dump.splitlines():
        if line.startswith(("\\restrict", "\\unrestrict")) or _TOC_COMMENT.match(line):
            continue
        if line == "SELECT pg_catalog.set_config('search_path', '', false);":
            continue  # every name in the dump is qualified; the caller's search path is restored after
        if line in {f"CREATE SCHEMA {schema};"} or line.startswith(f"COMMENT ON SCHEMA {schema} IS"):
            continue
        lines.append(line)
    script = _SESSION_SET.sub(r"SET LOCAL \1 = \2;", "\n".join(lines))
    script = re.sub(rf"(?<![\w$\"]){re.escape(schema)}\.", PLACEHOLDER.replace("\\", r"\\") + ".", script)
    if re.search(rf"(?<![\w$]){re.escape(schema)}(?![\w$])", script):
        raise CloneUnavailable(f"the dump names {schema} where it cannot be rewritten")
    return script


def _fresh_timestamps(cursor, schema: str) -> str:
    """Statements giving the rows migrations wrote (applied, created) the copy's own time."""
    cursor.execute(
        "SELECT table_name, array_agg(column_name::text ORDER BY column_name) "
        "FROM information_schema.columns WHERE table_schema = %s "
        "AND data_type = 'timestamp with time zone' GROUP BY table_name ORDER BY table_name",
        [schema],
    )
    statements = []
    for table, columns in cursor.fetchall():
        cursor.execute(f'SELECT EXISTS (SELECT FROM "{schema}"."{table}")')  # noqa: S608 - catalog names
        if cursor.fetchone()[0]:
            sets = ", ".join(f'"{c}" = CASE WHEN "{c}" IS NULL THEN NULL ELSE now() END' for c in columns)
            statements.append(f'UPDATE {PLACEHOLDER}."{table}" SET {sets};')  # noqa: S608
    return "\n".join(statements)


def _dump(schema: str) -> str:
    params = connection.settings_dict
    args = [_pg_dump(), "--schema", f'"{schema}"', "--no-owner", "--no-privileges", "--inserts"]
    args += ["--rows-per-insert=1000", "--dbname", params["NAME"]]
    for flag, key in (("--host", "HOST"), ("--port", "PORT"), ("--username", "USER")):
        if params[key]:
            args += [flag, str(params[key])]
    env = {**os.environ, "PGPASSWORD": params["PASSWORD"] or ""}
    done = subprocess.run(args, capture_output=True, text=True, env=env)  # noqa: S603 - our own arguments
    if done.returncode:
        raise CloneUnavailable(f"pg_dump failed: {done.stderr.strip()[:500]}")
    return done.stdout


def template_script() -> str:
    """The cached copy script of the template as it is now: the template is made current first."""
    name = template_schema()
    _pg_dump()  # before building a template this machine could not copy
    with advisory_lock(TEMPLATE_LOCK):
        _ensure_locked(verbosity=0)
        connection.set_schema_to_public()
        with connection.cursor() as cursor:
            digest = _state_digest(cursor, name)
            if digest not in _scripts:
                # under the lock: nobody migrates the template between the digest and the dump
                script = _rewrite(_dump(name), name) + "\n" + _fresh_timestamps(cursor, name)
                _scripts.clear()
                _scripts[digest] = script
            return _scripts[digest]


def template_clone(*, schema_name: str) -> None:
    """Create ``schema_name`` as a copy of the template, in one transaction. CloneUnavailable when this
    machine cannot (the caller migrates the schema instead)."""
    script = template_script()
    quoted = '"' + schema_name.replace('"', '""') + '"'
    connection.set_schema_to_public()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"CREATE SCHEMA {quoted};\n" + script.replace(PLACEHOLDER, quoted))
    # django-tenants sets the search path only when it thinks it changed: make it set it again.
    connection.set_schema_to_public()
    connection.search_path_set_schemas = None
