"""The scorecard's self-assessment checklists on hand-made fixtures as of Monday 15 June 2026, 12:00 UTC:
every answer's status, figures and evidence (hand-computed), statuses flipping when the data changes, an empty
workspace answering "no data" or "no" without an error, every link opening for leadership, a fixed number of
queries whatever the number of rows, and another workspace's data never changing the answers."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import schema_context

from alignment.checklists import STATUSES, checklists
from alignment.models import (
    DefinitionVersion,
    EngineRun,
    Goal,
    MetricValue,
    Objection,
    ObjectionLog,
    PageVisit,
    SlaPolicy,
)
from marketing.models import Campaign, CampaignSend, ContentAsset, FormSubmission, LeadForm, Segment
from sales.models import (
    Activity,
    CustomerAccount,
    Deal,
    Quota,
    Stage,
    Subscription,
    SubscriptionEvent,
)
from tests.alignment.helpers import deal
from tests.conftest import login, user_in
from tests.marketing import factories

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 6, 15, 12, tzinfo=dt.UTC)  # today 15 June; last full month May; 90 days: 17 March
MAR, APR, MAY, JUN = (dt.date(2026, m, 1) for m in (3, 4, 5, 6))
MARKETING_KEYS = ["audience", "awareness", "capture", "content", "channels", "monitoring"]
SALES_KEYS = ["targets", "conversion", "satisfaction", "needs", "process", "follow_up"]


def at(month: int, day: int, hour: int = 12, year: int = 2026) -> dt.datetime:
    return dt.datetime(year, month, day, hour, tzinfo=dt.UTC)


def reporting() -> DefinitionVersion:
    """The reporting definition (a finished full run), and a newer version still computing whose values
    must not be read."""
    version = DefinitionVersion.objects.create()
    EngineRun.objects.create(kind=EngineRun.Kind.FULL, definition=version, finished_at=NOW)
    newer = DefinitionVersion.objects.create()
    for metric in ("visits", "leads", "new_customers", "net_revenue_retention", "speed_to_lead_median"):
        stored(metric, MAY, "999", version=newer)
    return version


def stored(metric, start, value, *, version, granularity="month", **fields):
    """A stored value (the last one written wins, as in the engine's upserts)."""
    return MetricValue.objects.update_or_create(
        metric=metric,
        granularity=granularity,
        period_start=start,
        definition=version,
        **fields,
        defaults={"value": None if value is None else Decimal(value)},
    )[0]


def by_key(result: dict) -> dict:
    return {a.key: a for team in result.values() for a in team}


# --- marketing -------------------------------------------------------------------------------------------


def campaign(channel, start, end=None, status="active", segments=()):
    c = Campaign.objects.create(
        name=f"{channel} {start}", channel=channel, status=status, start_date=start, end_date=end
    )
    c.target_segments.set(segments)
    return c


def marketing_fixture(version, slug="alpha"):
    a, b = Segment.objects.create(name="Founders"), Segment.objects.create(name="Agencies")
    email = campaign("email", dt.date(2026, 1, 1), segments=[a])
    campaign("paid_search", dt.date(2026, 2, 1), dt.date(2026, 3, 17), "completed", [b])  # ended 90 days ago
    campaign("webinar", dt.date(2026, 5, 1), status="paused")
    campaign("event", dt.date(2025, 10, 1), dt.date(2026, 3, 16), "completed", [a])  # ended 91 days ago
    campaign("tv", dt.date(2026, 6, 1), status="planned", segments=[a])
    campaign("print", dt.date(2026, 7, 1), segments=[a])  # starts after today

    # visits: 300 + 300 + 400 = 1,000 in Dec-Feb; 3 x 400 = 1,200 in Mar-May (+20%)
    for start, visits in [
        (dt.date(2025, 12, 1), 300),
        (dt.date(2026, 1, 1), 300),
        (dt.date(2026, 2, 1), 400),
        (MAR, 400),
        (APR, 400),
        (MAY, 400),
        (JUN, 5000),  # the current month is not full
    ]:
        stored("visits", start, visits, version=version)
    stored("visits", MAY, 777, version=version, dimension="channel", dimension_value="email")
    stored("visits", dt.date(2026, 4, 1), 777, version=version, granularity="quarter")
    stored("leads", MAY, 40, version=version)
    # reach: 5,000 + 1,000 (1 March 00:00) in Mar-May, 4,000 in Dec-Feb; June and November outside
    for moment, size in [
        (at(4, 10), 5000),
        (dt.datetime(2026, 3, 1, tzinfo=dt.UTC), 1000),
        (at(5, 2), None),
        (at(2, 10), 4000),
        (at(6, 2), 777),
        (at(11, 30, year=2025), 888),
    ]:
        CampaignSend.objects.create(campaign=email, name="Send", sent_at=moment, audience_size=size)

    # forms: one active with 2 submissions in 30 days, one active whose last one is older, one inactive
    used, stale = (LeadForm.objects.create(name=n, key=n) for n in ("used", "stale"))
    idle = LeadForm.objects.create(name="off", key="off", is_active=False)
    for form, moment in [(used, at(6, 1)), (used, at(5, 16, 13)), (stale, at(5, 16, 11)), (idle, at(6, 10))]:
        FormSubmission.objects.create(form=form, created_at=moment)

    # content: 1 in March, 2 in April, none in May (February and June outside); 2 assets used on deals
    assets = [factories.content() for _ in range(6)]
    created = [at(3, 1), at(4, 2), at(4, 30), at(2, 27), at(6, 1), at(1, 5)]
    for asset, moment in zip(assets, created, strict=True):
        ContentAsset.objects.filter(pk=asset.pk).update(created_at=moment)
    on_deal = deal(100, at(1, 2))
    for asset, fields in [
        (assets[0], {"done_at": at(5, 1), "created_at": at(1, 1)}),  # done in the window
        (assets[0], {"done_at": at(5, 2)}),  # the same asset again
        (assets[1], {"created_at": at(6, 1)}),  # not done, created in the window
        (assets[5], {"done_at": at(1, 1), "created_at": at(1, 1)}),  # too old
    ]:
        Activity.objects.create(kind="email", subject="Case", deal=on_deal, content=asset, **fields)
    Activity.objects.create(kind="email", subject="Case", contact=factories.contact(), content=assets[2])

    # monitoring: the reports opened in weeks 0 (15 and 10 June), 1 (5 June) and 3 (20 May); 18 May is
    # 28 days back, outside; one goal updated on 20 May, another on 1 May (outside 30 days)
    leo = user_in(slug, "leadership")
    for day in (15, 10, 5):
        PageVisit.objects.create(user=leo, page="reports", day=dt.date(2026, 6, day))
    PageVisit.objects.create(user=leo, page="reports", day=dt.date(2026, 5, 20))
    PageVisit.objects.create(user=leo, page="scorecard", day=dt.date(2026, 5, 18))
    PageVisit.objects.create(user=leo, page="goals", day=dt.date(2026, 5, 16))  # 30 days back: outside
    PageVisit.objects.create(user=leo, page="sla", day=dt.date(2026, 6, 8))
    for updated in (at(5, 20), at(5, 1)):
        Goal.objects.filter(pk=goal("Revenue", "revenue_won", "month", MAY, "no_data").pk).update(
            updated_at=updated
        )


def test_the_marketing_checklist_on_a_hand_made_fixture(alpha):
    marketing_fixture(reporting())

    answers = checklists(now=NOW)["marketing"]

    assert [a.key for a in answers] == MARKETING_KEYS
    assert {a.team for a in answers} == {"marketing"}
    got = {a.key: a for a in answers}
    # audience: email (running), paid search (ended 17 March = today - 90) and the webinar ran in 90 days;
    # the event ended 16 March, the TV one is planned, print starts in July: 2 of 3 target a segment (67%)
    assert got["audience"].status == "yes"
    assert got["audience"].evidence == (
        "2 segments; 2 of 3 campaigns active in the last 90 days target one (67%)."
    )
    assert got["audience"].figures["segments"] == 2
    assert (got["audience"].figures["recent_campaigns"], got["audience"].figures["targeting"]) == (3, 2)
    # awareness: (1,200 - 1,000) / 1,000 = +20% > +5%
    assert got["awareness"].status == "yes"
    assert got["awareness"].evidence == (
        "Visits: 1,200 in Mar-May 2026 vs 1,000 in Dec 2025-Feb 2026 (+20%); "
        "reach of campaign sends: 6,000 vs 4,000."
    )
    assert got["awareness"].figures["change"] == Decimal("0.2")
    assert [got["awareness"].figures[k] for k in ("reach_recent", "reach_before")] == [6000, 4000]
    # capture: 30 days back is 16 May 12:00; the used form got 1 June and 16 May 13:00, the other form's last
    # came at 11:00; the inactive form does not count; 40 leads stored for May
    assert got["capture"].status == "yes"
    assert got["capture"].evidence == (
        "1 of 2 active forms received submissions in the last 30 days (2 submissions); 40 leads in May 2026."
    )
    # content: none new in May, so only partly, though 2 assets were shared on deals
    assert got["content"].status == "partly"
    assert got["content"].evidence == (
        "New assets: 1 in Mar 2026, 2 in Apr 2026, 0 in May 2026; 2 assets used in deals in the last 90 days."
    )
    assert got["content"].figures["new_assets"] == {"2026-03-01": 1, "2026-04-01": 2, "2026-05-01": 0}
    # channels: email, paid search and webinar are all online
    assert got["channels"].status == "partly"
    assert got["channels"].evidence == (
        "3 campaigns active in the last 90 days; online: Email / newsletter, Paid search, Webinar; "
        "offline: none."
    )
    # monitoring: weeks 0, 1 and 3 of 4; a goal updated on 20 May
    assert got["monitoring"].status == "yes"
    assert got["monitoring"].evidence == (
        "Reports or scorecard opened in 3 of the last 4 weeks; goals page opened on 0 days and 1 goal "
        "updated in the last 30 days."
    )
    assert got["monitoring"].figures == {"weeks_with_visits": 3, "goal_page_days": 0, "goals_updated": 1}


def test_marketing_statuses_follow_the_data(alpha):
    version = reporting()
    marketing_fixture(version)

    # an offline campaign running now: online and offline
    campaign("event", dt.date(2026, 6, 1))
    got = by_key(checklists(now=NOW))
    assert got["channels"].status == "yes"
    assert got["channels"].evidence.endswith("offline: Event and networking.")
    # two more recent campaigns without a segment: 2 of 5 (40%) < 50%
    campaign("video", dt.date(2026, 6, 1))
    assert by_key(checklists(now=NOW))["audience"].status == "partly"
    # no segment at all
    Segment.objects.all().delete()
    assert by_key(checklists(now=NOW))["audience"].status == "no"
    # awareness: +5% is flat (partly), -6% is a fall (no)
    MetricValue.objects.filter(definition=version, metric="visits", period_start=MAY).update(value=250)
    assert by_key(checklists(now=NOW))["awareness"].status == "partly"  # 1,050 vs 1,000
    MetricValue.objects.filter(definition=version, metric="visits", period_start=MAY).update(value=140)
    assert by_key(checklists(now=NOW))["awareness"].status == "no"  # 940 vs 1,000
    # one window without a stored value (NULL is no data, never zero)
    MetricValue.objects.filter(definition=version, metric="visits", period_start__lt=MAR).update(value=None)
    awareness = by_key(checklists(now=NOW))["awareness"]
    assert awareness.status == "no_data"
    assert awareness.evidence.startswith("Visits: 940 in Mar-May 2026 vs no data in Dec 2025-Feb 2026;")
    # capture: the leads of May go; the form still had submissions
    MetricValue.objects.filter(definition=version, metric="leads").delete()
    capture = by_key(checklists(now=NOW))["capture"]
    assert (capture.status, capture.evidence.split("; ")[1]) == ("partly", "no stored leads for May 2026.")
    # content: an asset in May makes every month
    ContentAsset.objects.filter(pk=factories.content().pk).update(created_at=at(5, 31, 23))
    assert by_key(checklists(now=NOW))["content"].status == "yes"
    # monitoring a week later: the week of 20 May drops out (2 of 4 weeks), so does the goal updated on 20 May
    week_later = NOW + dt.timedelta(days=7)
    later = by_key(checklists(now=week_later))["monitoring"]
    assert (later.status, later.figures["weeks_with_visits"], later.figures["goals_updated"]) == ("no", 2, 0)
    # the goals page opened that day: reviewed
    PageVisit.objects.create(user=user_in("alpha", "marketing"), page="goals", day=week_later.date())
    assert by_key(checklists(now=week_later))["monitoring"].status == "partly"


# --- sales -----------------------------------------------------------------------------------------------


def won(amount, owner, closed):
    d = deal(amount, at(1, 10), closed=closed, status="won")
    Deal.objects.filter(pk=d.pk).update(owner=owner)
    return d


def open_deal(pipeline, stage, entered, created=None):
    d = deal(500, created or at(5, 1))
    stage = Stage.objects.get(pipeline__name=pipeline, name=stage)
    Deal.objects.filter(pk=d.pk).update(pipeline=stage.pipeline, stage=stage, stage_entered_at=entered)
    return d


def churn(at_moment, reason="", kind="churn"):
    account = CustomerAccount.objects.create(company=factories.company())
    subscription = Subscription.objects.create(account=account, plan="Team", mrr=100, start_date=MAR)
    return SubscriptionEvent.objects.create(
        subscription=subscription, kind=kind, at=at_moment, mrr_before=100, mrr_after=0, churn_reason=reason
    )


def goal(name, metric, period, start, status):
    return Goal.objects.create(
        name=name, metric=metric, period=period, period_start=start, target=1, status=status
    )


def sales_fixture(version, slug="alpha"):
    sara, alice = user_in(slug, "sales"), user_in(slug, "admin")
    # quotas: May ended on 1 June; Sara 10,000 and Alice 5,000; Q2 has not ended; April is older
    Quota.objects.create(owner=sara, period="month", period_start=MAY, target=10000)
    Quota.objects.create(owner=alice, period="month", period_start=MAY, target=5000)
    Quota.objects.create(owner=sara, period="quarter", period_start=APR, target=50000)
    Quota.objects.create(owner=sara, period="month", period_start=APR, target=1)
    Quota.objects.create(owner=sara, period="month", period_start=MAY, target=3, metric="deals_won")
    won(6000, sara, at(5, 3))
    won(2500, sara, at(5, 31, 23))
    won(4000, alice, at(5, 20))
    won(1000, alice, at(4, 20))  # April
    won(9000, sara, at(6, 2))  # June

    # conversion: 3 + 4 + 5 = 12 new customers from 3 x 100 = 300 leads (4%); the newest started goal is at
    # risk (May win rate); July's has not started; revenue won does not judge conversion
    for start, customers in [(MAR, 3), (APR, 4), (MAY, 5)]:
        stored("new_customers", start, customers, version=version)
        stored("leads", start, 100, version=version)
    stored("leads", dt.date(2026, 2, 1), 1000, version=version)  # outside the 3 months
    may = goal("May win rate", "win_rate", "month", MAY, "at_risk")
    goal("Q2 new customers", "new_customers", "quarter", APR, "on_track")
    goal("July win rate", "win_rate", "month", dt.date(2026, 7, 1), "off_track")
    goal("June revenue", "revenue_won", "month", JUN, "on_track")

    # satisfaction: NRR 95% and logo churn 3% in May; 2 churns in 90 days, one with a reason
    stored("net_revenue_retention", MAY, "0.95", version=version)
    stored("logo_churn", MAY, "0.03", version=version)
    churn(at(5, 5), "Too expensive")
    churn(at(6, 1))
    churn(at(1, 5), "Old")  # outside 90 days
    churn(at(6, 2), kind="contraction")

    # process: 4 open deals, each in its own open stage; Qualification entered exactly 2 x 7 days ago is not
    # stale yet; no deal is stale
    deals = [
        open_deal("New business", "Qualification", at(6, 1)),
        open_deal("New business", "Discovery", at(5, 20)),
        open_deal("New business", "Demo", at(6, 10)),
        open_deal("Renewals", "Upcoming", at(5, 1)),
    ]
    # needs: 3 objections logged in 90 days (one before); 4 calls, meetings or demos done for the 4 new deals
    pricing = Objection.objects.create(name="Too expensive", category="pricing")
    for moment in (at(4, 1), at(5, 1), at(6, 14), at(3, 1)):
        ObjectionLog.objects.create(objection=pricing, deal=deals[0], logged_at=moment)
    for kind, done in [
        ("call", at(5, 1)),
        ("meeting", at(6, 1)),
        ("demo", at(6, 10)),
        ("demo", at(3, 18)),
        ("email", at(6, 1)),  # not discovery
        ("call", at(2, 1)),  # too old
    ]:
        Activity.objects.create(kind=kind, subject=kind, deal=deals[1], done_at=done)

    # follow-up: median 5 business hours in May against the workspace policy's 4; 1 of 5 open activities
    # overdue (20%)
    stored("speed_to_lead_median", MAY, "5", version=version)
    for due in (at(6, 1), at(6, 20), at(6, 20), at(6, 16), None):
        Activity.objects.create(kind="call", subject="Next", deal=deals[2], due_at=due)
    return may


def test_the_sales_checklist_on_a_hand_made_fixture(alpha):
    may = sales_fixture(reporting())

    answers = checklists(now=NOW)["sales"]

    assert [a.key for a in answers] == SALES_KEYS
    assert {a.team for a in answers} == {"sales"}
    got = {a.key: a for a in answers}
    # targets: May, (6,000 + 2,500 + 4,000) / (10,000 + 5,000) = 83.3%: partly
    assert got["targets"].status == "partly"
    assert got["targets"].evidence == (
        "Revenue won EUR 12,500 of a EUR 15,000 target in May 2026 (83%, 2 quotas)."
    )
    assert got["targets"].figures["period_start"] == MAY
    assert (got["targets"].figures["won"], got["targets"].figures["target"]) == (12500, 15000)
    # conversion: judged by the May win-rate goal (at risk)
    assert got["conversion"].status == "partly"
    assert got["conversion"].evidence == (
        '12 new customers from 300 leads in Mar-May 2026 (4%); goal "May win rate" (Win rate, May 2026) '
        "is at risk."
    )
    assert got["conversion"].link == f"/alignment/goals/{may.pk}/"
    assert got["conversion"].figures["rate"] == Decimal("0.04")
    # satisfaction: NRR 95% >= 90%
    assert got["satisfaction"].status == "partly"
    assert got["satisfaction"].evidence == (
        "In May 2026: net revenue retention 95%, logo churn 3%; 2 churns in the last 90 days, "
        "1 with a reason."
    )
    # needs: 3 objections; 4 / 4 = 1.0 discovery activity per new deal (the 5 won deals are from January)
    assert got["needs"].status == "yes"
    assert got["needs"].evidence == (
        "In the last 90 days: 3 objections logged; 4 discovery activities (calls, meetings, demos) "
        "for 4 new deals (1.0 per new deal)."
    )
    # process: 4 open stages, nothing stale
    assert got["process"].status == "yes"
    assert got["process"].evidence == (
        "4 open deals (New business 3, Renewals 1) across 4 open stages; 0 stale, longer than 2x their "
        "stage's expected days (0%)."
    )
    assert got["process"].figures["per_pipeline"] == {"New business": 3, "Renewals": 1}
    # follow-up: 5 > 4 hours and 20% > 10% overdue
    assert got["follow_up"].status == "no"
    assert got["follow_up"].evidence == (
        "Median first touch in May 2026: 5 business hours against 4 allowed; "
        "1 of 5 open activities overdue (20%)."
    )
    assert got["follow_up"].figures["allowed_source"] == "sla_policy"


@pytest.mark.parametrize(
    ("sara_target", "status"),
    [("7500", "yes"), ("10625", "partly"), ("10626", "no")],  # 12,500 / 12,500; / 15,625 = 80%; just below
)
def test_attainment_thresholds(alpha, sara_target, status):
    sales_fixture(reporting())
    Quota.objects.filter(owner__email="sara@alpha.example", period_start=MAY, metric="revenue_won").update(
        target=Decimal(sara_target)
    )
    assert by_key(checklists(now=NOW))["targets"].status == status


def test_sales_statuses_follow_the_data(alpha):
    version = reporting()
    sales_fixture(version)

    # a stale deal: Discovery (14 days expected) entered 29 days ago, 1 of 5 = 20% is still fine ...
    open_deal("New business", "Discovery", at(5, 17, 11), created=at(1, 5))
    process = by_key(checklists(now=NOW))["process"]
    assert (process.status, process.figures["stale"]) == ("yes", 1)
    # ... a second makes 2 of 6 = 33%
    open_deal("New business", "Proposal", at(5, 1), created=at(1, 5))
    assert by_key(checklists(now=NOW))["process"].status == "partly"
    # follow-up: the policy allows 6 hours: the median is within it, the overdue share still too high
    SlaPolicy.objects.filter(is_active=True, segment=None, team=None).update(first_touch_hours=6)
    assert by_key(checklists(now=NOW))["follow_up"].status == "partly"
    # without an active workspace policy the sales settings' hours apply (24 by default)
    SlaPolicy.objects.update(is_active=False)
    follow_up = by_key(checklists(now=NOW))["follow_up"]
    assert (follow_up.figures["allowed_hours"], follow_up.figures["allowed_source"]) == (24, "sales_settings")
    # satisfaction: no churn reason at all and NRR below 90%: no; NRR 1.02 with every churn explained: yes
    nrr = MetricValue.objects.filter(definition=version, metric="net_revenue_retention")
    SubscriptionEvent.objects.update(churn_reason="")
    nrr.update(value=Decimal("0.85"))
    assert by_key(checklists(now=NOW))["satisfaction"].status == "no"
    SubscriptionEvent.objects.update(churn_reason="Moved to a competitor")
    nrr.update(value=Decimal("1.02"))
    assert by_key(checklists(now=NOW))["satisfaction"].status == "yes"
    # conversion: without a started goal there is nothing to judge the rate against
    Goal.objects.filter(period_start__lte=NOW.date()).delete()
    conversion = by_key(checklists(now=NOW))["conversion"]
    assert conversion.status == "no_data"
    assert conversion.evidence == (
        "12 new customers from 300 leads in Mar-May 2026 (4%); no goal set to judge it."
    )
    assert conversion.link == "/alignment/goals/"
    # needs: no objection logged: only the discovery side holds
    ObjectionLog.objects.all().delete()
    assert by_key(checklists(now=NOW))["needs"].status == "partly"


def test_an_empty_workspace_answers_no_data_or_no(alpha):
    # given nothing but the defaults every workspace starts with (pipelines, the workspace SLA policy)

    got = by_key(checklists(now=NOW))

    assert {k: a.status for k, a in got.items()} == {
        "audience": "no",
        "awareness": "no_data",
        "capture": "no",
        "content": "no",
        "channels": "no",
        "monitoring": "no",
        "targets": "no_data",
        "conversion": "no_data",
        "satisfaction": "no_data",
        "needs": "no",
        "process": "no",
        "follow_up": "no_data",
    }
    assert {a.status for a in got.values()} <= set(STATUSES)
    assert {k: a.evidence for k, a in got.items()} == {
        "audience": "No segment; no campaign active in the last 90 days.",
        "awareness": "Visits: no data in Mar-May 2026 vs no data in Dec 2025-Feb 2026; "
        "reach of campaign sends: none recorded vs none recorded.",
        "capture": "No active form; no stored leads for May 2026.",
        "content": "New assets: 0 in Mar 2026, 0 in Apr 2026, 0 in May 2026; 0 assets used in deals in the "
        "last 90 days.",
        "channels": "No campaign active in the last 90 days.",
        "monitoring": "Reports or scorecard opened in 0 of the last 4 weeks; goals page opened on 0 days and "
        "0 goals updated in the last 30 days.",
        "targets": "No revenue quota for a period that has ended.",
        "conversion": "No stored leads for Mar-May 2026; no goal set to judge it.",
        "satisfaction": "In May 2026: net revenue retention no data, logo churn no data; no churn in the "
        "last 90 days.",
        "needs": "In the last 90 days: 0 objections logged; 0 discovery activities (calls, meetings, demos) "
        "for 0 new deals.",
        "process": "No open deal.",
        "follow_up": "Median first touch in May 2026: no data against 4 allowed; no open activity.",
    }


def test_every_link_opens_for_leadership(tenant_a):
    with schema_context("alpha"):
        version = reporting()
        marketing_fixture(version)
        sales_fixture(version)
        answers = [a for team in checklists(now=NOW).values() for a in team]
    client = login("alpha", "leadership")

    for answer in answers:
        response = client.get(answer.link)
        connection.set_schema_to_public()
        assert response.status_code == 200, (answer.key, answer.link)
    assert len({a.link for a in answers}) == 12


def more_rows(version, times: int, slug="alpha") -> None:
    """``times`` more rows of every kind the checklists read (the stored values stay one per period)."""
    sara, mark = user_in(slug, "sales"), user_in(slug, "marketing")
    segment = Segment.objects.create(name="More")
    for n in range(times):
        day = dt.date(2026, 6, 1) - dt.timedelta(days=n)
        c = campaign(["email", "event", "radio"][n % 3], dt.date(2026, 4, 1), segments=[segment] * (n % 2))
        CampaignSend.objects.create(campaign=c, name="Send", sent_at=at(4, 1 + n % 28), audience_size=10)
        form = LeadForm.objects.create(name=f"Form {n}", key=f"more-{n}")
        FormSubmission.objects.create(form=form, created_at=at(6, 1 + n % 14))
        asset = factories.content()
        ContentAsset.objects.filter(pk=asset.pk).update(created_at=at(3 + n % 3, 10))
        d = open_deal(["New business", "Upsell"][n % 2], ["Proposal", "Identified"][n % 2], at(5, 1 + n % 28))
        Activity.objects.create(kind="demo", subject="Demo", deal=d, content=asset, done_at=at(6, 1))
        Activity.objects.create(kind="call", subject="Call", deal=d, due_at=at(6, 1 + n % 28))
        ObjectionLog.objects.create(objection=Objection.objects.first(), deal=d, logged_at=at(6, 2))
        PageVisit.objects.create(user=mark, page=["reports", "goals", "scorecard"][n % 3], day=day)
        churn(at(6, 3), "Budget" if n % 2 else "")
        won(100, sara, at(5, 10))
        goal(f"Goal {n}", "win_rate", "month", dt.date(2026, 1 + n % 6, 1), "on_track")
    stored("visits", dt.date(2025, 11, 1), 1, version=version)


def test_the_query_count_does_not_grow_with_rows(alpha):
    version = reporting()
    marketing_fixture(version)
    sales_fixture(version)

    with CaptureQueriesContext(connection) as few:
        before = checklists(now=NOW)
    more_rows(version, 30)
    with CaptureQueriesContext(connection) as many:
        after = checklists(now=NOW)

    # reporting definition (1), stored values (1), settings and open activities (1), segments and recent
    # campaigns (1), reach (1), forms (1), content (1), page visits and goals (1), quotas (1), the judging
    # goal (1), churn events (1), objections, discovery and new deals (1), open deals (1)
    assert len(few) == len(many) == 13, [q["sql"][:80] for q in many.captured_queries]
    assert by_key(before)["process"].figures["open_deals"] == 5  # 4, and the one the content was shared on
    assert by_key(after)["process"].figures["open_deals"] == 35  # the new rows were read


def test_another_workspace_never_changes_the_answers(alpha):
    version = reporting()
    marketing_fixture(version)
    sales_fixture(version)
    before = checklists(now=NOW)

    with schema_context("beta"):
        beta_version = reporting()
        marketing_fixture(beta_version, "beta")
        sales_fixture(beta_version, "beta")
        more_rows(beta_version, 3, "beta")
        beta = checklists(now=NOW)

    assert checklists(now=NOW) == before
    assert by_key(beta) != by_key(before)  # beta's own data does answer in beta
