"""The tenant-scale benchmark (issue 9): ``.venv/bin/python bench/tenants_bench.py [--tenants 1000]
[--provision 20] [--noop-runs 3]``; ``make bench`` runs it.

It works in a database of its own, ``tandem_bench_tenants`` (on the server of ``DATABASE_URL``, or on the
embedded PostgreSQL), with the project's settings plus one benchmark-only tenant app
(``bench/settings_tenants.py``, ``bench/tenantapp``: a small table, and a second migration adding a
column and an index). The workspaces ``bt0001`` .. ``bt1000`` are created once as copies of the template
schema (two connections at a time, rows in bulk) and reused by later runs.

1. **Additive migration over every workspace.** The benchmark app's 0002 is undone in every workspace
   the way Django undoes it (the column dropped, its record deleted; not timed). The floor: the same DDL
   and record by hand-written SQL, schema after schema on one connection, a transaction each. Then
   ``manage.py migrate_schemas`` (a new process: start-up, the public schema, the template and the
   workspaces) is timed. Bound: under 120 s.
2. **Nothing to apply.** ``migrate_schemas`` again, ``--noop-runs`` times, median. Bound: under 15 s.
3. **A failure in one schema.** 0002 undone in ten workspaces, one of which already has a column of that
   name; ``migrate_schemas`` must exit non-zero naming that schema and the migration, leave it as it was
   and the nine others migrated; with the column removed, a second run must migrate it alone and exit 0.
4. **Provisioning.** Alternating (A) ``tenant_provision`` of a new sign-up (the copy of the template,
   the first admin, the status), in this process, and (B) the floor: ``pg_dump --schema-only`` of the
   template (taken once), its schema name rewritten, replayed by ``psql`` in one transaction into a new
   schema. ``--provision`` of each; p50 and p95. Target: p95(A) / p95(B) at most 3. The new workspaces
   and schemas are removed afterwards.

Results: ``bench/results/tenants.json`` and the tenants section of ``BENCHMARKS.md``.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import math
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import metrics_bench as mb  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "tenants.json"
DATABASE = "tandem_bench_tenants"
SETTINGS = "bench.settings_tenants"
PROVISION_TARGET, NOOP_BOUND, ADDITIVE_BOUND = 3.0, 15.0, 120.0
APP, MIGRATION = "benchtenant", "0002_note_flagged"
SABOTAGED = "bt0005"
log = mb.log


def slugs(count: int) -> list[str]:
    return [f"bt{i:04d}" for i in range(1, count + 1)]


def database_url() -> tuple[str, str]:
    import psycopg

    if os.environ.get("DATABASE_URL"):
        base, how = os.environ["DATABASE_URL"], "the server of DATABASE_URL"
    else:
        from config.embedded import embedded_database_url

        base = embedded_database_url(Path(os.environ.get("TANDEM_DATA_DIR") or ROOT / ".data"))
        how = "embedded PostgreSQL"
    with psycopg.connect(base, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE]).fetchone():
            conn.execute(f'CREATE DATABASE "{DATABASE}"')
    return urlunparse(urlparse(base)._replace(path=f"/{DATABASE}")), f"{DATABASE} on {how}"


def manage(url: str, *args: str) -> tuple[float, int, str]:
    """``manage.py`` in a new process with the benchmark's settings: (seconds, exit code, output)."""
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": SETTINGS}
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True
    )  # fmt: skip
    return time.perf_counter() - started, done.returncode, done.stdout + done.stderr


def setup(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ["DJANGO_SETTINGS_MODULE"] = SETTINGS
    import django

    django.setup()


def _raw(url: str | None):
    """A connection of its own to ``url``, or to the database Django is connected to."""
    import psycopg

    if url is None:
        from django.db import connection

        params = connection.settings_dict
        conn = psycopg.connect(
            dbname=params["NAME"], user=params["USER"] or None, password=params["PASSWORD"] or None,
            host=params["HOST"] or None, port=params["PORT"] or None,
        )  # fmt: skip
    else:
        conn = psycopg.connect(url)
    conn.execute("SET synchronous_commit = off")  # this benchmark's own database, its own session
    return conn


# --- The workspaces --------------------------------------------------------------------------------------


def ensure_tenants(count: int, url: str | None = None) -> list[str]:
    """The schemas of the workspaces ``bt0001`` .. , made when missing as copies of the template, in the
    database Django is connected to (``url`` reaches the same one; the Celery benchmark uses this too)."""
    from accounts.tenancy.validators import schema_name_for

    make_tenants(count, url)
    return [schema_name_for(slug) for slug in slugs(count)]


def make_tenants(count: int, url: str | None = None) -> dict:
    """Create the missing workspaces as copies of the template: schemas first (each in one transaction,
    two connections at a time), then their rows in bulk. How many were made, in how many seconds."""
    from django.db import connection

    from accounts.tenancy.links import workspace_host
    from accounts.tenancy.models import Domain, Tenant
    from accounts.tenancy.template import PLACEHOLDER, template_script
    from accounts.tenancy.validators import schema_name_for

    wanted = slugs(count)
    script = template_script()
    with connection.cursor() as cursor:
        cursor.execute("SELECT nspname FROM pg_namespace")
        schemas = {row[0] for row in cursor.fetchall()}
    missing = [slug for slug in wanted if schema_name_for(slug) not in schemas]
    started = time.perf_counter()

    def create(batch: list[str]) -> None:
        with _raw(url) as conn:
            for slug in batch:
                quoted = f'"{schema_name_for(slug)}"'
                conn.execute(f"CREATE SCHEMA {quoted};\n" + script.replace(PLACEHOLDER, quoted))
                conn.commit()

    if missing:
        log(f"creating {len(missing)} workspaces as copies of the template")
        halves = [missing[0::2], missing[1::2]]
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            list(pool.map(create, halves))
    have = set(Tenant.objects.filter(slug__in=wanted).values_list("slug", flat=True))
    rows = [
        Tenant(
            name=f"Bench {s}", slug=s, schema_name=schema_name_for(s), ready=True, status=Tenant.Status.READY
        )
        for s in wanted
        if s not in have
    ]
    Tenant.objects.bulk_create(rows, batch_size=500)
    by_slug = dict(Tenant.objects.filter(slug__in=[t.slug for t in rows]).values_list("slug", "pk"))
    Domain.objects.bulk_create(
        [Domain(domain=workspace_host(s), tenant_id=pk, is_primary=True) for s, pk in by_slug.items()],
        batch_size=500,
    )
    return {"created": len(missing), "seconds": round(time.perf_counter() - started, 1)}


def undo_migration(url: str, names: list[str]) -> None:
    """Undo the benchmark app's 0002 in these workspaces as Django would (its column and index dropped,
    its record deleted), and anything a failed run left (the sabotage column)."""
    from accounts.tenancy.validators import schema_name_for

    with _raw(url) as conn:
        for start in range(0, len(names), 100):
            conn.execute(
                "".join(
                    f'ALTER TABLE "{schema_name_for(s)}".benchtenant_note DROP COLUMN IF EXISTS flagged; '  # noqa: S608
                    f"DELETE FROM \"{schema_name_for(s)}\".django_migrations WHERE app = '{APP}' "
                    f"AND name = '{MIGRATION}';"
                    for s in names[start : start + 100]
                )
            )
            conn.commit()


def additive_floor(url: str, names: list[str]) -> float:
    """The additive migration's own work by hand: its DDL and its record, a transaction per schema."""
    from accounts.tenancy.validators import schema_name_for

    with _raw(url) as conn:
        started = time.perf_counter()
        for slug in names:
            s = schema_name_for(slug)
            conn.execute(
                f'ALTER TABLE "{s}".benchtenant_note ADD COLUMN flagged boolean DEFAULT false NOT NULL; '  # noqa: S608
                f'ALTER TABLE "{s}".benchtenant_note ALTER COLUMN flagged DROP DEFAULT; '
                f'CREATE INDEX benchtenant_note_flagged ON "{s}".benchtenant_note (flagged, created); '
                f'INSERT INTO "{s}".django_migrations (app, name, applied) '
                f"VALUES ('{APP}', '{MIGRATION}', now())"
            )
            conn.commit()
        return time.perf_counter() - started


def count_applied(names: list[str]) -> int:
    from accounts.tenancy.migration import applied_migrations
    from accounts.tenancy.validators import schema_name_for

    applied = applied_migrations([schema_name_for(s) for s in names])
    return sum(1 for done in applied.values() if done and (APP, MIGRATION) in done)


def _migrated_line(output: str) -> str:
    found = re.search(r"Migrated \d+ schemas.*", output)
    return found.group(0) if found else ""


# --- Provisioning ----------------------------------------------------------------------------------------


def _psql() -> str:
    from django.conf import settings

    found = shutil.which("psql")
    if getattr(settings, "TANDEM_EMBEDDED_DATABASE", False) or not found:
        import pgserver

        found = str(Path(pgserver.__file__).parent / "pginstall" / "bin" / "psql")
    return found


def provisioning(url: str, rounds: int) -> dict:
    from django.db import connection

    from accounts.tenancy.models import Tenant
    from accounts.tenancy.services import signup_create, tenant_provision
    from accounts.tenancy.template import _pg_dump, template_schema

    template = template_schema()
    dump = subprocess.run(
        [_pg_dump(), "--schema-only", "--schema", f'"{template}"', "--dbname", url],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    pattern = re.compile(rf"(?<![\w$]){re.escape(template)}(?![\w$])")
    psql = _psql()
    made, floors = [], []
    times: dict[str, list[float]] = {"provision": [], "floor": []}

    def one_provision(index: int, timed: bool) -> None:
        signup = signup_create(
            company_name=f"New {index}", slug=f"bn{index:04d}", admin_name="Admin",
            admin_email=f"admin@bn{index:04d}.example", admin_password="bench-Provision-2026", enqueue=False,  # noqa: S106
        )  # fmt: skip
        made.append(signup.tenant_id)
        started = time.perf_counter()
        tenant_provision(tenant_id=signup.tenant_id)
        if timed:
            times["provision"].append(time.perf_counter() - started)

    def one_floor(index: int) -> None:
        name = f"bench_floor_{index}"
        floors.append(name)
        started = time.perf_counter()
        subprocess.run(
            [psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-1", "--dbname", url],
            input=pattern.sub(name, dump), capture_output=True, text=True, check=True,
        )  # fmt: skip
        times["floor"].append(time.perf_counter() - started)

    try:
        one_provision(0, timed=False)  # warm-up: the template's copy script is made once per process
        for index in range(1, rounds + 1):
            one_provision(index, timed=True)
            one_floor(index)
    finally:
        connection.set_schema_to_public()
        with connection.cursor() as cursor:
            for tenant in Tenant.objects.filter(pk__in=made):
                cursor.execute(f'DROP SCHEMA IF EXISTS "{tenant.schema_name}" CASCADE')
            for name in floors:
                cursor.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
        Tenant.objects.filter(pk__in=made).delete()

    def pct(values: list[float], q: float) -> float:  # nearest rank
        ordered = sorted(values)
        return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]

    result = {"rounds": rounds, "runs": {k: [round(v, 4) for v in vs] for k, vs in times.items()}}
    for key, values in times.items():
        result[key] = {"p50": round(statistics.median(values), 4), "p95": round(pct(values, 0.95), 4)}
    result["ratio_p95"] = round(result["provision"]["p95"] / result["floor"]["p95"], 3)
    result["ratio_p50"] = round(result["provision"]["p50"] / result["floor"]["p50"], 3)
    return result


# --- Report ----------------------------------------------------------------------------------------------


def _yes(ok: bool) -> str:
    return "yes" if ok else "NO"


def table(result: dict) -> str:
    p, noop, add, fail = result["provisioning"], result["noop"], result["additive"], result["failure"]
    rows = [
        "| measurement | figure | floor or bound | ratio | target | met |",
        "|---|---:|---:|---:|---|---|",
        f"| provisioning p95 (s) | {p['provision']['p95']:.3f} | floor p95 {p['floor']['p95']:.3f} "
        f"| {p['ratio_p95']:.2f} | <= {PROVISION_TARGET:g} | {_yes(p['ratio_p95'] <= PROVISION_TARGET)} |",
        f"| provisioning p50 (s) | {p['provision']['p50']:.3f} | floor p50 {p['floor']['p50']:.3f} "
        f"| {p['ratio_p50']:.2f} | | |",
        f"| migrate_schemas, nothing to apply, {result['tenants']:,} workspaces (s, median) "
        f"| {noop['median']:.1f} | bound {NOOP_BOUND:g} | {noop['median'] / NOOP_BOUND:.2f} "
        f"| < {NOOP_BOUND:g} s | {_yes(noop['median'] < NOOP_BOUND and noop['ok'])} |",
        f"| migrate_schemas, one additive migration, {result['tenants']:,} workspaces (s) "
        f"| {add['seconds']:.1f} | bound {ADDITIVE_BOUND:g} | {add['seconds'] / ADDITIVE_BOUND:.2f} "
        f"| < {ADDITIVE_BOUND:g} s | {_yes(add['seconds'] < ADDITIVE_BOUND and add['ok'])} |",
        f"| same migration by hand-written SQL, one connection (s) | {add['floor_seconds']:.1f} | | "
        f"{add['seconds'] / add['floor_seconds']:.2f} x | | |",
        f"| failure in one of ten schemas: reported, others migrated, re-run finishes "
        f"| {'yes' if fail['ok'] else 'no'} | | | all hold | {_yes(fail['ok'])} |",
    ]
    return "\n".join(rows)


def section(result: dict | None = None) -> str:
    """The tenants part of BENCHMARKS.md, from the latest run."""
    result = result or mb.stored(RESULTS)
    if result is None:
        return ""
    fail, add = result["failure"], result["additive"]
    return "\n".join(
        [
            "## Tenants at scale: provisioning and migrations (issue 9)",
            "",
            f"Run {result['finished_at']} on commit {result['commit']}, {result['tenants']:,} workspaces "
            f"(copies of the template) in {result['database']}; {result['created']['created']} created "
            f"this run in {result['created']['seconds']:g} s. "
            "Command: `make bench` (`bench/tenants_bench.py`).",
            "",
            table(result),
            "",
            f"Provisioning: `tenant_provision` of a new sign-up (copy of the template, first admin, status) "
            f"against `psql` replaying a `pg_dump --schema-only` of the template into a new schema, "
            f"{result['provisioning']['rounds']} of each, alternating. The migration runs are whole "
            f"`manage.py migrate_schemas` processes; the additive one migrated {add['migrated']} schemas: "
            f"{add['line']}",
            "",
            f"Failure: `{fail['schema']}` already had the column; the run exited {fail['exit_code']} with "
            f"`{fail['reported']}`; of the nine others, {fail['migrated_meanwhile']} were migrated; "
            f"`{fail['schema']}` was left as it was: {'yes' if fail['left_as_it_was'] else 'NO'}. With the "
            f"column removed, the second run exited {fail['rerun_exit_code']}: {fail['rerun_line']}",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tenants", type=int, default=1000)
    parser.add_argument("--provision", type=int, default=20)
    parser.add_argument("--noop-runs", type=int, default=3)
    options = parser.parse_args(argv)
    started = time.perf_counter()
    url, how = database_url()
    log(f"database: {how}")
    seconds, code, out = manage(url, "migrate_schemas", "--shared", "--noinput", "-v", "0")
    if code:
        print(out)
        return 1
    setup(url)
    names = slugs(options.tenants)
    result: dict = {"tenants": options.tenants, "database": how}
    result.update(machine=mb.machine(), commit=mb.commit())
    result["created"] = make_tenants(options.tenants, url)
    log(f"workspaces ready: {result['created']}")

    # 1. the additive migration, after its floor
    undo_migration(url, names)
    floor = additive_floor(url, names)
    undo_migration(url, names)
    log(f"additive floor (SQL): {floor:.1f} s")
    seconds, code, out = manage(url, "migrate_schemas", "--noinput")
    migrated = count_applied(names)
    result["additive"] = {
        "seconds": round(seconds, 2), "floor_seconds": round(floor, 2), "exit_code": code,
        "migrated": migrated, "line": _migrated_line(out), "ok": code == 0 and migrated == len(names),
    }  # fmt: skip
    log(f"additive migration: {seconds:.1f} s, exit {code}, {migrated} applied; {_migrated_line(out)}")
    if code:
        print(out[-3000:])

    # 2. nothing to apply
    runs = []
    for _ in range(options.noop_runs):
        seconds, code, out = manage(url, "migrate_schemas", "--noinput")
        runs.append((round(seconds, 2), code))
    result["noop"] = {
        "runs": [s for s, _ in runs], "median": statistics.median(s for s, _ in runs),
        "ok": all(c == 0 for _, c in runs),
    }  # fmt: skip
    log(f"no-op: {result['noop']}")

    # 3. one failing schema among ten behind
    ten = names[:10]
    undo_migration(url, ten)
    from django.db import connection

    from accounts.tenancy.validators import schema_name_for

    with connection.cursor() as cursor:
        cursor.execute(f'ALTER TABLE "{schema_name_for(SABOTAGED)}".benchtenant_note ADD COLUMN flagged text')
    _, code, out = manage(url, "migrate_schemas", "--noinput")
    reported = next((line.strip() for line in out.splitlines() if f"{SABOTAGED}:" in line), "")
    others = count_applied([s for s in ten if s != SABOTAGED])
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT data_type FROM information_schema.columns WHERE table_schema = %s "
            "AND table_name = 'benchtenant_note' AND column_name = 'flagged'",
            [schema_name_for(SABOTAGED)],
        )
        left = cursor.fetchone() == ("text",) and count_applied([SABOTAGED]) == 0
        cursor.execute(f'ALTER TABLE "{schema_name_for(SABOTAGED)}".benchtenant_note DROP COLUMN flagged')
    _, rerun, rerun_out = manage(url, "migrate_schemas", "--noinput")
    result["failure"] = {
        "schema": SABOTAGED, "exit_code": code, "reported": reported, "migrated_meanwhile": others,
        "left_as_it_was": left, "rerun_exit_code": rerun, "rerun_line": _migrated_line(rerun_out),
        "all_current_after": count_applied(names) == len(names),
    }  # fmt: skip
    result["failure"]["ok"] = (
        code != 0 and MIGRATION in reported and others == 9 and left and rerun == 0
        and "Migrated 1 schemas" in rerun_out and result["failure"]["all_current_after"]
    )  # fmt: skip
    log(f"failure: {result['failure']}")

    # 4. provisioning against its floor
    result["provisioning"] = provisioning(url, options.provision)
    log(f"provisioning: {result['provisioning']}")

    result["seconds"] = round(time.perf_counter() - started, 1)
    result["finished_at"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    mb.publish(RESULTS, result, table(result))
    log(f"done in {result['seconds']} s; {RESULTS.relative_to(ROOT)}")
    met = (
        result["provisioning"]["ratio_p95"] <= PROVISION_TARGET and result["noop"]["ok"]
        and result["noop"]["median"] < NOOP_BOUND and result["additive"]["ok"]
        and result["additive"]["seconds"] < ADDITIVE_BOUND and result["failure"]["ok"]
    )  # fmt: skip
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
