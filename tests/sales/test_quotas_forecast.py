"""Quotas with attainment, weighted pipeline by close month, forecast by category (hand-computed)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from django_tenants.utils import schema_context

from accounts.models import User
from sales.models import Deal, Pipeline, Team
from sales.reports import forecast_by_category, quota_attainment, weighted_pipeline_by_month
from sales.services.deals import deal_close_won, deal_create, deal_move
from sales.services.quotas import quota_set

pytestmark = pytest.mark.django_db


@pytest.fixture
def alpha(tenant_a):
    with schema_context("alpha"):
        yield tenant_a


def test_quota_rules(alpha):
    rep = User.objects.get(email="sara@alpha.example")
    for kwargs, field in [
        (
            {"period": "month", "period_start": "2026-04-02", "metric": "revenue_won", "target": 1},
            "period_start",
        ),
        (
            {"period": "quarter", "period_start": "2026-05-01", "metric": "revenue_won", "target": 1},
            "period_start",
        ),
        ({"period": "month", "period_start": "2026-04-01", "metric": "revenue_won", "target": -5}, "target"),
        ({"period": "month", "period_start": "2026-04-01", "metric": "deals_won", "target": "2.5"}, "target"),
        ({"period": "week", "period_start": "2026-04-01", "metric": "revenue_won", "target": 1}, "period"),
    ]:
        with pytest.raises(ValidationError) as info:
            quota_set(owner=rep, **kwargs)
        assert field in info.value.message_dict
    with pytest.raises(ValidationError):
        quota_set(period="month", period_start="2026-04-01", metric="revenue_won", target=1)


def test_attainment_for_a_rep_and_a_team(alpha):
    sara = User.objects.get(email="sara@alpha.example")
    other = User.objects.create_user(email="otto@alpha.example", full_name="Otto", roles=["sales"])
    team = Team.objects.create(name="DACH")
    team.members.set([sara, other])
    this_month = timezone.now().date().replace(day=1)
    quarter_start = this_month.replace(month=(this_month.month - 1) // 3 * 3 + 1)
    for owner, amount in [(sara, "6000"), (sara, "4000"), (other, "5000")]:
        deal_close_won(deal=deal_create(data={"name": "W", "amount": amount}, actor=owner))
    deal_create(data={"name": "Open", "amount": "99999"}, actor=sara)  # open deals do not count
    rep_quota = quota_set(
        owner=sara, period="month", period_start=this_month, metric="revenue_won", target="20000"
    )
    team_quota = quota_set(
        team=team, period="quarter", period_start=quarter_start, metric="deals_won", target="4"
    )
    rows = {row["quota"].pk: row for row in quota_attainment([rep_quota, team_quota])}
    assert rows[rep_quota.pk]["actual"] == Decimal("10000.00") and rows[rep_quota.pk][
        "attainment"
    ] == Decimal("0.5")
    assert rows[team_quota.pk]["actual"] == Decimal("3") and rows[team_quota.pk]["attainment"] == Decimal(
        "0.75"
    )


def test_weighted_pipeline_and_forecast(alpha):
    pipeline = Pipeline.objects.get(name="New business")
    month = (timezone.now().date().replace(day=1) + dt.timedelta(days=40)).replace(day=1)
    a = deal_create(
        data={"name": "A", "amount": "10000", "expected_close_date": month, "forecast_category": "commit"}
    )
    b = deal_create(
        data={
            "name": "B",
            "amount": "5000",
            "expected_close_date": month + dt.timedelta(days=3),
            "forecast_category": "best_case",
        }
    )
    deal_move(deal=b, stage=pipeline.stages.get(name="Proposal"))  # 60%
    Deal.objects.filter(pk=a.pk).update(probability_override=90)
    rows = weighted_pipeline_by_month(pipeline_id=pipeline.pk)
    assert [
        (
            r["month"].date() if hasattr(r["month"], "date") else r["month"],
            r["deals"],
            r["total"],
            r["weighted"],
        )
        for r in rows
    ] == [(month, 2, Decimal("15000.00"), Decimal("12000.00"))]  # 9000 + 3000
    forecast = forecast_by_category(start=month, end=(month + dt.timedelta(days=32)).replace(day=1))
    assert forecast == {
        "won": Decimal("0"),
        "commit": Decimal("10000.00"),
        "best_case": Decimal("5000.00"),
        "pipeline": Decimal("0"),
    }


def test_closed_summary_matches_hand_computed_values(alpha):
    from sales.models import LossReason
    from sales.reports import closed_summary, quarter_bounds
    from sales.services.deals import deal_close_lost

    now = timezone.now()
    start, end = quarter_bounds(now.date())
    for amount, age in [("1000", 10), ("3000", 20)]:
        deal = deal_create(data={"name": "W", "amount": amount})
        Deal.objects.filter(pk=deal.pk).update(created_at=now - dt.timedelta(days=age))
        deal_close_won(deal=deal, at=now)
    lost = deal_create(data={"name": "L", "amount": "500"})
    deal_close_lost(
        deal=lost, category="timing", reason=LossReason.objects.get(name="Not now"), note="Q3", at=now
    )
    summary = closed_summary(start=start, end=end)
    # win rate 2 / 3; average 4000 / 2; cycle (10 + 20) / 2 days, median of two = 15
    assert (summary["won"], summary["lost"], summary["revenue"]) == (2, 1, Decimal("4000.00"))
    assert summary["win_rate"] == Decimal("0.6667") and summary["average_deal"] == Decimal("2000.00")
    assert summary["cycle_mean_days"] == 15.0 and summary["cycle_median_days"] == 15.0
