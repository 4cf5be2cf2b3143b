"""The attribution models side by side, one model in detail, and the credits of won deals reconciled
against booked revenue."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db.models import Count, Q, Sum

from ..models import AttributionCredit, DefinitionVersion
from .base import (
    Column,
    Report,
    Table,
    Values,
    availability,
    context,
    difference,
    label_of,
    names,
    or_na,
    ratio,
)
from .filters import CHANNELS, MEASURES, MODELS, Filters

ATTRIBUTED = (
    "attributed_pipeline",
    "attributed_opportunities",
    "attributed_revenue",
    "cost_per_opportunity",
    "campaign_roi",
)
PLAIN = ("marketing_spend", "revenue_won", "deals_won")


def attribution_report(filters: Filters) -> Report:
    """Per campaign or channel, the six models side by side for one measure (attributed pipeline or revenue,
    cost per opportunity, ROI), the selected model with all four, and per model the credits of the deals
    won in the range against booked revenue. Six queries, whatever the amount of stored data."""
    definition, pending, computed_at = context()
    grain, periods, by = filters.granularity, filters.periods, filters.option("by")
    selected, measure = filters.option("model"), filters.option("measure")
    values = Values.fetch(
        definition,
        Q(granularity=grain, period_start__gte=filters.start, period_start__lt=filters.until)
        & Q(dimension__in=("", by))
        & (Q(metric__in=ATTRIBUTED, model__in=MODELS) | Q(metric__in=PLAIN, model="")),
    )
    known = names(by, values.dimension_values(by))
    ids = sorted(values.dimension_values(by), key=lambda v: label_of(known, by, v).lower())
    if filters.dimension == "channel":
        ids = [i for i in ids if (i if by == "channel" else known.get(i, {}).get("channel")) == filters.value]
    lead = [Column("name", by.capitalize())] + ([Column("channel", "Channel")] if by == "campaign" else [])

    def who(value: str) -> dict:
        channel = known.get(value, {}).get("channel", "") if by == "campaign" else ""
        return {"name": label_of(known, by, value), "channel": CHANNELS.get(channel, channel)}

    note = availability(measure, grain, by)
    unit = "ratio" if measure == "campaign_roi" else "currency"
    comparison = Table(
        "comparison",
        f"{MEASURES[measure]} by {by}: the six models side by side",
        [*lead, *(Column(m, label, unit, note) for m, label in MODELS.items())],
        [{**who(v), **{m: values.total(measure, grain, periods, by, v, m) for m in MODELS}} for v in ids],
        granularity=grain,
    )
    order = (
        "marketing_spend",
        "attributed_pipeline",
        "attributed_revenue",
        "cost_per_opportunity",
        "campaign_roi",
    )
    labels = {"marketing_spend": "Spend", **MEASURES}
    measures = [
        Column(k, labels[k], "ratio" if k == "campaign_roi" else "currency", availability(k, grain, by))
        for k in order
    ]

    def detail(row: dict, dim: str, value: str) -> dict:
        for c in measures:
            row[c.key] = or_na(
                c,
                values.total(
                    c.key, grain, periods, dim, value, "" if c.key == "marketing_spend" else selected
                ),
            )
        return row

    rows = [detail(who(v), by, v) for v in ids]
    if not filters.dimension:
        rows.append(detail({"name": "Whole workspace", "channel": ""}, "", ""))
    detail_table = Table(
        "detail",
        f"{MODELS[selected]}: attributed pipeline and revenue, cost per opportunity and ROI by {by}",
        [*lead, *measures],
        rows,
        note="ROI = (attributed revenue - spend) ÷ spend; cost per opportunity = spend ÷ attributed "
        "opportunities (the credit shares of the deals created).",
        granularity=grain,
    )
    tables = {
        "reconciliation": _reconciliation(filters, definition, values),
        "comparison": comparison,
        "detail": detail_table,
    }
    return Report("attribution", filters, definition, pending, computed_at, bool(values.rows), tables)


def _reconciliation(filters: Filters, definition: DefinitionVersion, values: Values) -> Table:
    """Per model, the stored credits of the deals won in the range against booked revenue (``revenue_won``);
    what the credits leave is the revenue of won deals without touches: unattributed. One query."""
    grain, periods = filters.granularity, filters.periods
    start = dt.datetime.combine(filters.start, dt.time(), tzinfo=dt.UTC)
    until = dt.datetime.combine(filters.until, dt.time(), tzinfo=dt.UTC)
    credited = {
        row["model"]: row
        for row in AttributionCredit.objects.filter(
            definition=definition, deal_won_at__gte=start, deal_won_at__lt=until
        )
        .values("model")
        .annotate(credit=Sum("credit"), deals=Count("deal", distinct=True))
        .order_by()
    }
    booked = values.total("revenue_won", grain, periods)
    won = values.total("deals_won", grain, periods)
    totals = {row["credit"] for row in credited.values()}
    rows = []
    for model, label in MODELS.items():
        credit = credited.get(model, {}).get("credit") or Decimal(0)
        deals = credited.get(model, {}).get("deals") or 0
        unattributed = difference(booked, credit)
        if booked is None:
            status = "No booked revenue stored"
        elif unattributed is not None and unattributed < Decimal("-0.01"):
            status = "Check: credits exceed booked revenue"
        elif len(totals) > 1:
            status = "Check: the models credit different totals"
        else:
            status = "Reconciled"
        rows.append(
            {
                "model": label,
                "attributed": credit,
                "deals": deals,
                "booked": booked,
                "unattributed": unattributed,
                "unattributed_deals": difference(won, Decimal(deals)),
                "share": ratio(credit, booked),
                "status": status,
            }
        )
    return Table(
        "reconciliation",
        "Credits of won deals reconciled against booked revenue (whole workspace)",
        [
            Column("model", "Model"),
            Column("attributed", "Attributed revenue", "currency"),
            Column("deals", "Won deals with credits", "count"),
            Column("booked", "Booked revenue", "currency", availability("revenue_won", grain)),
            Column("unattributed", "Unattributed (won deals without touches)", "currency"),
            Column("unattributed_deals", "Won deals without touches", "count"),
            Column("share", "Share attributed", "ratio"),
            Column("status", "Status"),
        ],
        rows,
        note="Each model splits every won deal's amount exactly, so every model credits the same total; the "
        "rest of booked revenue is won deals without marketing touches.",
        granularity=grain,
    )
