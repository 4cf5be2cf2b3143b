"""API rate limits: per key (or person) and per workspace in a window, per workspace per day, by plan; the
headers on every counted answer, 429 with Retry-After past a limit, a new window admitting again, one
workspace's exhaustion leaving another untouched, and a concurrent burst admitting exactly the limit (in the
database and through a real web process: tests/integration/test_api_limits_live.py)."""

from __future__ import annotations

import datetime as dt
from unittest import mock

import pytest
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from tests.conftest import api_client, api_key_for, login

pytestmark = pytest.mark.django_db

SMALL = {"standard": {"key": 3, "workspace": 5, "daily": 100}}
ME = "/api/v1/me/"


def _get(client, path=ME):
    response = client.get(path)
    connection.set_schema_to_public()
    return response


def _at(seconds: float):
    """``timezone.now`` at a fixed moment: the start of a window plus ``seconds``."""
    moment = dt.datetime(2026, 12, 7, 10, 0, 0, tzinfo=dt.UTC) + dt.timedelta(seconds=seconds)
    return mock.patch.object(timezone, "now", return_value=moment)


@override_settings(TANDEM_API_PLANS=SMALL)
def test_a_key_gets_its_limit_then_429_until_the_window_turns(tenant_a):
    client = api_client("alpha", api_key_for("alpha", ["marketing:read"]))
    with _at(1):
        answers = [_get(client) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert [a["X-RateLimit-Remaining"] for a in answers] == ["2", "1", "0", "0"]
    assert {a["X-RateLimit-Limit"] for a in answers} == {"3"}
    assert {a["X-RateLimit-Reset"] for a in answers} == {"9"}
    refused = answers[-1]
    assert refused["Retry-After"] == "9"
    assert (
        refused.json()["error"]["code"] == "throttled"
        and "at most 3 in 10 seconds" in refused.json()["error"]["message"]
    )
    with _at(10):  # the next window
        again = _get(client)
    assert again.status_code == 200 and again["X-RateLimit-Remaining"] == "2"


@override_settings(TANDEM_API_PLANS=SMALL)
def test_the_workspace_limit_binds_every_key_and_another_workspace_is_untouched(tenant_a, tenant_b):
    first = api_client("alpha", api_key_for("alpha", ["marketing:read"], name="one"))
    second = api_client("alpha", api_key_for("alpha", ["marketing:read"], name="two"))
    beta = api_client("beta", api_key_for("beta", ["marketing:read"]))
    with _at(2):
        answers = [_get(first) for _ in range(3)] + [_get(second) for _ in range(3)]
        assert [a.status_code for a in answers] == [200, 200, 200, 200, 200, 429]  # the workspace's 5
        assert answers[-1]["X-RateLimit-Limit"] == "5"  # the limit that refused it: the workspace's
        # beta has its own counters: all of its calls go through
        assert [_get(beta).status_code for _ in range(3)] == [200, 200, 200]


@override_settings(TANDEM_API_PLANS={"standard": {"key": 50, "workspace": 50, "daily": 4}})
def test_the_daily_quota_refuses_until_midnight_utc(tenant_a):
    client = api_client("alpha", api_key_for("alpha", ["marketing:read"]))
    with _at(3):
        answers = [_get(client) for _ in range(5)]
    assert [a.status_code for a in answers] == [200, 200, 200, 200, 429]
    assert [a["X-RateLimit-Daily-Remaining"] for a in answers] == ["3", "2", "1", "0", "0"]
    refused = answers[-1]
    assert int(refused["Retry-After"]) == 14 * 3600 - 3  # from 10:00:03 to midnight
    assert "daily API quota" in refused.json()["error"]["message"]


@override_settings(TANDEM_API_PLANS={**SMALL, "enterprise": {"key": 10, "workspace": 10, "daily": 100}})
def test_limits_follow_the_workspace_plan(tenant_a):
    from accounts.tenancy import cache
    from accounts.tenancy.models import Tenant

    Tenant.objects.filter(slug="alpha").update(plan="enterprise")
    cache.clear()
    client = api_client("alpha", api_key_for("alpha", ["marketing:read"]))
    with _at(4):
        assert _get(client)["X-RateLimit-Limit"] == "10"
    Tenant.objects.filter(slug="alpha").update(plan="no-such-plan")  # an unknown plan: the default's limits
    cache.clear()
    with _at(5):
        assert _get(client)["X-RateLimit-Limit"] == "3"


@override_settings(TANDEM_API_PLANS=SMALL)
def test_every_counted_answer_carries_the_headers(tenant_a):
    client = api_client("alpha", api_key_for("alpha", ["marketing:read"]))
    with _at(6):
        answers = {
            "ok": _get(client, "/api/v1/contacts/"),
            "bad parameter": _get(client, "/api/v1/contacts/?colour=red"),
            "missing scope": _get(client, "/api/v1/deals/"),
        }
    assert {k: a.status_code for k, a in answers.items()} == {
        "ok": 200,
        "bad parameter": 400,
        "missing scope": 403,
    }
    assert all("X-RateLimit-Remaining" in a and "X-RateLimit-Daily-Limit" in a for a in answers.values())
    # a person calling from the portal is counted too, as ``user:<id>``
    person = login("alpha", "marketing")
    with _at(16):  # the next window: the person's bucket is the tighter one (3 a window, 5 the workspace)
        assert _get(person, "/api/v1/contacts/")["X-RateLimit-Remaining"] == "2"
    # no credentials: nothing to count, no headers
    anonymous = _get(api_client("alpha"), "/api/v1/contacts/")
    assert anonymous.status_code == 401 and "X-RateLimit-Limit" not in anonymous
