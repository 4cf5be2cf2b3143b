"""Deals: create, edit, move through stages (row-locked, history recorded once), close won or lost."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import F
from django.utils import timezone

from accounts import webhooks
from config.validation import full_clean, resolve_ids, unknown_fields
from marketing.models import Campaign, Company, Contact, LifecycleStage
from marketing.services.campaigns import parse_day, parse_money
from marketing.services.contacts import contact_change_stage

from ..models import (
    Deal,
    DealContact,
    DealStageChange,
    LossCategory,
    LossReason,
    Pipeline,
    Stage,
)
from .customers import customer_account_for

DEAL_FIELDS = (
    "name",
    "company",
    "amount",
    "pipeline",
    "stage",
    "deal_type",
    "owner",
    "expected_close_date",
    "source_campaign",
    "forecast_category",
    "probability_override",
    "primary_contact",
    "contacts",
)


def _get(source, value, field: str, errors: dict):
    """One row from an id (or an instance), or a field error: ``source`` is a model, or a queryset that the
    row must belong to (an instance is then checked against it too)."""
    if value in (None, ""):
        return None
    if isinstance(source, type) and isinstance(value, source):
        return value
    queryset = source.objects.all() if isinstance(source, type) else source
    try:
        return queryset.get(pk=int(value.pk if isinstance(value, models.Model) else value))
    except (TypeError, ValueError, queryset.model.DoesNotExist):
        errors[field] = [f"Unknown {queryset.model._meta.verbose_name}."]
        return None


def _apply(deal: Deal, data: dict, *, creating: bool) -> tuple[dict, list[Contact] | None, Contact | None]:
    from marketing.services.contacts import _resolve_owner

    errors = unknown_fields(data, DEAL_FIELDS)
    if not creating and ("stage" in data or "pipeline" in data):
        errors["stage"] = ["Move a deal with the move action, which records its history."]
    contacts, primary = None, None
    for key, value in data.items():
        if key in errors:
            continue
        if key == "amount":
            amount = parse_money(value, "amount", errors)
            if amount is not None:
                deal.amount = amount
        elif key == "expected_close_date":
            deal.expected_close_date = parse_day(value, key, errors, required=False)
        elif key == "company":
            deal.company = _get(Company, value, key, errors)
        elif key == "source_campaign":
            deal.source_campaign = _get(Campaign, value, key, errors)
        elif key == "pipeline":
            deal.pipeline = _get(Pipeline, value, key, errors)
        elif key == "stage":
            deal.stage = _get(Stage, value, key, errors)
        elif key == "owner":
            deal.owner = _resolve_owner(value, errors)
        elif key == "primary_contact":
            primary = _get(Contact, value, key, errors)
        elif key == "contacts":
            contacts = resolve_ids(Contact, value, key, errors)
        else:
            setattr(deal, key, value.strip() if isinstance(value, str) else value)
    if creating and "stage" not in errors:
        if deal.pipeline_id is None and "pipeline" not in errors:
            deal.pipeline = Pipeline.objects.filter(is_default=True).first() or Pipeline.objects.first()
        if deal.stage_id is None and deal.pipeline_id is not None:
            deal.stage = deal.pipeline.stages.filter(kind=Stage.Kind.OPEN).order_by("position").first()
        if deal.stage_id and deal.pipeline_id and deal.stage.pipeline_id != deal.pipeline_id:
            errors["stage"] = ["This stage belongs to another pipeline."]
        elif deal.stage_id and deal.stage.is_closed:
            errors["stage"] = ["Open a deal in an open stage, then close it won or lost."]
    try:
        full_clean(deal, exclude=[*errors, "pipeline", "stage"])
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            errors.setdefault(field, []).extend(messages)
    if (
        deal.probability_override is not None
        and "probability_override" not in errors
        and not (0 <= deal.probability_override <= 100)
    ):
        errors["probability_override"] = ["Give a percentage between 0 and 100."]
    if (
        deal.expected_close_date
        and "expected_close_date" not in errors
        and deal.expected_close_date < (deal.created_at or timezone.now()).date()
    ):
        errors["expected_close_date"] = ["The expected close date cannot be before the deal was created."]
    return errors, contacts, primary


def _set_contacts(deal: Deal, contacts: list[Contact] | None, primary: Contact | None) -> None:
    if contacts is None and primary is None:
        return
    chosen = {c.pk: c for c in (contacts if contacts is not None else deal.contacts.all())}
    if primary is not None:
        chosen[primary.pk] = primary
    DealContact.objects.filter(deal=deal).exclude(contact_id__in=chosen).delete()
    existing = set(DealContact.objects.filter(deal=deal).values_list("contact_id", flat=True))
    DealContact.objects.bulk_create(
        [DealContact(deal=deal, contact_id=pk) for pk in chosen if pk not in existing]
    )
    if primary is not None:
        DealContact.objects.filter(deal=deal).update(is_primary=False)
        DealContact.objects.filter(deal=deal, contact=primary).update(is_primary=True)


@transaction.atomic
def deal_create(*, data: dict, actor=None, lead: Contact | None = None) -> Deal:
    """Open a deal in its pipeline's first open stage (or the given one). The source campaign defaults
    to the lead's first-touch campaign."""
    deal = Deal(owner=actor, lead=lead, created_at=timezone.now())
    errors, contacts, primary = _apply(deal, data, creating=True)
    if errors:
        raise ValidationError(errors)
    if lead is not None:
        primary = primary or lead
        deal.company = deal.company or lead.company
        if "source_campaign" not in data:
            deal.source_campaign_id = lead.first_touch_campaign_id
    deal.stage_entered_at = deal.created_at
    deal.save()
    _set_contacts(deal, contacts, primary)
    DealStageChange.objects.create(
        deal=deal, from_stage=None, to_stage=deal.stage, at=deal.created_at, by=actor
    )
    webhooks.emit("deal.created", {"deal": deal_event_data(deal)})
    return deal


def deal_event_data(deal: Deal) -> dict:
    """What a webhook tells of a deal."""
    return {
        "id": deal.pk,
        "name": deal.name,
        "amount": deal.amount,
        "pipeline": deal.pipeline_id,
        "stage": deal.stage_id,
        "status": deal.status,
        "owner": deal.owner_id,
        "company": deal.company_id,
        "lead": deal.lead_id,
        "expected_close_date": deal.expected_close_date,
        "closed_at": deal.closed_at,
        "loss_category": deal.loss_category,
        "loss_reason": deal.loss_reason.name if deal.loss_reason_id else "",
    }


@transaction.atomic
def deal_update(*, deal: Deal, data: dict, actor=None) -> Deal:
    locked = Deal.objects.select_for_update().get(pk=deal.pk)
    errors, contacts, primary = _apply(locked, data, creating=False)
    if errors:
        raise ValidationError(errors)
    locked.save()
    _set_contacts(locked, contacts, primary)
    return locked


def _lock(deal: Deal, expected_version: int | None) -> Deal:
    # Lock the deal row alone: FOR UPDATE over a join re-checks the join after waiting, and a concurrent
    # move that changed stage_id would make the row vanish from the result (found by the race test).
    locked = Deal.objects.select_for_update().get(pk=deal.pk)
    if expected_version is not None and locked.version != expected_version:
        raise ValidationError(
            {
                "version": ValidationError(
                    "Someone else changed this deal meanwhile. Reload it and try again.", code="conflict"
                )
            }
        )
    if locked.status != Deal.Status.OPEN:
        raise ValidationError({"stage": ["This deal is closed; reopen it before moving it."]})
    return locked


def _record_move(locked: Deal, stage: Stage, actor, at) -> Deal:
    DealStageChange.objects.create(deal=locked, from_stage=locked.stage, to_stage=stage, at=at, by=actor)
    Deal.objects.filter(pk=locked.pk).update(
        stage=stage, stage_entered_at=at, version=F("version") + 1, updated_at=at
    )
    locked.refresh_from_db()
    return locked


@transaction.atomic
def deal_move(*, deal: Deal, stage: Stage | int, actor=None, expected_version: int | None = None) -> Deal:
    """Move an open deal to another open stage of its pipeline. The row is locked, so two people moving
    the same deal at once leave one consistent history; with ``expected_version`` a stale move is
    refused instead of applied on top."""
    errors: dict[str, list[str]] = {}
    target = _get(Stage, stage, "stage", errors)
    if errors:
        raise ValidationError(errors)
    locked = _lock(deal, expected_version)
    if target.pipeline_id != locked.pipeline_id:
        raise ValidationError({"stage": ["This stage belongs to another pipeline."]})
    if target.is_closed:
        raise ValidationError({"stage": ["Close the deal as won or lost instead; losing needs a reason."]})
    if target.pk == locked.stage_id:
        return locked
    from_stage = locked.stage_id
    moved = _record_move(locked, target, actor, timezone.now())
    webhooks.emit("deal.stage_changed", {"deal": deal_event_data(moved), "from_stage": from_stage})
    return moved


def _closing_stage(locked: Deal, kind: str) -> Stage:
    stage = locked.pipeline.stages.filter(kind=kind).order_by("position").first()
    if stage is None:
        raise ValidationError({"stage": [f"The pipeline {locked.pipeline.name} has no {kind} stage."]})
    return stage


@transaction.atomic
def deal_close_won(*, deal: Deal, actor=None, expected_version: int | None = None, at=None) -> Deal:
    """Win the deal: its contacts become customers and its company a customer account."""
    locked = _lock(deal, expected_version)
    at = at or timezone.now()
    locked = _record_move(locked, _closing_stage(locked, Stage.Kind.WON), actor, at)
    Deal.objects.filter(pk=locked.pk).update(status=Deal.Status.WON, closed_at=at, forecast_category="commit")
    for contact in Contact.objects.filter(deal_links__deal=locked):
        if contact.lifecycle_stage not in (LifecycleStage.CUSTOMER, LifecycleStage.EVANGELIST):
            contact_change_stage(
                contact=contact,
                to_stage=LifecycleStage.CUSTOMER,
                actor=actor,
                rule="deal-won",
                reason=f"Won deal “{locked.name}”",
                at=at,
            )
    if locked.company_id:
        customer_account_for(company=locked.company, since=at, first_deal=locked)
    locked.refresh_from_db()
    webhooks.emit("deal.won", {"deal": deal_event_data(locked)})
    return locked


@transaction.atomic
def deal_close_lost(
    *,
    deal: Deal,
    category: str,
    reason: LossReason | int,
    note: str,
    actor=None,
    expected_version: int | None = None,
    at=None,
) -> Deal:
    """Lose the deal with a structured reason: a category, a sub-reason from the tenant's list and a note."""
    errors: dict[str, list[str]] = {}
    if category not in LossCategory.values:
        errors["category"] = [f"Choose one of {', '.join(LossCategory.values)}."]
    sub = _get(LossReason, reason, "reason", errors)
    if sub is None and "reason" not in errors:
        errors["reason"] = ["Choose why the deal was lost."]
    elif sub is not None and sub.category != category and "category" not in errors:
        errors["reason"] = ["This reason belongs to another category."]
    if not isinstance(note, str) or not note.strip():
        errors["note"] = ["Add a note: what happened, in the buyer's words if you can."]
    elif "\x00" in note or len(note) > 5000:
        errors["note"] = ["Use at most 5000 characters, without NUL characters."]
    if errors:
        raise ValidationError(errors)
    locked = _lock(deal, expected_version)
    at = at or timezone.now()
    locked = _record_move(locked, _closing_stage(locked, Stage.Kind.LOST), actor, at)
    Deal.objects.filter(pk=locked.pk).update(
        status=Deal.Status.LOST,
        closed_at=at,
        loss_category=category,
        loss_reason=sub,
        loss_note=note.strip(),
        forecast_category="omitted",
    )
    locked.refresh_from_db()
    webhooks.emit("deal.lost", {"deal": deal_event_data(locked)})
    return locked
