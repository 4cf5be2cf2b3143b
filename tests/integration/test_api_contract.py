"""The published OpenAPI schema against a real web process, with schemathesis (every check on).

A workspace of its own (the demo history, committed, dropped afterwards) is served by gunicorn with the
test settings (DEBUG off). Run 1: that workspace's key with every scope, ``--checks all``: no server
error, every status code, content type, header and body as documented, schema-valid data accepted (or
refused by a rule, 409/422), schema-breaking data refused, and a missing or wrong key ignored by none.
Run 2: another workspace's key on every operation: 401 each time (tests/contract/other_workspace.py); its
examples and fuzzed cases, not the coverage phase's thousands of boundary values, which add nothing when the
key is refused before the body is read.
Both load tests/contract/hooks.py.

To reproduce a failure, run the printed schemathesis command against ``make run``'s demo workspace.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.utils.module_loading import import_string
from django_tenants.utils import schema_context

from accounts.roles import ALL_SCOPES
from tests.conftest import PASSWORD, api_key_for

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
SLUG = "contract"
CONFIG = ROOT / "tests" / "contract" / "schemathesis.toml"
# Revoking a key: the run would revoke its own (unit tests cover it: tests/accounts/test_api_keys.py).
EXCLUDE = "api-keys/.*/revoke"
EXAMPLES = int(os.environ.get("TANDEM_CONTRACT_EXAMPLES", "6"))
SEED = os.environ.get("TANDEM_CONTRACT_SEED", "20261207")
# Two schemathesis workers against two web processes keep both cores busy (one request at a time leaves
# one idle): the run takes about half as long.
WORKERS = max(1, min(2, os.cpu_count() or 1))


@pytest.fixture(scope="module")
def contract_workspace(django_db_setup, django_db_blocker):
    """A committed workspace with the demo history; dropped with its schema afterwards."""
    from accounts.tenancy.models import Tenant
    from accounts.tenancy.services import tenant_create

    with django_db_blocker.unblock():
        tenant = tenant_create(
            slug=SLUG, name="Contract Co", admin_email="admin@contract.example", admin_password=PASSWORD
        )
        for path in settings.TANDEM_DEMO_SEEDERS:
            import_string(path)(tenant=tenant)
        connection.set_schema_to_public()
        try:
            yield tenant
        finally:
            connection.set_schema_to_public()
            Tenant.objects.get(pk=tenant.pk).delete(force_drop=True)


def _schemathesis(
    base: str, key: str, report: Path, *extra: str, hooks: str = "tests.contract.hooks"
) -> tuple[subprocess.CompletedProcess, dict]:
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        "--config-file", str(CONFIG),
        "run", f"{base}/api/schema/",
        "--header", f"Host: {SLUG}.{settings.TANDEM_BASE_DOMAIN}",
        "--header", f"Authorization: Bearer {key}",
        "--exclude-path-regex", EXCLUDE,
        "--max-examples", str(EXAMPLES),
        "--seed", SEED,
        "--workers", str(WORKERS),
        "--request-timeout", "30",
        "--report", "json", "--report-dir", str(report),
        "--no-color",
        *extra,
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SCHEMATHESIS_HOOKS": hooks}
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1500)
    reports = sorted(report.glob("*.json"))
    summary = json.loads(reports[-1].read_text()) if reports else {}
    return result, summary


@contextmanager
def _purged(queue: str):
    from config.celery import app

    try:
        yield
    finally:
        with app.connection_for_write() as conn:
            conn.default_channel.queue_purge(queue)


@pytest.mark.once_per_ci
def test_the_api_keeps_its_published_contract(contract_workspace, process_env, tmp_path, django_db_blocker):
    from tests.processes import web_process

    with django_db_blocker.unblock():
        own_key = api_key_for(SLUG, list(ALL_SCOPES), name="contract")
        other_key = api_key_for("beta", list(ALL_SCOPES), name="contract (other workspace)")
    connection.set_schema_to_public()

    # The web process queues tasks (webhook deliveries, imports, recomputes) on a queue no worker takes: the
    # suite's worker must not spend the next tests on thousands of them, for a workspace about to be dropped.
    queue = f"contract-{uuid.uuid4().hex[:10]}"
    web = web_process({**process_env, "TANDEM_QUEUE": queue}, tmp_path / "web.log", workers=WORKERS)
    with web as base, _purged(queue):
        result, summary = _schemathesis(base, own_key, tmp_path / "own", "--checks", "all")
        output = result.stdout[-60000:] + result.stderr[-3000:]
        assert result.returncode == 0, output
        operations = summary["operations"]
        assert operations["tested"] == operations["selected"] >= 140, operations
        assert summary["failures"] == [] and summary["errors"] == [], output

        result, summary = _schemathesis(
            base, other_key, tmp_path / "other", "--checks", "another_workspace_is_401",
            "--phases", "examples,fuzzing", hooks="tests.contract.other_workspace",
        )  # fmt: skip
        output = result.stdout[-60000:] + result.stderr[-3000:]
        assert result.returncode == 0, output
        assert summary["operations"]["tested"] == summary["operations"]["selected"], summary["operations"]
        assert summary["failures"] == [], output

    with django_db_blocker.unblock(), schema_context(SLUG):
        from accounts.models import ApiKey

        assert ApiKey.objects.filter(name="contract", revoked__isnull=True).exists()
