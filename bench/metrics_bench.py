"""The metric engine benchmark (issue 5): ``make bench``, or ``.venv/bin/python bench/metrics_bench.py``.

1. Uses ``DATABASE_URL`` when set, else a database of its own (``tandem_bench``) on the project's embedded
   PostgreSQL (``.data/pg``), so the development database keeps no benchmark workspace.
2. Generates the workspace ``bench`` at scale 1 (100k contacts, 1M touchpoints, 80k funnel transitions,
   20k deals) with ``generate_data``, or reuses it when it was generated with the same scale and seed.
3. Alternates, in one process, (A) ``engine.run(full=True)`` in the workspace's schema and (B) the floor
   (``bench/floor.py``: the same metrics by hand-written GROUP BY queries into a temporary table), and
   reports medians; checks that the floor's values equal the engine's.
4. Adds 1% more facts dated in the last three days (the generator's ``generate_batch``), times
   ``engine.run(full=False)`` and rolls the batch back, so the workspace stays as generated.
5. Prints the table, writes ``bench/results/latest.json`` and rewrites ``BENCHMARKS.md``.

Absolute times on a shared 2-core machine mean little; the ratios against the floor measured in the same
run are the figures to read. Targets: full / floor <= 1.5, incremental / full < 0.05.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

RESULTS = ROOT / "bench" / "results" / "latest.json"
REPORT = ROOT / "BENCHMARKS.md"
BENCH_DATABASE = "tandem_bench"
FULL_TARGET, INCREMENTAL_TARGET = 1.5, 0.05


class Rollback(Exception):
    """Raised to undo a measured transaction."""


def log(message: str) -> None:
    print(f"[{dt.datetime.now(dt.UTC):%H:%M:%S}] {message}", flush=True)


def _relative(path: Path) -> str:
    try:
        return str(path.relative_to(ROOT))
    except ValueError:
        return str(path)


def database_url() -> tuple[str, str]:
    """The database to benchmark in, and how it was chosen."""
    if os.environ.get("DATABASE_URL"):
        return os.environ["DATABASE_URL"], "DATABASE_URL"
    from urllib.parse import urlparse, urlunparse

    import psycopg

    from config.embedded import embedded_database_url

    data_dir = Path(os.environ.get("TANDEM_DATA_DIR") or ROOT / ".data")
    url = embedded_database_url(data_dir)  # starts (or attaches to) the server; it stops when we exit
    with psycopg.connect(url, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [BENCH_DATABASE]).fetchone():
            conn.execute(f'CREATE DATABASE "{BENCH_DATABASE}"')
    return urlunparse(
        urlparse(url)._replace(path=f"/{BENCH_DATABASE}")
    ), f"embedded PostgreSQL ({_relative(data_dir / 'pg')})"


def setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    import django

    django.setup()
    from django.conf import settings

    settings.DEBUG = False  # no query log in memory


def machine() -> dict:
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        total = next(x for x in Path("/proc/meminfo").read_text().splitlines() if x.startswith("MemTotal"))
        memory = f"{int(total.split()[1]) / 1024 / 1024:.0f} GiB"
    except (OSError, StopIteration):
        pass
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        server = cursor.fetchone()[0]
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory": memory,
        "python": platform.python_version(),
        "postgresql": server,
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        )
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True)
        return out.stdout.strip() + (" (with uncommitted changes)" if dirty.stdout.strip() else "")
    except OSError:
        return ""


# --- The workspace ---------------------------------------------------------------------------------------


def ensure_workspace(slug: str, scale: float, seed: int) -> dict:
    """Generate the benchmark workspace, or reuse it when its schema says it has this scale and seed."""
    from django.core.management import call_command
    from django_tenants.utils import schema_context

    from accounts.tenancy.models import Tenant
    from alignment.management.commands import generate_data as gen

    tenant = Tenant.objects.filter(slug=slug).first()
    if (
        tenant is not None
        and tenant.ready
        and gen.schema_marker(tenant.schema_name) == gen.marker(scale=scale, seed=seed)
    ):
        log(f"Reusing workspace {slug} (scale {scale:g}, seed {seed}).")
        return {"reused": True, "seconds": None}
    if tenant is not None:
        found = gen.schema_marker(tenant.schema_name)
        if found.startswith("tandem generate_data"):
            log(f"Workspace {slug} was generated with other parameters ({found}); dropping it.")
            tenant.delete(force_drop=True)
        else:
            with schema_context(tenant.schema_name):
                if gen.has_data():
                    raise SystemExit(
                        f"Workspace {slug} holds data that generate_data did not make; it is left alone. "
                        "Choose another --tenant or another database."
                    )
    log(f"Generating workspace {slug} at scale {scale:g}, seed {seed} ...")
    started = time.perf_counter()
    call_command("generate_data", tenant=slug, scale=scale, seed=seed)
    return {"reused": False, "seconds": round(time.perf_counter() - started, 1)}


# --- Measurements ----------------------------------------------------------------------------------------


def timed(function) -> float:
    started = time.perf_counter()
    function()
    return time.perf_counter() - started


def statement_timeout(seconds: float) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"SET statement_timeout = {max(1000, int(seconds * 1000))}")


class StatementClock:
    """Seconds spent per part of an engine run, from the SQL statements Django executes: each computation
    (recognised by its SQL), the attribution credits, the upserts, the prunes and the rest."""

    def __init__(self):
        from alignment import engine, registry

        self.seconds: dict[str, float] = {}
        self.names: dict[str, str] = {}
        self.rollup = engine.ROLLUP.strip()
        for comp in engine.COMPUTATIONS:
            for grain in registry.GRANULARITIES:
                keys = [k for k in comp.keys if grain in registry.REGISTRY[k].periods]
                # the statement for every key (as a full run at the day grain) and for those not rolled up
                for chosen in {tuple(keys), tuple(engine._direct(comp, grain))}:
                    if not chosen:
                        continue
                    try:
                        self.names[comp.sql(grain, list(chosen)).strip()] = f"compute: {comp.name}"
                        if isinstance(comp, engine.q.Summed):  # an incremental run's change of the sums
                            self.names[comp.change_sql(grain, list(chosen)).strip()] = f"compute: {comp.name}"
                    except Exception:  # noqa: BLE001, S112 - an engine mid-change: that statement counts as other
                        continue
            facts = getattr(comp, "facts", None)
            if facts is not None:  # written once per run, for every granularity and computation reading it
                self.names[f"INSERT INTO {facts.table} {facts.select}".strip()] = f"facts: {facts.table}"

    def part(self, sql: str) -> str:
        text = " ".join(sql.split())
        head = text[:80]
        if "_alignment_credits" in text or "alignment_attributioncredit" in head:
            return "attribution credits"
        if head.startswith("INSERT INTO alignment_metricvalue"):
            return "upsert"
        if head.startswith("DELETE FROM alignment_metricvalue"):
            return "prune"
        if sql.strip() in self.names:
            return self.names[sql.strip()]
        if sql.strip() == self.rollup:
            return "rollups"
        if head.startswith("INSERT INTO _alignment_values"):
            return "compute: other"
        return "other"

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            part = self.part(sql)
            self.seconds[part] = self.seconds.get(part, 0.0) + time.perf_counter() - started


def engine_full(clock: StatementClock | None = None) -> None:
    from contextlib import nullcontext

    from django.db import connection

    from alignment import engine

    with connection.execute_wrapper(clock) if clock else nullcontext():
        if engine.run(full=True) is None:
            raise RuntimeError("another engine run held the workspace lock")


def floor_run(*, compare: bool = False, timings: dict | None = None) -> tuple[float, list[dict] | None]:
    """The floor in a transaction that is rolled back. Returns its seconds and, with ``compare``, its values
    checked against the engine's stored ones (not timed)."""
    from django.db import connection, transaction

    from alignment.services import current_definition
    from bench import floor

    seconds, found = 0.0, None
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            definition = current_definition()
            started = time.perf_counter()
            floor.run(cursor, definition=definition, timings=timings)
            seconds = time.perf_counter() - started
            if compare:
                found = floor.compare(cursor, definition=definition)
            raise Rollback
    except Rollback:
        pass
    return seconds, found


def incremental_run(*, scale: float, seed: int, stream: int, slug: str, clock: StatementClock) -> dict:
    """Vacuum away the previous batch, add 1% of the facts dated in the last three days, time the
    incremental run, roll everything back."""
    from django.db import connection, transaction

    from alignment import engine
    from alignment.management.commands.generate_data import generate_batch

    now = dt.datetime.now(dt.UTC)
    found: dict = {}
    # The batches before this one were rolled back: their dead rows sit in the recent end of every fact
    # index, where the incremental run reads, until a vacuum. Clear them first (not timed), so each run
    # sees what production would, where new facts are committed, not rolled back.
    with connection.cursor() as cursor:
        cursor.execute("VACUUM")
    try:
        with transaction.atomic():
            started = time.perf_counter()
            generate_batch(fraction=scale * 0.01, seed=seed, days=3, stream=stream, now=now, slug=slug)
            batch = time.perf_counter() - started
            with connection.cursor() as cursor:
                cursor.execute("SELECT count(DISTINCT day) FROM alignment_dirtyday")
                dirty = cursor.fetchone()[0]
            started = time.perf_counter()
            with connection.execute_wrapper(clock):
                record = engine.run(full=False)
            seconds = time.perf_counter() - started
            if record is None:
                raise RuntimeError("another engine run held the workspace lock")
            found = {
                "seconds": seconds,
                "batch": batch,
                "dirty_days": dirty,
                "written": record.values_written,
            }
            log(
                f"  incremental: {seconds:.2f} s ({dirty} dirty days, {record.values_written} values written)"
            )
            raise Rollback
    except Rollback:
        pass
    return found


def coverage() -> dict:
    from alignment import engine
    from bench import floor

    computed = set(engine.COMPUTED)
    return {
        "covered": sorted(computed & floor.COVERED),
        "not_covered": sorted(computed - floor.COVERED),
        "floor_only": sorted(floor.COVERED - computed),
    }


# --- Reporting -------------------------------------------------------------------------------------------


def _seconds(parts: dict[str, float]) -> dict[str, float]:
    return {k: round(v, 2) for k, v in sorted(parts.items(), key=lambda x: -x[1])}


def median(values: list[float]) -> float | None:
    return round(statistics.median(values), 3) if values else None


def table(result: dict) -> str:
    m = result["medians"]
    rows = [
        ("(A) engine.run(full=True), values already stored", m["full"], len(result["runs"]["full"])),
        ("(B) floor: hand-written GROUP BY SQL into a temp table", m["floor"], len(result["runs"]["floor"])),
        (
            "incremental engine.run(full=False) after +1% recent facts",
            m["incremental"],
            len(result["runs"]["incremental"]),
        ),
    ]
    if result.get("first_full_run"):
        rows.append(
            (
                "first full run of the workspace (every value and credit written; not a median)",
                result["first_full_run"].get("seconds"),
                1,
            )
        )
    lines = ["| measurement | median (s) | runs |", "|---|---:|---:|"]
    lines += [f"| {name} | {'-' if value is None else f'{value:.2f}'} | {n} |" for name, value, n in rows]
    r = result["ratios"]
    lines += [
        "",
        "| ratio | value | target | met |",
        "|---|---:|---:|---|",
        f"| full / floor | {_fmt(r['full_over_floor'])} | <= {FULL_TARGET} | "
        f"{_met(r['full_over_floor'], FULL_TARGET, True)} |",
        f"| incremental / full | {_fmt(r['incremental_over_full'], 3)} | < {INCREMENTAL_TARGET} | "
        f"{_met(r['incremental_over_full'], INCREMENTAL_TARGET, False)} |",
    ]
    return "\n".join(lines)


def _fmt(value, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _met(value, target: float, inclusive: bool) -> str:
    if value is None:
        return "not measured"
    return "yes" if (value <= target if inclusive else value < target) else "no"


def stored(path: Path) -> dict | None:
    """A benchmark's latest stored result, or None before its first run."""
    return json.loads(path.read_text()) if path.exists() else None


def publish(path: Path, result: dict, text: str) -> None:
    """Store one benchmark's result, print its part of the report, and render BENCHMARKS.md again with it
    (the report holds every benchmark's latest run, from the metric benchmark's result on)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2, default=str) + "\n")
    print()
    print(text)
    latest = stored(RESULTS)
    if latest is not None:
        write_report(latest)


def write_report(result: dict) -> None:
    from bench import celery_bench, export_bench, tenants_bench, web_bench, whole_run

    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2, default=str) + "\n")
    check = result.get("floor_check") or []
    wrong = [row for row in check if row["differ"] or row["only_stored"] or row["only_floor"]]
    data = ", ".join(f"{n:,} {label}" for label, n in result["workspace"]["counts"].items())
    machine_info = result["machine"]
    lines = [
        "# Benchmarks",
        "",
        "The latest run of `make bench` (`bench/metrics_bench.py`); the figures are rewritten by each run,",
        "and `bench/results/latest.json` holds every measurement. Read the ratios: absolute times on a",
        "shared 2-core machine vary with its load.",
        "",
        *([whole, ""] if (whole := whole_run.section()) else []),
        "## Metric engine (issue 5)",
        "",
        f"Run {result['finished_at']} on commit {result['commit']}. Command: `make bench`, which runs "
        f"`.venv/bin/python {result['command']}`.",
        "",
        table(result),
        "",
        f"Workspace `{result['workspace']['slug']}` (scale {result['scale']:g}, seed {result['seed']}): "
        f"{data}.",
        "",
        f"Machine: {machine_info['cpu']}, {machine_info['cores']} cores, {machine_info['memory']}, "
        f"PostgreSQL {machine_info['postgresql']}, Python {machine_info['python']}; load average at the "
        "start "
        f"{machine_info['load_average_at_start']}. Database: {result['database']}.",
        "",
        f"Floor check: {len(check) - len(wrong)} of {len(check)} metrics equal to the engine's stored values"
        + (f"; differing: {', '.join(row['metric'] for row in wrong)}." if wrong else "."),
        "",
        f"Metrics the floor does not cover: {', '.join(result['coverage']['not_covered']) or 'none'}.",
    ]
    parts = result.get("breakdown") or {}
    labels = {
        "engine_full": "Engine, last full run",
        "floor": "Floor, last run",
        "engine_incremental_all_runs": "Engine, all incremental runs together",
    }
    if result.get("first_full_run", {}).get("breakdown"):
        parts = {"engine_first_full": result["first_full_run"]["breakdown"], **parts}
        labels["engine_first_full"] = "Engine, first full run"
    if parts:
        lines += ["", "Where the time goes (seconds, the largest parts):", ""]
        for name, seconds in parts.items():
            top = ", ".join(f"{part} {value:.1f}" for part, value in list(seconds.items())[:8])
            lines.append(f"- {labels.get(name, name)}: {top}.")
    if result.get("notes"):
        lines += ["", "Notes:", ""] + [f"- {note}" for note in result["notes"]]
    # the other benchmarks' latest runs, kept in the same report
    sections = (export_bench.section(), web_bench.section(), tenants_bench.section(), celery_bench.section())
    for section in sections:
        if section:
            lines += ["", section]
    REPORT.write_text("\n".join(lines) + "\n")


# --- Main ------------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--tenant", default="bench")
    parser.add_argument("--rounds", type=int, default=3, help="A/B pairs at most (fewer when time runs out)")
    parser.add_argument("--incremental-runs", type=int, default=3)
    parser.add_argument("--budget", type=float, default=900, help="Seconds the whole run should take")
    args = parser.parse_args(argv)
    started = time.perf_counter()

    def remaining() -> float:
        return args.budget - (time.perf_counter() - started)

    url, source = database_url()
    setup_django(url)
    from django.core.management import call_command
    from django.db import connection
    from django_tenants.utils import schema_context

    from alignment.management.commands import generate_data as gen
    from alignment.models import EngineRun
    from alignment.services import current_definition

    log(f"Database: {source}. Migrating ...")
    call_command("migrate_schemas", interactive=False, verbosity=0)
    workspace = ensure_workspace(args.tenant, args.scale, args.seed)
    from accounts.tenancy.models import Tenant

    schema = Tenant.objects.get(slug=args.tenant).schema_name
    workspace.update(slug=args.tenant, counts=gen.counts(schema))
    log("Workspace: " + ", ".join(f"{n:,} {label}" for label, n in workspace["counts"].items()))
    result: dict = {
        "command": " ".join(
            ["bench/metrics_bench.py", *(argv if argv is not None else sys.argv[1:])]
        ).strip(),
        "commit": commit(),
        "database": source,
        "scale": args.scale,
        "seed": args.seed,
        "workspace": workspace,
        "machine": machine(),
        "runs": {"full": [], "floor": [], "incremental": [], "batch": []},
        "notes": [],
        "coverage": coverage(),
    }
    failure = None
    with schema_context(schema):
        try:
            definition = current_definition()
            if not EngineRun.objects.filter(
                kind="full", definition=definition, finished_at__isnull=False
            ).exists():
                log("First full run of this workspace (warm-up, not in the medians) ...")
                statement_timeout(900)  # per statement: a plan gone wrong stops the run, it does not hang it
                first = StatementClock()
                result["first_full_run"] = {"seconds": round(timed(partial(engine_full, first)), 2)}
                result["first_full_run"]["breakdown"] = _seconds(first.seconds)
                log(f"  {result['first_full_run']['seconds']:.2f} s")
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")  # what autovacuum does after a bulk load, before the next night
            for index in range(args.rounds):
                round_started = time.perf_counter()
                statement_timeout(max(60, remaining()))
                clock, floor_clock = StatementClock(), {}
                result["runs"]["full"].append(round(timed(partial(engine_full, clock)), 3))
                seconds, check = floor_run(compare=index == 0, timings=floor_clock)
                result["runs"]["floor"].append(round(seconds, 3))
                if index == 0:
                    result["floor_check"] = check
                result["breakdown"] = {"engine_full": _seconds(clock.seconds), "floor": _seconds(floor_clock)}
                log(
                    f"Round {index + 1}: full {result['runs']['full'][-1]:.2f} s, floor "
                    f"{result['runs']['floor'][-1]:.2f} s"
                )
                last_round = time.perf_counter() - round_started
                if index >= 1 and remaining() < last_round + 120 + 30 * args.incremental_runs:
                    if index + 1 < args.rounds:
                        result["notes"].append(f"{index + 1} A/B rounds, to stay within the time budget.")
                    break
            clock = StatementClock()
            for stream in range(1, args.incremental_runs + 1):
                found = incremental_run(
                    scale=args.scale, seed=args.seed, stream=stream, slug=args.tenant, clock=clock
                )
                result["runs"]["incremental"].append(round(found["seconds"], 3))
                result["runs"]["batch"].append(round(found["batch"], 3))
                result.setdefault("incremental", []).append(
                    {"dirty_days": found["dirty_days"], "values_written": found["written"]}
                )
                if remaining() < 60:
                    break
            result.setdefault("breakdown", {})["engine_incremental_all_runs"] = _seconds(clock.seconds)
        except Exception as exc:  # noqa: BLE001 - reported, not hidden: the engine may be mid-change
            failure = f"{type(exc).__name__}: {exc}".strip()
            result["notes"].append(f"The run stopped early: {failure}")
            log(f"FAILED: {failure}")
        finally:
            statement_timeout(0)
    runs = result["runs"]
    medians = {name: median(runs[name]) for name in ("full", "floor", "incremental")}
    result["medians"] = medians
    result["ratios"] = {
        "full_over_floor": round(medians["full"] / medians["floor"], 3)
        if medians["full"] and medians["floor"]
        else None,
        "incremental_over_full": round(medians["incremental"] / medians["full"], 4)
        if medians["incremental"] and medians["full"]
        else None,
    }
    result["finished_at"] = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    result["seconds"] = round(time.perf_counter() - started, 1)
    write_report(result)
    print()
    print(table(result))
    print()
    wrong = [
        row
        for row in result.get("floor_check") or []
        if row["differ"] or row["only_stored"] or row["only_floor"]
    ]
    for row in wrong:
        print(
            f"floor != engine for {row['metric']}: {row['differ']} differ, {row['only_stored']} only stored, "
            f"{row['only_floor']} only in the floor; e.g. {row['example']}"
        )
    if result["coverage"]["not_covered"]:
        print("Not covered by the floor:", ", ".join(result["coverage"]["not_covered"]))
    print(f"Wrote {RESULTS.relative_to(ROOT)} and {REPORT.relative_to(ROOT)} ({result['seconds']:.0f} s).")
    return 1 if failure else 0


if __name__ == "__main__":
    sys.exit(main())
