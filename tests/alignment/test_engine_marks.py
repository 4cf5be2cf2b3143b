"""Backdated writes whose effect lies in another period than their own day: each must leave an incremental
run equal to a full one (the review of the engine found these three stale; the triggers of migration
alignment/0008 mark the days they reach)."""

from __future__ import annotations

import datetime as dt

import pytest

from alignment import engine
from marketing.models import StageTransition
from sales.models import Activity, DealStageChange, Pipeline
from sales.services.setup import team_create, team_set_members
from tests.alignment.helpers import at, contact_with, deal, snapshot, value
from tests.conftest import user_in

pytestmark = pytest.mark.django_db


def incremental_then_full() -> tuple[dict, dict]:
    engine.run(full=False)
    incremental = snapshot()
    engine.run(full=True)
    return incremental, snapshot()


def test_a_backdated_stage_change_refreshes_the_stay_it_cuts(alpha):
    pipeline = Pipeline.objects.get(is_default=True)
    first, second, third = pipeline.stages.filter(kind="open").order_by("position")[:3]
    d = deal(100, at(1, 1))
    DealStageChange.objects.filter(deal=d).delete()
    DealStageChange.objects.create(deal=d, to_stage=second, at=at(1, 5))
    DealStageChange.objects.create(deal=d, from_stage=second, to_stage=third, at=at(3, 20))
    engine.run(full=True)
    assert value("stage_conversion", 3) == 1  # the stay in the second stage ended forward in March
    # a move back to the first stage on 20 January cuts that stay: the March stay now starts in the first
    DealStageChange.objects.create(deal=d, from_stage=second, to_stage=first, at=at(1, 20))
    incremental, full = incremental_then_full()
    assert incremental == full
    assert value("time_in_stage_median", 3, "stage", first.pk) == 59  # 20 January to 20 March


def test_a_backfilled_lead_entry_refreshes_lead_to_close(alpha):
    lead = contact_with([])
    deal(1000, at(3, 1), closed=at(4, 5), status="won", lead=lead)
    engine.run(full=True)
    assert value("lead_to_close_median", 4) is None  # no lead entry yet
    StageTransition.objects.create(contact=lead, to_stage="lead", at=at(2, 1))
    incremental, full = incremental_then_full()
    assert incremental == full
    assert value("lead_to_close_median", 4) == 63


def test_a_rep_joining_a_team_refreshes_speed_to_lead_by_team(alpha):
    rep = user_in("alpha", "sales")
    contact = contact_with([("mql", dt.datetime(2026, 1, 30, 10, tzinfo=dt.UTC))])  # a Friday
    Activity.objects.create(
        kind="call",
        subject="Call",
        contact=contact,
        owner=rep,
        done_at=dt.datetime(2026, 2, 2, 11, tzinfo=dt.UTC),
    )
    team = team_create(name="Inside sales")
    engine.run(full=True)
    team_set_members(team=team, members=[rep])
    incremental, full = incremental_then_full()
    assert incremental == full
    # Friday 10-17 = 7 h + Monday 9-11 = 2 h
    assert value("speed_to_lead_median", 1, "team", team.pk) == 9
