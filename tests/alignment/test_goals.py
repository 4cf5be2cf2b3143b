"""Shared goals: validation, progress from stored values, status from the pace (hand-computed), no data,
notices to the owners on a status change (in the app and by e-mail, once), and the reverse-funnel planner."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from unittest import mock

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import connection

from alignment import goals, tasks
from alignment.goals import evaluate, plan
from alignment.models import DefinitionVersion, EngineRun, Goal, MetricValue, Notification
from tests.conftest import user_in

pytestmark = pytest.mark.django_db

Q3 = dt.date(2026, 7, 1)  # 92 days: 1 July to 1 October
MID_AUGUST = dt.datetime(2026, 8, 16, tzinfo=dt.UTC)  # 46 of 92 days: half the quarter


def definition() -> DefinitionVersion:
    version = DefinitionVersion.objects.create()
    EngineRun.objects.create(kind=EngineRun.Kind.FULL, definition=version, finished_at=MID_AUGUST)
    return version


def stored(metric, start, value, *, grain="quarter", version=None, numerator=None, denominator=None):
    return MetricValue.objects.create(
        metric=metric,
        granularity=grain,
        period_start=start,
        definition=version or DefinitionVersion.objects.order_by("-id").first(),
        value=None if value is None else Decimal(value),
        numerator=None if numerator is None else Decimal(numerator),
        denominator=None if denominator is None else Decimal(denominator),
    )


def owners():
    return [user_in("alpha", "marketing").pk, user_in("alpha", "sales").pk]


def new_goal(**fields) -> Goal:
    data = {
        "name": "Q3 revenue",
        "metric": "revenue_won",
        "period": "quarter",
        "period_start": Q3,
        "target": "100000",
        "owners": owners(),
        **fields,
    }
    return goals.goal_create(actor=user_in("alpha", "leadership"), data=data)


def at(goal_fields: dict, actual, now=MID_AUGUST):
    goal = Goal(**{"period": "quarter", "period_start": Q3, **goal_fields})
    return evaluate(goal, None if actual is None else Decimal(actual), now)


# --- status from the pace -------------------------------------------------------------------------------


def test_a_sum_is_judged_against_the_target_times_the_time_elapsed(alpha):
    revenue = {"metric": "revenue_won", "target": Decimal(100000)}
    # half the quarter gone: 100,000 x 46/92 = 50,000 expected by now; at risk within 10% (45,000)
    assert at(revenue, "50000").expected == Decimal("50000")
    assert at(revenue, "50000").status == Goal.Status.ON_TRACK
    assert at(revenue, "45000").status == Goal.Status.AT_RISK
    assert at(revenue, "44999.99").status == Goal.Status.OFF_TRACK
    # a baseline does not move the line of a sum: the period starts from nothing
    assert at({**revenue, "baseline": Decimal(80000)}, "50000").status == Goal.Status.ON_TRACK
    # the first moment of the quarter expects nothing; its end expects the whole target
    start = dt.datetime(2026, 7, 1, tzinfo=dt.UTC)
    assert at(revenue, "0", now=start).status == Goal.Status.ON_TRACK
    assert at(revenue, "99999", now=dt.datetime(2026, 10, 5, tzinfo=dt.UTC)).status == Goal.Status.AT_RISK


def test_a_level_moves_from_the_baseline_to_the_target(alpha):
    # win rate from 0.20 to 0.30 over the quarter: half-way, 0.20 + (0.30 - 0.20) x 1/2 = 0.25 by now
    rate = {"metric": "win_rate", "target": Decimal("0.30"), "baseline": Decimal("0.20")}
    assert at(rate, "0.25").expected == Decimal("0.25")
    assert at(rate, "0.26").status == Goal.Status.ON_TRACK
    assert at(rate, "0.23").status == Goal.Status.AT_RISK  # 0.25 - 10% = 0.225
    assert at(rate, "0.22").status == Goal.Status.OFF_TRACK
    # no baseline: the target itself is the line
    assert at({**rate, "baseline": None}, "0.29").expected == Decimal("0.30")


def test_lower_is_better_turns_the_comparison(alpha):
    # cost per lead (better down) from 50 to 40: half-way the line is at 45; at risk up to 45 + 4.5
    cost = {"metric": "cost_per_lead", "target": Decimal(40), "baseline": Decimal(50)}
    assert at(cost, "44").status == Goal.Status.ON_TRACK
    assert at(cost, "49.5").status == Goal.Status.AT_RISK
    assert at(cost, "49.51").status == Goal.Status.OFF_TRACK


def test_no_stored_value_is_no_data_not_zero(alpha):
    definition()
    goal = new_goal()
    goal.refresh_from_db()
    assert goal.status == Goal.Status.NO_DATA and goal.actual is None
    assert at({"metric": "revenue_won", "target": Decimal(1)}, None).status == Goal.Status.NO_DATA


# --- progress from stored values ------------------------------------------------------------------------


def test_progress_is_the_stored_value_of_the_period(alpha):
    version = definition()
    stored("revenue_won", Q3, "48000", version=version)
    stored("revenue_won", Q3, "99999", grain="month", version=version)  # another granularity: ignored
    with mock.patch.object(goals.timezone, "now", return_value=MID_AUGUST):
        goal = new_goal()
    goal.refresh_from_db()
    # 48,000 against 50,000 expected: within 10%
    assert (goal.actual, goal.expected, goal.status) == (Decimal("48000"), Decimal("50000"), "at_risk")


def test_a_year_is_made_of_its_quarters(alpha):
    version = definition()
    for month, value in ((1, "10"), (4, "20"), (7, "5")):
        stored("deals_won", dt.date(2026, month, 1), value, version=version)
    for month, (won, closed) in ((1, ("3", "10")), (4, ("2", "10"))):
        stored("win_rate", dt.date(2026, month, 1), None, version=version, numerator=won, denominator=closed)
    year = dt.date(2026, 1, 1)
    deals = new_goal(name="Deals", metric="deals_won", period="year", period_start=year, target="80")
    rate = new_goal(name="Win rate", metric="win_rate", period="year", period_start=year, target="0.3")
    deals.refresh_from_db(), rate.refresh_from_db()
    assert deals.actual == Decimal("35")  # 10 + 20 + 5
    assert rate.actual == Decimal("0.25")  # (3 + 2) / (10 + 10), not the mean of the quarters' rates
    with pytest.raises(ValidationError) as error:  # a median has no yearly value
        new_goal(name="Cycle", metric="sales_cycle_median", period="year", period_start=year, target="30")
    assert "metric" in error.value.message_dict


# --- validation -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"name": ""}, "name"),
        ({"metric": "nonsense"}, "metric"),
        ({"period": "week"}, "period"),
        ({"period_start": dt.date(2026, 7, 2)}, "period_start"),
        ({"period_start": "2026-13-01"}, "period_start"),
        ({"target": "a lot"}, "target"),
        ({"target": "1e20"}, "target"),
        ({"baseline": "NaN"}, "baseline"),
        ({"metric": "attributed_pipeline"}, "model"),
        ({"model": "linear"}, "model"),
        ({"parent": 999999}, "parent"),
    ],
)
def test_bad_fields_are_named(alpha, fields, field):
    definition()
    with pytest.raises(ValidationError) as error:
        new_goal(**fields)
    assert field in error.value.message_dict


def test_owners_come_from_both_teams(alpha):
    definition()
    only_marketing = [user_in("alpha", "marketing").pk]
    with pytest.raises(ValidationError) as error:
        new_goal(owners=only_marketing)
    assert "both teams" in error.value.message_dict["owners"][0]
    with pytest.raises(ValidationError):
        new_goal(owners=[*owners(), 987654])
    assert Goal.objects.count() == 0


def test_a_sub_goal_lies_within_its_parent_and_never_under_itself(alpha):
    definition()
    year = new_goal(name="Revenue 2026", period="year", period_start=dt.date(2026, 1, 1), target="400000")
    quarter = new_goal(parent=year.pk)
    with pytest.raises(ValidationError) as error:
        new_goal(name="Next year", period_start=dt.date(2027, 1, 1), parent=year.pk)
    assert "parent" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        goals.goal_update(goal=year, actor=None, data={"parent": quarter.pk})
    assert "parent" in error.value.message_dict
    goals.goal_delete(goal=year, actor=None)
    quarter.refresh_from_db()
    assert quarter.parent is None  # sub-goals stay, at the top


# --- notices --------------------------------------------------------------------------------------------


def test_owners_are_notified_once_when_the_status_changes(alpha, django_capture_on_commit_callbacks):
    version = definition()
    value = stored("revenue_won", Q3, "60000", version=version)
    with mock.patch.object(goals.timezone, "now", return_value=MID_AUGUST):
        goal = new_goal()
    goal.refresh_from_db()
    assert goal.status == Goal.Status.ON_TRACK and not Notification.objects.exists()  # a first status
    value.value = Decimal("30000")
    value.save()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        changed = goals.goals_refresh(now=MID_AUGUST)
    assert [g.pk for g in changed] == [goal.pk]
    notices = Notification.objects.order_by("user_id")
    assert sorted(n.user_id for n in notices) == sorted(owners())
    assert notices[0].title == "Goal 'Q3 revenue' is off track"
    assert "30,000 against 50,000 expected by now" in notices[0].body
    assert notices[0].link == f"/alignment/goals/{goal.pk}/"
    assert len(callbacks) == 1
    assert goals.goals_refresh(now=MID_AUGUST) == []  # nothing moved: nothing new
    assert Notification.objects.count() == 2
    # the e-mail task sends each notice once, even when it runs twice
    ids = list(notices.values_list("pk", flat=True))
    assert tasks.email_notifications.run(tenant_schema=connection.schema_name, ids=ids) == 2
    assert tasks.email_notifications.run(tenant_schema=connection.schema_name, ids=ids) == 0
    assert sorted(m.to[0] for m in mail.outbox) == sorted(
        [user_in("alpha", "marketing").email, user_in("alpha", "sales").email]
    )
    assert mail.outbox[0].subject.endswith("Goal 'Q3 revenue' is off track")
    assert f"/alignment/goals/{goal.pk}/" in mail.outbox[0].body


# --- the reverse funnel ---------------------------------------------------------------------------------


def test_the_planner_divides_down_the_funnel_by_historical_rates(alpha):
    history = {
        "revenue_won": Decimal("500000"),  # over 50 deals: an average deal of 10,000
        "deals_won": Decimal("50"),
        "opportunities": Decimal("200"),  # 25% of opportunities won
        "sqls": Decimal("400"),  # 50% of SQLs became opportunities
        "mqls": Decimal("1600"),  # 25% of MQLs became SQLs
        "leads": Decimal("8000"),  # 20% of leads became MQLs
    }
    proposals = plan("revenue_won", Decimal("1200000"), history)
    # 1,200,000 / 10,000 = 120 deals; / 0.25 = 480 opportunities; / 0.5 = 960 SQLs; / 0.25 = 3,840 MQLs;
    # / 0.2 = 19,200 leads
    assert [(p.metric, p.target) for p in proposals] == [
        ("deals_won", 120),
        ("opportunities", 480),
        ("sqls", 960),
        ("mqls", 3840),
        ("leads", 19200),
    ]
    # a count is rounded up: 10 SQLs at 3 in 7 to opportunities need 23.3 -> 24 MQLs... from sqls down
    assert [(p.metric, p.target) for p in plan("sqls", Decimal("10"), {**history, "mqls": Decimal("933")})][
        0
    ] == ("mqls", 24)  # 400 / 933 = 0.428725 per MQL; 10 / 0.428725 = 23.3
    # a stage with no history stops the plan and says why
    short = plan("deals_won", Decimal("10"), {"deals_won": Decimal("5")})
    assert [(p.metric, p.target) for p in short] == [("opportunities", None)]
    assert "No stored opportunities" in short[0].note
    assert plan("win_rate", Decimal("0.3"), history) == []


def test_funnel_history_sums_the_twelve_months_before_the_period(alpha):
    version = definition()
    stored("leads", dt.date(2026, 6, 1), "100", grain="month", version=version)
    stored("leads", dt.date(2025, 7, 1), "50", grain="month", version=version)
    stored("leads", dt.date(2025, 6, 1), "999", grain="month", version=version)  # 13 months back
    stored("leads", Q3, "999", grain="month", version=version)  # the period itself
    assert goals.funnel_history(Q3) == {"leads": Decimal("150")}


def test_the_weekly_gap_runs_the_plan_against_the_stored_days(alpha):
    version = definition()
    for day, value in ((1, "10"), (2, "5"), (9, "20")):
        stored("leads", dt.date(2026, 7, day), value, grain="day", version=version)
    goal = new_goal(name="Leads", metric="leads", target="920")
    weeks = goals.weekly_gap(goal, now=dt.datetime(2026, 7, 14, tzinfo=dt.UTC))
    # weeks of Monday 29 June (its end, 6 July, is 5 days in: 920 x 5/92 = 50 planned) and 6 July
    # (13 July: 12 days, 120 planned); the running totals 15 and 35
    assert [(w.start, w.planned, w.actual, w.gap) for w in weeks] == [
        (dt.date(2026, 6, 29), Decimal("50"), Decimal("15"), Decimal("-35")),
        (dt.date(2026, 7, 6), Decimal("120"), Decimal("35"), Decimal("-85")),
        (dt.date(2026, 7, 13), Decimal("190"), Decimal("35"), Decimal("-155")),
    ]
