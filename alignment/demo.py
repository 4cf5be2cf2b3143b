"""Demo metrics and alignment work: the demo workspace's definitions (a plausible sales cost for CAC) and
a first full recompute, so the joint reports are full right after `make run`; then shared goals in all
three states, SLA clocks with breaches on the sales side and a marketing commitment it falls short of,
and objections with and without answers. Each part runs once."""

from __future__ import annotations

from decimal import Decimal

from django.db import connection
from django_tenants.utils import schema_context

from . import engine
from .models import DefinitionVersion, EngineRun
from .services import current_definition, definition_values

FACT_TABLES = (
    "marketing_contact",
    "marketing_touchpoint",
    "marketing_stagetransition",
    "marketing_costline",
    "sales_deal",
    "sales_dealcontact",
    "sales_dealstagechange",
    "sales_activity",
    "sales_subscriptionevent",
)
DEMO_SALES_COST_PER_MONTH = Decimal("42000")  # four reps and their tools, per month


def seed(*, tenant) -> bool:
    metrics = _seed_metrics(tenant)
    with schema_context(tenant.schema_name):
        work = _seed_work()
    return metrics or work


def _seed_metrics(tenant) -> bool:
    with schema_context(tenant.schema_name):
        if EngineRun.objects.filter(kind=EngineRun.Kind.FULL).exists():
            return False
        current = current_definition()
        if current.sales_cost_per_month == 0:  # a new version, computed right below (no task queued)
            DefinitionVersion.objects.create(
                **{**definition_values(current), "sales_cost_per_month": DEMO_SALES_COST_PER_MONTH}
            )
        with connection.cursor() as cursor:  # fresh bulk loads: give the planner its statistics first
            cursor.execute(f"ANALYZE {', '.join(FACT_TABLES)}")
        engine.run(full=True)
        return True


# --- Goals, the SLA and objections ----------------------------------------------------------------------

# (name, category, answered): the objections the demo's reps hear, some answered by marketing's content.
OBJECTIONS = [
    ("Too expensive for our team size", "pricing", True),
    ("We already use a competitor", "positioning", True),
    ("Missing single sign-on", "product", False),
    ("Annual contract only", "packaging", False),
    ("Not a priority this quarter", "other", False),
]
# How far the demo goals sit from their pace line: on track, at risk, off track.
GOAL_PACES = [("on track", Decimal("0.9")), ("at risk", Decimal("1.05")), ("off track", Decimal("2"))]


def _seed_work() -> bool:
    from accounts.models import User

    from .models import Goal

    if Goal.objects.exists():
        return False
    people = User.objects.filter(is_active=True).order_by("id")
    marketer = people.filter(roles__contains=["marketing"]).first()
    seller = people.filter(roles__contains=["sales"]).first()
    if marketer is None or seller is None:
        return False
    _seed_goals([marketer.pk, seller.pk])
    _seed_sla()
    _seed_objections(marketer, seller)
    return True


def _seed_goals(owners: list[int]) -> None:
    """Three goals on this quarter's stored figures (last quarter's early in a quarter), each with a target
    that puts it on track, at risk or off track; the revenue goal has the planner's sub-goals."""
    import datetime as dt

    from django.utils import timezone

    from . import goals
    from .models import GoalPeriod, MetricValue
    from .services import reporting_definition

    now = timezone.now()
    start = goals.period_of(GoalPeriod.QUARTER, now.date())
    share = goals.elapsed(GoalPeriod.QUARTER, start, now)
    if share < Decimal("0.1"):  # too early in the quarter to judge a pace: last quarter, ended
        start = goals.period_of(GoalPeriod.QUARTER, start - dt.timedelta(days=1))
        share = Decimal(1)
    stored = dict(
        MetricValue.objects.filter(
            definition=reporting_definition(),
            granularity="quarter",
            period_start=start,
            dimension="",
            model="",
        ).values_list("metric", "value")
    )
    label = goals.period_label(GoalPeriod.QUARTER, start)
    parent = None
    for (state, pace), metric in zip(GOAL_PACES, ("revenue_won", "mqls", "deals_won"), strict=True):
        actual = stored.get(metric)
        if not actual:
            continue
        target = (actual / share * pace).quantize(Decimal(1))
        goal = goals.goal_create(
            actor=None,
            data={
                "name": f"{goals.registry.REGISTRY[metric].label} {label}",
                "metric": metric,
                "period": GoalPeriod.QUARTER,
                "period_start": start,
                "target": target,
                "owners": owners,
                "parent": parent.pk if parent else None,
                "description": f"Demo goal, {state} by design.",
            },
        )
        parent = parent or goal


def _seed_sla() -> None:
    """A marketing commitment above what marketing delivers, and the clocks of the demo's MQLs (the reps
    leave many untouched for days: breaches)."""
    from . import sla
    from .models import SlaPolicy

    policy = SlaPolicy.objects.filter(is_active=True, segment=None, team=None).first()
    if policy is not None:
        policy.mql_commitment, policy.min_acceptance_rate = 400, Decimal("0.6")
        policy.save(update_fields=["mql_commitment", "min_acceptance_rate"])
    sla.sla_check()


def _seed_objections(marketer, seller) -> None:
    from marketing.models import ContentAsset
    from sales.models import Deal

    from . import objections

    assets = list(ContentAsset.objects.order_by("id")[:2])
    deals = list(Deal.objects.order_by("id").values_list("id", flat=True))
    for index, (name, category, answered) in enumerate(OBJECTIONS):
        objection = objections.objection_save(actor=seller, data={"name": name, "category": category})
        heard = Deal.objects.filter(pk__in=deals[index::7][: 12 - 2 * index]).select_related("stage", "lead")
        for deal in heard:
            objections.objection_log(actor=seller, objection=objection, deal=deal)
        if answered and index < len(assets):
            objections.answer_add(actor=marketer, objection=objection, content=assets[index])
            objections.comment_add(
                actor=marketer, objection=objection, body=f"{assets[index].title} answers this: use it."
            )
        elif not answered and index == 2:
            objections.comment_add(
                actor=seller, objection=objection, body="Lost two deals on this last month."
            )
