"""The score of a period and its components, read from the stored values (see the package docstring)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.exceptions import ValidationError

from config.validation import is_id

from .. import registry
from ..engine_sql import SCORE_COMPONENTS, SCORE_PARTS, SCORE_VALUES
from ..models import DefinitionVersion, MetricValue
from ..reports.filters import period_label, period_of, shift, today

GRAINS = (registry.MONTH, registry.QUARTER)
TREND = 6  # periods shown in a trend, the chosen one last
PAGE_SIZE = 50  # rows of a drill-down page
# The definition setting that weighs each component of the score (``engine_sql.SCORE_COMPONENTS``).
WEIGHT_FIELDS = {name: f"score_weight_{name}" for name, _ in SCORE_COMPONENTS}


@dataclass(frozen=True)
class Component:
    key: str
    label: str
    team: str  # who moves it: marketing, sales or both
    formula: str
    metrics: tuple[str, ...]  # the stored metrics it is made of


COMPONENTS = (
    Component(
        "sla",
        "SLA attainment, both sides",
        "both",
        "Mean of the sales side (first touches and decisions within the SLA / those due) and the marketing "
        "side (MQLs against the commitment, acceptance against the minimum).",
        (SCORE_PARTS["touch"], SCORE_PARTS["decision"], SCORE_VALUES["marketing_sla"]),
    ),
    Component(
        "acceptance",
        "MQL acceptance rate",
        "both",
        "MQLs accepted / MQLs accepted or rejected in the period.",
        (SCORE_VALUES["acceptance"],),
    ),
    Component(
        "loss_reasons",
        "Lost deals with a structured reason",
        "sales",
        "Deals lost with a listed reason outside 'other' / deals lost in the period.",
        (SCORE_VALUES["loss_reasons"],),
    ),
    Component(
        "feedback",
        "Feedback closure",
        "marketing",
        "Objections logged in the period whose objection has an answering content asset / objections logged.",
        (SCORE_VALUES["feedback"],),
    ),
    Component(
        "goals",
        "Joint goal attainment",
        "both",
        "Mean over the period's shared goals of actual / target, capped at 100% (target / actual where lower "
        "is better).",
        (SCORE_VALUES["goals"],),
    ),
    Component(
        "attribution",
        "Attribution coverage",
        "marketing",
        "Deals created in the period with a marketing touch within the influence lookback / deals created.",
        (SCORE_VALUES["attribution"],),
    ),
)
BY_KEY = {c.key: c for c in COMPONENTS}
SCORE_METRIC = "alignment_score"
READ = (SCORE_METRIC, *{m for c in COMPONENTS for m in c.metrics})


# --- Periods ---------------------------------------------------------------------------------------------


def parse_period(period: str | None, start: str | None) -> tuple[str, dt.date]:
    """The granularity and first day of the asked period (default: this month); a bad value is named."""
    grain = (period or registry.MONTH).strip().lower()
    if grain not in GRAINS:
        raise ValidationError({"period": [f"Choose one of: {', '.join(GRAINS)}."]})
    if not start:
        return grain, period_of(today(), grain)
    try:
        day = dt.date.fromisoformat(str(start).strip())
    except ValueError as exc:
        raise ValidationError({"start": ["Give a date as YYYY-MM-DD."]}) from exc
    if not dt.date(2000, 1, 1) <= day <= dt.date(2100, 1, 1):
        raise ValidationError({"start": ["Give a date from 2000 to 2100."]})
    return grain, period_of(day, grain)


def parse_page(raw: str | None) -> int:
    """A drill-down page number from 1 (default 1); anything else is named."""
    raw = "1" if raw is None else str(raw).strip()
    if not is_id(raw) or int(raw) > 100_000:
        raise ValidationError({"page": ["Give a page number from 1."]})
    return int(raw)


# --- The scorecard ---------------------------------------------------------------------------------------


@dataclass
class Row:
    value: Decimal | None
    numerator: Decimal | None
    denominator: Decimal | None


@dataclass
class ComponentValue:
    key: str
    label: str
    team: str
    formula: str
    value: Decimal | None  # 0..1, None: no data
    weight: Decimal
    points: Decimal | None  # what it adds to the score (0..100 in all)
    trend: list[tuple[dt.date, Decimal | None]]
    parts: list[tuple[str, Decimal | None]] = field(default_factory=list)


@dataclass
class Scorecard:
    grain: str
    start: dt.date
    end: dt.date
    label: str
    to_date: bool  # the period has not ended: its figures so far
    score: Decimal | None
    trend: list[tuple[dt.date, Decimal | None]]
    components: list[ComponentValue]
    definition: DefinitionVersion

    @property
    def previous(self) -> dt.date:
        return shift(self.start, self.grain, -1)

    @property
    def following(self) -> dt.date | None:
        nxt = shift(self.start, self.grain, 1)
        return None if nxt > today() else nxt


def _ratio(numerator: Decimal | None, denominator: Decimal | None) -> Decimal | None:
    return None if not denominator else numerator / denominator


def component_value(
    key: str, rows: dict[str, Row]
) -> tuple[Decimal | None, list[tuple[str, Decimal | None]]]:
    """A component's value from the stored rows of one period, with its parts (the SLA's two sides); the
    same arithmetic as ``engine_sql.SCORE``."""
    if key != "sla":
        row = rows.get(BY_KEY[key].metrics[0])
        return (row.value if row else None), []
    touch, decision = rows.get(SCORE_PARTS["touch"]), rows.get(SCORE_PARTS["decision"])
    met = sum((r.numerator or 0 for r in (touch, decision) if r), Decimal(0))
    due = sum((r.denominator or 0 for r in (touch, decision) if r), Decimal(0))
    sales = _ratio(met, due)
    marketing_row = rows.get(SCORE_VALUES["marketing_sla"])
    marketing = marketing_row.value if marketing_row else None
    sides = [v for v in (sales, marketing) if v is not None]
    value = sum(sides, Decimal(0)) / len(sides) if sides else None
    return value, [("Sales side", sales), ("Marketing side", marketing)]


def scorecard(*, grain: str, start: dt.date, definition: DefinitionVersion | None = None) -> Scorecard:
    """The score of the period starting ``start`` with its components and their trends over the ``TREND``
    periods ending with it (one query for the values, one for the definition)."""
    from ..services import reporting_definition

    definition = definition or reporting_definition()
    starts = [shift(start, grain, -i) for i in range(TREND - 1, -1, -1)]
    stored: dict[dt.date, dict[str, Row]] = {s: {} for s in starts}
    for metric, period_start, value, numerator, denominator in MetricValue.objects.filter(
        definition=definition,
        granularity=grain,
        dimension="",
        model="",
        metric__in=READ,
        period_start__in=starts,
    ).values_list("metric", "period_start", "value", "numerator", "denominator"):
        stored[period_start][metric] = Row(value, numerator, denominator)
    weights = {key: getattr(definition, name) for key, name in WEIGHT_FIELDS.items()}
    current = stored[start]
    values = {c.key: component_value(c.key, current) for c in COMPONENTS}
    present = sum(
        (weights[k] for k, (v, _) in values.items() if v is not None and weights[k] > 0), Decimal(0)
    )
    components = []
    for c in COMPONENTS:
        value, parts = values[c.key]
        points = None
        if value is not None and present:
            points = (100 * weights[c.key] * value / present).quantize(Decimal("0.1"))
        trend = [(s, component_value(c.key, stored[s])[0]) for s in starts]
        components.append(
            ComponentValue(c.key, c.label, c.team, c.formula, value, weights[c.key], points, trend, parts)
        )
    score_row = current.get(SCORE_METRIC)
    end = shift(start, grain, 1)
    return Scorecard(
        grain=grain,
        start=start,
        end=end,
        label=period_label(start, grain),
        to_date=end > today(),
        score=score_row.value if score_row else None,
        trend=[(s, stored[s][SCORE_METRIC].value if SCORE_METRIC in stored[s] else None) for s in starts],
        components=components,
        definition=definition,
    )


def latest_score() -> dict:
    """This month's score so far and last month's, for the leadership home (one query, plus the
    definition)."""
    from ..services import reporting_definition

    definition = reporting_definition()
    this = period_of(today(), registry.MONTH)
    last = shift(this, registry.MONTH, -1)
    rows = dict(
        MetricValue.objects.filter(
            definition=definition,
            granularity=registry.MONTH,
            dimension="",
            model="",
            metric=SCORE_METRIC,
            period_start__in=[this, last],
        ).values_list("period_start", "value")
    )
    return {
        "this": rows.get(this),
        "last": rows.get(last),
        "this_label": period_label(this, registry.MONTH),
        "last_label": period_label(last, registry.MONTH),
    }
