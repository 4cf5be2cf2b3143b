"""Demo metrics and alignment work: the demo workspace's definitions (a plausible sales cost for CAC) and
a first full recompute, so the joint reports are full right after `make run`; then shared goals in all
three states (and monthly MQL goals over the last half year), SLA clocks replayed over the last months with
breaches on the sales side and a marketing commitment it falls short of, objections heard over the months
with and without answers, and a run of the engine so the scorecard has its history. Each part runs once."""

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
    _seed_monthly_goals([marketer.pk, seller.pk])
    _seed_sla()
    _seed_objections(marketer, seller)
    engine.run(full=False)  # the scorecard's facts just written: as the worker would within a minute
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


# Monthly MQL goals over the last months: the target against what came in (met, close, far off).
MONTHLY_GOAL_PACES = [Decimal("0.8"), Decimal("1.1"), Decimal("0.95"), Decimal("1.4"), Decimal("1.05")]
# SLA history: the clocks are replayed at the start of each of these last months (and then now).
SLA_HISTORY_MONTHS = 6


def _months_back(count: int) -> list:
    """The first days of the ``count`` months before this one, oldest first."""
    from django.utils import timezone

    from .reports.filters import shift

    this = timezone.now().date().replace(day=1)
    return [shift(this, "month", -n) for n in range(count, 0, -1)]


def _seed_monthly_goals(owners: list[int]) -> None:
    """An MQL goal for each of the last five months, its target set off what was delivered."""
    from . import goals
    from .models import GoalPeriod, MetricValue
    from .services import reporting_definition

    starts = _months_back(len(MONTHLY_GOAL_PACES))
    delivered = dict(
        MetricValue.objects.filter(
            definition=reporting_definition(), metric="mqls", granularity="month", period_start__in=starts,
            dimension="", model="",
        ).values_list("period_start", "value")
    )  # fmt: skip
    for start, pace in zip(starts, MONTHLY_GOAL_PACES, strict=True):
        if delivered.get(start):
            goals.goal_create(
                actor=None,
                data={
                    "name": f"MQLs {goals.period_label(GoalPeriod.MONTH, start)}",
                    "metric": "mqls",
                    "period": GoalPeriod.MONTH,
                    "period_start": start,
                    "target": (delivered[start] * pace).quantize(Decimal(1)),
                    "owners": owners,
                    "description": "Demo goal: marketing's MQLs for the month, agreed with sales.",
                },
            )


def _seed_sla() -> None:
    """A marketing commitment above what marketing delivers, and the clocks of the demo's MQLs over the last
    months, replayed quietly at the start of each, then checked now (the reps leave many untouched for
    days: breaches)."""
    import datetime as dt

    from . import sla
    from .models import SlaPolicy

    policy = SlaPolicy.objects.filter(is_active=True, segment=None, team=None).first()
    if policy is not None:
        policy.mql_commitment, policy.min_acceptance_rate = 400, Decimal("0.6")
        policy.save(update_fields=["mql_commitment", "min_acceptance_rate"])
    for start in _months_back(SLA_HISTORY_MONTHS):
        sla.sla_check(now=dt.datetime.combine(start, dt.time(), dt.UTC), notify=False)
    sla.sla_check()


def _seed_objections(marketer, seller) -> None:
    import datetime as dt

    from marketing.models import ContentAsset
    from sales.models import Deal

    from . import objections

    assets = list(ContentAsset.objects.order_by("id")[:2])
    deals = list(Deal.objects.order_by("id").values_list("id", flat=True))
    from django.utils import timezone

    from .models import ObjectionLog

    now = timezone.now()
    for index, (name, category, answered) in enumerate(OBJECTIONS):
        objection = objections.objection_save(actor=seller, data={"name": name, "category": category})
        heard = Deal.objects.filter(pk__in=deals[index::7][: 12 - 2 * index]).select_related("stage", "lead")
        for deal in heard:
            log = objections.objection_log(actor=seller, objection=objection, deal=deal)
            # heard a few days into the deal, as it happened (never later than now)
            when = min(now, deal.created_at + dt.timedelta(days=3 + log.pk % 9))
            ObjectionLog.objects.filter(pk=log.pk).update(logged_at=when)
        if answered and index < len(assets):
            objections.answer_add(actor=marketer, objection=objection, content=assets[index])
            objections.comment_add(
                actor=marketer, objection=objection, body=f"{assets[index].title} answers this: use it."
            )
        elif not answered and index == 2:
            objections.comment_add(
                actor=seller, objection=objection, body="Lost two deals on this last month."
            )
