"""Scoring and the MQL rule: fit and decayed engagement in SQL, promotion with the rule version."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from marketing.models import Contact, StageTransition
from marketing.services.scoring import mql_rule_update, scores_recompute, scoring_rule_create
from marketing.services.touchpoints import touchpoints_record
from tests.marketing import factories

pytestmark = pytest.mark.django_db


def test_scores_and_mql_promotion_match_hand_computed_values(alpha):
    now = timezone.now()
    scoring_rule_create(
        data={
            "name": "Directors",
            "kind": "fit",
            "points": 20,
            "condition": {"field": "seniority", "op": "in", "value": ["director", "vp"]},
        }
    )
    scoring_rule_create(
        data={
            "name": "Big companies",
            "kind": "fit",
            "points": 15,
            "condition": {"field": "company.size_band", "op": "eq", "value": "1001-5000"},
        }
    )
    scoring_rule_create(
        data={
            "name": "Demo request",
            "kind": "engagement",
            "touch_kind": "form_submission",
            "points": 40,
            "window_days": 90,
            "half_life_days": 0,
        }
    )
    scoring_rule_create(
        data={
            "name": "Email click",
            "kind": "engagement",
            "touch_kind": "email_click",
            "points": 10,
            "window_days": 60,
            "half_life_days": 10,
        }
    )
    big = factories.company(size_band="1001-5000")
    ann = factories.contact(seniority="director", company=big)  # fit 35
    bob = factories.contact(seniority="entry")  # fit 0
    customer = factories.contact(seniority="vp", stage="customer")  # fit 20, never demoted
    touchpoints_record(
        items=[
            {
                "kind": "email_click",
                "contact_id": ann.pk,
                "occurred_at": (now - dt.timedelta(days=10)).isoformat(),
            },
            {"kind": "email_click", "contact_id": ann.pk, "occurred_at": now.isoformat()},
            {
                "kind": "email_click",
                "contact_id": bob.pk,
                "occurred_at": (now - dt.timedelta(days=70)).isoformat(),
            },
            {
                "kind": "form_submission",
                "contact_id": bob.pk,
                "occurred_at": (now - dt.timedelta(days=1)).isoformat(),
            },
            {"kind": "form_submission", "contact_id": customer.pk, "occurred_at": now.isoformat()},
        ]
    )
    rule = mql_rule_update(score_threshold=45, note="test")
    scores_recompute(now=now)
    scores = {
        c.pk: (c.fit_score, c.engagement_score, c.score, c.lifecycle_stage) for c in Contact.objects.all()
    }
    # ann: fit 20 + 15; clicks 10 * 0.5^(10/10) + 10 * 0.5^0 = 5 + 10 = 15 -> 50 >= 45 -> MQL
    assert scores[ann.pk] == (35, 15, 50, "mql")
    # bob: the click is outside the 60-day window; the form gives 40 without decay -> 40 < 45
    assert scores[bob.pk] == (0, 40, 40, "lead")
    # customer: 20 + 40 = 60, but customers are never moved back to MQL
    assert scores[customer.pk] == (20, 40, 60, "customer")
    transition = StageTransition.objects.get(contact=ann, to_stage="mql")
    assert (transition.from_stage, transition.by_rule, transition.rule_version) == (
        "lead",
        "mql-rule",
        rule.version,
    )
    # a rerun changes nothing and records nothing twice
    scores_recompute(now=now)
    assert StageTransition.objects.filter(to_stage="mql").count() == 1


def test_mql_rule_is_versioned_and_criteria_apply(alpha):
    first = mql_rule_update(score_threshold=0)
    second = mql_rule_update(
        score_threshold=0,
        criteria={"match": "all", "conditions": [{"field": "country", "op": "eq", "value": "Germany"}]},
    )
    assert second.version == first.version + 1
    german = factories.contact(country="Germany")
    french = factories.contact(country="France")
    scores_recompute(contact_ids=[german.pk, french.pk])
    german.refresh_from_db()
    french.refresh_from_db()
    assert (german.lifecycle_stage, french.lifecycle_stage) == ("mql", "lead")
    assert german.transitions.get(to_stage="mql").rule_version == second.version


@pytest.mark.parametrize(
    ("data", "field"),
    [
        (
            {"name": "x", "kind": "fit", "points": 5, "condition": {"field": "iq", "op": "gt", "value": 1}},
            "condition",
        ),
        ({"name": "x", "kind": "engagement", "points": 5, "touch_kind": "telepathy"}, "touch_kind"),
        (
            {
                "name": "x",
                "kind": "fit",
                "points": 5000,
                "condition": {"field": "score", "op": "gt", "value": 1},
            },
            "points",
        ),
        ({"name": "x", "kind": "mood", "points": 5}, "kind"),
    ],
)
def test_bad_scoring_rules_are_refused(alpha, data, field):
    with pytest.raises(ValidationError) as info:
        scoring_rule_create(data=data)
    assert field in info.value.message_dict


def test_bad_mql_rules_are_refused(alpha):
    with pytest.raises(ValidationError) as info:
        mql_rule_update(
            score_threshold=-1, criteria={"match": "all", "conditions": [{"field": "nope", "op": "eq"}]}
        )
    assert {"score_threshold", "criteria"} <= set(info.value.message_dict)


def test_touchpoints_trigger_a_rescore(alpha, django_capture_on_commit_callbacks):
    scoring_rule_create(
        data={
            "name": "Visit",
            "kind": "engagement",
            "touch_kind": "page_visit",
            "points": 7,
            "half_life_days": 0,
        }
    )
    contact = factories.contact()
    with django_capture_on_commit_callbacks(execute=True):
        touchpoints_record(items=[{"kind": "page_visit", "contact_id": contact.pk}])
    contact.refresh_from_db()
    assert contact.score == 7
