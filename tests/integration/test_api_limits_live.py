"""Rate limits under real concurrency: 50 calls at once in the database, then through a real web process
with small limits (committed data, so no test transaction: the rows they write are removed after)."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from django.test import override_settings
from django.utils import timezone
from django_tenants.utils import schema_context

from accounts import api_limits
from tests.conftest import api_key_for

pytestmark = pytest.mark.integration

ME = "/api/v1/me/"


@pytest.fixture
def committed_alpha(django_db_blocker):
    """Counters written by several connections at once (so committed), removed afterwards."""
    with django_db_blocker.unblock():
        yield
        with schema_context("alpha"):
            from accounts.models import RateCounter

            RateCounter.objects.all().delete()
        connection.set_schema_to_public()


@override_settings(TANDEM_API_PLANS={"standard": {"key": 20, "workspace": 1000, "daily": 1000}})
def test_a_concurrent_burst_admits_exactly_the_limit(committed_alpha):
    moment = timezone.now()

    def call(_: int) -> bool:
        try:
            with schema_context("alpha"):
                return api_limits.consume("key:burst", plan="standard", now=moment).retry_after is None
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=10) as pool:
        admitted = list(pool.map(call, range(50)))
    assert admitted.count(True) == 20


def test_fifty_parallel_calls_through_a_web_process(process_env, tmp_path, django_db_blocker):
    """A real web process with small limits: 50 calls at once get exactly 20 answers of 200, every answer
    has the headers, and the other workspace's calls at the same time all pass."""
    import urllib.error
    import urllib.request

    from tests.processes import web_process

    plans = {"standard": {"key": 20, "workspace": 1000, "daily": 100_000}}
    env = {**process_env, "TANDEM_API_PLANS": json.dumps(plans), "TANDEM_API_WINDOW_SECONDS": "3600"}
    with django_db_blocker.unblock():
        alpha_key = api_key_for("alpha", ["marketing:read"], name="burst")
        beta_key = api_key_for("beta", ["marketing:read"], name="burst")
    connection.set_schema_to_public()

    def call(args) -> tuple[str, int, dict]:
        slug, key, base = args
        request = urllib.request.Request(
            base.replace("://localhost", f"://{slug}.localhost") + ME,
            headers={"Authorization": f"Bearer {key}", "Host": f"{slug}.localhost"},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback
                return slug, response.status, dict(response.headers)
        except urllib.error.HTTPError as error:
            return slug, error.code, dict(error.headers)

    try:
        with web_process(env, tmp_path / "web.log", threads=8) as base:
            base = base.replace("localhost", "127.0.0.1")
            jobs = [("alpha", alpha_key, base)] * 50 + [("beta", beta_key, base)] * 10
            with ThreadPoolExecutor(max_workers=25) as pool:
                answers = list(pool.map(call, jobs))
    finally:
        with django_db_blocker.unblock():
            for slug in ("alpha", "beta"):
                with schema_context(slug):
                    from accounts.models import ApiKey, RateCounter

                    RateCounter.objects.all().delete()
                    ApiKey.objects.filter(name="burst").delete()
        connection.set_schema_to_public()
    alpha = [(status, headers) for slug, status, headers in answers if slug == "alpha"]
    assert sorted(status for status, _ in alpha) == [200] * 20 + [429] * 30
    assert all("X-RateLimit-Remaining" in headers for _, headers in alpha)
    assert all("Retry-After" in headers for status, headers in alpha if status == 429)
    assert [status for slug, status, _ in answers if slug == "beta"] == [200] * 10
