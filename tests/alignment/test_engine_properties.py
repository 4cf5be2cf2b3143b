"""The engine's correctness under any sequence of writes: whatever the services write, spread over months and
backdated, with incremental runs in between, the stored values and attribution credits after a last
incremental run equal a full recompute on the same data, and a rerun of the full run writes nothing.

Hypothesis draws the writes. The workspace is set up and computed in full once per test; each example runs in
a savepoint that is rolled back, so every example starts from that same state. Writes happen under a clock
(``clock``): ``timezone.now()`` and every model field defaulting to it return the moment the example drew, so
"now" wanders over half a year and facts land before, after and between the ones already computed.

``GAPS`` names what the engine does not yet follow incrementally; each gap has a minimal reproduction below
(a strict xfail) and the generator leaves the writes that reach it out while it is listed. Once the engine
closes a gap, its reproduction passes, which fails the suite until the entry is deleted; from then on the
reproduction is a plain regression test and the generator draws those writes again.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from unittest import mock

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from accounts.models import User
from alignment import engine, goals, objections, sla
from alignment.models import AttributionCredit, DirtyDay, Goal, MetricValue, ObjectionAnswer, SlaPolicy
from marketing.models import Campaign, Contact, CostLine, LifecycleStage, Touchpoint
from marketing.services.campaigns import campaign_delete, campaign_update, cost_line_add, cost_line_delete
from marketing.services.contacts import contact_change_stage, contact_create, contact_update
from marketing.services.segments import segment_add_members, segment_create, segment_remove_members
from marketing.services.touchpoints import touchpoint_create
from sales.models import (
    Activity,
    CustomerAccount,
    Deal,
    LossReason,
    RejectionReason,
    Stage,
    Subscription,
    Team,
)
from sales.services.activities import activity_create
from sales.services.customers import (
    subscription_change_mrr,
    subscription_churn,
    subscription_create,
    subscription_renew,
)
from sales.services.deals import deal_close_lost, deal_close_won, deal_create, deal_move, deal_update
from sales.services.leads import lead_accept, lead_reject
from sales.services.setup import team_create, team_set_members
from tests.conftest import member
from tests.marketing import factories

pytestmark = pytest.mark.django_db

# What the engine does not yet follow incrementally: gap -> why. Each has a minimal reproduction at the end of
# this module (a strict xfail while listed); the generator leaves the writes that reach it out (GAP_OF). The
# one left is a known limit of docs/architecture.md, reconciled by the nightly full run. Closed gaps keep
# their reproductions as regression tests (first touch, campaign channel, team membership, company
# contacts, derived periods).
GAPS: dict[str, str] = {
    "segment_membership": (
        "Static-list membership (segment_add_members / segment_remove_members) and rule-segment "
        "membership (a contact's country changes) regroup the by-segment metrics of the contact's days; "
        "nothing marks them."
    ),
}
GAP_OF = {
    "delete_campaign": "first_touch",
    "edit_campaign": "campaign_channel",
    "list": "segment_membership",
    "contact_country": "segment_membership",
    "team": "team_membership",
    "contact_company": "company_contacts",
    "subscribe": "derived_periods",
    "mrr": "derived_periods",
}

START = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)  # a Monday; the drawn moments reach into September
SPAN_HOURS = 190 * 24
CHANNELS = ["email", "paid_social", "webinar", "event"]
# Goals on a count, a rate, a snapshot, a metric where lower is better, and revenue (pipeline coverage).
GOAL_METRICS = ["mqls", "win_rate", "weighted_pipeline", "sales_cycle_mean", "revenue_won"]
_REAL_NOW = timezone.now
_seq = itertools.count(1)


@contextmanager
def clock(moment: dt.datetime) -> Iterator[None]:
    with mock.patch.object(timezone, "now", return_value=moment):
        yield


@pytest.fixture
def clocked_defaults():
    """Fields with ``default=timezone.now`` hold the function itself, out of the clock's reach; route them
    through the module attribute while the test runs (LeadDecision.decided_at, Activity.created_at...)."""
    fields = [f for m in apps.get_models() for f in m._meta.concrete_fields if f.default is _REAL_NOW]
    assert fields
    for field in fields:
        field.__dict__["_get_default"] = lambda: timezone.now()
    yield
    for field in fields:
        field.__dict__.pop("_get_default", None)


def stored() -> dict:
    """Every stored number and credit, keyed by what identifies it."""
    values = {
        row[:7]: row[7:]
        for row in MetricValue.objects.values_list(
            "metric",
            "granularity",
            "period_start",
            "dimension",
            "dimension_value",
            "model",
            "definition_id",
            "value",
            "numerator",
            "denominator",
        )
    }
    credits = {
        ("credit", *row[:4]): row[4:]
        for row in AttributionCredit.objects.values_list(
            "deal_id",
            "touchpoint_id",
            "model",
            "definition_id",
            "weight",
            "credit",
            "campaign_id",
            "channel",
            "deal_created_at",
            "deal_won_at",
        )
    }
    return {**values, **credits}


def differences(incremental: dict, full: dict, limit: int = 12) -> str:
    keys = sorted((k for k in set(incremental) | set(full) if incremental.get(k) != full.get(k)), key=repr)
    lines = [f"{key}: incremental {incremental.get(key)} != full {full.get(key)}" for key in keys[:limit]]
    return f"{len(keys)} stored rows differ from a full recompute:\n" + "\n".join(lines)


def assert_in_step() -> None:
    """A last incremental run, then a full recompute on the same data: nothing may change."""
    engine.run(full=False)
    incremental = stored()
    engine.run(full=True)
    full = stored()
    assert incremental == full, differences(incremental, full)


# --- the writes --------------------------------------------------------------------------------------

hours = st.integers(0, SPAN_HOURS)
backs = st.sampled_from([0, 0, 1, 26, 24 * 35, 24 * 100])  # how many hours a fact is dated before the write
index = st.integers(0, 5)
maybe = st.none() | index
amounts = st.integers(1, 40).map(lambda n: Decimal(n * 250))
entry_stages = st.sampled_from(["lead", "mql", "subscriber"])
deletable = st.sampled_from(["contact", "deal", "cost", "touch", "activity"])

ALL_WRITES = {
    "contact": st.tuples(st.just("contact"), hours, entry_stages, maybe, maybe),
    "touch": st.tuples(st.just("touch"), index, maybe, hours, backs),
    "stage": st.tuples(st.just("stage"), index, st.sampled_from(LifecycleStage.values), hours, backs),
    "contact_country": st.tuples(st.just("contact_country"), index, st.sampled_from(["germany", "france"])),
    "contact_company": st.tuples(st.just("contact_company"), index, maybe),
    "list": st.tuples(st.just("list"), index, st.booleans()),
    "cost": st.tuples(st.just("cost"), index, hours, backs, amounts),
    "deal": st.tuples(st.just("deal"), maybe, maybe, amounts, hours),
    "move": st.tuples(st.just("move"), index, index, hours),
    "win": st.tuples(st.just("win"), index, hours, backs),
    "lose": st.tuples(st.just("lose"), index, hours, backs),
    "accept": st.tuples(st.just("accept"), index, hours, st.booleans(), amounts),
    "reject": st.tuples(st.just("reject"), index, hours),
    "activity": st.tuples(st.just("activity"), index, hours, backs),
    "subscribe": st.tuples(st.just("subscribe"), index, hours, amounts),
    "mrr": st.tuples(st.just("mrr"), index, st.sampled_from(["change", "churn", "renew"]), hours, amounts),
    "edit_deal": st.tuples(st.just("edit_deal"), index, amounts, maybe),
    "team": st.tuples(st.just("team"), st.sampled_from([(), (0,), (1,), (0, 1)])),
    "edit_campaign": st.tuples(st.just("edit_campaign"), index, st.sampled_from(CHANNELS)),
    "delete": st.tuples(st.just("delete"), deletable, index),
    "delete_campaign": st.tuples(st.just("delete_campaign"), index),
    "objection": st.tuples(st.just("objection"), index, index, hours, backs),
    "answer": st.tuples(st.just("answer"), index, st.booleans()),
    "goal": st.tuples(st.just("goal"), st.sampled_from(GOAL_METRICS), st.sampled_from(["month", "quarter"]),
                      hours, amounts),
    "edit_goal": st.tuples(st.just("edit_goal"), index, amounts),
    "delete_goal": st.tuples(st.just("delete_goal"), index),
    "sla": st.tuples(st.just("sla"), hours),
    "run": st.tuples(st.just("run")),
}  # fmt: skip
KINDS = {kind for kind in ALL_WRITES if GAP_OF.get(kind) not in GAPS}
# Deals and contacts more often than the rest, so that moves, wins and decisions find something to act on.
MORE = ["contact", "touch", "stage", "deal", "deal", "move", "win", "lose", "accept", "run", "objection"]
WRITES = st.sampled_from(sorted(KINDS) + [k for k in MORE if k in KINDS]).flatmap(ALL_WRITES.__getitem__)

# Every kind of write once, each one applying (the coverage check below relies on it); those reaching an
# open gap are skipped until it is closed.
TOUR = [
    ("contact", 24 * 10, "mql", 1, 1),
    ("touch", 1, 2, 24 * 12, 24),
    ("stage", 1, "sql", 24 * 15, 24 * 3),
    ("deal", 1, 2, Decimal(3000), 24 * 20),
    ("move", 1, 1, 24 * 25),
    ("activity", 1, 24 * 26, 26),
    ("run",),
    ("accept", 0, 24 * 40, True, Decimal(500)),
    ("reject", 1, 24 * 45),
    ("edit_deal", 1, Decimal(4000), 0),
    ("win", 0, 24 * 60, 24 * 5),
    ("lose", 0, 24 * 70, 0),
    ("cost", 2, 24 * 80, 24 * 40, Decimal(1250)),
    ("subscribe", 0, 24 * 90, Decimal(500)),
    ("mrr", 0, "change", 24 * 100, Decimal(750)),
    ("contact_country", 0, "germany"),
    ("contact_company", 1, 0),
    ("list", 1, True),
    ("team", (0, 1)),
    ("edit_campaign", 2, "event"),
    ("run",),
    ("delete", "activity", 0),
    ("delete", "cost", 0),
    ("delete", "touch", 0),
    ("delete", "deal", 0),
    ("delete", "contact", 1),
    ("delete_campaign", 0),
    ("deal", 0, None, Decimal(2000), 24 * 30),
    ("objection", 0, 0, 24 * 110, 24),
    ("run",),
    ("answer", 0, True),
    ("goal", "revenue_won", "month", 24 * 10, Decimal(5000)),
    ("goal", "mqls", "quarter", 24 * 10, Decimal(20)),
    ("run",),
    ("edit_goal", 0, Decimal(2500)),
    ("contact", 24 * 120, "mql", None, None),
    ("sla", 24 * 125),
    ("delete_goal", 1),
]


def at(h: int, back: int = 0) -> dt.datetime:
    return START + dt.timedelta(hours=h - back)


def pick(rows, i: int | None, **filters):
    """The i-th row (cyclically) of a model or queryset as it is now, or None."""
    if i is None:
        return None
    rows = list(getattr(rows, "objects", rows).filter(**filters).order_by("pk"))
    return rows[i % len(rows)] if rows else None


class Workspace:
    """Applies one drawn write through the services. A write that does not apply to the current state
    (moving a closed deal, deciding a lead twice) is refused by the services and changes nothing."""

    def __init__(self):
        self.reps = [
            User.objects.get(email=member("alpha", "sales").email),
            User.objects.get(email=member("alpha", "admin").email),
        ]
        self.gaps = set(GAPS)  # the writes steer clear of these
        self.companies = [factories.company(), factories.company()]
        for channel in CHANNELS[:3]:
            factories.campaign(channel=channel)
        self.team = team_create(name="Property team")
        self.objections = [
            objections.objection_save(actor=None, data={"name": name, "category": category})
            for name, category in (("Too dear", "pricing"), ("Missing export", "product"))
        ]
        self.content = factories.content()
        self.owners = [
            User.objects.get(email=member("alpha", "marketing").email).pk,
            User.objects.get(email=member("alpha", "sales").email).pk,
        ]
        sla.policy_save(
            actor=None,
            policy=SlaPolicy.objects.get(is_active=True, segment=None, team=None),
            data={"name": "Property SLA", "first_touch_hours": 4, "decision_hours": 8, "mql_commitment": 3,
                  "min_acceptance_rate": Decimal("0.5")},
        )  # fmt: skip
        self.static = segment_create(data={"name": "Property list", "kind": "static"})
        segment_create(
            data={
                "name": "Property rule",
                "kind": "rule",
                "definition": {
                    "match": "all",
                    "conditions": [{"field": "country", "op": "eq", "value": "germany"}],
                },
            }
        )

    def apply(self, write: tuple, *, strict: bool = False) -> bool:
        kind, *args = write
        try:
            with transaction.atomic():
                return getattr(self, f"_{kind}")(*args) is not False
        except ValidationError:
            if strict:
                raise
            return False

    def _contact(self, h, stage, company, campaign):
        """A new contact; with a campaign, its first touch comes with it (as from a form)."""
        source = pick(Campaign, campaign)
        with clock(at(h)):
            data = {"email": f"prop{next(_seq)}@example.com", "first_name": "Prop"}
            if company is not None:
                data["company"] = self.companies[company % 2].pk
            person = contact_create(data=data, stage=stage, at=at(h))
            if source is not None:
                touchpoint_create(
                    data={"kind": "form_submission", "contact_id": person.pk, "campaign_id": source.pk}
                )

    def _touch(self, contact, campaign, h, back):
        person, source = pick(Contact, contact), pick(Campaign, campaign)
        if person is None:
            return False
        moment = at(h, back)
        if "first_touch" in self.gaps:  # never a contact's new first touch
            if person.first_touch_at is None:
                return False
            moment = max(moment, person.first_touch_at + dt.timedelta(minutes=1))
        with clock(max(at(h), moment)):
            touchpoint_create(
                data={
                    "kind": "page_visit",
                    "contact_id": person.pk,
                    "campaign_id": source.pk if source else None,
                    "occurred_at": moment.isoformat(),
                }
            )

    def _stage(self, contact, stage, h, back):
        person = pick(Contact, contact)
        if person is None:
            return False
        with clock(at(h)):
            return (
                contact_change_stage(contact=person, to_stage=stage, at=at(h, back), rule="test") is not None
            )

    def _contact_country(self, contact, country):
        person = pick(Contact, contact)
        if person is None or person.country == country:
            return False
        contact_update(contact=person, data={"country": country})

    def _contact_company(self, contact, company):
        person = pick(Contact, contact)
        company = self.companies[company % 2].pk if company is not None else None
        if person is None or person.company_id == company:
            return False
        contact_update(contact=person, data={"company": company})

    def _list(self, contact, add):
        person = pick(Contact, contact)
        if person is None:
            return False
        change = segment_add_members if add else segment_remove_members
        return change(segment=self.static, contact_ids=[person.pk]) > 0

    def _cost(self, campaign, h, back, amount):
        source = pick(Campaign, campaign)
        if source is None:
            return False
        with clock(at(h)):
            cost_line_add(
                campaign=source, data={"date": at(h, back).date().isoformat(), "amount": str(amount)}
            )

    def _deal(self, contact, campaign, amount, h):
        lead, source = pick(Contact, contact), pick(Campaign, campaign)
        data = {"name": f"Prop deal {next(_seq)}", "amount": str(amount), "company": self.companies[h % 2].pk,
                "expected_close_date": (at(h) + dt.timedelta(days=h % 40)).date().isoformat()}  # fmt: skip
        if source is not None:
            data["source_campaign"] = source.pk
        with clock(at(h)):
            deal_create(data=data, actor=self.reps[h % 2], lead=lead)

    def _move(self, deal, stage, h):
        chosen = pick(Deal, deal, status=Deal.Status.OPEN)
        if chosen is None:
            return False
        target = pick(Stage, stage, pipeline_id=chosen.pipeline_id, kind=Stage.Kind.OPEN)
        with clock(at(h)):
            return deal_move(deal=chosen, stage=target).stage_id != chosen.stage_id

    def _win(self, deal, h, back):
        chosen = pick(Deal, deal, status=Deal.Status.OPEN)
        if chosen is None:
            return False
        with clock(at(h)):
            deal_close_won(deal=chosen, actor=chosen.owner, at=at(h, back))

    def _lose(self, deal, h, back):
        chosen = pick(Deal, deal, status=Deal.Status.OPEN)
        if chosen is None:
            return False
        reason = LossReason.objects.filter(category="pricing").first()
        with clock(at(h)):
            deal_close_lost(deal=chosen, category="pricing", reason=reason, note="Too dear", at=at(h, back))

    def _as_mql(self, contact, h) -> Contact | None:
        person = pick(Contact, contact)
        if person is not None and person.lifecycle_stage != LifecycleStage.MQL:
            with clock(at(h, 2)):
                contact_change_stage(contact=person, to_stage=LifecycleStage.MQL, rule="test")
        return person

    def _accept(self, contact, h, open_deal, amount):
        person = self._as_mql(contact, h)
        if person is None:
            return False
        with clock(at(h)):
            lead_accept(
                contact=person, actor=self.reps[h % 2], open_deal=open_deal, deal_data={"amount": str(amount)}
            )

    def _reject(self, contact, h):
        person = self._as_mql(contact, h)
        if person is None:
            return False
        with clock(at(h)):
            lead_reject(contact=person, reason=RejectionReason.objects.first(), actor=self.reps[h % 2])

    def _activity(self, deal, h, back):
        chosen = pick(Deal, deal)
        if chosen is None:
            return False
        with clock(at(h)):
            activity_create(
                data={
                    "kind": "call",
                    "subject": "Call",
                    "deal": chosen.pk,
                    "done_at": at(h, back).isoformat(),
                },
                actor=chosen.owner,
            )

    def _subscribe(self, account, h, amount):
        customer = pick(CustomerAccount, account)
        if customer is None:
            return False
        with clock(at(h)):
            subscription_create(
                account=customer,
                data={"plan": "Pro", "mrr": str(amount), "start_date": at(h).date().isoformat()},
                at=at(h),
            )

    def _mrr(self, subscription, change, h, amount):
        chosen = pick(Subscription, subscription, status=Subscription.Status.ACTIVE)
        if chosen is None:
            return False
        with clock(at(h)):
            if change == "change":
                subscription_change_mrr(subscription=chosen, mrr=str(amount), at=at(h))
            elif change == "churn":
                subscription_churn(subscription=chosen, reason="Budget cut", at=at(h))
            else:
                renewal = max(chosen.renewal_date or chosen.start_date, at(h).date()) + dt.timedelta(days=365)
                subscription_renew(subscription=chosen, renewal_date=renewal.isoformat(), at=at(h))

    def _edit_deal(self, deal, amount, campaign):
        chosen, source = pick(Deal, deal), pick(Campaign, campaign)
        if chosen is None:
            return False
        close = (chosen.expected_close_date or START.date()) + dt.timedelta(days=int(amount) % 45)
        deal_update(
            deal=chosen,
            data={
                "amount": str(amount),
                "source_campaign": source.pk if source else None,
                "expected_close_date": close.isoformat(),
            },
        )

    def _team(self, members):
        team_set_members(team=Team.objects.get(pk=self.team.pk), members=[self.reps[i] for i in members])

    def _edit_campaign(self, campaign, channel):
        source = pick(Campaign, campaign)
        if source is None or source.channel == channel:
            return False
        campaign_update(campaign=source, data={"channel": channel})

    def _delete(self, what, i):
        model = {
            "contact": Contact,
            "deal": Deal,
            "cost": CostLine,
            "touch": Touchpoint,
            "activity": Activity,
        }[what]
        if what == "touch" and "first_touch" in self.gaps:  # never a contact's first touch
            row = pick(Touchpoint.objects.exclude(occurred_at=F("contact__first_touch_at")), i)
        else:
            row = pick(model, i)
        if row is None:
            return False
        if what == "cost":
            cost_line_delete(line=row)
        else:
            row.delete()  # as the API's delete endpoints do

    def _delete_campaign(self, campaign):
        source = pick(Campaign, campaign)
        if source is None:
            return False
        campaign_delete(campaign=source)

    def _objection(self, deal, objection, h, back):
        chosen = pick(Deal, deal)
        if chosen is None:
            return False
        with clock(at(h, back)):
            objections.objection_log(actor=None, objection=self.objections[objection % 2], deal=chosen)

    def _answer(self, objection, add):
        heard = self.objections[objection % 2]
        answer = ObjectionAnswer.objects.filter(objection=heard).first()
        if add and answer is None:
            objections.answer_add(actor=None, objection=heard, content=self.content)
        elif not add and answer is not None:
            objections.answer_remove(actor=None, answer=answer)
        else:
            return False

    def _goal(self, metric, period, h, target):
        start = goals.period_of(period, at(h).date())
        data = {
            "name": f"Goal {next(_seq)}",
            "metric": metric,
            "period": period,
            "period_start": start,
            "target": target if metric not in ("win_rate",) else Decimal("0.4"),
            "owners": self.owners,
        }
        goals.goal_create(actor=None, data=data)  # fmt: skip

    def _edit_goal(self, goal, target):
        chosen = pick(Goal, goal)
        if chosen is None:
            return False
        goals.goal_update(goal=chosen, actor=None, data={"target": target})

    def _delete_goal(self, goal):
        chosen = pick(Goal, goal)
        if chosen is None:
            return False
        goals.goal_delete(goal=chosen, actor=None)

    def _sla(self, h):
        with clock(at(h)):
            sla.sla_check(now=at(h))

    def _run(self):
        engine.run(full=False)


SEED = [
    ("contact", 0, "lead", 0, 0),
    ("deal", 0, None, Decimal("1000"), 20),
    ("win", 0, 24 * 30, 0),
    ("cost", 1, 5, 0, Decimal("300")),
    ("list", 0, True),
]


@pytest.fixture
def workspace(alpha, clocked_defaults):
    """The seeded workspace, computed in full."""
    workspace = Workspace()
    for write in SEED:
        assert workspace.apply(write, strict=True), write
    engine.run(full=True)
    assert stored() and not DirtyDay.objects.exists()  # values to compare, and nothing left to do
    return workspace


# Small groups of writes that change facts in place (an update marks only what its own row says), each on
# days no other write of its group re-marks, so a missed mark cannot hide behind another one.
FOCUSED = [
    [("edit_deal", 0, Decimal(9999), 2)],
    [("deal", None, 1, Decimal(700), 24 * 3), ("run",), ("win", 1, 24 * 50, 24 * 40)],
    [("deal", 0, None, Decimal(800), 24 * 5), ("run",), ("lose", 1, 24 * 60, 24 * 2), ("delete", "deal", 1)],
    [("stage", 0, "mql", 24 * 40, 0), ("run",), ("activity", 0, 24 * 42, 0)],  # the MQL's first sales touch
    [("stage", 0, "mql", 24 * 40, 0), ("activity", 0, 24 * 42, 0), ("run",), ("delete", "activity", 0)],
    [("accept", 0, 24 * 40, True, Decimal(500)), ("run",), ("move", 1, 1, 24 * 45), ("reject", 0, 24 * 50)],
    [("touch", 0, 1, 24 * 20, 0), ("run",), ("delete", "touch", 1), ("delete", "cost", 0)],
    [("deal", 0, None, Decimal(600), 24 * 30), ("run",), ("touch", 0, 2, 24 * 40, 24 * 15)],  # credited
    [("stage", 0, "evangelist", 24 * 90, 24 * 60), ("run",), ("delete", "contact", 0)],
    [("subscribe", 0, 24 * 50, Decimal(100)), ("run",), ("mrr", 0, "churn", 24 * 90, Decimal(1))],
    # an SLA clock opened an hour after its MQL entry, then breached days later
    [("contact", 24 * 120, "mql", None, None), ("run",), ("sla", 24 * 120 + 1), ("run",), ("sla", 24 * 126)],
    # an April revenue goal, and an open deal created in March expected to close in April, then changed
    [
        ("goal", "revenue_won", "month", 24 * 35, Decimal(5000)),
        ("deal", None, None, Decimal(700), 72),
        ("run",),
        ("edit_deal", 1, Decimal(9999), None),
    ],
]


def examples(test):
    for writes in [TOUR, *FOCUSED]:
        test = example(writes=writes)(test)
    return test


@settings(
    max_examples=12,  # drawn ones, after the explicit examples
    deadline=None,
    derandomize=True,  # the same examples on every run: CI stays deterministic
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(writes=st.lists(WRITES, max_size=25))
@examples
def writes_then_in_step(workspace: Workspace, done: Counter, writes: list[tuple]) -> None:
    with transaction.atomic():
        for write in writes:
            if GAP_OF.get(write[0]) in GAPS:
                continue  # an explicit example's write that reaches an open gap: back once it is closed
            if workspace.apply(write):
                done[write[0]] += 1
        assert_in_step()
        transaction.set_rollback(True)  # the next example starts from the same workspace


def test_incremental_runs_equal_a_full_recompute_after_any_writes(workspace):
    done: Counter = Counter()
    writes_then_in_step(workspace=workspace, done=done)
    # every kind of write applied somewhere, so the property held against each of them
    assert set(done) == KINDS, KINDS - set(done)


def test_a_rerun_of_a_full_run_writes_nothing(workspace):
    for write in TOUR:
        if GAP_OF.get(write[0]) not in GAPS:
            assert workspace.apply(write), write
    engine.run(full=True)
    before = set(MetricValue.objects.values_list("pk", "value", "numerator", "denominator", "computed_at"))
    credits = set(AttributionCredit.objects.values_list("pk", "weight", "credit"))
    # when
    again = engine.run(full=True)
    idle = engine.run(full=False)
    # then
    assert again.values_written == 0 and again.pk is not None
    assert (
        set(MetricValue.objects.values_list("pk", "value", "numerator", "denominator", "computed_at"))
        == before
    )
    assert set(AttributionCredit.objects.values_list("pk", "weight", "credit")) == credits
    assert idle.values_written == 0 and idle.pk is None  # nothing dirty: nothing done, nothing recorded


REPRODUCTIONS = {
    "first_touch": [("touch", 0, 1, 30 * 24, 24 * 35)],  # dated a month before the contact's first touch
    "campaign_channel": [("edit_campaign", 0, "event")],
    "segment_membership": [("list", 0, False)],
    "team_membership": [("team", (0, 1))],
    "company_contacts": [
        ("contact", 100, "lead", None, 1),  # a contact of no company, touched by campaign 1
        ("deal", None, None, Decimal(500), 200),  # a deal of company 0
        ("run",),
        ("contact_company", 1, 0),  # the contact joins company 0: its touch now counts for the deal
    ],
    "derived_periods": [("subscribe", 0, 50 * 24, Decimal(100))],
}


@pytest.mark.parametrize("gap", sorted(REPRODUCTIONS))
def test_minimal_reproductions_of_the_gaps(workspace, gap, request):
    """Each gap's smallest case. While the gap is listed it must still fail (strict xfail); once closed, it
    stays as a regression test."""
    if gap in GAPS:
        request.applymarker(pytest.mark.xfail(strict=True, reason=GAPS[gap]))
    workspace.gaps = set()  # straight into it
    for write in REPRODUCTIONS[gap]:
        assert workspace.apply(write, strict=True), write
    assert_in_step()


def test_every_gap_has_a_reproduction():
    assert set(GAPS) <= set(REPRODUCTIONS) and set(GAP_OF.values()) <= set(REPRODUCTIONS)
