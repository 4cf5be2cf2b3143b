"""A workspace's sales set-up: the follow-up clock, pipelines and their stages, loss and rejection
reasons, and teams. Every list is the tenant's own; nothing here touches deal history."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Max

from accounts.models import User
from config.validation import clean_into

from ..models import (
    DealStageChange,
    LossCategory,
    LossReason,
    Pipeline,
    RejectionReason,
    SalesSettings,
    Stage,
    Team,
)

MAX_FOLLOW_UP_HOURS = 24 * 30
SHIFT = 10_000  # positions are moved out of the way first, so the unique (pipeline, position) holds


def _int(value, field: str, errors: dict, *, low: int, high: int) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        errors[field] = ["Give a whole number."]
        return None
    if not low <= number <= high:
        errors[field] = [f"Give a number from {low} to {high}."]
        return None
    return number


def _name(value, field: str, errors: dict, *, max_length: int) -> str:
    """A trimmed name, or "" with a field error (so no lookup ever runs on a bad one)."""
    text = (value or "").strip() if isinstance(value, str) else ""
    if not text:
        errors[field] = ["This field is required."]
    elif len(text) > max_length:
        errors[field] = [f"Keep it to {max_length} characters."]
    elif "\x00" in text:
        errors[field] = ["Null characters are not allowed."]
    else:
        return text
    return ""


def _raise(errors: dict) -> None:
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def sales_settings_update(*, follow_up_hours) -> SalesSettings:
    errors: dict[str, list[str]] = {}
    hours = _int(follow_up_hours, "follow_up_hours", errors, low=1, high=MAX_FOLLOW_UP_HOURS)
    _raise(errors)
    row, _ = SalesSettings.objects.select_for_update().get_or_create(pk=1)
    row.mql_follow_up_hours = hours
    row.save(update_fields=["mql_follow_up_hours"])
    return row


# Pipelines and stages -------------------------------------------------------------------------------------


@transaction.atomic
def pipeline_create(*, name: str, won: str = "Won", lost: str = "Lost") -> Pipeline:
    """A new pipeline with one open stage to start from and its two terminal stages."""
    errors: dict[str, list[str]] = {}
    name = _name(name, "name", errors, max_length=100)
    if name and Pipeline.objects.filter(name__iexact=name).exists():
        errors["name"] = ["A pipeline with this name exists."]
    _raise(errors)
    position = (Pipeline.objects.aggregate(m=Max("position"))["m"] or 0) + 1
    pipeline = Pipeline.objects.create(name=name, position=position, is_default=False)
    Stage.objects.bulk_create(
        [
            Stage(pipeline=pipeline, name="New", position=0, probability=10, expected_days=14),
            Stage(
                pipeline=pipeline, name=won, position=1, kind=Stage.Kind.WON, probability=100, expected_days=0
            ),
            Stage(
                pipeline=pipeline, name=lost, position=2, kind=Stage.Kind.LOST, probability=0, expected_days=0
            ),
        ]
    )
    return pipeline


@transaction.atomic
def pipeline_update(*, pipeline: Pipeline, name: str, is_active: bool, is_default: bool) -> Pipeline:
    errors: dict[str, list[str]] = {}
    name = _name(name, "name", errors, max_length=100)
    if name and Pipeline.objects.filter(name__iexact=name).exclude(pk=pipeline.pk).exists():
        errors["name"] = ["A pipeline with this name exists."]
    if is_default and not is_active:
        errors["is_active"] = ["The default pipeline stays active."]
    if pipeline.is_default and not is_default:
        errors["is_default"] = ["Make another pipeline the default instead."]
    _raise(errors)
    if is_default and not pipeline.is_default:
        Pipeline.objects.filter(is_default=True).update(is_default=False)
    pipeline.name, pipeline.is_active, pipeline.is_default = name, is_active, is_default
    pipeline.save(update_fields=["name", "is_active", "is_default"])
    return pipeline


def _stage_fields(stage: Stage, data: dict, errors: dict) -> None:
    if "name" in data:
        stage.name = _name(data["name"], "name", errors, max_length=100)
        clash = Stage.objects.filter(pipeline=stage.pipeline_id, name__iexact=stage.name).exclude(pk=stage.pk)
        if "name" not in errors and clash.exists():
            errors["name"] = ["This pipeline has a stage with this name."]
    if "probability" in data and stage.kind == Stage.Kind.OPEN:
        # Won is 100 % and lost 0 % by definition; an open stage is somewhere in between.
        number = _int(data["probability"], "probability", errors, low=0, high=99)
        if number is not None:
            stage.probability = number
    if "expected_days" in data and stage.kind == Stage.Kind.OPEN:
        number = _int(data["expected_days"], "expected_days", errors, low=1, high=3650)
        if number is not None:
            stage.expected_days = number


def _renumber(pipeline: Pipeline, ordered: list[Stage]) -> None:
    """Write positions 0..n in the given order: open stages first, then won, then lost."""
    Stage.objects.filter(pipeline=pipeline).update(position=F("position") + SHIFT)
    for index, stage in enumerate(ordered):
        Stage.objects.filter(pk=stage.pk).update(position=index)
        stage.position = index


def _ordered(pipeline: Pipeline) -> list[Stage]:
    stages = list(Stage.objects.select_for_update().filter(pipeline=pipeline).order_by("position", "id"))
    rank = {Stage.Kind.OPEN: 0, Stage.Kind.WON: 1, Stage.Kind.LOST: 2}
    return sorted(stages, key=lambda s: rank[s.kind])


@transaction.atomic
def stage_create(*, pipeline: Pipeline, data: dict) -> Stage:
    """Add an open stage after the last open one (won and lost stay at the end)."""
    Pipeline.objects.select_for_update().get(pk=pipeline.pk)
    stage = Stage(
        pipeline=pipeline, position=SHIFT * 2, kind=Stage.Kind.OPEN, probability=0, expected_days=14
    )
    errors: dict[str, list[str]] = {}
    for required in ("name", "probability"):
        if data.get(required) in (None, ""):
            errors[required] = ["This field is required."]
    _stage_fields(stage, {k: v for k, v in data.items() if k not in errors}, errors)
    _raise(errors)
    stage.save()
    ordered = _ordered(pipeline)
    opened = [s for s in ordered if s.kind == Stage.Kind.OPEN and s.pk != stage.pk]
    _renumber(pipeline, [*opened, stage, *[s for s in ordered if s.kind != Stage.Kind.OPEN]])
    return stage


@transaction.atomic
def stage_update(*, stage: Stage, data: dict) -> Stage:
    locked = Stage.objects.select_for_update().select_related("pipeline").get(pk=stage.pk)
    errors: dict[str, list[str]] = {}
    _stage_fields(locked, data, errors)
    clean_into(locked, errors)
    _raise(errors)
    locked.save(update_fields=["name", "probability", "expected_days"])
    return locked


@transaction.atomic
def stage_move(*, stage: Stage, direction: str) -> None:
    """Swap an open stage with its open neighbour; won and lost never move."""
    if direction not in ("up", "down"):
        raise ValidationError({"direction": ["Move a stage up or down."]})
    ordered = _ordered(stage.pipeline)
    opened = [s for s in ordered if s.kind == Stage.Kind.OPEN]
    index = next((i for i, s in enumerate(opened) if s.pk == stage.pk), None)
    if index is None:
        raise ValidationError({"stage": ["Won and lost stages stay at the end."]})
    other = index - 1 if direction == "up" else index + 1
    if not 0 <= other < len(opened):
        return
    opened[index], opened[other] = opened[other], opened[index]
    _renumber(stage.pipeline, [*opened, *[s for s in ordered if s.kind != Stage.Kind.OPEN]])


@transaction.atomic
def stage_delete(*, stage: Stage) -> None:
    """Remove an open stage no deal is in or has ever passed through (history keeps its stages)."""
    ordered = _ordered(stage.pipeline)
    if stage.kind != Stage.Kind.OPEN:
        raise ValidationError({"stage": ["A pipeline keeps its won and lost stages."]})
    if sum(1 for s in ordered if s.kind == Stage.Kind.OPEN) == 1:
        raise ValidationError({"stage": ["A pipeline needs at least one open stage."]})
    used = stage.deals.exists() or DealStageChange.objects.filter(to_stage=stage).exists()
    if used or DealStageChange.objects.filter(from_stage=stage).exists():
        raise ValidationError(
            {"stage": ["Deals are in this stage or passed through it; rename it instead of removing it."]}
        )
    removed = stage.pk
    stage.delete()
    _renumber(stage.pipeline, [s for s in ordered if s.pk != removed])


# Reasons and teams ----------------------------------------------------------------------------------------


@transaction.atomic
def loss_reason_create(*, category: str, name: str) -> LossReason:
    errors: dict[str, list[str]] = {}
    if category not in LossCategory.values:
        errors["category"] = [f"Choose one of {', '.join(LossCategory.values)}."]
    name = _name(name, "name", errors, max_length=150)
    if not errors and LossReason.objects.filter(category=category, name__iexact=name).exists():
        errors["name"] = ["This category has a reason with this name."]
    _raise(errors)
    return LossReason.objects.create(category=category, name=name)


@transaction.atomic
def rejection_reason_create(*, name: str) -> RejectionReason:
    errors: dict[str, list[str]] = {}
    name = _name(name, "name", errors, max_length=150)
    if name and RejectionReason.objects.filter(name__iexact=name).exists():
        errors["name"] = ["This reason exists."]
    _raise(errors)
    return RejectionReason.objects.create(name=name)


def reason_set_active(*, reason: LossReason | RejectionReason, active: bool) -> None:
    """Retire a reason (old deals and decisions keep it) or bring it back."""
    type(reason).objects.filter(pk=reason.pk).update(is_active=active)


@transaction.atomic
def team_create(*, name: str) -> Team:
    errors: dict[str, list[str]] = {}
    name = _name(name, "name", errors, max_length=100)
    if name and Team.objects.filter(name__iexact=name).exists():
        errors["name"] = ["A team with this name exists."]
    _raise(errors)
    try:
        with transaction.atomic():
            return Team.objects.create(name=name)
    except IntegrityError:
        raise ValidationError({"name": ["A team with this name exists."]}) from None


@transaction.atomic
def team_set_members(*, team: Team, members: list[User]) -> Team:
    """Replace a team's members; only active users with a sales role (or admins) can be dealt leads."""
    from .leads import reps

    allowed = set(reps().filter(pk__in=[m.pk for m in members]).values_list("pk", flat=True))
    refused = [m for m in members if m.pk not in allowed]
    if refused:
        raise ValidationError({"members": [f"{refused[0]} is not an active sales user."]})
    team.members.set(members)
    if team.last_assigned_id and team.last_assigned_id not in allowed:
        Team.objects.filter(pk=team.pk).update(last_assigned=None)
    return team


@transaction.atomic
def team_delete(*, team: Team) -> None:
    team.delete()
