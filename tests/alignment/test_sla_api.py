"""The SLA API: the calendar and policies (keys with alignment:write, people of leadership or admin),
the clocks with their states, the monthly report, 400s naming the field, isolation and query budgets."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import schema_context

from alignment.models import SlaClock, SlaPolicy
from sales.models import Team
from tests.conftest import api_client, api_key_for, login, user_in
from tests.marketing import factories

pytestmark = pytest.mark.django_db

API = "/api/v1/sla/"


def call(client, method, path, data=None):
    response = getattr(client, method)(path, data, content_type="application/json")
    connection.set_schema_to_public()
    return response


def fields(response) -> set[str]:
    return set(response.json()["error"]["fields"])


def _clock(slug="alpha", day=5, **extra) -> SlaClock:
    with schema_context(slug):
        return SlaClock.objects.create(
            contact=factories.contact(), mql_at=dt.datetime(2026, 10, day, 10, tzinfo=dt.UTC),
            owner=user_in(slug, "sales"), first_touch_hours=4, decision_hours=8,
            at_risk_share=Decimal("0.75"), escalate_after_hours=8, **extra,
        )  # fmt: skip


def test_a_write_key_sets_the_calendar_and_policies(tenant_a):
    client = api_client("alpha", api_key_for("alpha", ["alignment:write"]))
    changed = call(
        client, "patch", f"{API}calendar/", {"time_zone": "Europe/Berlin", "holidays": ["2026-12-25"]}
    )
    assert changed.status_code == 200 and changed.json()["time_zone"] == "Europe/Berlin"
    bad = call(
        client, "patch", f"{API}calendar/", {"time_zone": "CET", "day_start": "18:00", "day_end": "08:00"}
    )
    assert bad.status_code == 422 and fields(bad) == {"time_zone", "day_end"}
    with schema_context("alpha"):
        team = Team.objects.create(name="East")
    created = call(
        client, "post", f"{API}policies/", {"name": "East", "team": team.pk, "first_touch_hours": "2"}
    )
    assert created.status_code == 201, created.content
    clash = call(client, "post", f"{API}policies/", {"name": "East again", "team": team.pk})
    assert clash.status_code == 422 and fields(clash) == {"team"}
    missing = call(client, "post", f"{API}policies/", {"name": "Nowhere", "segment": 999999})
    assert missing.status_code == 422 and fields(missing) == {"segment"}
    assert call(client, "delete", f"{API}policies/{created.json()['id']}/").status_code == 204
    with schema_context("alpha"):
        assert not SlaPolicy.objects.get(pk=created.json()["id"]).is_active
        assert SlaPolicy.objects.filter(is_active=True).count() == 1


def test_reading_needs_read_writing_needs_write_and_a_manager(tenant_a):
    reader = api_client("alpha", api_key_for("alpha", ["alignment:read"]))
    for path in ("calendar/", "policies/", "clocks/", "report/"):
        assert call(reader, "get", f"{API}{path}").status_code == 200, path
    assert call(reader, "patch", f"{API}calendar/", {"time_zone": "Europe/Paris"}).status_code == 403
    marketer = login("alpha", "marketing")  # writes alignment, but is not leadership or an admin
    assert call(marketer, "patch", f"{API}calendar/", {"time_zone": "Europe/Paris"}).status_code == 403
    with schema_context("alpha"):
        policy = SlaPolicy.objects.get()
    assert call(marketer, "patch", f"{API}policies/{policy.pk}/", {"name": "Mine"}).status_code == 403
    with schema_context("alpha"):
        assert SlaPolicy.objects.get().name == "Workspace SLA"


def test_clock_states_and_the_report(tenant_a):
    at = dt.datetime(2026, 10, 5, 12, tzinfo=dt.UTC)
    met = _clock(first_touch_at=at, decided_at=at)
    breached = _clock(day=6, first_touch_breached_at=at, escalation_level=1)
    running = _clock(day=7)
    client = api_client("alpha", api_key_for("alpha", ["alignment:read"]))

    def ids(state):
        return [row["id"] for row in call(client, "get", f"{API}clocks/?state={state}").json()["results"]]

    assert (ids("met"), ids("breached"), ids("running")) == ([met.pk], [breached.pk], [running.pk])
    assert call(client, "get", f"{API}clocks/?state=late").status_code == 400
    report = call(client, "get", f"{API}report/?month=2026-10").json()
    total = report["reps"][0]
    assert (total["label"], total["mqls"], total["touch_met"], total["touch_breached"]) == (
        "Workspace",
        3,
        1,
        1,
    )
    assert total["touch_attainment"] == "0.5000"
    bad = call(client, "get", f"{API}report/?month=2026-13")
    assert bad.status_code == 422 and fields(bad) == {"month"}


def test_the_sla_api_is_isolated_between_workspaces(tenant_a, tenant_b):
    for day in (5, 6, 7):
        alpha_clock = _clock(day=day)
    with schema_context("alpha"):
        for _ in range(3):
            alpha_policy = SlaPolicy.objects.create(name="alphacanary", is_active=False)
    with schema_context("beta"):
        assert not SlaClock.objects.filter(pk=alpha_clock.pk).exists()
        assert not SlaPolicy.objects.filter(pk=alpha_policy.pk).exists()
    beta = api_client("beta", api_key_for("beta", ["alignment:write"]))
    assert "alphacanary" not in call(beta, "get", f"{API}policies/").content.decode()
    assert call(beta, "get", f"{API}clocks/").json()["results"] == []
    assert call(beta, "patch", f"{API}policies/{alpha_policy.pk}/", {"name": "x"}).status_code == 404
    assert call(beta, "delete", f"{API}policies/{alpha_policy.pk}/").status_code == 404
    alpha_key = api_key_for("alpha", ["alignment:read"])
    assert call(api_client("beta", alpha_key), "get", f"{API}clocks/").status_code == 401
    with schema_context("alpha"):
        assert SlaPolicy.objects.get(pk=alpha_policy.pk).name == "alphacanary"


def test_list_budgets_do_not_grow_with_rows(tenant_a):
    client = api_client("alpha", api_key_for("alpha", ["alignment:read"]))
    client.get("/api/v1/me/")
    connection.set_schema_to_public()

    def queries(path) -> int:
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(path)
        connection.set_schema_to_public()
        assert response.status_code == 200
        return len(ctx.captured_queries)

    _clock()
    paths = [f"{API}clocks/", f"{API}policies/", f"{API}report/?month=2026-10"]
    queries(paths[2])  # the first report stores the workspace's first (default) definition version
    few = [queries(p) for p in paths]
    for day in range(6, 25):
        _clock(day=day)
    assert [queries(p) for p in paths] == few
