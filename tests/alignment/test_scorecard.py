"""The alignment scorecard's metrics on a hand-made March: each component as the engine stores it, the score
made of them, what an answer, a goal change or a weight does to it, and no data where there is none.

The scene (March 2026, every weight 1):

- SLA clocks: both steps met; first touch breached and decision met; one still running; first touch met and
  decision breached. Sales side: (2 + 2) steps met / (3 + 3) due = 0.666667.
- Marketing side: 5 MQLs against 10 committed = 0.5; 3 of 4 decisions accepted = 0.75 against a 0.5
  minimum, capped at 1; (0.5 + 1) / 2 = 0.75. SLA component: (0.666667 + 0.75) / 2 = 0.708333.
- Acceptance: 0.75.
- Four deals lost in March: two with a pricing reason, two filed under "other" (every loss has a reason in
  Tandem; "other" routes nowhere): 0.5.
- Objections logged in March: "too dear" three times (answered by a battlecard), "no export" once: 0.75.
- Goals of March: MQLs 5 of 10 (0.5), win rate 0.2 of 0.5 (0.4), sales cycle 20 days against 10 where lower
  is better (10 / 20 = 0.5), and visits with no stored value (left out): (0.5 + 0.4 + 0.5) / 3 = 0.466667.
- Deals created in March: five, one with a campaign touch five days before: 0.2.
- Score: 100 x (0.708333 + 0.75 + 0.5 + 0.75 + 0.466667 + 0.2) / 6 = 56.25.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django_tenants.utils import schema_context

from alignment import engine, goals, objections, scorecard, sla
from alignment.models import Goal, ObjectionAnswer, ObjectionLog, SlaClock, SlaPolicy
from alignment.services import definition_update
from marketing.models import Touchpoint
from sales.models import Deal, LeadDecision, LossReason, RejectionReason
from tests.alignment.helpers import at, contact_with, deal, value
from tests.conftest import user_in
from tests.marketing import factories

pytestmark = pytest.mark.django_db

MARCH = dt.date(2026, 3, 1)
Q1 = dt.date(2026, 1, 1)


def q(number, places="0.000001") -> Decimal:
    return Decimal(number).quantize(Decimal(places))


def scene(slug: str = "alpha", tag: str = "alphacanary") -> dict:
    """The March of the module docstring in ``slug``'s schema; returns what the tests touch again."""
    with schema_context(slug):
        sara, mark = user_in(slug, "sales"), user_in(slug, "marketing")

        def clock(day: int, **marks) -> SlaClock:
            return SlaClock.objects.create(
                contact=factories.contact(), mql_at=at(3, day, 9), owner=sara, first_touch_hours=4,
                decision_hours=8, at_risk_share=Decimal("0.75"), escalate_after_hours=8, **marks,
            )  # fmt: skip

        clock(2, first_touch_at=at(3, 2, 11), decided_at=at(3, 2, 15))
        clock(3, first_touch_at=at(3, 4), first_touch_breached_at=at(3, 3, 14), decided_at=at(3, 4))
        clock(4)
        clock(5, first_touch_at=at(3, 5, 10), decision_breached_at=at(3, 6, 10))
        sla.policy_save(
            actor=None,
            policy=SlaPolicy.objects.get(is_active=True, segment=None, team=None),
            data={"mql_commitment": 10, "min_acceptance_rate": Decimal("0.5")},
        )
        mqls = [contact_with([("lead", at(2, 20)), ("mql", at(3, 10 + i))]) for i in range(5)]
        for i, person in enumerate(mqls[:4]):
            LeadDecision.objects.create(
                contact=person, mql_at=at(3, 10 + i), decision="accepted" if i < 3 else "rejected",
                reason=RejectionReason.objects.first() if i == 3 else None, decided_by=sara,
                decided_at=at(3, 15 + i),
            )  # fmt: skip
        won = deal(3000, at(2, 25), closed=at(3, 17), status="won")
        lost = [deal(1000 + i, at(3, 1 + i), closed=at(3, 20 + i), status="lost") for i in range(4)]
        Deal.objects.filter(pk=lost[0].pk).update(name=f"{tag} lost 0")
        other = LossReason.objects.get(category="other")
        Deal.objects.filter(pk=lost[2].pk).update(
            name=f"{tag} other 2", loss_category="other", loss_reason=other
        )
        Deal.objects.filter(pk=lost[3].pk).update(
            name=f"{tag} other 3", loss_category="other", loss_reason=other
        )
        touched = contact_with([("lead", at(2, 1))])
        Touchpoint.objects.create(
            contact=touched, kind="ad_click", campaign=factories.campaign(), occurred_at=at(3, 1)
        )
        opened = deal(4000, at(3, 6), lead=touched)
        Deal.objects.filter(pk=opened.pk).update(expected_close_date=dt.date(2026, 3, 30))
        dear = objections.objection_save(actor=None, data={"name": f"{tag} too dear", "category": "pricing"})
        export = objections.objection_save(
            actor=None, data={"name": f"{tag} no export", "category": "product"}
        )
        for i, lost_deal in enumerate(lost[:3]):
            log = objections.objection_log(actor=sara, objection=dear, deal=lost_deal)
            ObjectionLog.objects.filter(pk=log.pk).update(logged_at=at(3, 8 + i))
        log = objections.objection_log(actor=sara, objection=export, deal=opened)
        ObjectionLog.objects.filter(pk=log.pk).update(logged_at=at(3, 11))
        card = factories.content(title=f"{tag} battlecard", kind="battlecard")
        objections.answer_add(actor=mark, objection=dear, content=card)
        owners = [mark.pk, sara.pk]
        made = {}
        for metric, target in (("mqls", 10), ("win_rate", "0.5"), ("sales_cycle_mean", 10), ("visits", 100)):
            made[metric] = goals.goal_create(
                actor=None,
                data={"name": f"{tag} {metric}", "metric": metric, "period": "month", "period_start": MARCH,
                      "target": target, "owners": owners},
            )  # fmt: skip
        goals.goal_create(
            actor=None,
            data={"name": f"{tag} revenue", "metric": "revenue_won", "period": "quarter", "period_start": Q1,
                  "target": 10000, "owners": owners},
        )  # fmt: skip
        return {"dear": dear, "export": export, "card": card, "goals": made, "lost": lost, "won": won}


def computed_scene(slug: str = "alpha", tag: str = "alphacanary") -> dict:
    """The scene in ``slug`` with a full engine run after it (for tests outside the schema)."""
    made = scene(slug, tag)
    with schema_context(slug):
        engine.run(full=True)
    return made


@pytest.fixture
def march(alpha):
    made = scene()
    engine.run(full=True)
    return made


def test_each_component_is_stored_as_hand_computed(march):
    assert value("sla_attainment", 3) == q("0.666667")  # first touch: 2 met, 1 breached, 1 running
    assert value("sla_decision_attainment", 3) == q("0.666667")  # decision: 2 met, 1 breached
    sara = user_in("alpha", "sales").pk
    assert value("sla_attainment", 3, "rep", sara) == q("0.666667")
    assert value("marketing_sla_attainment", 3) == q("0.75")  # (5 / 10 + min(1, 0.75 / 0.5)) / 2
    assert value("mql_acceptance_rate", 3) == q("0.75")
    assert value("loss_reason_coverage", 3) == q("0.5")
    assert value("feedback_closure", 3) == q("0.75")
    assert value("goal_attainment", 3) == q("0.466667")
    assert value("attribution_coverage", 3) == q("0.2")
    assert value("objection_impact", 3) == q("0.5")  # without: 1 of 2 won; with: 0 of 3
    assert value("alignment_score", 3).quantize(Decimal("0.01")) == Decimal("56.25")
    # the quarter: its own goals (revenue 3,000 of 10,000) and the pipeline left to cover it
    assert value("goal_attainment", 1, grain="quarter") == q("0.3")
    assert value("pipeline_coverage", 1, grain="quarter") == q("0.571429")  # 4,000 open / (10,000 - 3,000)


def test_the_scorecard_shows_components_points_and_trend(march):
    card = scorecard.scorecard(grain="month", start=MARCH)
    shown = {c.key: c for c in card.components}
    assert {k: q(c.value) for k, c in shown.items()} == {
        "sla": q("0.708333"),
        "acceptance": q("0.75"),
        "loss_reasons": q("0.5"),
        "feedback": q("0.75"),
        "goals": q("0.466667"),
        "attribution": q("0.2"),
    }
    assert [(label, q(v)) for label, v in shown["sla"].parts] == [
        ("Sales side", q("0.666667")),
        ("Marketing side", q("0.75")),
    ]
    assert {k: c.points for k, c in shown.items()} == {
        "sla": Decimal("11.8"),
        "acceptance": Decimal("12.5"),
        "loss_reasons": Decimal("8.3"),
        "feedback": Decimal("12.5"),
        "goals": Decimal("7.8"),
        "attribution": Decimal("3.3"),
    }
    assert card.score.quantize(Decimal("0.01")) == Decimal("56.25")
    # the points add up to the stored score: the page's arithmetic and the engine's are the same
    assert abs(sum(c.points for c in card.components) - card.score) < Decimal("0.3")
    assert [s for s, _ in card.trend] == [dt.date(2025, 10, 1), dt.date(2025, 11, 1), dt.date(2025, 12, 1),
                                          Q1, dt.date(2026, 2, 1), MARCH]  # fmt: skip
    assert card.trend[-1][1] == card.score and shown["feedback"].trend[-1][1] == q("0.75")


def test_no_data_is_shown_as_no_data_never_as_zero(march):
    january = scorecard.scorecard(grain="month", start=Q1)
    assert january.score is None
    assert all(c.value is None and c.points is None for c in january.components)
    # February: MQL volume is due from the first MQLs (March) on, so the marketing side has no data; the one
    # deal created (the won one, without a touch) makes attribution coverage a real 0, the only component
    february = scorecard.scorecard(grain="month", start=dt.date(2026, 2, 1))
    assert value("marketing_sla_attainment", 2) is None
    assert [(c.key, c.value) for c in february.components if c.value is not None] == [("attribution", 0)]
    assert february.score == 0
    # a goal whose metric has no stored value is left out of goal attainment (visits above), and a period
    # whose goals all lack data has none
    with schema_context("alpha"):
        Goal.objects.exclude(metric="visits").filter(period="month").delete()
    engine.run(full=False)
    assert value("goal_attainment", 3) is None


def test_answering_an_objection_closes_its_feedback_on_the_next_incremental_run(march):
    before = value("alignment_score", 3)
    objections.answer_add(actor=None, objection=march["export"], content=march["card"])
    engine.run(full=False)
    assert value("feedback_closure", 3) == q("1")
    # the score moves by the feedback weight's share: 100 x 0.25 / 6
    assert abs(value("alignment_score", 3) - before - Decimal(25) / 6) < Decimal("0.00001")
    ObjectionAnswer.objects.filter(objection=march["dear"]).delete()
    engine.run(full=False)
    assert value("feedback_closure", 3) == q("0.25")


def test_goal_sla_and_loss_changes_reach_the_next_incremental_run(march):
    goals.goal_update(goal=march["goals"]["mqls"], actor=None, data={"target": 5})  # 5 of 5: 1
    SlaClock.objects.filter(first_touch_at__isnull=True).update(first_touch_breached_at=at(3, 4, 17))
    timing = LossReason.objects.get(category="timing")
    Deal.objects.filter(pk=march["lost"][3].pk).update(loss_category="timing", loss_reason=timing)
    engine.run(full=False)
    assert value("goal_attainment", 3) == q("0.633333")  # (1 + 0.4 + 0.5) / 3
    assert value("sla_attainment", 3) == q("0.5")  # 2 met, 2 breached
    assert value("loss_reason_coverage", 3) == q("0.75")
    snapshot_of_incremental = {
        m: value(m, 3) for m in ("goal_attainment", "sla_attainment", "alignment_score")
    }
    engine.run(full=True)
    assert {m: value(m, 3) for m in snapshot_of_incremental} == snapshot_of_incremental


def test_the_weights_are_definition_settings(march):
    definition_update(actor=None, data={"score_weight_attribution": "0"})
    engine.run(full=True)
    card = scorecard.scorecard(grain="month", start=MARCH)
    # 100 x (0.708333 + 0.75 + 0.5 + 0.75 + 0.466667) / 5
    assert card.score.quantize(Decimal("0.01")) == Decimal("63.50")
    attribution = next(c for c in card.components if c.key == "attribution")
    assert attribution.value == q("0.2") and attribution.points == 0  # shown, weighing nothing
    with pytest.raises(Exception, match="alignment score weight"):
        definition_update(actor=None, data={f"score_weight_{k}": "0" for k in scorecard.WEIGHT_FIELDS})


def test_a_goal_cannot_measure_what_is_made_of_goals(alpha):
    owners = [user_in("alpha", "marketing").pk, user_in("alpha", "sales").pk]
    for metric in ("goal_attainment", "alignment_score", "pipeline_coverage"):
        with pytest.raises(ValidationError) as exc:
            goals.goal_create(
                actor=None,
                data={"name": "x", "metric": metric, "period": "month", "period_start": MARCH, "target": 1,
                      "owners": owners},
            )  # fmt: skip
        assert "made of goals" in exc.value.message_dict["metric"][0]
    assert "alignment_score" not in dict(goals.metric_choices())
    assert "feedback_closure" in dict(goals.metric_choices())


def test_each_drill_down_lists_the_records_behind_its_component(march):
    feedback = scorecard.drill("feedback", grain="month", start=MARCH)
    assert [r["cells"] for r in feedback.rows] == [
        ["alphacanary no export", "product", 1, 0],  # unanswered first
        ["alphacanary too dear", "pricing", 3, 1],
    ]
    assert feedback.rows[0]["link"] == f"/alignment/objections/{march['export'].pk}/"
    losses = scorecard.drill("loss_reasons", grain="month", start=MARCH)
    assert [r["cells"][0] for r in losses.rows] == ["alphacanary other 3", "alphacanary other 2"]
    assert losses.summary == [["Without a structured reason", 2], ["With a structured reason", 2]]
    breaches = scorecard.drill("sla", grain="month", start=MARCH)
    assert breaches.total == 2 and [r["cells"][3] for r in breaches.rows] == ["decision", "first touch"]
    assert breaches.summary == [["Workspace", 2, 1, 2, 1], ["Sara Sales", 2, 1, 2, 1]]
    attribution = scorecard.drill("attribution", grain="month", start=MARCH)
    assert attribution.total == 4 and attribution.summary == [["No owner", 5, 4]]
    rejected = scorecard.drill("acceptance", grain="month", start=MARCH)
    assert rejected.total == 1 and ["Accepted", 3] in rejected.summary
    goal_rows = scorecard.drill("goals", grain="month", start=MARCH)
    shares = {r["cells"][0]: r["cells"][4] for r in goal_rows.rows}
    assert shares == {
        "alphacanary mqls": Decimal(1) / 2,
        "alphacanary sales_cycle_mean": Decimal(1) / 2,
        "alphacanary visits": None,
        "alphacanary win_rate": q("0.4"),
    }


def test_a_drill_down_pages_through_many_records(march):
    opened = Deal.objects.get(name__startswith="deal 4000")
    for i in range(scorecard.PAGE_SIZE + 3):
        d = deal(10 + i, at(3, 12))
        Deal.objects.filter(pk=d.pk).update(owner=opened.owner)
    first = scorecard.drill("attribution", grain="month", start=MARCH)
    second = scorecard.drill("attribution", grain="month", start=MARCH, page=2)
    assert (first.total, first.pages, len(first.rows), len(second.rows)) == (57, 2, 50, 7)
    assert not {r["link"] for r in first.rows} & {r["link"] for r in second.rows}
    for key in ("attribution", "goals"):
        with pytest.raises(ValidationError, match="past the last page"):
            scorecard.drill(key, grain="month", start=MARCH, page=3)


def test_bad_periods_name_the_field(alpha):
    for period, start, field in (("year", None, "period"), ("month", "2026-13-01", "start"),
                                 ("month", "1900-01-01", "start")):  # fmt: skip
        with pytest.raises(ValidationError) as exc:
            scorecard.parse_period(period, start)
        assert field in exc.value.message_dict
    assert scorecard.parse_period("Quarter", "2026-05-17") == ("quarter", dt.date(2026, 4, 1))


def test_a_workspace_policy_change_queues_a_full_recompute(alpha, django_capture_on_commit_callbacks):
    from unittest import mock

    from sales.services.setup import team_create

    workspace = SlaPolicy.objects.get(is_active=True, segment=None, team=None)
    with mock.patch("config.celery.send_to_tenant") as send:
        with django_capture_on_commit_callbacks(execute=True):
            sla.policy_save(actor=None, policy=workspace, data={"mql_commitment": 40})
        assert [c.args[1] for c in send.call_args_list] == ["alpha"]  # the marketing side, every period
        send.reset_mock()
        with django_capture_on_commit_callbacks(execute=True):  # a team's policy judges no marketing side
            sla.policy_save(actor=None, data={"name": "Team SLA", "team": team_create(name="Inside")})
        assert not send.called
