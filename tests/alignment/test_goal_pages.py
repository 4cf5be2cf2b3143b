"""The goals pages: create through the form, every role reads, isolation between workspaces, query budgets
that do not grow with goals, and sub-goals created from the reverse-funnel plan."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import schema_context

from alignment import goals
from alignment.models import DefinitionVersion, EngineRun, Goal, MetricValue
from tests.conftest import login, user_in

pytestmark = pytest.mark.django_db

PAGE = "/alignment/goals/"
Q3 = dt.date(2026, 7, 1)


def _post(client, path, data=None):
    response = client.post(path, data or {})
    connection.set_schema_to_public()
    return response


def _get(client, path):
    response = client.get(path)
    connection.set_schema_to_public()
    return response


def _goal(slug="alpha", **fields) -> Goal:
    with schema_context(slug):
        owners = [user_in(slug, "marketing").pk, user_in(slug, "sales").pk]
        data = {
            "name": "Q3 revenue",
            "metric": "revenue_won",
            "period": "quarter",
            "period_start": Q3,
            "target": "100000",
            "owners": owners,
            **fields,
        }
        return goals.goal_create(actor=None, data=data)


def test_a_marketer_creates_a_goal_with_the_form(tenant_a):
    client = login("alpha", "marketing")
    owners = [user_in("alpha", "marketing").pk, user_in("alpha", "sales").pk]
    bad = _post(
        client,
        PAGE,
        {
            "name": "",
            "metric": "leads",
            "period": "quarter",
            "period_start": "2026-07-02",
            "target": "x",
            "owners": owners[:1],
        },
    )
    html = bad.content.decode()
    assert bad.status_code == 400
    for text in ("This field is required", "Enter a number", "first day", "both teams"):
        assert text in html, text
    good = _post(
        client,
        PAGE,
        {
            "name": "Leads Q3",
            "metric": "leads",
            "period": "quarter",
            "period_start": "2026-07-01",
            "target": "900",
            "owners": owners,
        },
    )
    assert good.status_code == 302
    with schema_context("alpha"):
        goal = Goal.objects.get()
        assert (goal.name, goal.metric, goal.target, goal.created_by.email) == (
            "Leads Q3",
            "leads",
            Decimal("900"),
            user_in("alpha", "marketing").email,
        )
    assert good["Location"] == f"{PAGE}{goal.pk}/"
    page = _get(client, good["Location"])
    assert page.status_code == 200 and "Leads Q3" in page.content.decode()


@pytest.mark.parametrize("role", ["admin", "marketing", "sales", "leadership"])
def test_every_role_reads_and_changes_goals(tenant_a, role):
    goal = _goal()
    client = login("alpha", role)
    assert "Q3 revenue" in _get(client, PAGE).content.decode()
    assert _get(client, f"{PAGE}{goal.pk}/").status_code == 200
    owners = [user_in("alpha", "marketing").pk, user_in("alpha", "sales").pk]
    changed = _post(
        client,
        f"{PAGE}{goal.pk}/edit/",
        {
            "name": f"Q3 revenue by {role}",
            "metric": "revenue_won",
            "period": "quarter",
            "period_start": "2026-07-01",
            "target": "120000",
            "owners": owners,
        },
    )
    assert changed.status_code == 302
    with schema_context("alpha"):
        goal.refresh_from_db()
        assert (goal.name, goal.target) == (f"Q3 revenue by {role}", Decimal("120000"))


def test_an_anonymous_visitor_is_sent_to_sign_in(tenant_a):
    from tests.conftest import client_for

    goal = _goal()
    client = client_for("alpha")
    assert _get(client, PAGE).status_code == 302
    assert _post(client, f"{PAGE}{goal.pk}/delete/").status_code == 302
    with schema_context("alpha"):
        assert Goal.objects.filter(pk=goal.pk).exists()


def test_pages_are_isolated_between_workspaces(tenant_a, tenant_b):
    for i in range(3):
        alpha_goal = _goal(name=f"alphacanary goal {i}")
    _goal("beta", name="betacanary goal")
    foreign = alpha_goal.pk
    with schema_context("beta"):
        assert not Goal.objects.filter(pk=foreign).exists()  # an id beta does not have
    beta = login("beta", "admin")
    html = _get(beta, PAGE).content.decode()
    assert "betacanary" in html and "alphacanary" not in html
    assert _get(beta, f"{PAGE}{foreign}/").status_code == 404
    for action in ("edit", "delete", "plan"):
        assert _post(beta, f"{PAGE}{foreign}/{action}/").status_code == 404, action
    with schema_context("alpha"):
        assert Goal.objects.filter(pk=foreign, name="alphacanary goal 2").exists()
    assert beta.get(PAGE, HTTP_HOST="alpha.localhost").status_code == 302  # beta's session is not alpha's


def test_query_budgets_do_not_grow_with_goals(tenant_a):
    client = login("alpha", "leadership")

    def queries(path) -> int:
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(path)
        connection.set_schema_to_public()
        assert response.status_code == 200
        return len(ctx.captured_queries)

    parent = _goal()
    _goal(name="Sub", metric="leads", target="100", parent=parent.pk)
    few = queries(PAGE), queries(f"{PAGE}{parent.pk}/")
    for i in range(8):
        _goal(name=f"Sub {i}", metric="leads", target=str(100 + i), parent=parent.pk)
    assert (queries(PAGE), queries(f"{PAGE}{parent.pk}/")) == few


def test_sub_goals_come_from_the_reverse_funnel_plan(tenant_a):
    with schema_context("alpha"):
        version = DefinitionVersion.objects.create()
        EngineRun.objects.create(
            kind=EngineRun.Kind.FULL, definition=version, finished_at=dt.datetime(2026, 7, 1, tzinfo=dt.UTC)
        )
        for metric, total in (
            ("revenue_won", "500000"),
            ("deals_won", "50"),
            ("opportunities", "200"),
            ("sqls", "400"),
            ("mqls", "1600"),
            ("leads", "8000"),
        ):
            MetricValue.objects.create(
                metric=metric,
                granularity="month",
                period_start=dt.date(2026, 3, 1),
                definition=version,
                value=Decimal(total),
            )
    parent = _goal(target="1200000")
    client = login("alpha", "leadership")
    html = _get(client, f"{PAGE}{parent.pk}/").content.decode()
    assert 'data-testid="plan"' in html and "3,840" in html  # MQLs: 1,200,000 / 10,000 / 0.25 / 0.5 / 0.25
    assert _post(client, f"{PAGE}{parent.pk}/plan/", {"metric": ["deals_won", "mqls"]}).status_code == 302
    with schema_context("alpha"):
        children = {g.metric: g for g in Goal.objects.filter(parent=parent)}
        assert {m: g.target for m, g in children.items()} == {"deals_won": 120, "mqls": 3840}
        assert set(children["mqls"].owners.values_list("pk", flat=True)) == {
            user_in("alpha", "marketing").pk,
            user_in("alpha", "sales").pk,
        }
