"""Quotas with attainment, weighted pipeline by close month, forecast by category (hand-computed)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.models import User
from sales.models import Deal, Pipeline, Quota, Team
from sales.reports import (
    forecast_by_category,
    forecast_by_rep,
    period_end,
    quarter_bounds,
    quota_attainment,
    weighted_pipeline_by_month,
)
from sales.services.deals import deal_close_won, deal_create, deal_move
from sales.services.quotas import quota_set

pytestmark = pytest.mark.django_db


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
    rows = {q.pk: q for q in quota_attainment(Quota.objects.filter(pk__in=[rep_quota.pk, team_quota.pk]))}
    assert rows[rep_quota.pk].actual == Decimal("10000.00")
    assert rows[rep_quota.pk].attainment == Decimal("0.5")
    assert rows[team_quota.pk].actual == Decimal("3")
    assert rows[team_quota.pk].attainment == Decimal("0.75")
    assert rows[team_quota.pk].period_end == period_end("quarter", quarter_start)
    assert rows[rep_quota.pk].period_end == period_end("month", this_month)


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
        "weighted": Decimal("12000.00"),
    }


def test_forecast_by_rep_against_quota(alpha):
    # given: Sara has a 20,000 quarter quota, won 4,000 this quarter, commits 6,000 and has 3,000 best case;
    # a deal of next quarter and an omitted one do not count; Otto has no quota and one pipeline deal.
    sara = User.objects.get(email="sara@alpha.example")
    otto = User.objects.create_user(email="otto@alpha.example", full_name="Otto", roles=["sales"])
    start, end = quarter_bounds(timezone.now().date())
    last_day = end - dt.timedelta(days=1)
    quota_set(owner=sara, period="quarter", period_start=start, metric="revenue_won", target="20000")
    deal_close_won(deal=deal_create(data={"name": "Won", "amount": "4000"}, actor=sara))
    for name, amount, category, close in [
        ("Commit", "6000", "commit", last_day),
        ("Best", "3000", "best_case", last_day),
        ("Omitted", "7000", "omitted", last_day),
        ("Next quarter", "9000", "commit", end + dt.timedelta(days=5)),
    ]:
        deal_create(
            data={
                "name": name,
                "amount": amount,
                "forecast_category": category,
                "expected_close_date": close,
            },
            actor=sara,
        )
    deal_create(data={"name": "Otto's", "amount": "1000", "expected_close_date": last_day}, actor=otto)

    # when
    rows = {row["owner"]: row for row in forecast_by_rep(start=start, end=end)}

    # then
    assert set(rows) == {sara.pk, otto.pk}
    s = rows[sara.pk]
    assert (s["quota"], s["won"], s["commit"], s["best_case"], s["pipeline"]) == (
        Decimal("20000.00"),
        Decimal("4000.00"),
        Decimal("6000.00"),
        Decimal("3000.00"),
        Decimal("0"),
    )
    assert s["forecast"] == Decimal("10000.00") and s["forecast_attainment"] == Decimal("0.5")
    assert s["attainment"] == Decimal("0.2")
    o = rows[otto.pk]
    assert o["pipeline"] == Decimal("1000.00") and o["quota"] == 0 and o["attainment"] is None
    assert o["weighted"] == Decimal("100.00")  # first stage of New business: 10 %


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
