"""Alignment writes: the versioned metric definitions and recompute requests."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from accounts.locks import workspace_lock
from accounts.models import User

from .models import DefinitionVersion, RecomputeRequest

# field -> (kind, minimum, maximum); the tenant-editable settings of DefinitionVersion
DEFINITION_FIELDS: dict[str, tuple[str, Decimal, Decimal]] = {
    "cohort_window_days": ("int", Decimal(1), Decimal(730)),
    "influence_lookback_days": ("int", Decimal(1), Decimal(730)),
    "attribution_lookback_days": ("int", Decimal(1), Decimal(730)),
    "time_decay_half_life_days": ("decimal", Decimal("0.5"), Decimal(365)),
    "gross_margin": ("decimal", Decimal("0.01"), Decimal(1)),
    "sales_cost_per_month": ("decimal", Decimal(0), Decimal("999999999999.99")),
    "lifetime_cap_months": ("int", Decimal(1), Decimal(240)),
    "trailing_window_days": ("int", Decimal(7), Decimal(730)),
    "quality_weight_acceptance": ("decimal", Decimal(0), Decimal(100)),
    "quality_weight_sql_rate": ("decimal", Decimal(0), Decimal(100)),
    "quality_weight_win_rate": ("decimal", Decimal(0), Decimal(100)),
    "quality_weight_deal_size": ("decimal", Decimal(0), Decimal(100)),
    "score_weight_sla": ("decimal", Decimal(0), Decimal(100)),
    "score_weight_acceptance": ("decimal", Decimal(0), Decimal(100)),
    "score_weight_loss_reasons": ("decimal", Decimal(0), Decimal(100)),
    "score_weight_feedback": ("decimal", Decimal(0), Decimal(100)),
    "score_weight_goals": ("decimal", Decimal(0), Decimal(100)),
    "score_weight_attribution": ("decimal", Decimal(0), Decimal(100)),
}
TEXT_FIELDS = ("mql_rule", "sql_rule")

RECOMPUTE_INTERVAL = timedelta(minutes=10)


def current_definition() -> DefinitionVersion:
    """The definitions now in force (the first version is created on first use)."""
    version = DefinitionVersion.objects.order_by("-id").first()
    return version or DefinitionVersion.objects.create()


def reporting_definition() -> DefinitionVersion:
    """The definitions the reports show: the newest version with a finished full recompute (a new version
    shows once its values are complete), else the current one."""
    from .models import EngineRun

    run = (
        EngineRun.objects.filter(kind=EngineRun.Kind.FULL, finished_at__isnull=False)
        .select_related("definition")
        .order_by("-definition_id", "-id")
        .first()
    )
    return run.definition if run is not None else current_definition()


def definition_values(version: DefinitionVersion) -> dict:
    return {name: getattr(version, name) for name in (*DEFINITION_FIELDS, *TEXT_FIELDS)}


def _number(name: str, raw, kind: str, low: Decimal, high: Decimal, errors: dict) -> Decimal | int | None:
    text = str(raw).strip()
    if "\x00" in text or len(text) > 30:
        errors[name] = ["Enter a number."]
        return None
    try:
        number = Decimal(text)
    except InvalidOperation:
        errors[name] = ["Enter a number."]
        return None
    if not number.is_finite():
        errors[name] = ["Enter a number."]
        return None
    if kind == "int" and number != number.to_integral_value():
        errors[name] = ["Enter a whole number."]
        return None
    if not low <= number <= high:
        errors[name] = [f"Enter a value from {low} to {high}."]
        return None
    if kind == "int":
        return int(number)
    places = DefinitionVersion._meta.get_field(name).decimal_places
    if number != round(number, places):
        errors[name] = [f"Use at most {places} decimal places."]
        return None
    return number


@transaction.atomic
def definition_update(*, actor: User | None, data: dict) -> DefinitionVersion:
    """Store changed definitions as a new version (versions are never edited) and queue a full recompute
    under it. Unknown fields and bad values are refused with field errors; with no change, the current
    version is returned and nothing is stored."""
    current = current_definition()
    values = definition_values(current)
    errors: dict[str, list[str]] = {}
    unknown = sorted(str(k) for k in data if k not in values)
    if unknown:
        errors["non_field_errors"] = [f"Unknown setting: {', '.join(unknown)}."]
    for name, raw in data.items():
        if name in DEFINITION_FIELDS:
            kind, low, high = DEFINITION_FIELDS[name]
            number = _number(name, raw, kind, low, high, errors)
            if number is not None:
                values[name] = number
        elif name in TEXT_FIELDS:
            text = str(raw).strip()
            if not text or "\x00" in text or len(text) > 200:
                errors[name] = ["Describe the rule in 1 to 200 characters."]
            else:
                values[name] = text
    weights = [values[n] for n in DEFINITION_FIELDS if n.startswith("quality_weight_")]
    if not errors and sum(weights) <= 0:
        errors["quality_weight_acceptance"] = ["At least one lead quality weight must be above 0."]
    score = [values[n] for n in DEFINITION_FIELDS if n.startswith("score_weight_")]
    if not errors and sum(score) <= 0:
        errors["score_weight_sla"] = ["At least one alignment score weight must be above 0."]
    if errors:
        raise ValidationError(errors)
    if values == definition_values(current):
        return current
    version = DefinitionVersion.objects.create(created_by=actor, **values)
    _queue_full_recompute()
    return version


def _queue_full_recompute() -> None:
    from config.outbox import enqueue

    from .tasks import recompute_metrics

    enqueue(recompute_metrics, connection.schema_name)


@transaction.atomic
def recompute_request(*, actor: User | None) -> RecomputeRequest:
    """A user's request for a full recompute: at most one per workspace every ten minutes."""
    with connection.cursor() as cursor:  # two clicks at once: the second waits, then sees the first
        workspace_lock(cursor, "alignment.recompute_request")
    last = RecomputeRequest.objects.order_by("-requested_at").first()
    now = timezone.now()
    if last is not None and now - last.requested_at < RECOMPUTE_INTERVAL:
        wait = RECOMPUTE_INTERVAL - (now - last.requested_at)
        minutes = max(1, int(wait.total_seconds() // 60) + (1 if wait.total_seconds() % 60 else 0))
        raise ValidationError(
            {"non_field_errors": [f"A recompute was asked for recently; try again in {minutes} min."]}
        )
    request = RecomputeRequest.objects.create(requested_by=actor, requested_at=now)
    _queue_full_recompute()
    return request


def page_visit_record(*, user, page: str) -> None:
    """Count a person's visit of a monitoring page (one row per person, page and UTC day; one statement):
    the marketing checklist's evidence of regular monitoring."""
    from .models import PageVisit

    if getattr(user, "pk", None) is None or page not in PageVisit.Page.values:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO alignment_pagevisit (user_id, page, day, visits) VALUES (%s, %s, %s, 1) "
            "ON CONFLICT (user_id, page, day) DO UPDATE SET visits = alignment_pagevisit.visits + 1",
            [user.pk, page, timezone.now().date()],
        )
