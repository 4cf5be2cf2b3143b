"""Real processes: a Celery worker (and, for browser journeys, a web server) started against the test
database and the configured broker: Kombu's filesystem transport on the embedded pass, Redis on CI's
second pass. Each run uses a queue of its own, so a `make run` worker never takes the suite's tasks."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection

from config.celery import app

ROOT = Path(__file__).resolve().parents[1]


def database_url() -> str:
    db = connection.settings_dict
    user = quote(db["USER"] or "")
    password = f":{quote(db['PASSWORD'])}" if db["PASSWORD"] else ""
    if db["HOST"].startswith("/"):
        return f"postgresql://{user}{password}@/{db['NAME']}?host={quote(db['HOST'])}"
    port = f":{db['PORT']}" if db["PORT"] else ""
    return f"postgresql://{user}{password}@{db['HOST']}{port}/{db['NAME']}"


@pytest.fixture(scope="session")
def queue_name() -> str:
    return f"test-{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="session")
def process_env(django_db_setup, queue_name) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            "DATABASE_URL": database_url(),
            "TANDEM_QUEUE": queue_name,
            "TANDEM_DATA_DIR": str(settings.DATA_DIR),
            "CELERY_TASK_ALWAYS_EAGER": "0",
            "PYTHONUNBUFFERED": "1",
        }
    )
    if settings.CELERY_BROKER_URL != "filesystem://":
        env["CELERY_BROKER_URL"] = settings.CELERY_BROKER_URL
    return env


@contextmanager
def real_broker():
    """Send through the broker for the duration (unit tests run tasks eagerly)."""
    previous = app.conf.task_always_eager
    app.conf.task_always_eager = False
    try:
        yield
    finally:
        app.conf.task_always_eager = previous


@contextmanager
def running_process(args: list[str], env: dict[str, str], log_path: Path):
    """Run ``args`` from the project root with output in ``log_path``; stop it on exit."""
    with log_path.open("w") as log:
        process = subprocess.Popen(args, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            yield process
        finally:
            stop(process)


def stop(process: subprocess.Popen, timeout: float = 15) -> None:
    """Terminate, and kill what does not exit within ``timeout`` seconds."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


@pytest.fixture(scope="session")
def celery_worker(process_env, queue_name, tmp_path_factory, django_db_blocker):
    """A real worker process; yields once it has answered a task."""
    from accounts.tasks import where_am_i
    from config.celery import send_to_tenant

    log_path = tmp_path_factory.mktemp("worker") / "worker.log"
    args = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "config",
        "worker",
        "--pool=solo",
        "--concurrency=1",
        "-Q",
        queue_name,
        "--loglevel=INFO",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
    ]
    with running_process(args, process_env, log_path) as process:
        with real_broker(), django_db_blocker.unblock():
            try:
                send_to_tenant(where_am_i, "alpha", queue=queue_name).get(timeout=90)
            except Exception as exc:
                raise RuntimeError(f"worker did not answer:\n{log_path.read_text()[-4000:]}") from exc
        yield process


def wait_for_http(url: str, host: str, timeout: float = 60) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            request = urllib.request.Request(url, headers={"Host": host})
            with urllib.request.urlopen(request, timeout=2) as response:  # noqa: S310 - loopback only
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer within {timeout} s")


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def web_process(env: dict[str, str], log_path: Path, *, threads: int = 4, workers: int = 1):
    """gunicorn serving the test database on a free loopback port; yields its base URL
    (``http://localhost:<port>``, tenants at ``<slug>.localhost``)."""
    with gunicorn(env, log_path, threads=threads, workers=workers) as (url, _):
        yield url


@contextmanager
def gunicorn(env: dict[str, str], log_path: Path, *, threads: int = 4, workers: int = 1):
    """As ``web_process``, yielding (base URL, the gunicorn master's ``Popen``)."""
    port = free_port()
    args = [
        sys.executable, "-m", "gunicorn", "config.wsgi:application", "--bind", f"127.0.0.1:{port}",
        "--workers", str(workers), "--threads", str(threads), "--access-logfile", "-",
    ]  # fmt: skip
    with running_process(args, {**env, "TANDEM_URL_PORT": str(port)}, log_path) as process:
        try:
            wait_for_http(f"http://127.0.0.1:{port}/healthz", host="localhost")
        except RuntimeError as exc:
            raise RuntimeError(log_path.read_text()[-4000:]) from exc
        yield f"http://localhost:{port}", process
