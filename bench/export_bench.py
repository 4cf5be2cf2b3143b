"""The export benchmark (issue 7): ``make bench`` runs it after the metric benchmark, or
``.venv/bin/python bench/export_bench.py``.

On the generated workspace ``bench`` (1M touchpoints at scale 1; the metric benchmark generates it), a real
web process (gunicorn, one worker) serves ``GET /api/v1/exports/touchpoints.csv`` and ``.ndjson`` to a
client on loopback that reads the body as it streams. The floor is PostgreSQL's own ``COPY`` of the same
rows to the same kind of reader, through psycopg, in the same run. A/B alternating, medians.

Reported: each export's time against its COPY floor (target: within 3x) and how far the web worker's
resident memory rose above what it held before the export (target: under 50 MB), sampled every 20 ms.
The results go to ``bench/results/export.json`` and the export section of ``BENCHMARKS.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import metrics_bench as mb  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "export.json"
TIME_TARGET, MEMORY_TARGET_MB = 3.0, 50.0
CHUNK = 256 * 1024


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def worker_pid(master: int) -> int:
    """The gunicorn worker (the master's child) that serves the requests."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
        if children:
            return int(children[0])
        time.sleep(0.1)
    raise RuntimeError("gunicorn started no worker")


class MemoryWatch:
    """The highest resident memory of ``pid`` while the block runs (sampled every 20 ms)."""

    def __init__(self, pid: int):
        self.pid, self.peak, self._stop = pid, 0, threading.Event()

    def __enter__(self):
        self.before = rss_kib(self.pid)
        self.peak = self.before
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()
        return self

    def _watch(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_kib(self.pid))
            time.sleep(0.02)

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_kib(self.pid))

    @property
    def growth_mb(self) -> float:
        return (self.peak - self.before) / 1024


def http_export(base: str, host: str, key: str, path: str) -> tuple[float, int]:
    """Read a streamed export to the end; (seconds, bytes)."""
    headers = {"Host": host, "Authorization": f"Bearer {key}"}
    request = urllib.request.Request(base + path, headers=headers)  # noqa: S310 - loopback
    started, size = time.perf_counter(), 0
    with urllib.request.urlopen(request, timeout=600) as response:  # noqa: S310 - loopback
        while chunk := response.read(CHUNK):
            size += len(chunk)
    return time.perf_counter() - started, size


def copy_floor(url: str, schema: str, sql: str) -> tuple[float, int]:
    """PostgreSQL's own COPY of the same rows (the export's statement, unbounded), read to the end by
    psycopg on a connection of its own; (seconds, bytes)."""
    import psycopg
    from psycopg import sql as composed

    started, size = time.perf_counter(), 0
    with psycopg.connect(url) as conn:
        conn.execute(composed.SQL("SET search_path TO {}").format(composed.Identifier(schema)))
        statement = psycopg.ClientCursor(conn).mogrify(sql, {"since": None, "until": None})
        with conn.cursor() as cursor, cursor.copy(statement) as copy:
            for chunk in copy:
                size += len(chunk)
    return time.perf_counter() - started, size


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tenant", default="bench")
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    url, source = mb.database_url()
    mb.setup_django(url)
    from django.core.management import call_command
    from django_tenants.utils import schema_context

    from accounts.models import ApiKey
    from accounts.services import api_key_create
    from accounts.tenancy.models import Tenant
    from alignment.api_exports import COLLECTIONS, copy_sql
    from tests.processes import gunicorn

    call_command("migrate_schemas", interactive=False, verbosity=0)
    mb.ensure_workspace(args.tenant, args.scale, args.seed)
    tenant = Tenant.objects.get(slug=args.tenant)
    host = tenant.domains.get(is_primary=True).domain
    with schema_context(tenant.schema_name):
        ApiKey.objects.filter(name="export benchmark").delete()
        _, key = api_key_create(name="export benchmark", scopes=["marketing:read"], created_by=None)
        rows = COLLECTIONS["touchpoints"].table
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute(f"SELECT count(*) FROM {rows}")  # noqa: S608 - a module constant
            count = cursor.fetchone()[0]
    plans = {"standard": {"key": 10**6, "workspace": 10**6, "daily": 10**8}}
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "DJANGO_SETTINGS_MODULE": "config.settings.local",
        "TANDEM_API_PLANS": json.dumps(plans),
        "PYTHONUNBUFFERED": "1",
    }
    floors = {fmt: copy_sql(COLLECTIONS["touchpoints"], fmt) for fmt in ("csv", "ndjson")}
    runs: dict[str, list] = {f"{kind}_{fmt}": [] for kind in ("export", "copy") for fmt in ("csv", "ndjson")}
    memory: dict[str, list[float]] = {"csv": [], "ndjson": []}
    sizes: dict[str, int] = {}
    log_path = ROOT / "bench" / "results" / "export-web.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    mb.log(f"Export benchmark: {count:,} touchpoints in workspace {args.tenant}; database: {source}.")
    with gunicorn(env, log_path, threads=2) as (base, master):
        base = base.replace("localhost", "127.0.0.1")
        worker = worker_pid(master.pid)
        http_export(base, host, key, "/api/v1/me/")  # the worker's first request: imports and connections
        for index in range(args.rounds):
            for fmt in ("csv", "ndjson"):
                with MemoryWatch(worker) as watch:
                    seconds, size = http_export(base, host, key, f"/api/v1/exports/touchpoints.{fmt}")
                runs[f"export_{fmt}"].append(round(seconds, 3))
                memory[fmt].append(round(watch.growth_mb, 1))
                floor_seconds, floor_size = copy_floor(url, tenant.schema_name, floors[fmt])
                runs[f"copy_{fmt}"].append(round(floor_seconds, 3))
                sizes[fmt], sizes[f"copy_{fmt}"] = size, floor_size
                mb.log(
                    f"Round {index + 1} {fmt}: export {seconds:.2f} s ({size / 1e6:.0f} MB, worker "
                    f"+{watch.growth_mb:.1f} MB), COPY {floor_seconds:.2f} s"
                )
    with schema_context(tenant.schema_name):
        ApiKey.objects.filter(name="export benchmark").delete()
    medians = {name: statistics.median(values) for name, values in runs.items()}
    result = {
        "commit": mb.commit(),
        "database": source,
        "rows": count,
        "runs": runs,
        "medians": medians,
        "bytes": sizes,
        "memory_growth_mb": memory,
        "ratios": {
            fmt: round(medians[f"export_{fmt}"] / medians[f"copy_{fmt}"], 2) for fmt in ("csv", "ndjson")
        },
        "max_memory_growth_mb": {fmt: max(values) for fmt, values in memory.items()},
        "finished_at": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
    mb.publish(RESULTS, result, section(result))
    met = all(r <= TIME_TARGET for r in result["ratios"].values()) and all(
        m < MEMORY_TARGET_MB for m in result["max_memory_growth_mb"].values()
    )
    return 0 if met else 1


def section(result: dict | None = None) -> str:
    """The export part of BENCHMARKS.md, from the latest export run."""
    result = result or mb.stored(RESULTS)
    if result is None:
        return ""
    m, growth = result["medians"], result["max_memory_growth_mb"]
    lines = [
        "## API export (issue 7)",
        "",
        f"Run {result['finished_at']} on commit {result['commit']}: `GET /api/v1/exports/touchpoints.<fmt>` "
        f"of {result['rows']:,} touchpoints through a real web process, read as it streams, against "
        "PostgreSQL's own COPY of the same rows in the same run "
        f"({len(result['runs']['export_csv'])} rounds, medians). Command: `make bench`.",
        "",
        "| format | export (s) | COPY (s) | export / COPY | target | worker memory growth, worst (MB) "
        "| target |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for fmt in ("csv", "ndjson"):
        ratio = result["ratios"][fmt]
        lines.append(
            f"| {fmt} | {m[f'export_{fmt}']:.2f} | {m[f'copy_{fmt}']:.2f} | {ratio:.2f} "
            f"({'met' if ratio <= TIME_TARGET else 'NOT met'}) | <= {TIME_TARGET:g} | {growth[fmt]:.1f} "
            f"({'met' if growth[fmt] < MEMORY_TARGET_MB else 'NOT met'}) | < {MEMORY_TARGET_MB:g} |"
        )
    sizes = result["bytes"]
    lines += ["", f"Bytes sent: CSV {sizes['csv']:,}, NDJSON {sizes['ndjson']:,}."]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
