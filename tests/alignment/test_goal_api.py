"""The goals API: create, read, change and delete through alignment scopes, 400s that name the field,
isolation between workspaces, query budgets that do not grow with goals, the plan endpoint, and each user's
notifications."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import schema_context

from alignment import goals
from alignment.models import Goal, Notification
from tests.conftest import BREAKS_RULE, BREAKS_SCHEMA, api_client, api_key_for, login, refused, user_in

pytestmark = pytest.mark.django_db

GOALS = "/api/v1/goals/"


def body(slug="alpha", **fields) -> dict:
    owners = [user_in(slug, "marketing").pk, user_in(slug, "sales").pk]
    return {
        "name": "Q3 leads",
        "metric": "leads",
        "period": "quarter",
        "period_start": "2026-07-01",
        "target": "900",
        "owners": owners,
        **fields,
    }


def _goal(slug="alpha", **fields) -> Goal:
    with schema_context(slug):
        return goals.goal_create(actor=None, data={**body(slug), **fields})


def call(client, method, path, data=None):
    response = getattr(client, method)(path, data, content_type="application/json")
    connection.set_schema_to_public()
    return response


def test_a_key_with_write_creates_changes_and_deletes_a_goal(tenant_a):
    client = api_client("alpha", api_key_for("alpha", ["alignment:write"]))
    created = call(client, "post", GOALS, body())
    assert created.status_code == 201, created.content
    goal = created.json()
    assert (goal["name"], goal["status"], goal["actual"], goal["period_end"]) == (
        "Q3 leads",
        "no_data",
        None,
        "2026-10-01",
    )
    changed = call(client, "patch", f"{GOALS}{goal['id']}/", {"target": "1000.5", "baseline": "400"})
    assert changed.status_code == 200 and changed.json()["target"] == "1000.500000"
    plan = call(client, "get", f"{GOALS}{goal['id']}/plan/").json()
    assert plan["proposals"] == []  # leads are the bottom of the funnel
    assert call(client, "delete", f"{GOALS}{goal['id']}/").status_code == 204
    with schema_context("alpha"):
        assert not Goal.objects.exists()


@pytest.mark.parametrize(
    ("fields", "field", "status"),
    [
        ({"metric": "nonsense"}, "metric", BREAKS_SCHEMA),
        ({"period_start": "2026-07-02"}, "period_start", BREAKS_RULE),  # not the first day of a month
        ({"target": "lots"}, "target", BREAKS_SCHEMA),
        ({"owners": []}, "owners", BREAKS_RULE),
        ({"name": "x" * 151}, "name", BREAKS_SCHEMA),
        ({"parent": 99999}, "parent", BREAKS_RULE),
        ({"metric": "attributed_pipeline"}, "model", BREAKS_RULE),  # an attributed metric needs a model
    ],
)
def test_bad_input_is_a_400_naming_the_field(tenant_a, fields, field, status):
    client = api_client("alpha", api_key_for("alpha", ["alignment:write"]))
    response = call(client, "post", GOALS, body(**fields))
    assert field in refused(response, status), response.content
    with schema_context("alpha"):
        assert not Goal.objects.exists()


def test_reading_needs_read_and_writing_needs_write(tenant_a):
    goal = _goal()
    reader = api_client("alpha", api_key_for("alpha", ["alignment:read"]))
    assert call(reader, "get", GOALS).status_code == 200
    assert call(reader, "post", GOALS, body()).status_code == 403
    assert call(reader, "patch", f"{GOALS}{goal.pk}/", {"name": "No"}).status_code == 403
    assert call(reader, "delete", f"{GOALS}{goal.pk}/").status_code == 403
    outsider = api_client("alpha", api_key_for("alpha", ["marketing:write"]))
    assert call(outsider, "get", GOALS).status_code == 403
    assert call(api_client("alpha"), "get", GOALS).status_code in (401, 403)
    with schema_context("alpha"):
        assert Goal.objects.get().name == "Q3 leads"


def test_goals_are_isolated_between_workspaces(tenant_a, tenant_b):
    for i in range(3):
        alpha_goal = _goal(name=f"alphacanary {i}")
    _goal("beta", name="betacanary")
    with schema_context("beta"):
        assert not Goal.objects.filter(pk=alpha_goal.pk).exists()
    beta = api_client("beta", api_key_for("beta", ["alignment:write"]))
    listed = call(beta, "get", GOALS).content.decode()
    assert "betacanary" in listed and "alphacanary" not in listed
    for method, path in (("get", ""), ("patch", ""), ("delete", ""), ("get", "plan/")):
        data = {"name": "stolen"} if method == "patch" else None
        response = call(beta, method, f"{GOALS}{alpha_goal.pk}/{path}", data)
        assert response.status_code == 404, (method, path)
    alpha_key = api_key_for("alpha", ["alignment:read"])
    assert call(api_client("beta", alpha_key), "get", GOALS).status_code == 401
    with schema_context("alpha"):
        assert Goal.objects.get(pk=alpha_goal.pk).name == "alphacanary 2"


def test_list_query_budget_does_not_grow_with_goals(tenant_a):
    client = api_client("alpha", api_key_for("alpha", ["alignment:read"]))

    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(GOALS)
        connection.set_schema_to_public()
        assert response.status_code == 200
        return len(ctx.captured_queries)

    client.get("/api/v1/me/")  # the host and the key's last use are cached after a first call
    connection.set_schema_to_public()
    _goal()
    few = queries()
    for i in range(12):
        _goal(name=f"Goal {i}")
    assert queries() == few == 5  # SET search_path, the key, the rate-limit count, the goals, their owners


def test_each_user_reads_and_marks_only_their_own_notifications(tenant_a):
    with schema_context("alpha"):
        mark, sara = user_in("alpha", "marketing"), user_in("alpha", "sales")
        mine = Notification.objects.create(user=mark, kind="goal_status", title="For Mark", link="/x/")
        theirs = Notification.objects.create(user=sara, kind="goal_status", title="For Sara")
    client = login("alpha", "marketing")
    listed = call(client, "get", "/api/v1/notifications/?unread=true").json()["results"]
    assert [n["title"] for n in listed] == ["For Mark"]
    assert call(client, "post", f"/api/v1/notifications/{theirs.pk}/read/").status_code == 404
    assert call(client, "post", f"/api/v1/notifications/{mine.pk}/read/").json()["read_at"]
    assert call(client, "get", "/api/v1/notifications/?unread=true").json()["results"] == []
    assert call(client, "get", "/api/v1/notifications/?unread=maybe").status_code == 400
    key = api_client("alpha", api_key_for("alpha", ["alignment:read"]))
    assert call(key, "get", "/api/v1/notifications/").json()["results"] == []  # a key is not a person
    with schema_context("alpha"):
        assert Notification.objects.get(pk=theirs.pk).read_at is None


def test_the_plan_endpoint_proposes_sub_goal_targets(tenant_a):
    goal = _goal(metric="revenue_won", target="1000", period_start=dt.date(2026, 7, 1))
    client = api_client("alpha", api_key_for("alpha", ["alignment:read"]))
    plan = call(client, "get", f"{GOALS}{goal.pk}/plan/").json()
    # no stored history in this workspace: the first stage says so and the plan stops
    assert plan["proposals"] == [
        {
            "metric": "deals_won",
            "target": None,
            "rate": None,
            "note": "No stored deals_won and revenue_won in the last 12 months.",
        }
    ]
