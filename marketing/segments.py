"""Segment definitions compiled to one SQL query over contacts (never contacts loaded into Python).

A definition is a group::

    {"match": "all" | "any", "conditions": [<condition or group>, ...]}

and a condition is ``{"field": ..., "op": ..., "value": ...}``. Fields are allow-listed (contact fields,
``company.<field>``, ``lifecycle_stage``, ``score``...), and so are the operators each field accepts.
Engagement is a condition on touchpoints::

    {"field": "touchpoint", "op": "exists" | "not_exists" | "at_least",
     "value": {"kind": "email_click", "campaign": 12, "within_days": 30, "count": 2}}

Every error names the path of the offending condition, e.g. ``conditions.1.field``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from .models import Channel, Contact, LifecycleStage, Touchpoint, TouchpointKind
from .models import contacts as c

MAX_DEPTH = 4
MAX_CONDITIONS = 50

TEXT_OPS = ("eq", "neq", "in", "not_in", "contains", "starts_with", "is_empty", "is_not_empty")
CHOICE_OPS = ("eq", "neq", "in", "not_in", "is_empty", "is_not_empty")
NUMBER_OPS = ("eq", "neq", "gt", "gte", "lt", "lte", "between")
DATE_OPS = ("before", "after", "between", "within_days", "is_empty", "is_not_empty")
BOOL_OPS = ("is_true", "is_false")
ARRAY_OPS = ("has", "has_any", "has_all", "is_empty", "is_not_empty")
ENGAGEMENT_OPS = ("exists", "not_exists", "at_least")


@dataclass(frozen=True)
class Field:
    lookup: str
    kind: str  # text | choice | number | date | bool | array
    label: str
    choices: tuple[str, ...] = ()

    @property
    def ops(self) -> tuple[str, ...]:
        return {"text": TEXT_OPS, "choice": CHOICE_OPS, "number": NUMBER_OPS, "date": DATE_OPS,
                "bool": BOOL_OPS, "array": ARRAY_OPS}[self.kind]  # fmt: skip


def _choices(enum) -> tuple[str, ...]:
    return tuple(enum.values)


FIELDS: dict[str, Field] = {
    "email": Field("email", "text", "Email"),
    "first_name": Field("first_name", "text", "First name"),
    "last_name": Field("last_name", "text", "Last name"),
    "job_title": Field("job_title", "text", "Job title"),
    "seniority": Field("seniority", "choice", "Seniority", _choices(c.Seniority)),
    "country": Field("country", "text", "Country"),
    "region": Field("region", "text", "Region"),
    "consent_marketing": Field("consent_marketing", "bool", "Marketing consent"),
    "unsubscribed": Field("unsubscribed", "bool", "Unsubscribed"),
    "age_band": Field("age_band", "choice", "Age band", _choices(c.AgeBand)),
    "gender": Field("gender", "choice", "Gender", _choices(c.Gender)),
    "marital_status": Field("marital_status", "choice", "Marital status", _choices(c.MaritalStatus)),
    "income_band": Field("income_band", "choice", "Income band", _choices(c.IncomeBand)),
    "education": Field("education", "choice", "Education", _choices(c.Education)),
    "occupation": Field("occupation", "text", "Occupation"),
    "interests": Field("interests", "array", "Interests"),
    "lifecycle_stage": Field("lifecycle_stage", "choice", "Lifecycle stage", _choices(LifecycleStage)),
    "score": Field("score", "number", "Score"),
    "fit_score": Field("fit_score", "number", "Fit score"),
    "engagement_score": Field("engagement_score", "number", "Engagement score"),
    "source": Field("source", "choice", "Source", _choices(c.Source)),
    "created_at": Field("created_at", "date", "Created"),
    "mql_at": Field("mql_at", "date", "Became MQL"),
    "last_touch_at": Field("last_touch_at", "date", "Last touch"),
    "company.name": Field("company__name", "text", "Company name"),
    "company.domain": Field("company__domain", "text", "Company domain"),
    "company.industry": Field("company__industry", "text", "Industry"),
    "company.size_band": Field("company__size_band", "choice", "Company size", _choices(c.SizeBand)),
    "company.country": Field("company__country", "text", "Company country"),
    "company.annual_revenue_band": Field(
        "company__annual_revenue_band", "choice", "Company revenue", _choices(c.RevenueBand)
    ),
}


class DefinitionError(Exception):
    def __init__(self, path: str, message: str):
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path
        self.message = message


def compile_definition(definition: dict) -> Q:
    """The filter for ``definition``. Raises ValidationError({"definition": [...]}) naming the path. An empty
    definition (``{}``, as a static segment or an API call without one stores it) matches everyone."""
    if definition == {}:
        return Q()
    try:
        counter = [0]
        return _group(definition, "", 0, counter)
    except DefinitionError as exc:
        raise ValidationError({"definition": [str(exc)]}) from exc


def segment_queryset(definition: dict) -> QuerySet[Contact]:
    return Contact.objects.filter(compile_definition(definition)).distinct()


def segment_count(definition: dict) -> int:
    """The live count while editing: one COUNT query."""
    return segment_queryset(definition).count()


def _group(node, path: str, depth: int, counter: list[int]) -> Q:
    if not isinstance(node, dict):
        raise DefinitionError(path, "A group must be an object with 'match' and 'conditions'.")
    if depth > MAX_DEPTH:
        raise DefinitionError(path, f"Groups nest at most {MAX_DEPTH} levels deep.")
    extra = set(node) - {"match", "conditions"}
    if extra:
        raise DefinitionError(path, f"Unknown key {sorted(extra)[0]!r} in a group.")
    match = node.get("match", "all")
    if match not in ("all", "any"):
        raise DefinitionError(_join(path, "match"), "Use 'all' (AND) or 'any' (OR).")
    conditions = node.get("conditions")
    if not isinstance(conditions, list):
        raise DefinitionError(_join(path, "conditions"), "Give a list of conditions.")
    if not conditions and depth == 0:
        return Q()  # an empty segment definition matches everyone
    result = Q()
    for index, child in enumerate(conditions):
        child_path = _join(path, f"conditions.{index}")
        if isinstance(child, dict) and "conditions" in child:
            q = _group(child, child_path, depth + 1, counter)
        else:
            q = _condition(child, child_path, counter)
        result = (result & q) if match == "all" else (result | q)
    return result


def _join(path: str, part: str) -> str:
    return f"{path}.{part}" if path else part


def _condition(node, path: str, counter: list[int]) -> Q:
    counter[0] += 1
    if counter[0] > MAX_CONDITIONS:
        raise DefinitionError(path, f"At most {MAX_CONDITIONS} conditions per segment.")
    if not isinstance(node, dict):
        raise DefinitionError(path, "A condition must be an object with 'field', 'op' and 'value'.")
    extra = set(node) - {"field", "op", "value"}
    if extra:
        raise DefinitionError(path, f"Unknown key {sorted(extra)[0]!r} in a condition.")
    name, op, value = node.get("field"), node.get("op"), node.get("value")
    if name == "touchpoint":
        return _engagement(op, value, path)
    if not isinstance(name, str) or name not in FIELDS:
        raise DefinitionError(_join(path, "field"), f"Unknown field {name!r}.")
    field = FIELDS[name]
    if op not in field.ops:
        raise DefinitionError(
            _join(path, "op"), f"Operator {op!r} does not apply to {name}; use one of {', '.join(field.ops)}."
        )
    return _compare(field, op, value, _join(path, "value"))


def _text(value, path: str, max_length: int = 200) -> str:
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise DefinitionError(path, "Give a text value.")
    text = str(value).strip()
    if "\x00" in text or len(text) > max_length:
        raise DefinitionError(path, f"Give text without NUL characters, at most {max_length} characters.")
    return text


def _list(value, path: str) -> list:
    if not isinstance(value, list) or not value or len(value) > 200:
        raise DefinitionError(path, "Give a non-empty list (at most 200 values).")
    return value


def _number(value, path: str) -> Decimal:
    try:
        if isinstance(value, bool):
            raise InvalidOperation
        number = Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:
        raise DefinitionError(path, "Give a number.") from exc
    if not number.is_finite() or abs(number) > 10**12:
        raise DefinitionError(path, "Give a finite number.")
    return number


def _date(value, path: str) -> dt.date:
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError as exc:
        raise DefinitionError(path, "Give a date as YYYY-MM-DD.") from exc


def _days(value, path: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= 3650:
        raise DefinitionError(path, "Give a whole number of days between 1 and 3650.")
    return value


def _compare(field: Field, op: str, value, path: str) -> Q:
    lookup = field.lookup
    if op in ("is_empty", "is_not_empty"):
        empty = {"text": Q(**{lookup: ""}) | Q(**{f"{lookup}__isnull": True}),
                 "choice": Q(**{lookup: ""}) | Q(**{f"{lookup}__isnull": True}),
                 "date": Q(**{f"{lookup}__isnull": True}),
                 "array": Q(**{lookup: []})}[field.kind]  # fmt: skip
        return empty if op == "is_empty" else ~empty
    if field.kind == "bool":
        return Q(**{lookup: op == "is_true"})
    if field.kind in ("text", "choice"):
        if op in ("in", "not_in"):
            values = [_choice_or_text(field, v, path) for v in _list(value, path)]
            q = Q(**{f"{lookup}__in": values}) if field.kind == "choice" else _any_iexact(lookup, values)
            return q if op == "in" else ~q
        text = _choice_or_text(field, value, path)
        if op == "eq":
            return Q(**{f"{lookup}__iexact": text}) if field.kind == "text" else Q(**{lookup: text})
        if op == "neq":
            return ~(Q(**{f"{lookup}__iexact": text}) if field.kind == "text" else Q(**{lookup: text}))
        if op == "contains":
            return Q(**{f"{lookup}__icontains": text})
        return Q(**{f"{lookup}__istartswith": text})
    if field.kind == "number":
        if op == "between":
            low, high = _pair(value, path, _number)
            return Q(**{f"{lookup}__gte": low, f"{lookup}__lte": high})
        number = _number(value, path)
        if op == "neq":
            return ~Q(**{lookup: number})
        return Q(**{lookup if op == "eq" else f"{lookup}__{op}": number})
    if field.kind == "date":
        if op == "within_days":
            return Q(**{f"{lookup}__gte": timezone.now() - dt.timedelta(days=_days(value, path))})
        if op == "between":
            low, high = _pair(value, path, _date)
            return Q(**{f"{lookup}__date__gte": low, f"{lookup}__date__lte": high})
        day = _date(value, path)
        return Q(**{f"{lookup}__date__lt": day}) if op == "before" else Q(**{f"{lookup}__date__gt": day})
    # array
    if op == "has":
        return Q(**{f"{lookup}__contains": [_text(value, path, 50).lower()]})
    values = [_text(v, path, 50).lower() for v in _list(value, path)]
    return Q(**{f"{lookup}__overlap": values}) if op == "has_any" else Q(**{f"{lookup}__contains": values})


def _any_iexact(lookup: str, values: list[str]) -> Q:
    q = Q()
    for value in values:
        q |= Q(**{f"{lookup}__iexact": value})
    return q


def _choice_or_text(field: Field, value, path: str) -> str:
    text = _text(value, path)
    if field.kind == "choice" and text not in field.choices:
        raise DefinitionError(path, f"Unknown value {text!r}; choose from {', '.join(field.choices)}.")
    return text


def _pair(value, path: str, parse):
    if not isinstance(value, list) or len(value) != 2:
        raise DefinitionError(path, "Give [low, high].")
    low, high = parse(value[0], path), parse(value[1], path)
    if high < low:
        raise DefinitionError(path, "The second value must not be below the first.")
    return low, high


def _engagement(op, value, path: str) -> Q:
    if op not in ENGAGEMENT_OPS:
        raise DefinitionError(_join(path, "op"), f"Use one of {', '.join(ENGAGEMENT_OPS)} with touchpoints.")
    vpath = _join(path, "value")
    if not isinstance(value, dict):
        raise DefinitionError(vpath, "Give an object such as {'kind': 'email_click', 'within_days': 30}.")
    extra = set(value) - {"kind", "campaign", "channel", "content", "within_days", "count"}
    if extra:
        raise DefinitionError(vpath, f"Unknown key {sorted(extra)[0]!r}.")
    filters = Q(contact=OuterRef("pk"))
    if "kind" in value:
        if value["kind"] not in TouchpointKind.values:
            raise DefinitionError(_join(vpath, "kind"), f"Unknown touchpoint kind {value['kind']!r}.")
        filters &= Q(kind=value["kind"])
    if "channel" in value:
        if value["channel"] not in Channel.values:
            raise DefinitionError(_join(vpath, "channel"), f"Unknown channel {value['channel']!r}.")
        filters &= Q(channel=value["channel"])
    for key in ("campaign", "content"):
        if key in value:
            if isinstance(value[key], bool) or not isinstance(value[key], int):
                raise DefinitionError(_join(vpath, key), "Give the id as a whole number.")
            filters &= Q(**{f"{key}_id": value[key]})
    if "within_days" in value:
        filters &= Q(occurred_at__gte=timezone.now() - dt.timedelta(days=_days(value["within_days"], vpath)))
    touches = Touchpoint.objects.filter(filters)
    if op == "at_least":
        count = value.get("count")
        if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= 10_000:
            raise DefinitionError(_join(vpath, "count"), "Give a whole number of touchpoints, 1 or more.")
        counted = (
            touches.order_by()
            .values("contact")
            .annotate(n=Count("id"))
            .filter(n__gte=count)
            .values("contact")
        )
        return Q(pk__in=counted)
    if "count" in value:
        raise DefinitionError(_join(vpath, "count"), "'count' goes with the 'at_least' operator.")
    return Q(Exists(touches)) if op == "exists" else ~Q(Exists(touches))
