"""Attribution: hand-computed credits for every model with one, two and many touches and with coinciding
positions; every deal's credits sum exactly to its amount; the lookback and the deal's creation bound the
touches; rollups per model, campaign and channel."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db.models import Sum

from alignment import engine
from alignment.attribution import MODELS
from alignment.models import AttributionCredit, DirtyDeal, MetricValue
from marketing.models import Contact, Touchpoint
from sales.models import Deal, DealContact
from sales.services.deals import deal_create
from tests.alignment.helpers import snapshot
from tests.alignment.helpers import value as stored_value
from tests.marketing import factories

pytestmark = pytest.mark.django_db

DEAL_AT = dt.datetime(2026, 6, 29, 12, tzinfo=dt.UTC)


def days_before(days: float) -> dt.datetime:
    return DEAL_AT - dt.timedelta(days=days)


def deal_with_touches(touch_days: list[float], lead_days: float, amount: str = "1000", campaign=None):
    """A deal created at DEAL_AT whose lead was created ``lead_days`` before it, with one touch per entry
    of ``touch_days`` (days before the deal)."""
    contact = factories.contact()
    Contact.objects.filter(pk=contact.pk).update(created_at=days_before(lead_days), company=None)
    contact.refresh_from_db()
    touches = [
        Touchpoint.objects.create(
            kind="email_click",
            contact=contact,
            campaign=campaign,
            channel="email",
            occurred_at=days_before(d),
        )
        for d in touch_days
    ]
    deal = deal_create(data={"name": "Deal", "amount": amount}, lead=contact)
    Deal.objects.filter(pk=deal.pk).update(created_at=DEAL_AT)
    return deal, touches


def credits(deal, model: str, touches) -> list[Decimal]:
    rows = dict(
        AttributionCredit.objects.filter(deal=deal, model=model).values_list("touchpoint_id", "credit")
    )
    return [rows.get(t.pk, Decimal("0")) for t in touches]


def D(*values) -> list[Decimal]:  # noqa: N802 - reads like the literal it builds
    return [Decimal(str(v)) for v in values]


def test_a_single_touch_takes_everything_in_every_model(alpha):
    deal, touches = deal_with_touches([3], lead_days=5)
    engine.run(full=True)
    for model in MODELS:
        assert credits(deal, model, touches) == D("1000.00"), model


def test_two_touches(alpha):
    # t1 10 days before the deal, before the lead was created (lead-creation touch = t1); t2 on the day.
    deal, touches = deal_with_touches([7, 0], lead_days=5)
    engine.run(full=True)
    assert credits(deal, "first_touch", touches) == D(1000, 0)
    assert credits(deal, "last_touch", touches) == D(0, 1000)
    assert credits(deal, "linear", touches) == D(500, 500)
    # U: t1 first + lead creation 0.4 + 0.4; t2 the only other touch 0.2 -> 800 / 200
    assert credits(deal, "u_shaped", touches) == D(800, 200)
    # W: t1 0.3 + 0.3, t2 deal creation 0.3, no other touch for the 0.1 -> normalised 2/3, 1/3
    assert credits(deal, "w_shaped", touches) == D("666.67", "333.33")
    # time decay, half-life 7: t1 aged 7 days 0.5, t2 aged 0 1 -> 1/3, 2/3
    assert credits(deal, "time_decay", touches) == D("333.33", "666.67")


def test_many_touches(alpha):
    # five touches 28, 21, 14, 7 and 0 days before the deal; the lead was created between t2 and t3
    deal, touches = deal_with_touches([28, 21, 14, 7, 0], lead_days=18)
    engine.run(full=True)
    assert credits(deal, "first_touch", touches) == D(1000, 0, 0, 0, 0)
    assert credits(deal, "last_touch", touches) == D(0, 0, 0, 0, 1000)
    assert credits(deal, "linear", touches) == D(200, 200, 200, 200, 200)
    # U: 400 first, 400 lead creation (t2), 200 / 3 = 66.67 each to t3..t5 -> 1000.01, so the remainder
    # -0.01 goes to the largest share, the earliest on a tie (t1)
    assert credits(deal, "u_shaped", touches) == D("399.99", 400, "66.67", "66.67", "66.67")
    # W: 300 first, 300 lead creation, 300 deal creation (t5), 100 / 2 to t3 and t4
    assert credits(deal, "w_shaped", touches) == D(300, 300, 50, 50, 300)
    # time decay: 2^-4, 2^-3, 2^-2, 2^-1, 1 = 1/31, 2/31, 4/31, 8/31, 16/31 of 1000
    assert credits(deal, "time_decay", touches) == D("32.26", "64.52", "129.03", "258.06", "516.13")


def test_coinciding_positions_take_both_shares(alpha):
    # the lead was created after every touch: the lead-creation touch is the last one, also the deal's
    deal, touches = deal_with_touches([20, 10, 1], lead_days=0.5)
    engine.run(full=True)
    # U: t1 0.4, t3 0.4 (lead creation), t2 0.2
    assert credits(deal, "u_shaped", touches) == D(400, 200, 400)
    # W: t1 0.3, t3 lead creation 0.3 + deal creation 0.3, t2 the rest 0.1
    assert credits(deal, "w_shaped", touches) == D(300, 100, 600)
    # the first touch as lead creation too (lead created before any touch): U gives t1 0.8, t2 0.2
    deal2, touches2 = deal_with_touches([5, 2], lead_days=30)
    engine.run(full=True)
    assert credits(deal2, "u_shaped", touches2) == D(800, 200)


def test_only_touches_before_the_deal_and_within_the_lookback_count(alpha):
    # the default lookback is 180 days: a touch 200 days before and one after creation get nothing
    deal, touches = deal_with_touches([200, 30, -1], lead_days=40)
    engine.run(full=True)
    for model in MODELS:
        assert credits(deal, model, touches) == D(0, 1000, 0), model


def test_credits_sum_exactly_to_every_deal_amount_and_roll_up(alpha):
    spring = factories.campaign(name="Spring", channel="email")
    odd = ["1000.01", "999.99", "0.03", "12345.67", "7"]
    deals = [
        deal_with_touches([i + 1, i * 3 + 2, 13, 0.5], lead_days=i + 4, amount=a)[0]
        for i, a in enumerate(odd)
    ]
    deal_with_touches([3, 2, 1], lead_days=4, amount="300", campaign=spring)
    engine.run(full=True)
    for deal in [*deals]:
        deal.refresh_from_db()
        for model in MODELS:
            total = AttributionCredit.objects.filter(deal=deal, model=model).aggregate(s=Sum("credit"))["s"]
            assert total == deal.amount, (deal.amount, model)
    # June rollups: every model credits the whole pipeline of deals with touches; the campaign its 300
    expected = sum(Decimal(a) for a in odd) + 300
    for model in MODELS:
        month = MetricValue.objects.filter(
            metric="attributed_pipeline", granularity="month", period_start=dt.date(2026, 6, 1), model=model
        )
        assert month.get(dimension="").value == expected, model
        assert month.get(dimension="campaign", dimension_value=str(spring.pk)).value == 300
        assert month.get(dimension="channel", dimension_value="email").value == expected


def test_a_late_touch_changes_the_credits_on_the_next_incremental_run(alpha):
    deal, touches = deal_with_touches([5], lead_days=10)
    engine.run(full=True)
    late = Touchpoint.objects.create(
        kind="page_visit", contact=deal.lead, channel="organic_search", occurred_at=days_before(2)
    )
    engine.run(full=False)  # the touchpoint trigger marked the deal's creation day
    assert credits(deal, "linear", [*touches, late]) == D(500, 500)
    late.delete()
    engine.run(full=False)
    assert credits(deal, "linear", touches) == D(1000)
    assert not AttributionCredit.objects.filter(touchpoint_id=late.pk).exists()


def test_an_incremental_run_recomputes_only_the_deals_a_write_reaches(alpha):
    """The dirty-deal marks (migration 0009): a touch marks the deals of its people created at or after it,
    not the other deals of those days; a deal's amount marks it, its name does not."""
    reached, touches = deal_with_touches([3], lead_days=5)
    other, _ = deal_with_touches([3], lead_days=5)  # created the same moment
    engine.run(full=True)

    def marked() -> set[int]:
        return set(DirtyDeal.objects.values_list("deal_id", flat=True))

    assert marked() == set()
    late = Touchpoint.objects.create(
        kind="email_click", contact=reached.lead, channel="email", occurred_at=days_before(1)
    )
    after = DEAL_AT + dt.timedelta(days=1)  # after the deal's creation: credits nothing
    Touchpoint.objects.create(kind="email_click", contact=reached.lead, channel="email", occurred_at=after)
    assert marked() == {reached.pk}
    Deal.objects.filter(pk=other.pk).update(name="Renamed")
    assert marked() == {reached.pk}
    Deal.objects.filter(pk=other.pk).update(amount=Decimal("2000"))
    assert marked() == {reached.pk, other.pk}

    engine.run(full=False)
    assert marked() == set()
    assert credits(reached, "linear", [*touches, late]) == D(500, 500)
    other_credits = AttributionCredit.objects.filter(deal=other, model="linear").aggregate(s=Sum("credit"))
    assert other_credits["s"] == Decimal("2000.00")


def test_a_contact_added_to_a_deal_brings_its_touches_on_the_next_incremental_run(alpha):
    deal, touches = deal_with_touches([3], lead_days=5)
    _, other_touches = deal_with_touches([1], lead_days=5)  # another contact, on another deal
    engine.run(full=True)
    assert credits(deal, "linear", touches) == D(1000)
    DealContact.objects.create(deal=deal, contact=other_touches[0].contact)
    assert set(DirtyDeal.objects.values_list("deal_id", flat=True)) == {deal.pk}
    engine.run(full=False)
    assert credits(deal, "linear", [*touches, *other_touches]) == D(500, 500)


def attributed(metric: str, grain: str, dimension: str = "", value: str = "", model: str = "linear"):
    """The stored attributed figure of the deals' period (June 2026, the week of 29 June), or None."""
    start = {"month": dt.date(2026, 6, 1), "week": dt.date(2026, 6, 29), "quarter": dt.date(2026, 4, 1)}
    return stored_value(metric, 0, dimension, value, model=model, grain=grain, start=start[grain])


def assert_equals_a_full_run() -> None:
    before = snapshot()
    engine.run(full=True)
    assert before == snapshot()


def test_an_incremental_run_changes_attributed_sums_by_the_credits_it_replaces(alpha):
    """Attributed sums are changed, not rescanned, on an incremental run: a new deal adds its credits, a
    deleted deal takes its credits and its sums with it (credits are not cascaded away before the run)."""
    spring = factories.campaign(name="Spring", channel="email")
    deal_with_touches([3], lead_days=5, amount="1000")  # stays
    engine.run(full=True)
    gone, _ = deal_with_touches([2], lead_days=5, amount="250", campaign=spring)
    engine.run(full=False)
    for grain in ("week", "month", "quarter"):
        assert attributed("attributed_pipeline", grain) == Decimal("1250"), grain
        assert attributed("attributed_pipeline", grain, "campaign", str(spring.pk)) == Decimal("250"), grain
        assert attributed("attributed_opportunities", grain) == 2, grain
    Deal.objects.filter(pk=gone.pk).delete()
    assert AttributionCredit.objects.filter(deal_id=gone.pk).exists()  # until the engine replaces them
    engine.run(full=False)
    assert not AttributionCredit.objects.filter(deal_id=gone.pk).exists()
    for grain in ("week", "month", "quarter"):
        assert attributed("attributed_pipeline", grain) == Decimal("1000"), grain
        assert attributed("attributed_pipeline", grain, "campaign", str(spring.pk)) is None, grain
        assert attributed("attributed_opportunities", grain) == 1, grain
    assert_equals_a_full_run()


def test_a_group_that_loses_some_credits_keeps_the_rest(alpha):
    """Only credits removed from a campaign: the run looks up whether any is left rather than dropping it."""
    spring = factories.campaign(name="Spring", channel="email")
    deal_with_touches([3], lead_days=5, amount="400", campaign=spring)
    _, touches = deal_with_touches([2], lead_days=5, amount="100", campaign=spring)
    engine.run(full=True)
    assert attributed("attributed_pipeline", "month", "campaign", str(spring.pk)) == Decimal("500")
    Touchpoint.objects.filter(pk=touches[0].pk).delete()
    engine.run(full=False)
    assert attributed("attributed_pipeline", "month", "campaign", str(spring.pk)) == Decimal("400")
    assert attributed("attributed_pipeline", "month", "channel", "email") == Decimal("400")
    assert attributed("attributed_pipeline", "month") == Decimal("400")  # the second deal has no touch left
    assert_equals_a_full_run()


def test_a_deleted_campaign_moves_its_credits_to_none_on_the_next_run(alpha):
    spring = factories.campaign(name="Spring", channel="event")
    deal_with_touches([3], lead_days=5, amount="300", campaign=spring)
    engine.run(full=True)
    spring_id = str(spring.pk)
    assert attributed("attributed_revenue", "month", "campaign", spring_id) is None  # not won
    assert attributed("attributed_pipeline", "month", "campaign", spring_id) == Decimal("300")
    spring.delete()
    engine.run(full=False)
    assert attributed("attributed_pipeline", "month", "campaign", spring_id) is None
    assert attributed("attributed_pipeline", "month", "campaign", "none") == Decimal("300")
    assert_equals_a_full_run()
