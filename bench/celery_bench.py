"""The Celery fan-out benchmark (issue 9): per-tenant metric tasks over many workspaces against a no-op task.
``make bench`` runs it, or ``.venv/bin/python bench/celery_bench.py [--tenants 1000] [--rounds 5]``.

The production path: the beat's ``alignment.refresh_metrics`` is sent for every workspace (the schema in the
header and as an argument), a real worker process takes them from the configured broker (Redis here; the
embedded filesystem broker without ``CELERY_BROKER_URL``), switches to the workspace's schema, checks it and
runs the metric engine's incremental run, which finds nothing marked in a quiet workspace (one statement,
``alignment.engine.QUIET``) and stores nothing. That is what most of the every-45-seconds fan-out does on a
platform of a thousand workspaces.

(A) ``alignment.refresh_metrics`` for each of ``--tenants`` workspaces; (B) the floor, ``bench.noop``
(bench/celery_tasks.py), a per-tenant task that does nothing, through the same task base, schema switch and
checks, acknowledged when it is received (Celery's default); and (B') ``bench.noop_acks_late``, the same
no-op delivered as the refresh must be: acknowledged after it ran, so that a worker killed halfway leaves
it to be delivered again (tests/integration/test_faults.py). With one message in flight (prefetch 1), a task
acknowledged late is fetched only after the one before it finished, so B' is B plus one broker round trip
per task: A / B' is what the metric work itself costs, A / B that plus the delivery guarantee.
One worker process (prefork, one child, prefetch 1, DEBUG off, as deployed) pinned to CPU 0, the sender on
CPU 1. Each round sends one task per workspace and waits for every result; tasks per second from the first
send to the last result. A warm-up round of each first, then rounds in the order A B B', B' B A, ...;
medians. Target: A / B at least 0.8.

The workspaces are the tenant benchmark's (bench/tenants_bench.py makes them from the template schema).
Results: ``bench/results/celery.json`` and a section of ``BENCHMARKS.md``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import metrics_bench as mb  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "celery.json"
TARGET = 0.8


def _pin(cpu: int) -> None:
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > 1:
        os.sched_setaffinity(0, {cpu})


def worker(env: dict[str, str], queue: str, log: Path) -> subprocess.Popen:
    args = [
        sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=prefork", "--concurrency=1",
        "-Q", queue, "--include", "bench.celery_tasks", "--loglevel=WARNING",
        "--without-gossip", "--without-mingle", "--without-heartbeat",
    ]  # fmt: skip
    with log.open("w") as out:
        return subprocess.Popen(
            args, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
            preexec_fn=lambda: _pin(0),  # noqa: PLW1509 - affinity only, before exec
        )  # fmt: skip


def fan_out(task, schemas: list[str], queue: str, timeout: float) -> float:
    """Send ``task`` to every schema and wait for every result: tasks per second."""
    from celery.result import ResultSet

    from config.celery import send_to_tenant

    started = time.perf_counter()
    results = ResultSet([send_to_tenant(task, schema, queue=queue) for schema in schemas])
    results.join(timeout=timeout, propagate=True)
    return len(schemas) / (time.perf_counter() - started)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tenants", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5, help="A/B/B' rounds after the warm-up")
    args = parser.parse_args(argv)
    _pin(1)
    from bench import tenants_bench

    url, source = tenants_bench.database_url()  # the tenant benchmark's database and workspaces
    mb.setup_django(url)
    from django.conf import settings
    from django.core.management import call_command

    from alignment.tasks import refresh_metrics
    from bench.celery_tasks import noop, noop_acks_late
    from config.celery import app
    from tests.processes import stop

    call_command("migrate_schemas", interactive=False, verbosity=0)
    schemas = tenants_bench.ensure_tenants(args.tenants)
    queue = f"bench-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "DJANGO_SETTINGS_MODULE": "bench.settings_worker",  # DEBUG off, as deployed
        "PYTHONUNBUFFERED": "1",
        "TANDEM_QUEUE": queue,
    }
    app.conf.task_always_eager = False
    logs = ROOT / "bench" / "results"
    logs.mkdir(parents=True, exist_ok=True)
    process = worker(env, queue, logs / "celery-worker.log")
    loads = {"metrics": refresh_metrics, "noop": noop, "noop_acks_late": noop_acks_late}
    runs: dict[str, list[float]] = {name: [] for name in loads}
    try:
        fan_out(noop, schemas[:1], queue, timeout=120)  # the worker is up
        warm = {}
        for name, task in loads.items():
            started = time.perf_counter()
            fan_out(task, schemas, queue, timeout=1800)
            warm[name] = round(time.perf_counter() - started, 1)
            mb.log(f"Warm-up {name}: {warm[name]} s for {len(schemas)} workspaces")
        for index in range(args.rounds):
            order = list(loads.items())  # A B B', then B' B A: a drift in the machine weighs on all alike
            for name, task in order if index % 2 == 0 else order[::-1]:
                rate = fan_out(task, schemas, queue, timeout=1800)
                runs[name].append(round(rate, 1))
                mb.log(f"Round {index + 1} {name}: {rate:,.0f} tasks/s")
    finally:
        stop(process, timeout=30)
    medians = {name: statistics.median(values) for name, values in runs.items()}
    result = {
        "ratio_same_delivery": round(medians["metrics"] / medians["noop_acks_late"], 3),
        "commit": mb.commit(),
        "database": source,
        "broker": settings.CELERY_BROKER_URL.split("://")[0],
        "tenants": len(schemas),
        "rounds": args.rounds,
        "pinned": (os.cpu_count() or 1) > 1,
        "warm_up_seconds": warm,
        "runs": runs,
        "medians": medians,
        "ratio": round(medians["metrics"] / medians["noop"], 3),
        "finished_at": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
    mb.publish(RESULTS, result, section(result))
    return 0 if result["ratio"] >= TARGET else 1


def section(result: dict | None = None) -> str:
    """The Celery part of BENCHMARKS.md, from the latest run."""
    result = result or mb.stored(RESULTS)
    if result is None:
        return ""
    m, runs, ratio = result["medians"], result["runs"], result["ratio"]
    pinning = "worker on CPU 0, sender on CPU 1" if result["pinned"] else "one CPU: not pinned"
    rounds = {name: ", ".join(f"{v:,.0f}" for v in values) for name, values in runs.items()}
    return "\n".join(
        [
            "## Celery fan-out (issue 9)",
            "",
            f"Run {result['finished_at']} on commit {result['commit']}. One worker process (prefork, one "
            f"child, prefetch 1, DEBUG off), {result['broker']} broker, {pinning}; each round sends one "
            f"task to each of {result['tenants']:,} workspaces and waits for every result; a warm-up round "
            f"of each, then {result['rounds']} rounds of A, B and B' (A B B', then B' B A, ...), medians. "
            "Command: `make bench` (`bench/celery_bench.py`).",
            "",
            "| measurement | tasks per second (median) | rounds | warm-up (s) |",
            "|---|---:|---|---:|",
            f"| (A) `alignment.refresh_metrics` per workspace | {m['metrics']:,.0f} | {rounds['metrics']} "
            f"| {result['warm_up_seconds']['metrics']} |",
            f"| (B) `bench.noop` per workspace | {m['noop']:,.0f} | {rounds['noop']} "
            f"| {result['warm_up_seconds']['noop']} |",
            f"| (B') `bench.noop_acks_late` per workspace | {m['noop_acks_late']:,.0f} "
            f"| {rounds['noop_acks_late']} | {result['warm_up_seconds']['noop_acks_late']} |",
            "",
            "| ratio | value | target | met |",
            "|---|---:|---:|---|",
            f"| fan-out A / B | {ratio:.3f} | >= {TARGET} | {'yes' if ratio >= TARGET else 'NO'} |",
            f"| A / B' (the same delivery: acknowledged after the run) | {result['ratio_same_delivery']:.3f} "
            "| for the record | |",
            "",
            "A quiet workspace's refresh is one statement over the two mark logs on the worker's open "
            "connection (no health check or search path first). B' - B is the late acknowledgement: with "
            "one message in flight, the next is fetched only after the task ran. The refresh keeps it: a "
            "pool process killed mid-run must leave the message to be delivered again.",
        ]
    )


if __name__ == "__main__":
    sys.exit(main())
