"""The joint funnel report and the headline figures of the alignment home."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.db.models import Q

from sales.models import Quota, Team
from sales.reports import quota_attainment

from .. import registry
from ..services import reporting_definition
from .base import (
    NA,
    Column,
    Report,
    Table,
    Values,
    availability,
    context,
    difference,
    grouped_notes,
    label_of,
    metric_column,
    metric_meta,
    names,
    or_na,
    ratio,
)
from .filters import CHANNELS, MODELS, MONTH, NONE, QUARTER, Filters, period_label, period_of, shift, today

FUNNEL = (
    ("visits", "Visits"),
    ("leads", "Leads"),
    ("mqls", "MQLs"),
    ("sqls", "SQLs"),
    ("opportunities", "Opportunities"),
    ("new_customers", "Won (new customers)"),
)
STORED_STEP_RATES = {"sqls": "mql_to_sql_rate"}  # step -> the stored rate from the step before it
PIPELINE = (
    "pipeline_created",
    "marketing_sourced_pipeline",
    "marketing_sourced_share",
    "marketing_influenced_pipeline",
)
VELOCITY = (
    "pipeline_velocity",
    "velocity_open_deals",
    "velocity_win_rate",
    "velocity_deal_size",
    "velocity_cycle_days",
)
ECONOMICS = (
    "cac",
    "cac_payback_months",
    "ltv",
    "logo_churn",
    "gross_revenue_churn",
    "net_revenue_retention",
    "expansion_rate",
)
COHORTS = ("marketing_spend", "new_accounts", "cac", "new_customer_mrr", "cac_payback_months", "ltv")
QTD = ("revenue_won", "deals_won", "win_rate", "pipeline_created")
HEADLINE = (
    "revenue_won",
    "pipeline_created",
    "marketing_sourced_share",
    "win_rate",
    "mql_to_sql_rate",
    "mql_acceptance_rate",
    "net_revenue_retention",
    "cac_payback_months",
)


def joint_report(filters: Filters, *, now: dt.date | None = None) -> Report:
    """The funnel from visits to won with each step's conversion and its trend; pipeline created, sourced
    and influenced; pipeline velocity and its four inputs; unit economics; and the two horizons side by
    side: marketing's monthly cohorts and campaigns over 12 or 24 months, sales' quarter-to-date
    attainment. Eight queries, whatever the amount of stored data."""
    definition, pending, computed_at = context()
    grain, dim, val = filters.granularity, filters.dimension, filters.value
    previous = shift(filters.start, grain, -1)  # the trend of the first period needs the one before
    keys = [k for k, _ in FUNNEL] + [*STORED_STEP_RATES.values(), *PIPELINE, *VELOCITY, *ECONOMICS]
    values = Values.fetch(
        definition,
        Q(granularity=grain, period_start__gte=previous, period_start__lt=filters.until, metric__in=keys)
        & Q(dimension=dim, dimension_value=val, model=""),
    )
    tables = _funnel(filters, values, previous)
    tables["pipeline"] = _per_period(
        "pipeline",
        "Pipeline created, marketing-sourced and marketing-influenced",
        filters,
        values,
        PIPELINE,
        True,
    )
    tables["pipeline"].note = "Influenced is not additive with sourced: a deal can be both."
    tables["velocity"] = _per_period(
        "velocity", "Pipeline velocity and its four inputs", filters, values, VELOCITY
    )
    tables["velocity"].note = (
        "Revenue per day = open deals × win rate × average deal size ÷ average cycle, all over the same "
        "trailing window."
    )
    tables["economics"] = _per_period(
        "economics",
        "CAC, payback, LTV, churn, net revenue retention and expansion",
        filters,
        values,
        ECONOMICS,
    )
    horizons, extra, stored = _horizons(filters, definition, now or today())
    tables.update(horizons)
    return Report(
        "joint", filters, definition, pending, computed_at, stored or bool(values.rows), tables, extra
    )


def _funnel(filters: Filters, values: Values, previous: dt.date) -> dict[str, Table]:
    grain, dim, val, periods = filters.granularity, filters.dimension, filters.value, filters.periods
    steps = [metric_column(k, grain, dim, label=label) for k, label in FUNNEL]

    def count(step: Column, span: list[dt.date]) -> Any:
        return or_na(step, values.total(step.key, grain, span, dim, val))

    def rate(i: int, span: list[dt.date]) -> Any:
        stored = STORED_STEP_RATES.get(steps[i].key)
        if stored and not availability(stored, grain, dim):
            return values.total(stored, grain, span, dim, val)
        if steps[i].note or steps[i - 1].note:
            return NA
        return ratio(count(steps[i], span), count(steps[i - 1], span))

    last = periods[-1]
    before = periods[-2] if len(periods) > 1 else previous
    rows = []
    for i, step in enumerate(steps):
        now_rate, then_rate = (rate(i, [last]), rate(i, [before])) if i else (NA, NA)
        rows.append(
            {
                "step": step.label,
                "metric": step.key,
                "count": count(step, periods),
                "conversion": rate(i, periods) if i else NA,
                "last": now_rate,
                "previous": then_rate,
                "change": difference(now_rate, then_rate) if i else NA,
            }
        )
    funnel = Table(
        "funnel",
        "Funnel from visits to won",
        [
            Column("step", "Step"),
            Column("metric", "Metric"),
            Column("count", "In the range", "count"),
            Column("conversion", "Conversion from the step before", "ratio"),
            Column("last", f"Conversion, {period_label(last, grain)}", "ratio"),
            Column("previous", f"Conversion, {period_label(before, grain)}", "ratio"),
            Column("change", "Trend", "points"),
        ],
        rows,
        note=" ".join(grouped_notes(steps)),
        granularity=grain,
    )
    period = Column("period", "Period", "period")
    volumes = Table(
        "funnel_trend",
        "Funnel volumes per period",
        [period, *steps],
        [{"period": p, **{s.key: count(s, [p]) for s in steps}} for p in periods],
        granularity=grain,
    )
    rate_columns = []
    for i, step in enumerate(steps[1:], start=1):
        stored = STORED_STEP_RATES.get(step.key)
        note = "" if stored and not availability(stored, grain, dim) else (steps[i - 1].note or step.note)
        rate_columns.append(Column(step.key, f"{steps[i - 1].label} → {step.label}", "ratio", note))
    rates = Table(
        "conversion_trend",
        "Conversion per step and period",
        [period, *rate_columns],
        [{"period": p, **{s.key: rate(i, [p]) for i, s in enumerate(steps) if i}} for p in periods],
        granularity=grain,
    )
    return {"funnel": funnel, "funnel_trend": volumes, "conversion_trend": rates}


def _per_period(
    key: str, title: str, filters: Filters, values: Values, metrics: Iterable[str], total: bool = False
) -> Table:
    """One row per period and one column per stored metric; with ``total`` a last row for the range."""
    grain, dim, val = filters.granularity, filters.dimension, filters.value
    columns = [metric_column(m, grain, dim) for m in metrics]
    rows = [
        {"period": p, **{c.key: or_na(c, values.get(c.key, grain, p, dim, val)) for c in columns}}
        for p in filters.periods
    ]
    if total:
        span = filters.periods
        rows.append(
            {
                "period": "Whole range",
                **{c.key: or_na(c, values.total(c.key, grain, span, dim, val)) for c in columns},
            }
        )
    return Table(key, title, [Column("period", "Period", "period"), *columns], rows, granularity=grain)


def _horizons(filters: Filters, definition, day: dt.date) -> tuple[dict[str, Table], dict, bool]:
    """Marketing's monthly cohorts and campaigns over 12 or 24 months, next to sales' quarter-to-date
    attainment: three queries."""
    months = int(filters.option("horizon"))
    model = filters.option("model")
    end = shift(period_of(day, MONTH), MONTH, 1)
    span = [shift(end, MONTH, i - months) for i in range(months)]
    quarter = period_of(day, QUARTER)
    dim, val = filters.dimension, filters.value
    qtd_dim = dim if dim in ("team", "channel", "campaign") else ""
    campaign_keys = ("marketing_spend", "attributed_revenue")
    values = Values.fetch(
        definition,
        Q(granularity=MONTH, period_start__gte=span[0], period_start__lt=end)
        & (
            Q(metric__in=COHORTS, dimension="", model="")
            | Q(metric__in=campaign_keys, dimension="campaign", model__in=("", model))
        )
        | Q(granularity=QUARTER, period_start=quarter)
        & (
            Q(metric__in=QTD, dimension="", model="")
            | Q(metric__in=QTD, dimension=qtd_dim, dimension_value=val if qtd_dim else "", model="")
            | Q(metric="campaign_roi", dimension="campaign", model=model)
        ),
    )
    cohort_columns = [metric_column(k, MONTH) for k in COHORTS]
    cohort_rows = []
    for month in span:
        row = {"period": month, **{c.key: or_na(c, values.get(c.key, MONTH, month)) for c in cohort_columns}}
        row["ltv_to_cac"] = ratio(row["ltv"], row["cac"])
        cohort_rows.append(row)
    cohorts = Table(
        "cohorts",
        f"Marketing's horizon: customer cohorts of the last {months} months",
        [
            Column("period", "Cohort month", "period"),
            *cohort_columns,
            Column("ltv_to_cac", "LTV ÷ CAC", "index"),
        ],
        cohort_rows,
        note="Workspace-wide: CAC, payback and LTV are not stored per dimension.",
    )
    campaign_names = names("campaign", values.dimension_values("campaign"))
    campaign_rows = []
    for cid in values.dimension_values("campaign"):
        info = campaign_names.get(cid, {})
        if (dim == "channel" and info.get("channel") != val) or (dim == "campaign" and cid != val):
            continue
        campaign_rows.append(
            {
                "campaign": label_of(campaign_names, "campaign", cid),
                "channel": CHANNELS.get(info.get("channel", ""), ""),
                "spend": values.total("marketing_spend", MONTH, span, "campaign", cid),
                "attributed_revenue": values.total("attributed_revenue", MONTH, span, "campaign", cid, model),
                "roi_horizon": values.total("campaign_roi", MONTH, span, "campaign", cid, model),
                "roi_quarter": values.get("campaign_roi", QUARTER, quarter, "campaign", cid, model),
            }
        )
    campaign_rows.sort(key=lambda r: (-(r["spend"] or 0), r["campaign"]))
    campaigns = Table(
        "campaign_horizon",
        f"Campaigns over {months} months ({MODELS[model]} attribution) against this quarter",
        [
            Column("campaign", "Campaign"),
            Column("channel", "Channel"),
            Column("spend", f"Spend, {months} months", "currency"),
            Column("attributed_revenue", f"Attributed revenue, {months} months", "currency"),
            Column("roi_horizon", f"ROI over {months} months", "ratio"),
            Column("roi_quarter", f"ROI, {period_label(quarter, QUARTER)}", "ratio"),
        ],
        campaign_rows,
        note="ROI = (attributed revenue - spend) ÷ spend; over the horizon from the stored monthly amounts.",
    )
    attainment, elapsed = _attainment(filters, quarter, day)
    headline = []
    for key in QTD:
        scoped = qtd_dim and not availability(key, QUARTER, qtd_dim)
        label, unit = metric_meta(key)
        headline.append(
            {
                "key": key,
                "label": f"{label}, {period_label(quarter, QUARTER)} to date",
                "unit": unit,
                "value": values.get(key, QUARTER, quarter, qtd_dim if scoped else "", val if scoped else ""),
                "scope": filters.value_label if scoped else "Whole workspace",
            }
        )
    tables = {"cohorts": cohorts, "campaign_horizon": campaigns, "attainment": attainment}
    return tables, {"headline": headline, "quarter_elapsed": elapsed}, bool(values.rows)


def _attainment(filters: Filters, quarter: dt.date, day: dt.date) -> tuple[Table, Decimal]:
    """Quarter quotas with what is won so far (``sales.reports.quota_attainment``, one query); with a team
    filter, the team's quota and its members'."""
    quotas = Quota.objects.filter(period=Quota.Period.QUARTER, period_start=quarter).select_related(
        "owner", "team"
    )
    if filters.dimension == "team" and filters.value != NONE:
        members = Team.members.through.objects.filter(team_id=int(filters.value)).values("user_id")
        quotas = quotas.filter(Q(team_id=int(filters.value)) | Q(owner_id__in=members))
    rows = [
        {
            "who": q.team.name if q.team_id else str(q.owner),
            "kind": "Team" if q.team_id else "Rep",
            "metric": q.get_metric_display(),
            "target": q.target,
            "actual": q.actual,
            "attainment": q.attainment,
        }
        for q in quota_attainment(quotas).order_by("team__name", "owner__full_name", "metric", "id")
    ]
    end = shift(quarter, QUARTER, 1)
    elapsed = Decimal(min((day - quarter).days + 1, (end - quarter).days)) / Decimal((end - quarter).days)
    table = Table(
        "attainment",
        f"Sales' horizon: quarter-to-date attainment, {period_label(quarter, QUARTER)}",
        [
            Column("who", "Rep or team"),
            Column("kind", "Kind"),
            Column("metric", "Quota"),
            Column("target", "Target", "currency"),
            Column("actual", "Won so far", "currency"),
            Column("attainment", "Attainment", "ratio"),
        ],
        rows,
        note=f"{int(elapsed * 100)}% of the quarter has passed.",
    )
    return table, elapsed


def headline(*, now: dt.date | None = None) -> dict:
    """This quarter's stored figures next to last quarter's, for the alignment home: two queries."""
    definition = reporting_definition()
    quarter = period_of(now or today(), QUARTER)
    last = shift(quarter, QUARTER, -1)
    values = Values.fetch(
        definition,
        Q(granularity=QUARTER, period_start__in=(quarter, last), metric__in=HEADLINE, dimension="", model=""),
    )
    figures = []
    for key in HEADLINE:
        label, unit = metric_meta(key)
        current, before = values.get(key, QUARTER, quarter), values.get(key, QUARTER, last)
        change = difference(current, before)
        metric = registry.REGISTRY.get(key)
        good = None if not change or metric is None else (change > 0) == (metric.better == registry.UP)
        figures.append(
            {"key": key, "label": label, "unit": unit, "value": current, "change": change, "good": good}
        )
    return {
        "definition": definition,
        "quarter": period_label(quarter, QUARTER),
        "previous": period_label(last, QUARTER),
        "figures": figures,
        "has_values": bool(values.rows),
    }
