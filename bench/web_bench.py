"""The tenant-resolution benchmark (issue 9): ``make bench`` runs it, or ``.venv/bin/python
bench/web_bench.py``.

Two gunicorn processes on loopback (one sync worker each, the production worker class) serve the same
trivial view, ``/bench/ping`` (two bytes, no query; ``bench/urls_ping.py``), with the project's whole
middleware stack and DEBUG off (``bench/settings_ping.py``):

- (A) on a workspace's host, through the tenant middleware (host -> workspace, cached in the process, and
  the schema set for the request);
- (B) the floor: the same stack and view without the tenant middleware, nothing else changed.

The servers are pinned to CPU 0 and the load to CPU 1 (where there are two): client processes that each
send one request after another, on a new connection each (a sync worker closes it), for a fixed time.
Rounds alternate A, B, A, B; the medians of the throughput and A / B are reported (target: at least
0.85). Each server is checked to be what it claims: an unknown host is a 404 through A and a 200 through B.
The results go to ``bench/results/web.json`` and the tenant-resolution section of ``BENCHMARKS.md``.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import metrics_bench as mb  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "web.json"
TARGET = 0.85
SLUG = "benchweb"
PATH = "/bench/ping"


def _pin(cpu: int) -> None:
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > 1:
        os.sched_setaffinity(0, {cpu})


def _server(env: dict[str, str], port: int, log: Path, *, tenant: bool) -> subprocess.Popen:
    args = [
        sys.executable, "-m", "gunicorn", "config.wsgi:application", "--bind", f"127.0.0.1:{port}",
        "--workers", "1", "--worker-class", "sync", "--backlog", "2048",
    ]  # fmt: skip
    settings = {
        "DJANGO_SETTINGS_MODULE": "bench.settings_ping",
        "TANDEM_BENCH_NO_TENANT": "" if tenant else "1",
    }
    with log.open("w") as out:
        return subprocess.Popen(
            args, cwd=ROOT, env={**env, **settings}, stdout=out, stderr=subprocess.STDOUT,
            preexec_fn=lambda: _pin(0),  # noqa: PLW1509 - affinity only, before exec
        )  # fmt: skip


def _get(port: int, host: str, path: str = PATH) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path, headers={"Host": host})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def _wait(port: int, host: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if _get(port, host)[0] == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"the server on port {port} did not answer {PATH} within {timeout} s")


def _client(port: int, host: str, seconds: float, queue) -> None:
    """One load process: requests one after another until the time is up; puts (answered, failed)."""
    _pin(1)
    answered = failed = 0
    stop = time.perf_counter() + seconds
    while time.perf_counter() < stop:
        try:
            status, body = _get(port, host)
            if status == 200 and body == b"ok":
                answered += 1
            else:
                failed += 1
        except OSError:
            failed += 1
    queue.put((answered, failed))


def throughput(port: int, host: str, *, clients: int, seconds: float) -> tuple[float, int]:
    """Requests per second answered with the view's body, and the number that were not."""
    queue = multiprocessing.Queue()
    workers = [
        multiprocessing.Process(target=_client, args=(port, host, seconds, queue)) for _ in range(clients)
    ]
    for worker in workers:
        worker.start()
    results = [queue.get(timeout=seconds + 60) for _ in workers]
    for worker in workers:
        worker.join()
    return sum(a for a, _ in results) / seconds, sum(f for _, f in results)


def ensure_workspace() -> str:
    """A small workspace to resolve (made once, like any sign-up); its host."""
    import secrets

    from accounts.tenancy.models import Tenant
    from accounts.tenancy.services import tenant_create, tenant_provision

    tenant = Tenant.objects.filter(slug=SLUG).first()
    if tenant is None:
        tenant = tenant_create(
            slug=SLUG,
            name="Web benchmark",
            admin_email=f"admin@{SLUG}.example",
            admin_password=secrets.token_urlsafe(12),
        )
    if not tenant.ready:
        tenant = tenant_provision(tenant_id=tenant.pk)
    return tenant.domains.get(is_primary=True).domain


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--clients", type=int, default=4)
    args = parser.parse_args(argv)
    url, source = mb.database_url()
    mb.setup_django(url)
    from django.core.management import call_command

    from tests.processes import free_port

    call_command("migrate_schemas", interactive=False, verbosity=0)
    host = ensure_workspace()
    env = {**os.environ, "DATABASE_URL": url, "PYTHONUNBUFFERED": "1"}
    logs = ROOT / "bench" / "results"
    logs.mkdir(parents=True, exist_ok=True)
    ports = {"tenant": free_port(), "floor": free_port()}
    servers = {
        "tenant": _server(env, ports["tenant"], logs / "web-tenant.log", tenant=True),
        "floor": _server(env, ports["floor"], logs / "web-floor.log", tenant=False),
    }
    runs: dict[str, list[float]] = {"tenant": [], "floor": []}
    failures = {"tenant": 0, "floor": 0}
    try:
        for port in ports.values():
            _wait(port, host)
        # each is what it claims: the tenant middleware refuses an unknown host, the floor has none
        checks = {name: _get(port, "no-such-workspace.localhost")[0] for name, port in ports.items()}
        if checks != {"tenant": 404, "floor": 200}:
            raise RuntimeError(
                f"an unknown host should be 404 with the tenant middleware, 200 without: {checks}"
            )
        for port in ports.values():
            throughput(port, host, clients=args.clients, seconds=1.0)  # warm up
        mb.log(
            f"Tenant resolution: {args.rounds} rounds of {args.seconds:g} s, {args.clients} clients;"
            f" {source}."
        )
        for index in range(args.rounds):
            for name in ("tenant", "floor"):
                rate, failed = throughput(ports[name], host, clients=args.clients, seconds=args.seconds)
                runs[name].append(round(rate, 1))
                failures[name] += failed
                mb.log(f"Round {index + 1} {name}: {rate:,.0f} requests/s ({failed} failed)")
    finally:
        for server in servers.values():
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
    medians = {name: statistics.median(values) for name, values in runs.items()}
    result = {
        "commit": mb.commit(),
        "database": source,
        "rounds": args.rounds,
        "seconds": args.seconds,
        "clients": args.clients,
        "pinned": (os.cpu_count() or 1) > 1,
        "runs": runs,
        "failures": failures,
        "medians": medians,
        "ratio": round(medians["tenant"] / medians["floor"], 3),
        "finished_at": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print()
    print(section(result))
    if mb.RESULTS.exists():  # the report holds every benchmark: render it again with this run
        mb.write_report(json.loads(mb.RESULTS.read_text()))
    return 0 if result["ratio"] >= TARGET and not any(failures.values()) else 1


def section(result: dict | None = None) -> str:
    """The tenant-resolution part of BENCHMARKS.md, from the latest run."""
    if result is None:
        if not RESULTS.exists():
            return ""
        result = json.loads(RESULTS.read_text())
    m, ratio = result["medians"], result["ratio"]
    pinning = "servers on CPU 0, load on CPU 1" if result["pinned"] else "one CPU: not pinned"
    rounds = {name: ", ".join(f"{v:,.0f}" for v in values) for name, values in result["runs"].items()}
    return "\n".join(
        [
            "## Tenant resolution (issue 9)",
            "",
            f"Run {result['finished_at']} on commit {result['commit']}: `GET {PATH}` (a trivial view) "
            "through gunicorn (one sync worker) with the whole middleware stack, on a workspace host "
            "through the tenant middleware (A) and without it (B, the floor); "
            f"{result['clients']} client processes, a new connection per request, "
            f"{result['rounds']} rounds of {result['seconds']:g} s alternating "
            f"A/B, medians; {pinning}. Command: `make bench` (`bench/web_bench.py`).",
            "",
            "| measurement | requests/s (median) | rounds |",
            "|---|---:|---|",
            f"| (A) with tenant resolution | {m['tenant']:,.0f} | {rounds['tenant']} |",
            f"| (B) floor: no tenant middleware | {m['floor']:,.0f} | {rounds['floor']} |",
            "",
            "| ratio | value | target | met |",
            "|---|---:|---:|---|",
            f"| A / B | {ratio:.3f} | >= {TARGET} | {'yes' if ratio >= TARGET else 'NO'} |",
        ]
    )


if __name__ == "__main__":
    sys.exit(main())
