"""The objection loop: the taxonomy (names unique in any case, fields named), logging on deals and leads with
the stage, answers and the thread, and the gap report on a hand-made fixture: frequency times win-rate
impact, coverage and usage; an answering asset takes an objection off the backlog's top."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from alignment import objections
from alignment.models import Objection, ObjectionLog
from sales.models import Activity
from tests.alignment.helpers import deal
from tests.conftest import user_in
from tests.marketing import factories

pytestmark = pytest.mark.django_db

UNTIL = dt.datetime(2026, 10, 1, tzinfo=dt.UTC)


def at(month, day=1):
    return dt.datetime(2026, month, day, 12, tzinfo=dt.UTC)


def new(name, category):
    return objections.objection_save(actor=None, data={"name": name, "category": category})


def test_the_taxonomy_names_are_unique_and_fields_named(alpha):
    new("Too expensive", "pricing")
    for data, field in [
        ({"name": "too EXPENSIVE", "category": "pricing"}, "name"),
        ({"name": "", "category": "pricing"}, "name"),
        ({"name": "Late", "category": "timing"}, "category"),
        ({"name": "x" * 151, "category": "other"}, "name"),
    ]:
        with pytest.raises(ValidationError) as error:
            objections.objection_save(actor=None, data=data)
        assert field in error.value.message_dict, data
    assert Objection.objects.count() == 1


def test_a_log_names_its_deal_or_lead_and_stage(alpha):
    pricing = new("Too expensive", "pricing")
    lead = factories.contact(stage="mql")
    won = deal(1000, at(2), closed=at(3), status="won", lead=lead)
    log = objections.objection_log(
        actor=user_in("alpha", "sales"), objection=pricing, deal=won, note="Budget"
    )
    assert (log.stage, log.contact, log.note) == (won.stage.name, lead, "Budget")
    on_lead = objections.objection_log(actor=None, objection=pricing, contact=lead)
    assert on_lead.stage == "MQL"
    with pytest.raises(ValidationError) as error:
        objections.objection_log(actor=None, objection=pricing)
    assert "deal" in error.value.message_dict
    objections.objection_save(actor=None, objection=pricing, data={"is_active": False})
    with pytest.raises(ValidationError):
        objections.objection_log(actor=None, objection=pricing, contact=lead)
    with pytest.raises(ValidationError) as error:
        objections.comment_add(actor=None, objection=pricing, body="  ")
    assert "body" in error.value.message_dict


def test_the_gap_report_ranks_frequency_times_impact_and_answers_take_an_objection_off_the_backlog(alpha):
    price, sso, unclear = (
        new("Too expensive", "pricing"),
        new("Missing SSO", "product"),
        new("Unclear", "positioning"),
    )
    d1, d2 = deal(100, at(1), closed=at(2), status="lost"), deal(100, at(1), closed=at(3), status="lost")
    d3 = deal(100, at(1), closed=at(4), status="won")
    d4 = deal(100, at(1), closed=at(5), status="lost")
    for month in (6, 7, 8):
        deal(100, at(1), closed=at(month), status="won")
    deal(100, at(1), closed=at(9), status="lost")
    deal(100, at(1), closed=dt.datetime(2025, 6, 1, tzinfo=dt.UTC), status="lost")  # before the window
    lead = factories.contact()
    for d in (d1, d2, d3):
        objections.objection_log(actor=None, objection=price, deal=d)
    objections.objection_log(actor=None, objection=price, contact=lead)
    objections.objection_log(actor=None, objection=sso, deal=d4)
    for _ in range(2):
        objections.objection_log(actor=None, objection=unclear, contact=lead)
    ObjectionLog.objects.update(logged_at=at(9, 15))  # heard in September, inside the window
    # 8 deals closed in the window, 4 won.
    # Too expensive: 4 logs; with it 1 won of 3 (0.3333), without 3 of 5 (0.6): impact 0.2667, x 4 = 1.0668
    # Missing SSO: 1 log; with it 0 of 1, without 4 of 7 (0.5714): impact 0.5714, x 1 = 0.5714
    # Unclear: 2 logs, on no closed deal: no impact, after the others
    report = objections.gap_report(until=UNTIL)
    rows = [
        (g.name, g.frequency, g.win_rate_with, g.win_rate_without, g.impact, g.priority)
        for g in report["backlog"]
    ]
    assert rows == [
        ("Too expensive", 4, Decimal("0.3333"), Decimal("0.6000"), Decimal("0.2667"), Decimal("1.0668")),
        ("Missing SSO", 1, Decimal("0"), Decimal("0.5714"), Decimal("0.5714"), Decimal("0.5714")),
        ("Unclear", 2, None, Decimal("0.5000"), None, None),
    ]
    # marketing answers the top objection with a battlecard, and sales uses it on a deal with that objection
    battlecard = factories.content(title="Pricing battlecard")
    objections.answer_add(actor=user_in("alpha", "marketing"), objection=price, content=battlecard)
    with pytest.raises(ValidationError):
        objections.answer_add(actor=None, objection=price, content=battlecard)
    Activity.objects.create(kind="email", subject="Battlecard", deal=d1, owner=user_in("alpha", "sales"),
                            content=battlecard, done_at=at(2))  # fmt: skip
    Activity.objects.create(kind="email", subject="Elsewhere", deal=d4, content=battlecard, done_at=at(5))
    report = objections.gap_report(until=UNTIL)
    assert [g.name for g in report["backlog"]] == ["Missing SSO", "Unclear"]
    assert [(g.name, g.coverage, g.usage) for g in report["covered"]] == [("Too expensive", 1, 1)]
    # and the rep sees the answer on the deal where the objection was logged
    assert objections.answers_for_deal(d1) == [(price, [battlecard])]
    assert objections.answers_for_deal(d4) == [(sso, [])]


def test_the_monthly_digest_routes_objections_and_loss_reasons_to_their_owners_once(alpha):
    from alignment.models import AlignmentSettings, Notification
    from sales.models import Deal, LossReason

    positioning = new("Not for us", "positioning")
    price = new("Too expensive", "pricing")
    sso = new("Missing SSO", "product")
    lead = factories.contact()
    for objection in (positioning, price, price, sso):
        objections.objection_log(actor=None, objection=objection, contact=lead)
    ObjectionLog.objects.update(logged_at=at(10, 12))
    lost = deal(100, at(9), closed=at(10, 20), status="lost")
    reason = LossReason.objects.create(category="timing", name="Next year")
    Deal.objects.filter(pk=lost.pk).update(loss_category="timing", loss_reason=reason)
    routed = objections.digest(dt.date(2026, 10, 1), dt.date(2026, 11, 1))
    assert routed == {
        "leadership": ["2 x Too expensive (objection, pricing)", "1 x Next year (loss reason, timing)"],
        "marketing": ["1 x Not for us (objection, positioning)"],
        "product": ["1 x Missing SSO (objection, product)"],
    }
    AlignmentSettings.objects.create(pk=1, product_owner=user_in("alpha", "admin"))
    assert objections.digest_send(month=dt.date(2026, 10, 1)) == 3  # Mark, Leo, Alice
    assert objections.digest_send(month=dt.date(2026, 10, 1)) == 0  # once a month
    sent = {
        n.user.email: n for n in Notification.objects.filter(kind="objection_digest").select_related("user")
    }
    assert set(sent) == {"mark@alpha.example", "leo@alpha.example", "alice@alpha.example"}
    assert "Missing SSO" in sent["alice@alpha.example"].body and "SSO" not in sent["mark@alpha.example"].body
