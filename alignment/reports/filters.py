"""Report periods and filters: granularity, a range of periods and at most one dimension, parsed from query
parameters with a field error for each bad one."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from django.core.exceptions import ValidationError
from django.utils import timezone

from config.validation import is_id
from marketing.models import Campaign, CampaignSend, Segment
from marketing.models.campaigns import Channel
from sales.models import Team

from .. import registry
from ..engine_sql import NONE
from ..models import AttributionModel

WEEK, MONTH, QUARTER = registry.WEEK, registry.MONTH, registry.QUARTER
FILTER_DIMENSIONS = ("channel", "campaign", "segment", "team")
MAX_PERIODS = {WEEK: 104, MONTH: 36, QUARTER: 12}
MIN_YEAR, MAX_YEAR = 1970, 2200
MODELS = dict(AttributionModel.choices)
# The model a report opens with: linear, which favours no position (the first choice is the default).
MODEL_CHOICES = ("linear", *(m for m in MODELS if m != "linear"))
CHANNELS = dict(Channel.choices)
MEASURES = {
    "attributed_revenue": "Attributed revenue",
    "attributed_pipeline": "Attributed pipeline",
    "cost_per_opportunity": "Cost per opportunity",
    "campaign_roi": "ROI",
}


# --- Periods -----------------------------------------------------------------------------------------


def period_of(day: dt.date, grain: str) -> dt.date:
    """The first day of the period holding ``day`` (weeks start on Monday, as PostgreSQL's date_trunc)."""
    if grain == WEEK:
        return day - dt.timedelta(days=day.weekday())
    if grain == MONTH:
        return day.replace(day=1)
    return dt.date(day.year, (day.month - 1) // 3 * 3 + 1, 1)


def shift(start: dt.date, grain: str, steps: int) -> dt.date:
    if grain == WEEK:
        return start + dt.timedelta(weeks=steps)
    index = start.year * 12 + start.month - 1 + steps * (3 if grain == QUARTER else 1)
    return dt.date(index // 12, index % 12 + 1, 1)


def period_label(start: dt.date, grain: str) -> str:
    if grain == WEEK:
        return f"{start.day} {start:%b %Y}"
    if grain == MONTH:
        return f"{start:%b %Y}"
    return f"Q{(start.month - 1) // 3 + 1} {start.year}"


def periods_between(start: dt.date, end: dt.date, grain: str, limit: int = 1000) -> list[dt.date]:
    days, day = [], start
    while day <= end and len(days) < limit:
        days.append(day)
        day = shift(day, grain, 1)
    return days


def today() -> dt.date:
    return timezone.now().astimezone(dt.UTC).date()  # periods are UTC days, as the engine buckets them


# --- Filters -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Spec:
    granularities: tuple[str, ...]
    dimensions: tuple[str, ...]
    choices: dict[str, tuple[str, ...]]  # other parameters -> allowed values, the first is the default
    send: bool = False


SPECS: dict[str, Spec] = {
    "joint": Spec(
        (WEEK, MONTH, QUARTER), FILTER_DIMENSIONS, {"horizon": ("12", "24"), "model": MODEL_CHOICES}
    ),
    "attribution": Spec(
        (MONTH, QUARTER),
        ("channel",),
        {"by": ("campaign", "channel"), "model": MODEL_CHOICES, "measure": tuple(MEASURES)},
    ),
    "lead_quality": Spec(
        (MONTH, QUARTER), ("channel",), {"by": ("campaign", "channel", "segment")}, send=True
    ),
}
# The query parameters each report's API accepts (the portal pages also take format, table and filter).
API_PARAMS = {
    name: ("granularity", "start", "end", *spec.dimensions, *spec.choices, *(("send",) if spec.send else ()))
    for name, spec in SPECS.items()
}


@dataclass(frozen=True)
class Filters:
    report: str
    granularity: str
    start: dt.date  # the first period's start
    end: dt.date  # the last period's start
    dimension: str = ""
    value: str = ""
    value_label: str = ""
    options: dict[str, str] = field(default_factory=dict)  # the report's other choices, when not default
    send: CampaignSend | None = None

    @property
    def periods(self) -> list[dt.date]:
        return periods_between(self.start, self.end, self.granularity)

    @property
    def until(self) -> dt.date:
        """The day after the last period."""
        return shift(self.end, self.granularity, 1)

    def option(self, name: str) -> str:
        return self.options.get(name) or SPECS[self.report].choices[name][0]

    def params(self, **overrides: str) -> dict[str, str]:
        """The canonical query parameters of these filters (for links and CSV downloads)."""
        params = {
            "granularity": self.granularity,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
        }
        if self.dimension:
            params[self.dimension] = self.value
        params.update(self.options)
        if self.send is not None:
            params["send"] = str(self.send.pk)
        params.update(overrides)
        return {k: v for k, v in params.items() if v}

    def query(self, **overrides: str) -> str:
        return urlencode(self.params(**overrides))

    def as_dict(self) -> dict:
        spec = SPECS[self.report]
        return {
            "granularity": self.granularity,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "until": self.until.isoformat(),
            "dimension": self.dimension,
            "value": self.value,
            "value_label": self.value_label,
            **{name: self.option(name) for name in spec.choices},
            **({"send": self.send.pk if self.send else None} if spec.send else {}),
        }


def _date(raw: str, name: str, errors: dict) -> dt.date | None:
    try:
        day = dt.date.fromisoformat(raw)
    except ValueError:
        errors[name] = ["Give a date as YYYY-MM-DD."]
        return None
    if not MIN_YEAR <= day.year <= MAX_YEAR:
        errors[name] = [f"Give a date between {MIN_YEAR} and {MAX_YEAR}."]
        return None
    return day


def _dimension_value(dimension: str, raw: str, errors: dict) -> tuple[str, str]:
    """Check a filter value; returns (value, label). An id is looked up for its name (one query)."""
    if raw == NONE:
        return NONE, f"No {dimension}"
    if dimension == "channel":
        if raw not in CHANNELS:
            errors[dimension] = [f"Unknown channel. Choose one of: {', '.join(CHANNELS)}, none."]
            return "", ""
        return raw, CHANNELS[raw]
    if not is_id(raw):
        errors[dimension] = [f"Give the {dimension}'s id (a whole number) or 'none'."]
        return "", ""
    model = {"campaign": Campaign, "segment": Segment, "team": Team}[dimension]
    name = model.objects.filter(pk=int(raw)).values_list("name", flat=True).first()
    if name is None:
        errors[dimension] = [f"Unknown {dimension}."]
        return "", ""
    return str(int(raw)), name


def parse_filters(params: Mapping[str, Any], *, report: str, now: dt.date | None = None) -> Filters:
    """The filters of ``report`` from query parameters, or a ValidationError naming each bad parameter.

    ``granularity`` (week, month or quarter), ``start`` and ``end`` (dates, each widened to its period; by
    default the last six months) and at most one dimension: ``channel=email``, ``campaign=12``,
    ``segment=3`` or ``team=2`` (``none``: facts without one; the form's ``filter=channel:email`` is the
    same). Stored values have one dimension each, so one filter at a time. At most two queries (a send and
    a filter id are looked up), and none when a parameter is already wrong.
    """
    spec = SPECS[report]
    errors: dict[str, list[str]] = {}
    day = now or today()

    def text(name: str) -> str:
        value = params.get(name, "")
        value = value if isinstance(value, str) else ""
        if len(value) > 100 or "\x00" in value:
            errors[name] = ["Too long, or not text."]
            return ""
        return value.strip()

    granularity = text("granularity") or MONTH
    if granularity not in spec.granularities:
        errors["granularity"] = [f"Choose one of: {', '.join(spec.granularities)}."]
        granularity = MONTH
    end_day = _date(text("end"), "end", errors) if text("end") else day
    start_day = (
        _date(text("start"), "start", errors)
        if text("start")
        else shift(period_of(end_day or day, MONTH), MONTH, -5)
    )
    options = {}
    for name, choices in spec.choices.items():
        value = text(name)
        if value and value not in choices:
            errors[name] = [f"Choose one of: {', '.join(choices)}."]
        elif value and value != choices[0]:
            options[name] = value

    given = {name: text(name) for name in FILTER_DIMENSIONS if text(name)}
    combined = text("filter")
    if combined:
        dimension, _, value = combined.partition(":")
        if dimension not in FILTER_DIMENSIONS or not value:
            errors["filter"] = [f"Unknown dimension. Filter by one of: {', '.join(spec.dimensions)}."]
        else:
            given.setdefault(dimension, value)
    for name in given:
        if name not in spec.dimensions:
            errors[name] = [
                f"This report cannot be filtered by {name}; only by: {', '.join(spec.dimensions)}."
            ]
    if len(given) > 1:
        for name in given:
            errors.setdefault(name, ["Filter by one dimension at a time (stored values have one each)."])

    start = end = None
    if start_day and end_day:
        start, end = period_of(start_day, granularity), period_of(end_day, granularity)
        if start > end:
            errors["end"] = ["The end must not be before the start."]
        elif (
            len(periods_between(start, end, granularity, MAX_PERIODS[granularity] + 1))
            > MAX_PERIODS[granularity]
        ):
            errors["start"] = [
                f"The range is too long: choose at most {MAX_PERIODS[granularity]} {granularity}s."
            ]
    send = None
    raw_send = text("send") if spec.send else ""
    if raw_send and not is_id(raw_send):
        errors["send"] = ["Give the send's id (a whole number)."]
    elif raw_send and not errors:
        send = CampaignSend.objects.select_related("campaign").filter(pk=int(raw_send)).first()
        if send is None:
            errors["send"] = ["Unknown send."]
    dimension = value = label = ""
    if given and not errors:
        dimension, raw = next(iter(given.items()))
        value, label = _dimension_value(dimension, raw, errors)
    if errors:
        raise ValidationError(errors)
    return Filters(report, granularity, start, end, dimension, value, label, options, send)
