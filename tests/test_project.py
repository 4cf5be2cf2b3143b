"""Project-level guarantees: settings, the servers really in use, and the direction of imports."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[1]


def _run_production_check(env_overrides: dict[str, str | None]) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items()}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings.production",
            "SECRET_KEY": "k" * 30 + "x" * 30,
            "ALLOWED_HOSTS": "tandem.example.com",
            "DATABASE_URL": "postgresql://postgres@127.0.0.1:1/none",
            "CELERY_BROKER_URL": "redis://127.0.0.1:1/0",
        }
    )
    for key, value in env_overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"SECRET_KEY": None}, "SECRET_KEY must be set"),
        ({"SECRET_KEY": "short"}, "SECRET_KEY must be set"),
        ({"ALLOWED_HOSTS": None}, "ALLOWED_HOSTS must be set"),
        ({"DATABASE_URL": None}, "DATABASE_URL must point"),
        ({"CELERY_BROKER_URL": None}, "CELERY_BROKER_URL must point"),
    ],
)
def test_production_settings_refuse_to_start_without_secrets(overrides, message):
    result = _run_production_check(overrides)
    assert result.returncode != 0
    assert message in result.stderr


def test_production_settings_start_when_everything_is_set():
    result = _run_production_check({})
    assert result.returncode == 0, result.stderr[-2000:]


@pytest.mark.django_db
def test_the_configured_servers_are_the_ones_in_use():
    """With DATABASE_URL/CELERY_BROKER_URL set (CI's second pass) the real servers serve; without
    them the embedded PostgreSQL and the filesystem broker do."""
    from config.celery import app

    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('data_directory'), inet_server_port()")
        data_directory, port = cursor.fetchone()
    broker = app.connection_for_write()
    if os.environ.get("DATABASE_URL"):
        assert not settings.TANDEM_EMBEDDED_DATABASE
        assert not data_directory.startswith(str(settings.DATA_DIR))
        assert port is not None  # a TCP connection, not the embedded server's private socket
    else:
        assert settings.TANDEM_EMBEDDED_DATABASE
        assert data_directory == str(settings.DATA_DIR / "pg")
        assert port is None
    if os.environ.get("CELERY_BROKER_URL"):
        assert broker.transport_cls == app.conf.broker_url.split(":")[0]
    else:
        assert broker.transport_cls == "filesystem"
    if os.environ.get("TANDEM_EXPECT_REAL_SERVICES") == "1":
        import redis

        assert os.environ.get("DATABASE_URL") and port == 5432
        assert broker.transport_cls == "redis"
        assert redis.Redis.from_url(os.environ["CELERY_BROKER_URL"]).ping()
        assert settings.CACHES["default"]["BACKEND"].endswith("RedisCache")
        from django.core.cache import cache

        cache.set("probe", "real", 5)
        assert redis.Redis.from_url(os.environ["REDIS_URL"]).keys("*probe*")


def test_every_cache_alias_keys_by_tenant():
    for alias, config in settings.CACHES.items():
        assert config["KEY_FUNCTION"] == "django_tenants.cache.make_key", alias
        assert config["REVERSE_KEY_FUNCTION"] == "django_tenants.cache.reverse_key", alias


def test_dependency_direction_accounts_marketing_sales_alignment():
    """accounts <- marketing <- sales <- alignment: an app imports only apps to its left."""
    order = ["accounts", "marketing", "sales", "alignment"]
    offenders = []
    for index, app in enumerate(order):
        forbidden = set(order[index + 1 :])
        for path in (ROOT / app).rglob("*.py"):
            tree = ast.parse(path.read_text(), filename=str(path))
            for node in ast.walk(tree):
                names = []
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    names = [node.module]
                for name in names:
                    if name.split(".")[0] in forbidden:
                        offenders.append(f"{path.relative_to(ROOT)} imports {name}")
    assert offenders == []


def test_no_sqlite_anywhere():
    assert all("sqlite" not in db["ENGINE"] for db in settings.DATABASES.values())
    assert settings.DATABASES["default"]["ENGINE"] == "django_tenants.postgresql_backend"


def test_embedded_server_handle_list_survives_crashed_processes(tmp_path):
    """A process killed mid-write or killed outright must not stop the next `make run`."""
    import os

    from config.embedded import _harden_pgserver

    _harden_pgserver()
    from pgserver.utils import DiskList

    handles = DiskList(tmp_path / ".handle_pids.json")
    handles.path.write_text("")  # what a write interrupted by SIGTERM left behind
    assert handles.get() == []
    handles.put([os.getpid(), 2**22 + 12345])  # the second pid does not exist
    assert handles.get() == [os.getpid()]
    assert handles.get_and_remove(os.getpid()) == [os.getpid()]
    assert handles.get() == []
