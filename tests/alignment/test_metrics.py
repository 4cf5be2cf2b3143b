"""Hand-computed values of the metrics beyond the funnel basics (test_engine.py): cohorts, speed to lead in
business hours, cycle lengths, stage conversion and time in stage, snapshots and velocity, sourced and
influenced pipeline, costs, ROI, retention, CAC, payback, LTV, lead quality and send-to-lead lag. Each
expected value is given with its arithmetic; empty periods are no data, never 0."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from alignment import engine
from alignment.models import AttributionCredit, AttributionModel
from marketing.models import CampaignSend, CostLine, Touchpoint
from sales.models import (
    Activity,
    CustomerAccount,
    DealStageChange,
    LeadDecision,
    Pipeline,
    RejectionReason,
    Subscription,
    SubscriptionEvent,
)
from tests.alignment.helpers import at, contact_with, deal, q, value
from tests.conftest import user_in
from tests.marketing import factories

pytestmark = pytest.mark.django_db


def test_mql_to_sql_cohort_follows_march_mqls_to_their_sql(alpha):
    contact_with([("mql", at(3, 10)), ("sql", at(4, 2))])  # reached SQL 23 days later (W = 90)
    contact_with([("mql", at(3, 25))])  # never
    contact_with([("mql", at(4, 3)), ("sql", at(8, 20))])  # 139 days later: outside W
    engine.run(full=True)
    # March cohort: 1 of 2; the period view of March has no SQL entry: 0 / 2
    assert value("mql_to_sql_rate_cohort", 3) == Decimal("0.5")
    assert value("mql_to_sql_rate", 3) == 0
    # April cohort: 0 of 1 (too late); the period view of April: 1 SQL entry / 1 MQL entry
    assert value("mql_to_sql_rate_cohort", 4) == 0 and value("mql_to_sql_rate", 4) == 1
    # no MQLs in May: no data
    assert value("mql_to_sql_rate_cohort", 5) is None


def test_speed_to_lead_counts_business_hours(alpha):
    rep = user_in("alpha", "sales")
    monday = contact_with([("mql", dt.datetime(2026, 3, 9, 10, tzinfo=dt.UTC))])
    friday = contact_with([("mql", dt.datetime(2026, 3, 13, 16, tzinfo=dt.UTC))])
    for contact, done in [
        (monday, dt.datetime(2026, 3, 10, 11, tzinfo=dt.UTC)),  # Mon 10-17 = 7 h + Tue 9-11 = 2 h -> 9 h
        (friday, dt.datetime(2026, 3, 16, 10, tzinfo=dt.UTC)),  # Fri 16-17 = 1 h + Mon 9-10 = 1 h -> 2 h
    ]:
        Activity.objects.create(kind="call", subject="Call", contact=contact, owner=rep, done_at=done)
    engine.run(full=True)
    # median of (9, 2) = 5.5; p90 = 2 + 0.9 x (9 - 2) = 8.3
    assert q(value("speed_to_lead_median", 3)) == Decimal("5.5000")
    assert q(value("speed_to_lead_p90", 3)) == Decimal("8.3000")
    assert q(value("speed_to_lead_median", 3, "rep", rep.pk)) == Decimal("5.5000")
    assert value("speed_to_lead_median", 4) is None


def test_speed_to_lead_follows_the_workspace_calendar(alpha):
    from alignment import sla

    # New York (UTC-4 in March after the 8 March change, working 09:00-17:00 local = 13:00-21:00 UTC), with
    # Monday 16 March a holiday
    sla.calendar_update(data={"time_zone": "America/New_York", "holidays": [dt.date(2026, 3, 16)]})
    rep = user_in("alpha", "sales")
    friday = contact_with([("mql", dt.datetime(2026, 3, 13, 16, tzinfo=dt.UTC))])  # Fri 12:00 in New York
    # Fri 12:00-17:00 = 5 h, Monday a holiday, Tue 09:00-10:00 = 1 h -> 6 h (the default UTC calendar would
    # count Fri 16-17, Mon 9-17 and Tue 9-14: 14 h)
    done = dt.datetime(2026, 3, 17, 14, tzinfo=dt.UTC)
    Activity.objects.create(kind="call", subject="Call", contact=friday, owner=rep, done_at=done)
    engine.run(full=True)
    assert q(value("speed_to_lead_median", 3)) == Decimal("6.0000")


def test_cycles_cohorts_and_lead_to_close(alpha):
    lead = contact_with([("lead", at(2, 1))])
    deal(1000, at(3, 1), closed=at(4, 5), status="won", lead=lead)  # 35 days; lead to close 63 days
    deal(3000, at(3, 15), closed=at(4, 20), status="won")  # 36 days
    deal(2000, at(4, 1), closed=at(4, 25), status="lost")
    deal(500, at(4, 2), closed=at(5, 2), status="won")  # 30 days
    engine.run(full=True)
    # won in April: 35 and 36 days -> mean 35.5, median 35.5
    assert value("sales_cycle_mean", 4) == Decimal("35.5") and value("sales_cycle_median", 4) == Decimal(
        "35.5"
    )
    # lead to close: 1 Feb 12:00 to 5 Apr 12:00 = 63 days (the other deals have no lead)
    assert value("lead_to_close_median", 4) == 63
    # creation cohorts: March created d1 and d2, both won within W -> 1; April d3 lost, d4 won -> 1/2
    assert value("win_rate_cohort", 3) == 1 and value("win_rate_cohort", 4) == Decimal("0.5")
    assert value("win_rate_cohort", 5) is None


def test_stage_conversion_and_time_in_stage(alpha):
    pipeline = Pipeline.objects.get(is_default=True)
    first, second, third = pipeline.stages.filter(kind="open").order_by("position")[:3]
    lost = pipeline.stages.get(kind="lost")
    d1, d2 = deal(100, at(2, 1)), deal(100, at(2, 1))
    DealStageChange.objects.filter(deal__in=[d1, d2]).delete()
    DealStageChange.objects.bulk_create(
        [
            DealStageChange(deal=d1, to_stage=first, at=at(3, 1)),
            DealStageChange(deal=d1, from_stage=first, to_stage=second, at=at(3, 5)),  # 4 days, forward
            DealStageChange(deal=d1, from_stage=second, to_stage=third, at=at(3, 15)),  # 10 days, forward
            DealStageChange(deal=d2, to_stage=first, at=at(3, 2)),
            DealStageChange(deal=d2, from_stage=first, to_stage=lost, at=at(3, 10)),  # 8 days, lost
        ]
    )
    engine.run(full=True)
    # stays in the first stage ended in March: d1 forward (4 days), d2 lost (8 days) -> 1/2, median 6
    assert value("stage_conversion", 3, "stage", first.pk) == Decimal("0.5")
    assert value("time_in_stage_median", 3, "stage", first.pk) == 6
    # the second stage: d1 forward after 10 days
    assert value("stage_conversion", 3, "stage", second.pk) == 1
    assert value("time_in_stage_median", 3, "stage", second.pk) == 10
    # workspace: 2 of 3 stays ended forward
    assert q(value("stage_conversion", 3)) == Decimal("0.6667")


def test_snapshots_and_pipeline_velocity(alpha):
    pipeline = Pipeline.objects.get(is_default=True)
    a = deal(1000, at(3, 1), override=50)  # open throughout, 50% by override
    b = deal(2000, at(3, 10), closed=at(4, 5), status="won")  # open at the end of March only
    deal(600, at(1, 10), closed=at(3, 20), status="won")  # cycle 69 days
    deal(400, at(2, 1), closed=at(3, 25), status="lost")
    b_stage = pipeline.stages.filter(kind="open").order_by("position").last()
    DealStageChange.objects.filter(deal=b).delete()
    DealStageChange.objects.create(deal=b, to_stage=b_stage, at=at(3, 10))
    engine.run(full=True)
    # end of March: a 1000 x 50% + b 2000 x the probability of the stage it was in then
    expected = Decimal(500) + Decimal(2000) * b_stage.probability / 100
    assert value("weighted_pipeline", 3) == expected
    assert value("weighted_pipeline", 4) == 500  # b won on 5 April
    # velocity at the end of March, trailing 90 days: 2 open deals; closed 1 won (600) + 1 lost -> win rate
    # 1/2, average deal size 600, cycle 69 days -> 2 x 0.5 x 600 / 69 per day
    assert value("velocity_open_deals", 3) == 2
    assert value("velocity_win_rate", 3) == Decimal("0.5")
    assert value("velocity_deal_size", 3) == 600 and value("velocity_cycle_days", 3) == 69
    assert q(value("pipeline_velocity", 3)) == q(Decimal(2) * Decimal("0.5") * 600 / 69)
    # the open deal is in every later snapshot up to this month, alone; by pipeline and rep too
    for month in range(4, 12):
        assert (value("weighted_pipeline", month), value("velocity_open_deals", month)) == (500, 1), month
    assert value("weighted_pipeline", 3, "pipeline", a.pipeline_id) == expected
    assert value("weighted_pipeline", 3, "rep", a.owner_id or engine.NONE) == value("weighted_pipeline", 3)


def test_sourced_influenced_costs_and_roi(alpha):
    spring = factories.campaign(name="Spring", channel="email")
    lead = contact_with([("lead", at(3, 2)), ("mql", at(3, 3)), ("sql", at(3, 4))], campaign=spring)
    Touchpoint.objects.create(kind="email_click", contact=lead, campaign=spring, occurred_at=at(3, 1))
    sourced = deal(1000, at(3, 5), closed=at(3, 25), status="won", campaign=spring, lead=lead)
    influenced_contact = contact_with([])
    Touchpoint.objects.create(
        kind="ad_click", contact=influenced_contact, campaign=spring, occurred_at=at(1, 20)
    )  # 44 days before its deal: within L = 90
    deal(3000, at(3, 5), lead=influenced_contact)
    deal(500, at(3, 6))  # neither
    CostLine.objects.create(campaign=spring, date=dt.date(2026, 3, 10), amount=Decimal("400"))
    engine.run(full=True)
    assert value("pipeline_created", 3) == 4500
    assert value("marketing_sourced_pipeline", 3) == 1000
    assert q(value("marketing_sourced_share", 3)) == q(Decimal(1000) / 4500)
    # influenced: the sourced deal (touch 4 days before) and the 3000 deal (44 days before)
    assert value("marketing_influenced_pipeline", 3) == 4000
    # Spring in March: spend 400; 1 lead, 1 MQL, 1 SQL, 1 deal sourced -> 400 each
    for key in ("cost_per_lead", "cost_per_mql", "cost_per_sql", "cost_per_deal"):
        assert value(key, 3, "campaign", spring.pk) == 400, key
    # attribution: the sourced deal has one touch (Spring) in every model; the influenced deal's touch is
    # Spring too -> attributed revenue (won in March) 1000, ROI (1000 - 400) / 400 = 1.5 in every model
    for model in ("first_touch", "linear", "time_decay"):
        assert value("attributed_revenue", 3, "campaign", spring.pk, model=model) == 1000
        assert value("campaign_roi", 3, "campaign", spring.pk, model=model) == Decimal("1.5")
        # two opportunities attributed to Spring: 400 / 2 = 200
        assert value("cost_per_opportunity", 3, "campaign", spring.pk, model=model) == 200
    # by the sourcing campaign and its channel: only the deal sourced by Spring
    assert value("marketing_sourced_pipeline", 3, "campaign", spring.pk) == 1000
    assert value("marketing_sourced_pipeline", 3, "channel", "email") == 1000
    # every model credits the sourced deal's whole amount to Spring's one touch
    for model in AttributionModel.values:
        credits = AttributionCredit.objects.filter(deal=sourced, model=model)
        assert [(c.campaign_id, c.credit) for c in credits] == [(spring.pk, 1000)], model
    # April: no spend, no leads: no data
    assert value("cost_per_lead", 4, "campaign", spring.pk) is None


def test_retention_cac_payback_and_ltv(alpha):
    accounts = {}
    for name in ("x", "y", "z"):
        accounts[name] = CustomerAccount.objects.create(company=factories.company(name=name), since=at(1, 1))
    subs = {
        name: Subscription.objects.create(account=acc, plan="Pro", mrr=0, start_date=dt.date(2026, 1, 1))
        for name, acc in accounts.items()
    }
    for name, kind, when, before, after in [
        ("x", "new", at(1, 10), 0, 100),
        ("y", "new", at(2, 5), 0, 200),
        ("x", "expansion", at(3, 10), 100, 150),
        ("y", "churn", at(3, 20), 200, 0),
        ("z", "new", at(3, 15), 0, 50),
    ]:
        SubscriptionEvent.objects.create(
            subscription=subs[name], kind=kind, at=when, mrr_before=before, mrr_after=after
        )
    spring = factories.campaign(name="Spring", channel="email")
    CostLine.objects.create(campaign=spring, date=dt.date(2026, 3, 3), amount=Decimal("1000"))
    engine.run(full=True)
    # March: customers at the start x (100) and y (200): start MRR 300; y lost -> logo churn 1/2
    assert value("start_mrr", 3) == 300 and value("logo_churn", 3) == Decimal("0.5")
    # churned 200, no contraction: 200 / 300; expansion 50: 50 / 300; NRR (300 + 50 - 200) / 300 = 0.5
    assert q(value("gross_revenue_churn", 3)) == q(Decimal(200) / 300)
    assert q(value("expansion_rate", 3)) == q(Decimal(50) / 300)
    assert value("net_revenue_retention", 3) == Decimal("0.5")
    # z is new in March (not in any denominator): 1 new account, average new MRR 50
    assert value("new_accounts", 3) == 1 and value("new_customer_mrr", 3) == 50
    # average MRR of the customers at the start: 300 / 2
    assert value("average_mrr", 3) == 150
    # CAC = (spend 1000 + sales cost 0) / 1 = 1000; payback = 1000 / (50 x 0.8) = 25 months
    assert value("cac", 3) == 1000 and value("cac_payback_months", 3) == 25
    # LTV = average MRR 150 x 0.8 x min(60, 1 / (200/300)) = 120 x 1.5 = 180
    assert q(value("ltv", 3)) == Decimal("180.0000")
    # February: start x 100, nobody lost, no churn -> LTV capped at 60 months: 100 x 0.8 x 60 = 4800
    assert value("logo_churn", 2) == 0 and value("ltv", 2) == 4800
    # January: no customers at the start -> churn rates are no data, not 0
    assert value("logo_churn", 1) is None and value("net_revenue_retention", 1) is None


def test_lead_quality_index_and_send_to_lead_lag(alpha):
    rep = user_in("alpha", "sales")
    spring = factories.campaign(name="Spring", channel="email")
    other = factories.campaign(name="Other", channel="paid_social")
    # acceptance in March: Spring 1 of 1 accepted, Other 0 of 1 -> workspace 1/2; Spring relative 2
    for campaign, decision in [(spring, "accepted"), (other, "rejected")]:
        LeadDecision.objects.create(
            contact=factories.contact(),
            mql_at=at(3, 1),
            decision=decision,
            campaign=campaign,
            decided_by=rep,
            decided_at=at(3, 2),
            reason=RejectionReason.objects.first() if decision == "rejected" else None,
        )
    send = CampaignSend.objects.create(campaign=spring, name="March newsletter", sent_at=at(3, 1))
    for lag_days in (2, 10, 50):
        lead = contact_with([("lead", at(3, 1) + dt.timedelta(days=lag_days))])
        Touchpoint.objects.create(
            kind="email_open", contact=lead, send=send, campaign=spring, occurred_at=at(3, 1)
        )
    engine.run(full=True)
    # the only quality component with data is acceptance: Spring 1 / 0.5 = 2 -> index 200; Other 0
    assert value("lead_quality_index", 3, "campaign", spring.pk) == 200
    assert value("lead_quality_index", 3, "campaign", other.pk) == 0
    # lags 2, 10 and 50 days: median 10; p80 = 10 + 0.6 x (50 - 10) = 34; within 7 days 1/3, 30 days 2/3
    assert value("send_to_lead_lag_median", 3, "send", send.pk) == 10
    assert value("send_to_lead_lag_p80", 3, "send", send.pk) == 34
    assert q(value("send_to_lead_within_7d", 3, "campaign", spring.pk)) == q(Decimal(1) / 3)
    assert q(value("send_to_lead_within_30d", 3)) == q(Decimal(2) / 3)


def test_volumes_decisions_visits_and_attributed_opportunities(alpha):
    rep = user_in("alpha", "sales")
    spring = factories.campaign(name="Spring", channel="email")
    contact_with([("opportunity", at(3, 3)), ("customer", at(3, 20))], campaign=spring)
    contact_with([("opportunity", at(3, 9))])
    # decisions in March: two accepted (one by rep), one rejected -> 2 SALs, acceptance 2 / 3
    for decision, by in [("accepted", rep), ("accepted", None), ("rejected", None)]:
        LeadDecision.objects.create(
            contact=factories.contact(),
            mql_at=at(3, 1),
            decision=decision,
            campaign=spring,
            decided_by=by,
            decided_at=at(3, 4),
            reason=RejectionReason.objects.first() if decision == "rejected" else None,
        )
    visitor = factories.contact()
    for kind, when in [("page_visit", at(3, 1)), ("page_visit", at(3, 30)), ("email_open", at(3, 2))]:
        Touchpoint.objects.create(kind=kind, contact=visitor, campaign=spring, occurred_at=when)
    lead = contact_with([("lead", at(3, 1))], campaign=spring)
    Touchpoint.objects.create(kind="ad_click", contact=lead, campaign=spring, occurred_at=at(3, 2))
    deal(700, at(3, 5), lead=lead)  # one touch: a whole opportunity for Spring in every model
    deal(300, at(3, 6))
    engine.run(full=True)
    assert value("opportunities", 3) == 2 and value("new_customers", 3) == 1
    assert value("opportunities", 3, "campaign", spring.pk) == 1
    assert value("sals", 3) == 2 and value("sals", 3, "rep", rep.pk) == 1
    assert q(value("mql_acceptance_rate", 3)) == q(Decimal(2) / 3)
    assert value("mql_acceptance_rate", 3, "campaign", spring.pk) == value("mql_acceptance_rate", 3)
    # two page visits in March (the email open is not a visit), both Spring's
    assert value("visits", 3) == 2 and value("visits", 3, "channel", "email") == 2
    assert value("deals_created", 3) == 2 and value("deals_created", 4) is None
    for model in ("first_touch", "w_shaped", "time_decay"):
        assert value("attributed_opportunities", 3, "campaign", spring.pk, model=model) == 1
        assert value("attributed_pipeline", 3, model=model) == 700  # the other deal has no touch
