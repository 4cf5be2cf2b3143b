"""The web benchmarks (issue 9): tenant resolution and the partner API. ``make bench`` runs them, or
``.venv/bin/python bench/web_bench.py``.

Two gunicorn processes on loopback (one sync worker each, the production worker class) run the project with
its whole middleware stack and DEBUG off, plus two benchmark-only routes (``bench/settings_ping.py``,
``bench/urls_ping.py``). They are pinned to CPU 0 and the load to CPU 1 (where there are two): client
processes that each send one request after another, on a new connection each (a sync worker closes it),
for a fixed time. Rounds go A B, B A, A B ... (a drift in the machine's speed weighs on both); medians.

**Tenant resolution.** ``/bench/ping``, a trivial view (two bytes, no query): (A) on a workspace's host
through the tenant middleware (host -> workspace, cached in the process, and the schema set for the
request); (B) the floor, the same stack and view without the tenant middleware (the second server), nothing
else changed. Each server is checked to be what it claims: an unknown host is a 404 through A and a 200
through B. Target: A / B at least 0.85.

**Partner API.** On the generated workspace ``bench`` (20,000 deals at scale 1; the metric benchmark
generates it, and so does this one when it is missing), through server (A): (A) ``GET
/api/v1/deals/?limit=50`` with an API key, following the cursor from the first page to the last and again;
(B) the floor, ``/bench/deals``: the same fields of the same 50 deals per page by one hand-written
``.values()`` query rendered by the standard library's JSON encoder, without DRF, authentication, scopes or
limits. Pages per second, A / B at least 0.5; then one connection's latency over ``--latency-pages``
pages of each, p50 and p99.

**Portal.** The pipeline board, the contact list and the joint report of the same workspace (1M touchpoints,
100,000 contacts), logged in as its admin through server (A): each page ``--portal-visits`` times in turn,
one connection at a time, with the trivial view between them as the floor; p50 and p99. Their query counts
are held constant from 1x to 100x rows by tests/test_query_counts.py.

The results go to ``bench/results/web.json`` and the web section of ``BENCHMARKS.md``.
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
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import metrics_bench as mb  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "web.json"
TARGET, API_TARGET = 0.85, 0.5
PING = "/bench/ping"
API_FIRST = "/api/v1/deals/?limit=50"
FLOOR_FIRST = "/bench/deals"
# The portal pages a rep and a marketer open all day, at the scale-1 workspace's 1M touchpoints.
PORTAL = {
    "pipeline board": "/sales/board/",
    "contact list": "/marketing/contacts/",
    "joint report": "/alignment/reports/",
}


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


def _get(port: int, host: str, path: str, headers: dict | None = None) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", path, headers={"Host": host, **(headers or {})})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def _wait(port: int, host: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if _get(port, host, PING)[0] == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"the server on port {port} did not answer {PING} within {timeout} s")


def _next(body: bytes, first: str) -> tuple[str, int]:
    """The path of the page after this one (the first again after the last), and this page's rows."""
    page = json.loads(body)
    following = page.get("next")
    path = urlsplit(following)._replace(scheme="", netloc="").geturl() if following else first
    return path, len(page["results"])


def _load(port: int, host: str, first: str, headers: dict, seconds: float, queue) -> None:
    """One load process: requests one after another until the time is up; puts (answered, failed). For the
    ping every request asks the same; for a list, page after page from the first to the last and again."""
    _pin(1)
    answered = failed = 0
    path = first
    stop = time.perf_counter() + seconds
    while time.perf_counter() < stop:
        try:
            status, body = _get(port, host, path, headers)
        except OSError:
            failed += 1
            continue
        if status != 200:
            failed += 1
            path = first
        elif first == PING:
            answered += body == b"ok"
            failed += body != b"ok"
        else:
            path, rows = _next(body, first)
            answered += rows > 0
    queue.put((answered, failed))


def throughput(port: int, host: str, first: str, headers: dict, *, clients: int, seconds: float):
    """Answers per second (with the view's body, or a page of rows), and the number of failed requests."""
    queue = multiprocessing.Queue()
    workers = [
        multiprocessing.Process(target=_load, args=(port, host, first, headers, seconds, queue))
        for _ in range(clients)
    ]
    for worker in workers:
        worker.start()
    results = [queue.get(timeout=seconds + 60) for _ in workers]
    for worker in workers:
        worker.join()
    return sum(a for a, _ in results) / seconds, sum(f for _, f in results)


def latencies(port: int, host: str, first: str, headers: dict, pages: int) -> list[float]:
    """Seconds per page, one request after another from this process (one connection at a time)."""
    times, path = [], first
    for _ in range(pages):
        started = time.perf_counter()
        status, body = _get(port, host, path, headers)
        times.append(time.perf_counter() - started)
        if status != 200:
            raise RuntimeError(f"{path}: {status} {body[:300]!r}")
        path, _rows = _next(body, first)
    return times


def _spread(seconds: list[float], count: str) -> dict:
    """p50 and p99 in milliseconds, and how many there were (under ``count``)."""
    return {
        "p50": round(percentile(seconds, 0.5) * 1000, 1),
        "p99": round(percentile(seconds, 0.99) * 1000, 1),
        count: len(seconds),
    }


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def workspace(slug: str, scale: float, seed: int) -> tuple[str, str]:
    """The generated workspace (made or reused like the metric benchmark's), its host, and an API key that
    reads sales."""
    from django_tenants.utils import schema_context

    from accounts.models import ApiKey
    from accounts.services import api_key_create
    from accounts.tenancy.models import Tenant

    mb.ensure_workspace(slug, scale, seed)
    tenant = Tenant.objects.get(slug=slug)
    with schema_context(tenant.schema_name):
        ApiKey.objects.filter(name="web benchmark").delete()
        _, key = api_key_create(name="web benchmark", scopes=["sales:read"], created_by=None)
    return tenant.domains.get(is_primary=True).domain, key


def portal_session(slug: str) -> str:
    """A portal session of the workspace's admin (made through the product's own login step)."""
    from django.contrib.sessions.backends.db import SessionStore
    from django.test import RequestFactory
    from django_tenants.utils import schema_context

    from accounts.models import User
    from accounts.services import session_login
    from accounts.tenancy.models import Tenant

    with schema_context(Tenant.objects.get(slug=slug).schema_name):
        request = RequestFactory().get("/")
        request.session = SessionStore()
        session_login(request, User.objects.filter(roles__contains=["admin"]).order_by("id").first())
        request.session.save()
        return request.session.session_key


def portal_latencies(port: int, host: str, cookie: str, visits: int) -> dict[str, list[float]]:
    """Seconds per page, one connection at a time: the portal pages in turn, and the trivial view between
    them (the floor: the same stack and process doing nothing)."""
    from django.conf import settings

    headers = {"Cookie": f"{settings.SESSION_COOKIE_NAME}={cookie}"}
    times: dict[str, list[float]] = {name: [] for name in (*PORTAL, "floor")}
    for _ in range(visits):
        for name, path in (*PORTAL.items(), ("floor", PING)):
            started = time.perf_counter()
            status, body = _get(port, host, path, headers)
            times[name].append(time.perf_counter() - started)
            if status != 200:
                raise RuntimeError(f"{path}: {status} {body[:300]!r}")
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--tenant", default="bench")
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--latency-pages", type=int, default=300)
    parser.add_argument("--portal-visits", type=int, default=60, help="Visits of each portal page")
    args = parser.parse_args(argv)
    url, source = mb.database_url()
    mb.setup_django(url)
    from django.core.management import call_command

    from tests.processes import free_port, stop

    call_command("migrate_schemas", interactive=False, verbosity=0)
    host, key = workspace(args.tenant, args.scale, args.seed)
    cookie = portal_session(args.tenant)
    unlimited = {"key": 10**6, "workspace": 10**6, "daily": 10**9}  # no rate limit in the way
    plans = dict.fromkeys(("free", "standard", "enterprise"), unlimited)
    env = {**os.environ, "DATABASE_URL": url, "PYTHONUNBUFFERED": "1", "TANDEM_API_PLANS": json.dumps(plans)}
    auth = {"Authorization": f"Bearer {key}"}
    logs = ROOT / "bench" / "results"
    logs.mkdir(parents=True, exist_ok=True)
    ports = {"tenant": free_port(), "floor": free_port()}
    # name -> (server, first path, headers)
    loads = {
        "tenant": ("tenant", PING, {}),
        "floor": ("floor", PING, {}),
        "api": ("tenant", API_FIRST, auth),
        "floor_api": ("tenant", FLOOR_FIRST, {}),
    }
    servers = {
        "tenant": _server(env, ports["tenant"], logs / "web-tenant.log", tenant=True),
        "floor": _server(env, ports["floor"], logs / "web-floor.log", tenant=False),
    }
    runs: dict[str, list[float]] = {name: [] for name in loads}
    failures = dict.fromkeys(loads, 0)
    latency: dict[str, list[float]] = {}
    try:
        for port in ports.values():
            _wait(port, host)
        # each is what it claims: the tenant middleware refuses an unknown host, the floor has none
        checks = {name: _get(port, "no-such-workspace.localhost", PING)[0] for name, port in ports.items()}
        if checks != {"tenant": 404, "floor": 200}:
            raise RuntimeError(
                f"an unknown host should be 404 with the tenant middleware, 200 without: {checks}"
            )
        for server, first, headers in loads.values():  # warm up
            throughput(ports[server], host, first, headers, clients=args.clients, seconds=1.0)
        mb.log(
            f"Web: {args.rounds} rounds of {args.seconds:g} s, {args.clients} clients; database: {source}."
        )
        for pair in (("tenant", "floor"), ("api", "floor_api")):
            for index in range(args.rounds):
                # A B, then B A: a machine getting slower or faster during the run weighs on both alike
                for name in pair if index % 2 == 0 else pair[::-1]:
                    server, first, headers = loads[name]
                    rate, failed = throughput(
                        ports[server], host, first, headers, clients=args.clients, seconds=args.seconds
                    )
                    runs[name].append(round(rate, 1))
                    failures[name] += failed
                    mb.log(f"Round {index + 1} {name}: {rate:,.0f}/s ({failed} failed)")
        for name in ("api", "floor_api"):
            server, first, headers = loads[name]
            latency[name] = latencies(ports[server], host, first, headers, args.latency_pages)
        portal_latencies(ports["tenant"], host, cookie, 2)  # warm up
        portal = portal_latencies(ports["tenant"], host, cookie, args.portal_visits)
    finally:
        for server in servers.values():
            stop(server, timeout=10)
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
        "api_ratio": round(medians["api"] / medians["floor_api"], 3),
        "latency_ms": {name: _spread(values, "pages") for name, values in latency.items()},
        "portal_ms": {name: _spread(values, "visits") for name, values in portal.items()},
        "finished_at": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
    mb.publish(RESULTS, result, section(result))
    met = result["ratio"] >= TARGET and result["api_ratio"] >= API_TARGET
    return 0 if met and not any(failures.values()) else 1


def _rounds(values: list[float]) -> str:
    return ", ".join(f"{v:,.0f}" for v in values)


def section(result: dict | None = None) -> str:
    """The web part of BENCHMARKS.md, from the latest run."""
    result = result or mb.stored(RESULTS)
    if result is None:
        return ""
    m, runs = result["medians"], result["runs"]
    pinning = "servers on CPU 0, load on CPU 1" if result["pinned"] else "one CPU: not pinned"
    ratio, api_ratio, lat = result["ratio"], result["api_ratio"], result["latency_ms"]
    return "\n".join(
        [
            "## Web: tenant resolution and the partner API (issue 9)",
            "",
            f"Run {result['finished_at']} on commit {result['commit']}. gunicorn, one sync worker, the whole "
            f"middleware stack, DEBUG off; {result['clients']} client processes, a new connection per "
            f"request, {result['rounds']} rounds of {result['seconds']:g} s in the order A B, B A, A B ..., "
            f"medians; {pinning}. Command: `make bench` (`bench/web_bench.py`).",
            "",
            f"Tenant resolution: `GET {PING}` (a trivial view) on a workspace host through the tenant "
            "middleware (A), and the same stack without it (B).",
            "",
            f"Partner API: `GET {API_FIRST}` with an API key, following the cursor through every page of the "
            "generated workspace's deals (A), against the same fields of the same pages by one hand-written "
            "`.values()` query and the standard library's JSON encoder, no DRF, authentication or limits "
            f"(B, `{FLOOR_FIRST}`). Latency: one connection at a time over {lat['api']['pages']} pages.",
            "",
            "| measurement | per second (median) | rounds | p50 (ms) | p99 (ms) |",
            "|---|---:|---|---:|---:|",
            f"| (A) ping with tenant resolution | {m['tenant']:,.0f} | {_rounds(runs['tenant'])} | | |",
            f"| (B) ping, no tenant middleware | {m['floor']:,.0f} | {_rounds(runs['floor'])} | | |",
            f"| (A) API deals pages of 50 | {m['api']:,.0f} | {_rounds(runs['api'])} "
            f"| {lat['api']['p50']} | {lat['api']['p99']} |",
            f"| (B) floor pages of 50 | {m['floor_api']:,.0f} | {_rounds(runs['floor_api'])} "
            f"| {lat['floor_api']['p50']} | {lat['floor_api']['p99']} |",
            "",
            "| ratio | value | target | met |",
            "|---|---:|---:|---|",
            f"| tenant resolution A / B | {ratio:.3f} | >= {TARGET} | {'yes' if ratio >= TARGET else 'NO'} |",
            f"| partner API A / B | {api_ratio:.3f} | >= {API_TARGET} "
            f"| {'yes' if api_ratio >= API_TARGET else 'NO'} |",
            *_portal_lines(result.get("portal_ms")),
        ]
    )


def _portal_lines(portal: dict | None) -> list[str]:
    if not portal:
        return []
    floor = portal["floor"]
    lines = [
        "",
        f"Portal at the scale-1 workspace (1M touchpoints), logged in as its admin: each page visited "
        f"{floor['visits']} times in turn, one connection at a time, with the trivial view between them as "
        "the floor (the same process and stack doing nothing). The query count of every portal page is the "
        "same at 1x, 10x and 100x rows: tests/test_query_counts.py.",
        "",
        "| page | p50 (ms) | p99 (ms) | p50 / floor p50 |",
        "|---|---:|---:|---:|",
    ]
    for name, path in PORTAL.items():
        row = portal[name]
        lines.append(
            f"| {name} `{path}` | {row['p50']} | {row['p99']} | {row['p50'] / max(floor['p50'], 0.1):.1f}x |"
        )
    lines.append(f"| floor `{PING}` | {floor['p50']} | {floor['p99']} | 1.0x |")
    return lines


if __name__ == "__main__":
    sys.exit(main())
