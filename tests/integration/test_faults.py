"""Faults with real processes: a worker killed mid-task, Redis down for a minute under writes, PostgreSQL
restarted under requests. Redis and PostgreSQL are stopped only as private servers started here from this
machine's binaries (tests/faults_support.py); the shared servers are never touched.

Run only with real services (TANDEM_EXPECT_REAL_SERVICES=1, CI's pass 2); tests/conftest.py deselects
them otherwise. Each writes a client-side ledger of what the server acknowledged and checks it against
the database afterwards: nothing missing, nothing doubled.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import signal
import subprocess
import sys
import time
import uuid

import psutil
import psycopg
import pytest
import requests

from tests.conftest import PASSWORD
from tests.faults_support import Ledger, PrivateCluster, PrivateRedis
from tests.processes import ROOT, gunicorn, real_broker

pytestmark = [pytest.mark.integration, pytest.mark.faults]
# ruff: noqa: S608 - the schema names in SQL here are this module's constants
# Schema names below are this module's constants and the tenants the test suite creates.
# ruff: noqa: S608

REDIS_DOWN_SECONDS = 60
SLOW = 2.0  # no request may take longer, whatever is down
SLUG = "faults"
HOST = f"{SLUG}.localhost"


# --- 1. A worker killed in the middle of a metrics task --------------------------------------------


def _worker(env: dict[str, str], queue: str, log_path, *, pool: str) -> subprocess.Popen:
    args = [
        sys.executable, "-m", "celery", "-A", "config", "worker", f"--pool={pool}", "--concurrency=1",
        "-Q", queue, "--loglevel=INFO", "--without-gossip", "--without-mingle", "--without-heartbeat",
    ]  # fmt: skip
    log = log_path.open("a")
    # A session of its own, so that killing the worker kills its pool children with it.
    return subprocess.Popen(
        args, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )


def _kill_group(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def _metric_snapshot(cursor) -> list[tuple]:
    cursor.execute(
        "SELECT metric, granularity, period_start, dimension, dimension_value, model, definition_id, value "
        "FROM alpha.alignment_metricvalue ORDER BY 1, 2, 3, 4, 5, 6, 7"
    )
    return cursor.fetchall()


def _blocked_backend(cursor, timeout: float = 90) -> int:
    """The backend (pid) of the task's transaction, waiting on the table lock the test holds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        cursor.execute(
            "SELECT pid FROM pg_locks "
            "WHERE NOT granted AND relation = 'alpha.alignment_metricvalue'::regclass"
        )
        row = cursor.fetchone()
        if row:
            return row[0]
        time.sleep(0.2)
    raise AssertionError("the metrics task never reached its writes")


@pytest.fixture
def metric_facts(django_db_setup, django_db_blocker):
    """Deals in alpha on days of their own (committed; the worker reads them), removed afterwards."""
    from django.db import connection
    from django_tenants.utils import schema_context

    from alignment.models import AttributionCredit, DirtyDay, EngineRun, MetricValue
    from sales.models import Deal
    from sales.services.deals import deal_create

    with django_db_blocker.unblock():
        made = []
        with schema_context("alpha"):
            for index in range(12):
                deal = deal_create(data={"name": f"Fault {index}", "amount": str(100 + index)})
                moment = dt.datetime(2025, 3, 1 + index, 12, tzinfo=dt.UTC)
                Deal.objects.filter(pk=deal.pk).update(created_at=moment)
                made.append(deal.pk)
        connection.set_schema_to_public()
        try:
            yield made
        finally:
            with schema_context("alpha"):
                Deal.objects.filter(pk__in=made).delete()
                for model in (MetricValue, AttributionCredit, EngineRun, DirtyDay):
                    model.objects.all().delete()
            connection.set_schema_to_public()


def _send_refresh(queue: str):
    from alignment.tasks import refresh_metrics
    from config.celery import send_to_tenant

    with real_broker():
        return send_to_tenant(refresh_metrics, "alpha", queue=queue)


def _kill_mid_task(cursor, lock_conn, kill) -> None:
    """Hold the metric table so the task stops at its first write, kill the worker there, end the orphaned
    transaction (as PostgreSQL does once it sees the client gone) and let go of the table."""
    lock_conn.execute("BEGIN")
    lock_conn.execute("LOCK TABLE alpha.alignment_metricvalue IN SHARE MODE")
    orphan = _blocked_backend(cursor)
    kill()
    cursor.execute("SELECT pg_terminate_backend(%s)", [orphan])
    lock_conn.execute("ROLLBACK")


def _wait_result(result, timeout: float = 120):
    value = result.get(timeout=timeout)
    return value


def _settled_and_equal_to_a_clean_run(database_url: str, queue: str) -> None:
    """Every value once, and a full recompute (the oracle) finds nothing to change."""
    from django_tenants.utils import schema_context

    from alignment.engine import run

    with psycopg.connect(database_url, autocommit=True) as conn, conn.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM (SELECT 1 FROM alpha.alignment_metricvalue GROUP BY metric, granularity, "
            "period_start, dimension, dimension_value, model, definition_id HAVING count(*) > 1) AS d"
        )
        assert cursor.fetchone()[0] == 0
        cursor.execute("SELECT count(*) FROM alpha.alignment_dirtyday")
        assert cursor.fetchone()[0] == 0  # the killed run's marks were taken by the redelivered one
        after_fault = _metric_snapshot(cursor)
        assert after_fault
        with schema_context("alpha"):
            clean = run(full=True)
        assert clean is not None and clean.values_written == 0
        assert _metric_snapshot(cursor) == after_fault


def test_a_pool_process_killed_mid_metrics_task_is_redelivered_and_every_value_exists_once(
    process_env, metric_facts, tmp_path, django_db_blocker
):
    from tests.processes import database_url as test_database_url

    assert process_env.get("CELERY_BROKER_URL", "").startswith("redis://")
    queue = f"faults-{uuid.uuid4().hex[:8]}"
    env = {**process_env, "TANDEM_QUEUE": queue}
    with django_db_blocker.unblock():
        url = test_database_url()
    log = tmp_path / "worker.log"
    with psycopg.connect(url, autocommit=True) as watch, psycopg.connect(url, autocommit=True) as lock_conn:
        cursor = watch.cursor()
        # the pool process running the task is killed (the OOM killer's way): the worker sees it lost
        # and, with reject_on_worker_lost, puts the message back at once
        worker = _worker(env, queue, log, pool="prefork")
        try:
            result = _send_refresh(queue)

            def kill_child() -> None:
                children = psutil.Process(worker.pid).children(recursive=True)
                assert len(children) == 1, children
                children[0].send_signal(signal.SIGKILL)

            _kill_mid_task(cursor, lock_conn, kill_child)
            with django_db_blocker.unblock():
                first = _wait_result(result)
                print(f"redelivered to the same worker: {first}")
                if first is None:  # the orphan still held the workspace lock: the marks wait for the next
                    first = _wait_result(_send_refresh(queue))
            assert first["values_written"] >= 1, first
            assert "WorkerLostError" in log.read_text() or "SIGKILL" in log.read_text()
            with django_db_blocker.unblock():
                _settled_and_equal_to_a_clean_run(url, queue)
        finally:
            _kill_group(worker)


VISIBILITY_SECONDS = 5


def test_a_whole_worker_killed_mid_metrics_task_is_redelivered_by_the_next_worker(
    process_env, metric_facts, tmp_path, django_db_blocker
):
    from tests.processes import database_url as test_database_url

    assert process_env.get("CELERY_BROKER_URL", "").startswith("redis://")
    queue = f"faults-{uuid.uuid4().hex[:8]}"
    # The unacknowledged message of a dead worker goes back to its queue once it is older than the
    # visibility timeout: when a worker starts, and in kombu's sweep (~100 s) while one runs. Short here.
    env = {**process_env, "TANDEM_QUEUE": queue, "TANDEM_BROKER_VISIBILITY_TIMEOUT": str(VISIBILITY_SECONDS)}
    with django_db_blocker.unblock():
        url = test_database_url()
    log = tmp_path / "worker.log"
    with psycopg.connect(url, autocommit=True) as watch, psycopg.connect(url, autocommit=True) as lock_conn:
        worker = _worker(env, queue, log, pool="solo")
        try:
            result = _send_refresh(queue)
            _kill_mid_task(watch.cursor(), lock_conn, lambda: _kill_group(worker))
        finally:
            _kill_group(worker)
    time.sleep(VISIBILITY_SECONDS + 1)
    started = time.monotonic()
    successor = _worker(env, queue, log, pool="solo")
    try:
        with django_db_blocker.unblock():
            value = _wait_result(result, timeout=60)
            print(f"redelivered {time.monotonic() - started:.1f} s after the next worker started: {value}")
            if value is None:  # the orphan still held the workspace lock: the marks wait for the next run
                value = _wait_result(_send_refresh(queue))
        assert value["values_written"] >= 1, value
        with django_db_blocker.unblock():
            _settled_and_equal_to_a_clean_run(url, queue)
    finally:
        _kill_group(successor)


# --- 2 and 3. A private stack: PostgreSQL, Redis, gunicorn, a worker with beat -----------------------

SETUP = f"""
from django_tenants.utils import schema_context
from accounts.roles import ALL_SCOPES
from accounts.services import api_key_create
from accounts.tenancy.services import tenant_create
from marketing.models import Contact
tenant = tenant_create(slug={SLUG!r}, name="Faults Co", admin_email="admin@faults.example",
                       admin_password={PASSWORD!r})
with schema_context(tenant.schema_name):
    _, secret = api_key_create(name="faults", scopes=list(ALL_SCOPES), created_by=None)
    contact = Contact.objects.create(email="target@faults.example")
print("KEY=" + secret)
print("CONTACT=" + str(contact.pk))
"""


class Stack:
    def __init__(self, pg: PrivateCluster, redis: PrivateRedis, env: dict[str, str], key: str, contact: int):
        self.pg, self.redis, self.env, self.key, self.contact = pg, redis, env, key, contact
        self.base = ""
        self.web_pid = 0
        self.worker_log = None

    @property
    def database_url(self) -> str:
        return self.env["DATABASE_URL"]

    def sql(self, query: str, params=None) -> list[tuple]:
        with psycopg.connect(self.database_url, autocommit=True) as conn:
            return conn.execute(query, params).fetchall()

    def api(self) -> requests.Session:
        session = requests.Session()
        session.headers.update({"Host": HOST, "Authorization": f"Bearer {self.key}"})
        return session

    def portal(self) -> requests.Session:
        session = requests.Session()
        session.headers.update({"Host": HOST})
        page = session.get(f"{self.base}/login/", timeout=10)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
        response = session.post(
            f"{self.base}/login/",
            data={"csrfmiddlewaretoken": token, "username": "admin@faults.example", "password": PASSWORD},
            allow_redirects=False,
            timeout=10,
        )
        assert response.status_code == 302, response.text[:500]
        return session

    def portal_contact(self, session: requests.Session, email: str) -> tuple[int, float]:
        started = time.monotonic()
        page = session.get(f"{self.base}/marketing/contacts/new/", timeout=10)
        if page.status_code != 200:
            return page.status_code, time.monotonic() - started
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
        response = session.post(
            f"{self.base}/marketing/contacts/new/",
            data={"csrfmiddlewaretoken": token, "email": email, "first_name": "Port", "last_name": "Al"},
            allow_redirects=False,
            timeout=10,
        )
        return response.status_code, time.monotonic() - started


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    work = tmp_path_factory.mktemp("faults-stack")
    pg = PrivateCluster()
    redis = PrivateRedis(work)
    try:
        pg.init()
        pg.start()
        pg.create_database("tandem")
        redis.start()
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("CELERY_", "REDIS_", "DATABASE_"))},
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            "DATABASE_URL": pg.url("tandem"),
            "CELERY_BROKER_URL": redis.url(0),
            "REDIS_URL": redis.url(1),
            "TANDEM_QUEUE": f"faults-{uuid.uuid4().hex[:8]}",
            "TANDEM_DATA_DIR": str(work / "data"),
            "CELERY_TASK_ALWAYS_EAGER": "0",
            "PYTHONUNBUFFERED": "1",
        }
        manage = [sys.executable, "manage.py"]
        subprocess.run([*manage, "migrate_schemas", "--noinput"], cwd=ROOT, env=env, check=True,
                       capture_output=True, timeout=300)  # fmt: skip
        out = subprocess.run([*manage, "shell", "-c", SETUP], cwd=ROOT, env=env, check=True,
                             capture_output=True, text=True, timeout=300).stdout  # fmt: skip
        key = re.search(r"KEY=(\S+)", out).group(1)
        contact = int(re.search(r"CONTACT=(\d+)", out).group(1))
        built = Stack(pg, redis, env, key, contact)
        worker_log = work / "worker.log"
        worker = _worker(env, env["TANDEM_QUEUE"], worker_log, pool="solo")
        worker_beat = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "beat", "--loglevel=INFO",
             "-s", str(work / "beat-schedule")],
            cwd=ROOT, env=env, stdout=(work / "beat.log").open("w"), stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        try:
            with gunicorn(env, work / "web.log") as (base, web):
                built.base, built.web_pid, built.worker_log = base, web.pid, worker_log
                yield built
        finally:
            _kill_group(worker_beat)
            _kill_group(worker)
    finally:
        redis.stop()
        pg.remove()


def _outbox_size(stack: Stack) -> int:
    return stack.sql("SELECT count(*) FROM public.tenancy_outboxmessage")[0][0]


def _succeeded(log_path, task_name: str) -> int:
    return len(re.findall(rf"Task {re.escape(task_name)}\[[^\]]+\] succeeded", log_path.read_text()))


def test_redis_down_for_a_minute_writes_succeed_quickly_and_the_queued_work_drains_after(stack):
    api = stack.api()
    portal = stack.portal()
    ledger = Ledger()
    rescored_before = _succeeded(stack.worker_log, "marketing.rescore_contacts")
    # when: Redis (broker, results, cache) is down for the whole write load
    stack.redis.stop()
    down_until = time.monotonic() + REDIS_DOWN_SECONDS
    index = 0
    while time.monotonic() < down_until:
        index += 1
        # an API write that asks for a task (a touchpoint: its contact is rescored)
        started = time.monotonic()
        response = api.post(
            f"{stack.base}/api/v1/touchpoints/",
            json={"kind": "page_visit", "contact_id": stack.contact, "external_id": f"redis-{index}"},
            timeout=10,
        )
        ledger.record(f"tp:redis-{index}", response.status_code, time.monotonic() - started,
                      response.json().get("id") if response.status_code == 201 else None)  # fmt: skip
        # a portal write, and now and then a fresh sign-in (login throttling reads the cache)
        status, took = stack.portal_contact(portal, f"redis-{index}@faults.example")
        ledger.record(f"contact:redis-{index}@faults.example", status, took)
        if index % 10 == 0:
            started = time.monotonic()
            stack.portal()
            ledger.slowest = max(ledger.slowest, time.monotonic() - started)
        time.sleep(0.2)
    # then: every write was acknowledged, none slowly; their tasks wait in the outbox
    assert ledger.refused == []
    assert ledger.slowest < SLOW, ledger.slowest
    waiting = _outbox_size(stack)
    assert waiting >= index  # a rescore per touchpoint, plus webhook requests if any
    # when: Redis is back (empty: it kept nothing), with no further writes
    stack.redis.start()
    deadline = time.monotonic() + 90
    back = time.monotonic()
    while _outbox_size(stack) and time.monotonic() < deadline:
        time.sleep(1)
    print(f"the outbox drained {time.monotonic() - back:.0f} s after Redis returned")
    # then: the relay sent everything, and the worker ran every rescore
    assert _outbox_size(stack) == 0
    deadline = time.monotonic() + 60
    while (
        _succeeded(stack.worker_log, "marketing.rescore_contacts") - rescored_before < index
        and time.monotonic() < deadline
    ):
        time.sleep(1)
    assert _succeeded(stack.worker_log, "marketing.rescore_contacts") - rescored_before >= index
    _check_ledger(stack, ledger, "redis-")
    print(f"{index} rounds of writes while Redis was down; slowest request {ledger.slowest:.2f} s")


def _check_ledger(stack: Stack, ledger: Ledger, tag: str) -> None:
    touchpoints = dict(
        stack.sql(
            f"SELECT external_id, id FROM {SLUG}.marketing_touchpoint WHERE external_id LIKE %s", [f"{tag}%"]
        )
    )
    contacts = [row[0] for row in stack.sql(
        f"SELECT email FROM {SLUG}.marketing_contact WHERE email LIKE %s", [f"{tag}%"]
    )]  # fmt: skip
    acknowledged_tp = {k.split(":", 1)[1]: v for k, v in ledger.acknowledged.items() if k.startswith("tp:")}
    acknowledged_contacts = {k.split(":", 1)[1] for k in ledger.acknowledged if k.startswith("contact:")}
    # nothing missing: each acknowledged write is there, with the id the server gave
    for external_id, pk in acknowledged_tp.items():
        assert touchpoints.get(external_id) == pk, external_id
    assert acknowledged_contacts <= set(contacts)
    # nothing doubled
    assert len(contacts) == len(set(contacts))
    total_tp = stack.sql(
        f"SELECT count(*) FROM {SLUG}.marketing_touchpoint WHERE external_id LIKE %s", [f"{tag}%"]
    )[0][0]
    assert total_tp == len(touchpoints)
    # and what was not acknowledged may have been stored (a commit whose answer was lost), but only once
    assert len(touchpoints) >= len(acknowledged_tp)


def test_postgres_restart_answers_503_meanwhile_and_recovers_without_restarting_anything(stack):
    api = stack.api()
    portal = stack.portal()
    ledger = Ledger()
    answers: list[tuple[str, int, float, str, str]] = []  # (what, status, seconds, Retry-After, body)

    def round_of_requests(index: int) -> None:
        started = time.monotonic()
        response = api.post(
            f"{stack.base}/api/v1/touchpoints/",
            json={"kind": "page_visit", "contact_id": stack.contact, "external_id": f"pg-{index}"},
            timeout=15,
        )
        took = time.monotonic() - started
        ledger.record(f"tp:pg-{index}", response.status_code, took,
                      response.json().get("id") if response.status_code == 201 else None)  # fmt: skip
        answers.append(
            ("api", response.status_code, took, response.headers.get("Retry-After", ""), response.text)
        )
        started = time.monotonic()
        page = portal.get(f"{stack.base}/marketing/contacts/", timeout=15)
        took = time.monotonic() - started
        answers.append(("portal", page.status_code, took, page.headers.get("Retry-After", ""), page.text))

    index = 0
    for _ in range(5):  # all well
        index += 1
        round_of_requests(index)
    stack.pg.stop()
    down_until = time.monotonic() + 5
    while time.monotonic() < down_until:  # PostgreSQL down
        index += 1
        round_of_requests(index)
        time.sleep(0.2)
    stack.pg.start()
    recovered = False
    for _ in range(40):  # back: the same processes, with new connections
        index += 1
        round_of_requests(index)
        if all(status in (200, 201) for _, status, *_ in answers[-6:]):
            recovered = True
            break
        time.sleep(0.5)
    assert recovered, answers[-6:]
    # every answer was a success or a clean 503 (the API's error body, the portal's page), never a 500
    assert {status for _, status, *_ in answers} <= {200, 201, 503}
    unavailable = [a for a in answers if a[1] == 503]
    assert unavailable, "no request fell in the restart"
    for what, _, _, retry_after, body in unavailable:
        assert retry_after.isdigit(), what
        assert "Traceback" not in body
        if what == "api":
            error = requests.models.complexjson.loads(body)["error"]
            assert error["code"] == "unavailable" and error["status"] == 503
        else:
            assert "Temporarily unavailable" in body
    assert max(took for _, _, took, *_ in answers) < SLOW
    # nothing restarted: the same gunicorn master serves, and the same worker runs a new write's task
    assert psutil.pid_exists(stack.web_pid)
    rescored = _succeeded(stack.worker_log, "marketing.rescore_contacts")
    index += 1
    round_of_requests(index)
    assert answers[-2][1] == 201
    deadline = time.monotonic() + 30
    while (
        _succeeded(stack.worker_log, "marketing.rescore_contacts") == rescored and time.monotonic() < deadline
    ):
        time.sleep(0.5)
    assert _succeeded(stack.worker_log, "marketing.rescore_contacts") > rescored, (
        stack.worker_log.read_text()[-3000:]
    )
    _check_ledger(stack, ledger, "pg-")
    print(f"{len(unavailable)} answers were 503; {len(ledger.acknowledged)} writes acknowledged")
