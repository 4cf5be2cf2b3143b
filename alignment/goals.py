"""Shared goals: create, change and delete them, evaluate their progress from stored metric values, notify
their owners when the status changes, and plan child targets from the parent's (the reverse funnel).

Progress is the stored value of the goal's metric for its period (the whole workspace, the reporting
definition): the month or quarter value as stored, a year from its four quarters (a sum, or a rate of
summed numerators and denominators). No stored value is "no data", never 0.

Status is the pace against the time elapsed. For a count or a sum the period accumulates, so the value
expected by now is ``target x elapsed``; for a level (a rate, a median, a snapshot) it moves in a straight
line from the baseline (the target when there is none) to the target. A goal is on track when it is at or
past the expected value (below it, for a metric where lower is better), at risk within 10% of it, and off
track beyond.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Prefetch, Q, QuerySet
from django.urls import reverse
from django.utils import timezone

from accounts import webhooks
from accounts.models import User
from accounts.roles import Role
from config.validation import is_id

from . import registry
from .models import DefinitionVersion, Goal, GoalPeriod, MetricValue, Notification
from .notices import send as send_notices
from .reports.base import ADDITIVE as SUMS
from .reports.base import RATIO_OF_SUMS
from .reports.filters import period_label as report_period_label
from .reports.filters import period_of as report_period_of
from .reports.filters import shift

AT_RISK_MARGIN = Decimal("0.10")
MAX_TARGET = Decimal("1e13")
MAX_OWNERS = 20
YEAR_FROM = registry.QUARTER  # a year's value is made of its stored quarters
GRAIN = {GoalPeriod.MONTH: registry.MONTH, GoalPeriod.QUARTER: registry.QUARTER, GoalPeriod.YEAR: YEAR_FROM}
# Metrics stored once per attribution model: a goal on one names the model.
PER_MODEL = frozenset(k for k, m in registry.REGISTRY.items() if "per attribution model" in m.formula)
# Goals are re-evaluated until this long after their period ended (late facts still move them).
SETTLE = dt.timedelta(days=31)


# Counts and sums accumulate over a period (the pace line runs from 0); with the rates of summed numerators
# and denominators they add up over periods (a year from its quarters): the reports' definitions.
CUMULATIVE = SUMS
YEARLY = SUMS | RATIO_OF_SUMS


# --- Periods ---------------------------------------------------------------------------------------------


def period_end(period: str, start: dt.date) -> dt.date:
    if period == GoalPeriod.YEAR:
        return dt.date(start.year + 1, 1, 1)
    return shift(start, GRAIN[period], 1)


def period_of(period: str, day: dt.date) -> dt.date:
    """The start of the ``period`` holding ``day``."""
    return dt.date(day.year, 1, 1) if period == GoalPeriod.YEAR else report_period_of(day, GRAIN[period])


def elapsed(period: str, start: dt.date, now: dt.datetime) -> Decimal:
    """The share of the period gone by at ``now`` (UTC days), from 0 to 1."""
    begin = dt.datetime.combine(start, dt.time(), dt.UTC)
    end = dt.datetime.combine(period_end(period, start), dt.time(), dt.UTC)
    share = Decimal((now - begin).total_seconds()) / Decimal((end - begin).total_seconds())
    return min(Decimal(1), max(Decimal(0), share))


def period_label(period: str, start: dt.date) -> str:
    return str(start.year) if period == GoalPeriod.YEAR else report_period_label(start, GRAIN[period])


# --- Status ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Evaluation:
    status: str
    actual: Decimal | None
    expected: Decimal
    elapsed: Decimal


def evaluate(goal: Goal, actual: Decimal | None, now: dt.datetime) -> Evaluation:
    """The goal's status for a progress value ``actual`` at ``now`` (see the module docstring)."""
    share = elapsed(goal.period, goal.period_start, now)
    target = goal.target
    if goal.metric in CUMULATIVE:
        expected = target * share
    else:
        start = target if goal.baseline is None else goal.baseline
        expected = start + (target - start) * share
    expected = expected.quantize(Decimal("0.000001"), rounding=ROUND_HALF_UP)
    if actual is None:
        return Evaluation(Goal.Status.NO_DATA, None, expected, share)
    margin = abs(expected) * AT_RISK_MARGIN
    # how far behind the line: above it for a metric where lower is better, below it otherwise
    gap = actual - expected if registry.REGISTRY[goal.metric].better == registry.DOWN else expected - actual
    if gap <= 0:
        status = Goal.Status.ON_TRACK
    elif gap <= margin:
        status = Goal.Status.AT_RISK
    else:
        status = Goal.Status.OFF_TRACK
    return Evaluation(status, actual, expected, share)


def stored_values(definition: DefinitionVersion, goals: list[Goal]) -> dict:
    """The stored workspace values the goals read, in one query: (metric, model, grain, start) -> row."""
    keys = {(g.metric, g.model) for g in goals}
    starts = set()
    for goal in goals:
        if goal.period == GoalPeriod.YEAR:
            starts.update(dt.date(goal.period_start.year, month, 1) for month in (1, 4, 7, 10))
        else:
            starts.add(goal.period_start)
    if not goals:
        return {}
    rows = MetricValue.objects.filter(
        definition=definition,
        dimension="",
        granularity__in=[registry.MONTH, registry.QUARTER],
        metric__in={metric for metric, _ in keys},
        period_start__in=starts,
    ).values_list("metric", "model", "granularity", "period_start", "value", "numerator", "denominator")
    return {row[:4]: row[4:] for row in rows}


def progress(goal: Goal, stored: dict) -> Decimal | None:
    """The goal's value from the stored rows (``stored_values``); None when there is no data."""
    if goal.period != GoalPeriod.YEAR:
        row = stored.get((goal.metric, goal.model, GRAIN[goal.period], goal.period_start))
        return None if row is None else row[0]
    quarters = [
        stored.get((goal.metric, goal.model, YEAR_FROM, dt.date(goal.period_start.year, month, 1)))
        for month in (1, 4, 7, 10)
    ]
    rows = [row for row in quarters if row is not None]
    if not rows:
        return None
    if all(row[2] is None for row in rows):  # counts and sums: the year is their sum
        values = [row[0] for row in rows if row[0] is not None]
        return sum(values, Decimal(0)) if values else None
    numerator = sum((row[1] for row in rows if row[1] is not None), Decimal(0))
    denominator = sum((row[2] for row in rows if row[2] is not None), Decimal(0))
    return None if not denominator else (numerator / denominator).quantize(Decimal("0.000001"))


# --- Reads -----------------------------------------------------------------------------------------------


def goal_list() -> QuerySet[Goal]:
    owners = Prefetch("owners", queryset=User.objects.order_by("full_name", "id"))
    return Goal.objects.select_related("parent", "created_by").prefetch_related(owners)


def goal_tree(goals: list[Goal]) -> list[tuple[Goal, int]]:
    """Goals in tree order with their depth: roots (or goals whose parent is not listed) first."""
    listed = {g.pk for g in goals}
    children: dict[int | None, list[Goal]] = {}
    for goal in goals:
        parent = goal.parent_id if goal.parent_id in listed else None
        children.setdefault(parent, []).append(goal)
    ordered: list[tuple[Goal, int]] = []

    def walk(parent: int | None, depth: int) -> None:
        for goal in children.get(parent, []):
            ordered.append((goal, depth))
            if depth < 20:  # the service refuses cycles; this only bounds a hand-edited database
                walk(goal.pk, depth + 1)

    walk(None, 0)
    return ordered


def metric_choices(period: str | None = None) -> list[tuple[str, str]]:
    """The registry metrics a goal may name (for ``period``: stored at its granularity; a year needs
    quarters that add up)."""
    choices = []
    for key, metric in registry.REGISTRY.items():
        if key in registry.FROM_GOALS or not {registry.MONTH, registry.QUARTER} & set(metric.periods):
            continue
        if period is not None and not _supports(key, period):
            continue
        choices.append((key, metric.label))
    return choices


def _supports(metric: str, period: str) -> bool:
    periods = registry.REGISTRY[metric].periods
    if period == GoalPeriod.YEAR:
        return registry.QUARTER in periods and metric in YEARLY
    return GRAIN[period] in periods


# --- Writes ----------------------------------------------------------------------------------------------

FIELDS = ("name", "metric", "model", "period", "period_start", "target", "baseline", "description", "parent")


def _decimal(value, field: str, errors: dict, *, required: bool) -> Decimal | None:
    if value is None or value == "":
        if required:
            errors[field] = ["This field is required."]
        return None
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        errors[field] = ["Enter a number."]
        return None
    if not number.is_finite() or abs(number) >= MAX_TARGET:
        errors[field] = [f"Enter a number between -{MAX_TARGET:,.0f} and {MAX_TARGET:,.0f}."]
        return None
    return number.quantize(Decimal("0.000001"), rounding=ROUND_HALF_UP)


def _clean(data: dict, goal: Goal | None) -> dict:
    """The goal's fields from ``data`` (missing ones from ``goal``), checked together; every bad field is
    named in one ValidationError."""
    current = (
        {name: getattr(goal, name if name != "parent" else "parent_id") for name in FIELDS} if goal else {}
    )
    values = {**current, **{k: v for k, v in data.items() if k in FIELDS}}
    errors: dict[str, list[str]] = {}
    name = str(values.get("name") or "").strip()
    if not name:
        errors["name"] = ["Give the goal a name."]
    elif len(name) > 150 or "\x00" in name:
        errors["name"] = ["Use at most 150 characters, without NUL characters."]
    description = str(values.get("description") or "")
    if len(description) > 5000 or "\x00" in description:
        errors["description"] = ["Use at most 5000 characters, without NUL characters."]
    period = values.get("period")
    if period not in GoalPeriod.values:
        errors["period"] = [f"Choose one of: {', '.join(GoalPeriod.values)}."]
    metric = values.get("metric")
    if metric not in registry.REGISTRY:
        errors["metric"] = ["Choose a metric of the registry that Tandem computes."]
    elif metric in registry.FROM_GOALS:
        errors["metric"] = [
            "Goal attainment, pipeline coverage and the alignment score are made of goals: choose another."
        ]
    elif period in GoalPeriod.values and not _supports(metric, period):
        errors["metric"] = [
            f"{registry.REGISTRY[metric].label} has no {period}ly value; choose another period."
        ]
    model = values.get("model") or ""
    if metric in PER_MODEL:
        from .models import AttributionModel

        if model not in AttributionModel.values:
            errors["model"] = [
                "This metric is stored per attribution model: choose one of "
                + ", ".join(AttributionModel.values)
                + "."
            ]
    elif model:
        errors["model"] = ["Only attribution metrics take a model."]
    start = values.get("period_start")
    if isinstance(start, str):
        try:
            start = dt.date.fromisoformat(start)
        except ValueError:
            errors["period_start"] = ["Enter a date as YYYY-MM-DD."]
            start = None
    if start is None and "period_start" not in errors:
        errors["period_start"] = ["This field is required."]
    elif isinstance(start, dt.date) and period in GoalPeriod.values:
        if not dt.date(2000, 1, 1) <= start <= dt.date(2100, 1, 1):
            errors["period_start"] = ["Give a date from 2000 to 2100."]
        elif period_of(period, start) != start:
            errors["period_start"] = [
                f"A {period} starts on its first day ({period_of(period, start).isoformat()} here)."
            ]
    target = _decimal(values.get("target"), "target", errors, required=True)
    baseline = _decimal(values.get("baseline"), "baseline", errors, required=False)
    parent = values.get("parent")
    parent_goal = None
    if parent not in (None, ""):
        parent_id = parent.pk if isinstance(parent, Goal) else parent
        parent_goal = Goal.objects.filter(pk=parent_id).first() if is_id(str(parent_id)) else None
        if parent_goal is None:
            errors["parent"] = ["No goal with this id."]
        elif goal is not None and _descends(parent_goal, goal):
            errors["parent"] = ["A goal cannot sit under itself or one of its own sub-goals."]
        elif (
            isinstance(start, dt.date)
            and period in GoalPeriod.values
            and not errors.get("period_start")
            and not (
                parent_goal.period_start <= start
                and period_end(period, start) <= period_end(parent_goal.period, parent_goal.period_start)
            )
        ):
            errors["parent"] = ["A sub-goal's period lies within its parent's period."]
    if errors:
        raise ValidationError(errors)
    return {
        "name": name,
        "metric": metric,
        "model": model if metric in PER_MODEL else "",
        "period": period,
        "period_start": start,
        "target": target,
        "baseline": baseline,
        "description": description,
        "parent": parent_goal,
    }


def _descends(candidate: Goal, goal: Goal) -> bool:
    """Whether ``candidate`` is ``goal`` or lies under it."""
    seen = set()
    node: Goal | None = candidate
    while node is not None and node.pk not in seen:
        if node.pk == goal.pk:
            return True
        seen.add(node.pk)
        node = node.parent
    return False


def _owners(raw, errors: dict) -> list[User] | None:
    """Owners on both teams: at least one with the marketing role and one with the sales role."""
    if raw is None:
        return None
    ids = []
    for item in raw:
        pk = item.pk if isinstance(item, User) else item
        if not is_id(str(pk)):
            errors["owners"] = ["Give user ids."]
            return None
        ids.append(int(pk))
    if len(set(ids)) > MAX_OWNERS:
        errors["owners"] = [f"Name at most {MAX_OWNERS} owners."]
        return None
    users = list(User.objects.filter(pk__in=ids, is_active=True))
    if len(users) != len(set(ids)):
        errors["owners"] = ["Every owner must be an active user of this workspace."]
        return None
    roles = {role for user in users for role in user.roles}
    if Role.MARKETING not in roles or Role.SALES not in roles:
        errors["owners"] = [
            "A shared goal has owners on both teams: at least one from marketing and one from sales."
        ]
        return None
    return users


@transaction.atomic
def goal_create(*, actor: User | None, data: dict) -> Goal:
    errors: dict[str, list[str]] = {}
    try:
        fields = _clean(data, None)
    except ValidationError as exc:
        errors.update(exc.message_dict)
        fields = None
    owners = _owners(data.get("owners", []), errors)
    if errors:
        raise ValidationError(errors)
    goal = Goal.objects.create(**fields, created_by=actor)
    goal.owners.set(owners)
    goals_refresh(goals=[goal])
    return goal


@transaction.atomic
def goal_update(*, goal: Goal, actor: User | None, data: dict) -> Goal:
    errors: dict[str, list[str]] = {}
    try:
        fields = _clean(data, goal)
    except ValidationError as exc:
        errors.update(exc.message_dict)
        fields = None
    owners = _owners(data.get("owners"), errors) if "owners" in data else None
    if errors:
        raise ValidationError(errors)
    changed = [name for name, value in fields.items() if getattr(goal, name) != value]
    for name in changed:
        setattr(goal, name, fields[name])
    goal.updated_at = timezone.now()
    goal.save(update_fields=[*changed, "updated_at"])
    if owners is not None:
        goal.owners.set(owners)
    goals_refresh(goals=[goal])
    return goal


@transaction.atomic
def goal_delete(*, goal: Goal, actor: User | None) -> None:
    goal.delete()  # sub-goals become top-level goals


# --- Evaluation and notices ------------------------------------------------------------------------------


def goals_refresh(*, goals: list[Goal] | None = None, now: dt.datetime | None = None) -> list[Goal]:
    """Evaluate goals (every goal whose period has not long ended, when None) and store their progress;
    owners of a goal whose status changed are notified. Returns the goals whose status changed."""
    from .services import reporting_definition

    now = now or timezone.now()
    if goals is None:
        horizon = (now - SETTLE).date()
        recent = Q(evaluated_at__isnull=True) | Q(period_start__gte=horizon - dt.timedelta(days=366))
        goals = [
            g
            for g in Goal.objects.filter(recent).prefetch_related("owners")
            if period_end(g.period, g.period_start) >= horizon or g.evaluated_at is None
        ]
    stored = stored_values(reporting_definition(), goals)
    changed = []
    for goal in goals:
        result = evaluate(goal, progress(goal, stored), now)
        if result.status != goal.status:
            if goal.evaluated_at is not None:  # a first evaluation tells nobody
                changed.append(goal)
            goal.status, goal.status_changed_at = result.status, now
        goal.actual, goal.expected, goal.evaluated_at = result.actual, result.expected, now
    Goal.objects.bulk_update(goals, ["actual", "expected", "evaluated_at", "status", "status_changed_at"])
    if changed:
        _notify_status(changed)
    return changed


def _notify_status(goals: list[Goal]) -> None:
    changes = [
        {
            "goal": {
                "id": goal.pk, "name": goal.name, "metric": goal.metric, "period": goal.period,
                "period_start": goal.period_start, "target": goal.target, "actual": goal.actual,
                "expected": goal.expected, "status": goal.status,
            }
        }
        for goal in goals
    ]  # fmt: skip
    webhooks.emit_all({"goal.status_changed": changes})
    send_notices(
        [
            Notification(
                user=owner,
                kind="goal_status",
                title=f"Goal '{goal.name}' is {Goal.Status(goal.status).label.lower()}",
                body=(
                    f"{registry.REGISTRY[goal.metric].label}, "
                    f"{period_label(goal.period, goal.period_start)}: "
                    f"{_number(goal.actual)} against {_number(goal.expected)} expected by now "
                    f"(target {_number(goal.target)})."
                ),
                link=reverse("alignment:goal", args=[goal.pk]),
            )
            for goal in goals
            for owner in goal.owners.all()
        ]
    )


def _number(value: Decimal | None) -> str:
    if value is None:
        return "no data"
    return f"{value.normalize():,f}" if value == value.to_integral() else f"{value:,.2f}"


# --- The reverse funnel ----------------------------------------------------------------------------------

# From revenue down to leads: each stage's target is the one above divided by the historical rate between
# them (revenue by the average deal size).
FUNNEL_CHAIN = ("revenue_won", "deals_won", "opportunities", "sqls", "mqls", "leads")
HISTORY_MONTHS = 12


@dataclass(frozen=True)
class Proposal:
    metric: str
    target: Decimal | None
    rate: Decimal | None  # the historical conversion into the stage above (the deal size for deals won)
    note: str


def funnel_history(before: dt.date, *, months: int = HISTORY_MONTHS) -> dict[str, Decimal]:
    """The sums of the funnel counts over the ``months`` stored months before ``before`` (one query)."""
    from django.db.models import Sum

    from .services import reporting_definition

    first = before
    for _ in range(months):
        first = (first - dt.timedelta(days=1)).replace(day=1)
    rows = (
        MetricValue.objects.filter(
            definition=reporting_definition(),
            granularity=registry.MONTH,
            dimension="",
            model="",
            metric__in=FUNNEL_CHAIN,
            period_start__gte=first,
            period_start__lt=before,
        )
        .values("metric")
        .annotate(total=Sum("value"))
        .order_by()
    )
    return {row["metric"]: row["total"] for row in rows if row["total"] is not None}


def plan(metric: str, target: Decimal, history: dict[str, Decimal]) -> list[Proposal]:
    """The child targets below ``metric`` on the funnel chain for a parent ``target``, from ``history``
    (``funnel_history``). A stage without history stops the plan there, saying why."""
    if metric not in FUNNEL_CHAIN:
        return []
    proposals: list[Proposal] = []
    above, value = metric, target
    for stage in FUNNEL_CHAIN[FUNNEL_CHAIN.index(metric) + 1 :]:
        done, total = history.get(above), history.get(stage)
        if not done or not total:
            proposals.append(
                Proposal(
                    stage, None, None, f"No stored {stage} and {above} in the last {HISTORY_MONTHS} months."
                )
            )
            break
        rate = (done / total).quantize(Decimal("0.000001"), rounding=ROUND_HALF_UP)  # above per one of stage
        needed = (value / rate).quantize(Decimal(1), rounding=ROUND_CEILING)
        if above == "revenue_won":
            note = f"{_number(value)} of revenue at an average deal of {_number(rate)}"
        else:
            note = f"{_number(value)} {above} at {rate * 100:.1f}% from {stage}"
        proposals.append(Proposal(stage, needed, rate, note))
        above, value = stage, needed
    return proposals


@dataclass(frozen=True)
class Week:
    start: dt.date
    planned: Decimal
    actual: Decimal | None

    @property
    def gap(self) -> Decimal | None:
        return None if self.actual is None else self.actual - self.planned


def weekly_gap(goal: Goal, now: dt.datetime | None = None) -> list[Week]:
    """Plan against actual at the end of each week of the goal's period (up to now): for a count or sum the
    running total from the stored days (when the metric is stored daily), for a level the week's stored
    value against the straight line to the target."""
    from .services import reporting_definition

    now = now or timezone.now()
    first = goal.period_start - dt.timedelta(days=goal.period_start.weekday())
    end = period_end(goal.period, goal.period_start)
    weeks = []
    day = first
    while day < end and dt.datetime.combine(day, dt.time(), dt.UTC) <= now:
        weeks.append(day)
        day += dt.timedelta(days=7)
    if not weeks:
        return []
    definition = reporting_definition()
    cumulative = goal.metric in CUMULATIVE and registry.DAY in registry.REGISTRY[goal.metric].periods
    base = MetricValue.objects.filter(
        definition=definition, metric=goal.metric, dimension="", model=goal.model
    )
    if cumulative:
        days = dict(
            base.filter(
                granularity=registry.DAY, period_start__gte=goal.period_start, period_start__lt=end
            ).values_list("period_start", "value")
        )
    elif (
        goal.metric not in CUMULATIVE
    ):  # a level: the week's own stored value (a sum not stored daily has none)
        stored_weeks = dict(
            base.filter(granularity=registry.WEEK, period_start__in=weeks).values_list(
                "period_start", "value"
            )
        )
    result = []
    for start in weeks:
        week_end = min(start + dt.timedelta(days=7), end)
        moment = dt.datetime.combine(week_end, dt.time(), dt.UTC)
        planned = evaluate(goal, None, moment).expected
        if cumulative:
            actual = (
                sum((v for d, v in days.items() if d < week_end and v is not None), Decimal(0))
                if days
                else None
            )
        elif goal.metric in CUMULATIVE:
            actual = None  # not stored daily: no running total by week
        else:
            actual = stored_weeks.get(start)
        result.append(Week(start, planned, actual))
    return result
