"""The SLA report and page: the sales side per rep and team and the marketing side against the commitment
(hand-computed fixtures), every role reads it, only leadership and admins change the calendar and policies,
isolation between workspaces and a query budget that does not grow with clocks."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import schema_context

from alignment import sla, sla_report
from alignment.models import DefinitionVersion, EngineRun, MetricValue, SlaClock, SlaPolicy
from sales.models import Team
from tests.conftest import login, user_in
from tests.marketing import factories

pytestmark = pytest.mark.django_db

PAGE = "/alignment/sla/"
OCT = dt.date(2026, 10, 1)


def _at(day, hour=10):
    return dt.datetime(2026, 10, day, hour, tzinfo=dt.UTC)


def clock(owner, day, *, touched=None, touch_breached=None, decided=None, decision_breached=None, level=0):
    return SlaClock.objects.create(
        contact=factories.contact(),
        mql_at=_at(day),
        owner=owner,
        first_touch_hours=4,
        decision_hours=8,
        at_risk_share=Decimal("0.75"),
        escalate_after_hours=8,
        first_touch_at=touched,
        first_touch_breached_at=touch_breached,
        decided_at=decided,
        decision_breached_at=decision_breached,
        escalation_level=level,
    )


def test_the_sales_side_counts_met_and_breached_per_rep_and_team(alpha):
    sara, admin = user_in("alpha", "sales"), user_in("alpha", "admin")
    team = Team.objects.create(name="East")
    team.members.add(sara)
    # Sara: touched in 2 h (met), touched in 6 h (breached), still untouched (pending); one decision in time
    clock(sara, 5, touched=_at(5, 12), decided=_at(5, 15))
    clock(sara, 6, touched=_at(6, 16), touch_breached=_at(6, 15), level=1)
    clock(sara, 7)
    # the admin: one touched in 1 h
    clock(admin, 8, touched=_at(8, 11))
    clock(admin, 30)  # pending, inside October too
    SlaClock.objects.create(  # September: outside the month
        contact=factories.contact(), mql_at=dt.datetime(2026, 9, 30, tzinfo=dt.UTC), owner=sara,
        first_touch_hours=4, decision_hours=8, at_risk_share=Decimal("0.75"), escalate_after_hours=8,
    )  # fmt: skip
    side = sla_report.sales_side(OCT, dt.date(2026, 11, 1))
    rows = {r.label: r for r in side["reps"]}
    assert side["reps"][0].label == "Workspace"
    assert rows["Workspace"].mqls == 5
    sara_row = rows[sara.full_name]
    assert (sara_row.mqls, sara_row.touch_met, sara_row.touch_breached) == (3, 1, 1)
    assert sara_row.touch_attainment == Decimal("0.5")  # 1 met / (1 met + 1 breached); the pending one waits
    assert (sara_row.decision_met, sara_row.decision_attainment) == (1, Decimal(1))
    # median business hours to the first touch (UTC Monday-Friday 09:00-17:00): Sara 2 h (Mon 5 Oct 10-12)
    # and 6 h (Tue 6 Oct 10-16): 4
    assert sara_row.median_touch_hours == 4
    assert rows[admin.full_name].touch_attainment == 1
    assert [(t.label, t.mqls) for t in side["teams"]] == [("East", 3)]


def test_the_marketing_side_is_judged_on_volume_and_acceptance(alpha):
    version = DefinitionVersion.objects.create()
    EngineRun.objects.create(kind=EngineRun.Kind.FULL, definition=version, finished_at=_at(1))
    policy = SlaPolicy.objects.get()
    policy.mql_commitment, policy.min_acceptance_rate = 120, Decimal("0.6")
    policy.save()
    for metric, value in (("mqls", "130"), ("mql_acceptance_rate", "0.55")):
        MetricValue.objects.create(
            metric=metric, granularity="month", period_start=OCT, definition=version, value=Decimal(value)
        )
    side = sla_report.marketing_side(dt.date(2026, 10, 15))
    assert (side.mqls, side.volume_met) == (Decimal("130"), True)  # 130 delivered of 120 committed
    assert (side.acceptance_rate, side.acceptance_met) == (Decimal("0.55"), False)  # below the 60% minimum
    empty = sla_report.marketing_side(dt.date(2026, 11, 2))
    assert empty.mqls is None and empty.volume_met is None  # no data, not zero


@pytest.mark.parametrize("role", ["admin", "marketing", "sales", "leadership"])
def test_every_role_reads_the_page_and_only_managers_change_it(tenant_a, role):
    client = login("alpha", role)
    page = client.get(PAGE)
    connection.set_schema_to_public()
    assert page.status_code == 200 and 'data-testid="marketing-side"' in page.content.decode()
    response = client.post(
        f"{PAGE}calendar/",
        {
            "time_zone": "Europe/Berlin",
            "working_days": [1, 2, 3, 4],
            "day_start": "08:00",
            "day_end": "16:00",
            "holidays": "",
        },
    )
    connection.set_schema_to_public()
    manager = role in ("admin", "leadership")
    assert response.status_code == (302 if manager else 403)
    with schema_context("alpha"):
        assert sla.calendar().time_zone == ("Europe/Berlin" if manager else "UTC")


def test_bad_calendar_and_policy_fields_are_named(tenant_a):
    client = login("alpha", "leadership")
    bad = client.post(
        f"{PAGE}calendar/",
        {
            "time_zone": "Moon/Base",
            "working_days": [1],
            "day_start": "17:00",
            "day_end": "09:00",
            "holidays": "2026-02-30",
        },
    )
    connection.set_schema_to_public()
    html = bad.content.decode()
    assert bad.status_code == 400 and "Not a date: 2026-02-30" in html
    clash = client.post(
        f"{PAGE}policies/",
        {
            "name": "Second default",
            "first_touch_hours": "0",
            "decision_hours": "8",
            "at_risk_share": "0.75",
            "escalate_after_hours": "8",
            "commitment_period": "month",
        },
    )
    connection.set_schema_to_public()
    html = clash.content.decode()
    assert clash.status_code == 400
    assert "business hours above 0" in html and "has a policy already" in html
    with schema_context("alpha"):
        assert SlaPolicy.objects.count() == 1


def test_the_page_is_isolated_between_workspaces(tenant_a, tenant_b):
    with schema_context("alpha"):
        for i in range(3):
            alpha_policy = SlaPolicy.objects.create(name=f"alphacanary {i}", is_active=False)
    with schema_context("beta"):
        SlaPolicy.objects.create(name="betacanary", is_active=False)
        assert not SlaPolicy.objects.filter(pk=alpha_policy.pk).exists()
    beta = login("beta", "admin")
    html = beta.get(PAGE).content.decode()
    connection.set_schema_to_public()
    assert "betacanary" in html and "alphacanary" not in html
    response = beta.post(f"{PAGE}policies/{alpha_policy.pk}/deactivate/")
    connection.set_schema_to_public()
    assert response.status_code == 404
    assert beta.get(PAGE, HTTP_HOST="alpha.localhost").status_code == 302


def test_the_query_budget_does_not_grow_with_clocks(tenant_a):
    client = login("alpha", "leadership")

    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(f"{PAGE}?month=2026-10")
        connection.set_schema_to_public()
        assert response.status_code == 200
        return len(ctx.captured_queries)

    with schema_context("alpha"):
        sara = user_in("alpha", "sales")
        clock(sara, 5, touch_breached=_at(5, 15), level=1)
    queries()  # the first read stores the workspace's first (default) definition version
    few = queries()
    with schema_context("alpha"):
        for day in range(6, 20):
            clock(sara, day, touch_breached=_at(day, 15), level=1)
    assert queries() == few
