"""What every report is made of: stored values fetched in one query and aggregated in memory, and plain
tables (columns with a unit, rows of raw values) that pages, CSV downloads and the API all render."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, NamedTuple

from django.db.models import Q

from config.validation import is_id
from marketing.models import Campaign, Segment
from sales.models import Team

from .. import registry
from ..models import DefinitionVersion, EngineRun, MetricValue
from ..services import current_definition, reporting_definition
from .filters import CHANNELS, MONTH, NONE, Filters


class _NotAvailable:
    """A value the engine does not store for this view (as opposed to ``None``: stored, but no data)."""

    def __repr__(self) -> str:
        return "NA"

    def __bool__(self) -> bool:
        return False


NA: Any = _NotAvailable()

# Over several periods, counts and amounts add up and a stored rate is sum(numerator) / sum(denominator).
ADDITIVE = frozenset(
    {
        "visits",
        "leads",
        "mqls",
        "sals",
        "sqls",
        "opportunities",
        "new_customers",
        "new_accounts",
        "deals_won",
        "deals_created",
        "revenue_won",
        "pipeline_created",
        "marketing_sourced_pipeline",
        "marketing_influenced_pipeline",
        "marketing_spend",
        "attributed_pipeline",
        "attributed_opportunities",
        "attributed_revenue",
    }
)
RATIO_OF_SUMS = frozenset(
    {"mql_to_sql_rate", "mql_acceptance_rate", "win_rate", "average_deal_size", "marketing_sourced_share"}
)
# Ratios the engine derives from spend, stored only for periods with spend: over several periods they are
# taken from their summed parts, so a campaign's later revenue (or leads) still counts against its spend.
SPEND_RATIOS = {
    "cost_per_lead": ("leads", False),
    "cost_per_opportunity": ("attributed_opportunities", True),
    "campaign_roi": ("attributed_revenue", True),
}


@dataclass
class Column:
    key: str
    label: str
    unit: str = "text"  # text | period | datetime | count | currency | ratio | points | relative | days | ...
    note: str = ""  # why the column holds no values: the engine does not store them for this view


@dataclass
class Table:
    key: str
    title: str
    columns: list[Column]
    rows: list[dict]
    note: str = ""
    granularity: str = MONTH
    empty: str = ""  # what an empty table means, when there is something better to say than "no values"

    def as_dict(self) -> dict:
        return {
            "title": self.title,
            "note": self.note,
            "columns": [
                {"key": c.key, "label": c.label, "unit": c.unit, "note": c.note} for c in self.columns
            ],
            "rows": [{c.key: json_value(row.get(c.key)) for c in self.columns} for row in self.rows],
        }

    def csv(self) -> tuple[list[str], list[list]]:
        """Header and rows for a CSV download: raw numbers (ratios as fractions), dates in ISO 8601, and an
        empty cell for no data."""
        header = [
            c.label if c.unit in ("text", "period", "datetime") else f"{c.label} ({c.unit})"
            for c in self.columns
        ]
        return header, [[csv_value(row.get(c.key)) for c in self.columns] for row in self.rows]


def json_value(value: Any) -> Any:
    """Numbers as exact decimal strings (as the rest of the API), no data as null."""
    if value is None or value is NA:
        return None
    if isinstance(value, Decimal):
        return format(value.quantize(Decimal("0.000001")).normalize(), "f")
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


def csv_value(value: Any) -> Any:
    if value is None or value is NA:
        return ""
    if isinstance(value, Decimal):
        return value.quantize(Decimal("0.000001")).normalize()
    return value


@dataclass
class Report:
    kind: str
    filters: Filters
    definition: DefinitionVersion
    pending_version: int | None  # a newer definition version whose values are still being computed
    computed_at: dt.datetime | None
    has_values: bool
    tables: dict[str, Table]
    extra: dict = field(default_factory=dict)

    @property
    def computed(self) -> bool:
        """False until the engine has stored anything: the pages then show an empty state."""
        return self.computed_at is not None or self.has_values

    def as_dict(self) -> dict:
        return {
            "report": self.kind,
            "definition": {
                "version": self.definition.pk,
                "created_at": self.definition.created_at.isoformat(),
            },
            "pending_version": self.pending_version,
            "computed": self.computed,
            "computed_at": self.computed_at.isoformat() if self.computed_at else None,
            "filters": self.filters.as_dict(),
            "periods": [p.isoformat() for p in self.filters.periods],
            "headline": [
                {"key": h["key"], "label": h["label"], "unit": h["unit"], "value": json_value(h["value"])}
                for h in self.extra.get("headline", [])
            ],
            "tables": {key: table.as_dict() for key, table in self.tables.items()},
        }


def metric_meta(key: str) -> tuple[str, str]:
    """A metric's label and unit from the registry."""
    metric = registry.REGISTRY.get(key)
    return (metric.label, metric.unit) if metric else (key.replace("_", " ").capitalize(), "index")


def availability(key: str, granularity: str, dimension: str = "") -> str:
    """Why the engine stores no value of ``key`` for this granularity and dimension ('' when it does)."""
    metric = registry.REGISTRY.get(key)
    if metric is None:
        return "Not computed by the metric engine yet."
    if granularity not in metric.periods:
        return f"Stored by {', '.join(metric.periods)} only."
    if dimension and dimension not in metric.dimensions:
        return f"Not broken down by {dimension}."
    return ""


def metric_column(key: str, granularity: str, dimension: str = "", *, label: str = "") -> Column:
    name, unit = metric_meta(key)
    return Column(key, label or name, unit, availability(key, granularity, dimension))


class Row(NamedTuple):
    metric: str
    granularity: str
    period_start: dt.date
    dimension: str
    dimension_value: str
    model: str
    value: Decimal | None
    numerator: Decimal | None
    denominator: Decimal | None


class Values:
    """Stored values fetched in one query, looked up and aggregated in memory."""

    def __init__(self, rows: Iterable[Row]):
        self.rows: dict[tuple, Row] = {
            (r.metric, r.granularity, r.period_start, r.dimension, r.dimension_value, r.model): r
            for r in rows
        }

    @classmethod
    def fetch(cls, definition: DefinitionVersion, where: Q) -> Values:
        rows = MetricValue.objects.filter(where, definition=definition).values_list(*Row._fields)
        return cls(Row(*row) for row in rows)

    def get(
        self, metric: str, grain: str, period: dt.date, dim: str = "", value: str = "", model: str = ""
    ) -> Decimal | None:
        row = self.rows.get((metric, grain, period, dim, value, model))
        return None if row is None else row.value

    def total(
        self, metric: str, grain: str, periods: list[dt.date], dim: str = "", value: str = "", model: str = ""
    ) -> Any:
        """The metric over ``periods``: one period as stored; counts and amounts summed; a rate as the sum of
        its numerators over the sum of its denominators; NA where that means nothing (medians, snapshots,
        indices)."""
        if len(periods) == 1:
            return self.get(metric, grain, periods[0], dim, value, model)
        if metric in SPEND_RATIOS:
            part, per_model = SPEND_RATIOS[metric]
            spend = self.total("marketing_spend", grain, periods, dim, value)
            other = self.total(part, grain, periods, dim, value, model if per_model else "")
            if metric == "campaign_roi":
                return ratio(difference(other or Decimal(0), spend), spend)
            return ratio(spend, other)
        rows = [r for p in periods if (r := self.rows.get((metric, grain, p, dim, value, model))) is not None]
        if metric in ADDITIVE:
            values = [r.value for r in rows if r.value is not None]
            return sum(values, Decimal(0)) if values else None
        if metric in RATIO_OF_SUMS:
            pairs = [(r.numerator, r.denominator) for r in rows if None not in (r.numerator, r.denominator)]
            return ratio(sum((n for n, _ in pairs), Decimal(0)), sum((d for _, d in pairs), Decimal(0)))
        return NA

    def dimension_values(self, dimension: str, metrics: Iterable[str] | None = None) -> set[str]:
        wanted = set(metrics) if metrics is not None else None
        return {k[4] for k in self.rows if k[3] == dimension and (wanted is None or k[0] in wanted)}


def ratio(numerator: Any, denominator: Any) -> Decimal | None:
    if numerator is None or denominator is None or numerator is NA or denominator is NA or not denominator:
        return None
    return Decimal(numerator) / Decimal(denominator)


def difference(a: Any, b: Any) -> Decimal | None:
    return None if a is None or b is None or a is NA or b is NA else a - b


def or_na(column: Column, value: Any) -> Any:
    return NA if column.note else value


def context() -> tuple[DefinitionVersion, int | None, dt.datetime | None]:
    """The definition version the reports show, a newer one still being computed, and when the shown
    values were last computed: three queries."""
    definition = reporting_definition()
    current = current_definition()
    finished = (
        EngineRun.objects.filter(definition=definition, finished_at__isnull=False)
        .order_by("-finished_at")
        .values_list("finished_at", flat=True)
        .first()
    )
    return definition, (current.pk if current.pk != definition.pk else None), finished


def names(dimension: str, ids: Iterable[str]) -> dict[str, dict]:
    """Display names (and a campaign's channel) of stored dimension values: at most one query."""
    labels: dict[str, dict] = {NONE: {"name": f"No {dimension}", "channel": NONE}}
    if dimension == "channel":
        return labels | {c: {"name": CHANNELS.get(c, c), "channel": c} for c in ids if c != NONE}
    numbers = [int(i) for i in ids if is_id(i)]
    if not numbers:
        return labels
    if dimension == "campaign":
        rows = Campaign.objects.filter(pk__in=numbers).values_list("pk", "name", "channel")
        return labels | {str(pk): {"name": name, "channel": channel} for pk, name, channel in rows}
    model = Segment if dimension == "segment" else Team
    return labels | {
        str(pk): {"name": name, "channel": ""}
        for pk, name in model.objects.filter(pk__in=numbers).values_list("pk", "name")
    }


def label_of(known: dict, dimension: str, value: str) -> str:
    return known.get(value, {}).get("name") or f"{dimension.capitalize()} {value} (removed)"


def grouped_notes(columns: Iterable[Column]) -> list[str]:
    """Why columns hold no values, once per reason: "Not broken down by team: Visits, Leads."."""
    notes: dict[str, list[str]] = {}
    for column in columns:
        if column.note:
            notes.setdefault(column.note.rstrip("."), []).append(column.label)
    return [f"{note}: {', '.join(labels)}." for note, labels in notes.items()]
