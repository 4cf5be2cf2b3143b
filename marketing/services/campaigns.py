"""Campaigns, their spend (cost lines) and sends."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from config.validation import clean_into, resolve_ids, unknown_fields

from ..models import Campaign, CampaignSend, CostLine, Segment

CAMPAIGN_FIELDS = (
    "name", "channel", "objective", "status", "start_date", "end_date", "owner", "utm_campaign", "budget",
    "description", "target_segments",
)  # fmt: skip
MAX_MONEY = Decimal("999999999999.99")


def parse_money(value, field: str, errors: dict) -> Decimal | None:
    if isinstance(value, float):
        value = repr(value)
    try:
        amount = Decimal(str(value).strip().replace(",", "")) if value not in (None, "") else None
    except (InvalidOperation, ValueError):
        errors[field] = ["Enter a number, e.g. 1250.00."]
        return None
    if amount is None:
        errors[field] = ["This field is required."]
    elif not amount.is_finite():
        errors[field] = ["Enter a finite number."]
    elif amount < 0:
        errors[field] = ["This cannot be negative."]
    elif amount > MAX_MONEY:
        errors[field] = ["This amount is too large."]
    elif amount != amount.quantize(Decimal("0.01")):
        errors[field] = ["Use at most two decimal places."]
    else:
        return amount
    return None


def parse_day(value, field: str, errors: dict, *, required: bool = True) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if value in (None, ""):
        if required:
            errors[field] = ["This field is required."]
        return None
    try:
        parsed = parse_date(str(value).strip())
    except ValueError:
        parsed = None
    if parsed is None:
        errors[field] = ["Enter a valid date (YYYY-MM-DD)."]
    return parsed


def parse_moment(value, field: str, errors: dict) -> datetime | None:
    """An aware datetime from a datetime, a date or ISO 8601 text (a bare date means midnight)."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day, tzinfo=timezone.get_current_timezone())
    else:
        text = str(value).strip() if value not in (None, "") else ""
        try:
            moment = parse_datetime(text) if text else None
            day = parse_date(text) if text and moment is None else None
        except ValueError:
            moment = day = None
        if moment is None and day is None:
            errors[field] = ["Enter a valid date and time (ISO 8601)."]
            return None
        moment = moment or datetime(day.year, day.month, day.day, tzinfo=timezone.get_current_timezone())
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, timezone.get_current_timezone())
    # In UTC: ISO 8601 allows offsets up to 23:59, PostgreSQL stores up to 15:59 (found by schemathesis).
    return moment.astimezone(UTC)


def _apply_campaign(campaign: Campaign, data: dict) -> tuple[dict, list[Segment] | None]:
    errors = unknown_fields(data, CAMPAIGN_FIELDS)
    segments = None
    for key, value in data.items():
        if key in errors:
            continue
        if key == "budget":
            amount = parse_money(value, "budget", errors)
            if amount is not None:
                campaign.budget = amount
        elif key in ("start_date", "end_date"):
            setattr(campaign, key, parse_day(value, key, errors, required=key == "start_date"))
        elif key == "owner":
            from .contacts import _resolve_owner

            campaign.owner = _resolve_owner(value, errors)
        elif key == "target_segments":
            segments = resolve_ids(Segment, value, key, errors)
        else:
            setattr(campaign, key, value.strip() if isinstance(value, str) else value)
    clean_into(campaign, errors)
    if (
        campaign.start_date
        and campaign.end_date
        and "end_date" not in errors
        and campaign.end_date < campaign.start_date
    ):
        errors["end_date"] = ["The end date cannot be before the start date."]
    if campaign.utm_campaign and "utm_campaign" not in errors:
        clash = Campaign.objects.filter(utm_campaign__iexact=campaign.utm_campaign).exclude(pk=campaign.pk)
        if clash.exists():
            errors["utm_campaign"] = ["Another campaign already uses this UTM campaign code."]
    return errors, segments


def _save_campaign(campaign: Campaign, data: dict) -> Campaign:
    errors, segments = _apply_campaign(campaign, data)
    if errors:
        raise ValidationError(errors)
    campaign.save()
    if segments is not None:
        campaign.target_segments.set(segments)
    return campaign


@transaction.atomic
def campaign_create(*, data: dict, actor=None) -> Campaign:
    campaign = Campaign()
    if actor is not None and "owner" not in data:
        campaign.owner = actor
    return _save_campaign(campaign, data)


@transaction.atomic
def campaign_update(*, campaign: Campaign, data: dict, actor=None) -> Campaign:
    return _save_campaign(campaign, data)


@transaction.atomic
def campaign_delete(*, campaign: Campaign) -> None:
    campaign.delete()


@transaction.atomic
def cost_line_add(*, campaign: Campaign, data: dict, actor=None) -> CostLine:
    errors = unknown_fields(data, ("date", "amount", "note"))
    line = CostLine(campaign=campaign, created_by=actor)
    line.date = parse_day(data.get("date"), "date", errors)
    amount = parse_money(data.get("amount"), "amount", errors)
    line.amount = amount if amount is not None else Decimal("0")
    line.note = data.get("note", "").strip() if isinstance(data.get("note", ""), str) else data.get("note")
    clean_into(line, errors)
    if errors:
        raise ValidationError(errors)
    line.save()
    return line


@transaction.atomic
def cost_line_delete(*, line: CostLine) -> None:
    line.delete()


@transaction.atomic
def send_add(*, campaign: Campaign, data: dict) -> CampaignSend:
    errors = unknown_fields(data, ("name", "kind", "sent_at", "audience_size"))
    send = CampaignSend(campaign=campaign)
    for key in ("name", "kind"):
        if key in data:
            setattr(send, key, data[key].strip() if isinstance(data[key], str) else data[key])
    send.sent_at = parse_moment(data.get("sent_at"), "sent_at", errors)
    size = data.get("audience_size")
    if size not in (None, ""):
        try:
            send.audience_size = int(size)
            if send.audience_size < 0 or send.audience_size > 2_000_000_000:
                raise ValueError
        except (TypeError, ValueError):
            errors["audience_size"] = ["Enter a whole number of people, 0 or more."]
            send.audience_size = None
    clean_into(send, errors)
    if errors:
        raise ValidationError(errors)
    send.save()
    return send


@transaction.atomic
def send_delete(*, send: CampaignSend) -> None:
    send.delete()
