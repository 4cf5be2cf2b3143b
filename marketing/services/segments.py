"""Segments: rule-based (one SQL query) or static lists, with their size recorded over time."""

from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from config.validation import clean_into, has_nul, unknown_fields

from ..models import Contact, Segment, SegmentMember, SegmentSnapshot
from ..segments import compile_definition

SEGMENT_FIELDS = ("name", "description", "kind", "definition")
MAX_STATIC_ADD = 10_000


def _apply(segment: Segment, data: dict) -> dict:
    errors = unknown_fields(data, SEGMENT_FIELDS)
    for key, value in data.items():
        if key not in errors:
            setattr(segment, key, value.strip() if isinstance(value, str) else value)
    if segment.kind == Segment.Kind.STATIC:
        segment.definition = {}
    clean_into(segment, errors)
    if segment.kind == Segment.Kind.RULE and "definition" not in errors:
        try:
            compile_definition(segment.definition)
        except ValidationError as exc:
            errors["definition"] = exc.message_dict["definition"]
    return errors


@transaction.atomic
def segment_create(*, data: dict, actor=None) -> Segment:
    segment = Segment(created_by=actor)
    errors = _apply(segment, data)
    if errors:
        raise ValidationError(errors)
    segment.save()
    segment_refresh_count(segment=segment)
    return segment


@transaction.atomic
def segment_update(*, segment: Segment, data: dict) -> Segment:
    if "kind" in data and data["kind"] != segment.kind:
        raise ValidationError({"kind": ["A segment's kind cannot change; create a new segment."]})
    errors = _apply(segment, data)
    if errors:
        raise ValidationError(errors)
    segment.save()
    segment_refresh_count(segment=segment)
    return segment


@transaction.atomic
def segment_delete(*, segment: Segment) -> None:
    segment.delete()


def _contact_ids(values: Iterable, field: str) -> list[int]:
    try:
        ids = sorted({int(v) for v in values})
    except (TypeError, ValueError) as exc:
        raise ValidationError({field: ["Give a list of contact ids."]}) from exc
    if len(ids) > MAX_STATIC_ADD:
        raise ValidationError({field: [f"At most {MAX_STATIC_ADD} contacts at a time."]})
    found = set(Contact.objects.filter(pk__in=ids).values_list("pk", flat=True))
    missing = [i for i in ids if i not in found]
    if missing:
        raise ValidationError({field: [f"Unknown contact ids: {', '.join(map(str, missing[:10]))}."]})
    return ids


@transaction.atomic
def segment_add_members(*, segment: Segment, contact_ids: Iterable) -> int:
    if segment.kind != Segment.Kind.STATIC:
        raise ValidationError({"contact_ids": ["Only static lists take members by hand."]})
    """Add contacts to a static list; returns how many were not on it yet."""
    ids = _contact_ids(contact_ids, "contact_ids")
    already = set(
        SegmentMember.objects.filter(segment=segment, contact_id__in=ids).values_list("contact_id", flat=True)
    )
    # bulk_create with ignore_conflicts returns every object passed in, so the new ones are counted here.
    SegmentMember.objects.bulk_create(
        [SegmentMember(segment=segment, contact_id=i) for i in ids if i not in already], ignore_conflicts=True
    )
    segment_refresh_count(segment=segment)
    return len(set(ids) - already)


@transaction.atomic
def segment_remove_members(*, segment: Segment, contact_ids: Iterable) -> int:
    if segment.kind != Segment.Kind.STATIC:
        raise ValidationError({"contact_ids": ["Only static lists take members by hand."]})
    deleted, _ = SegmentMember.objects.filter(
        segment=segment, contact_id__in=_contact_ids(contact_ids, "contact_ids")
    ).delete()
    segment_refresh_count(segment=segment)
    return deleted


def segment_size(segment: Segment) -> int:
    if segment.kind == Segment.Kind.STATIC:
        return SegmentMember.objects.filter(segment=segment).count()
    from ..segments import segment_count

    return segment_count(segment.definition)


@transaction.atomic
def segment_refresh_count(*, segment: Segment) -> int:
    """Count the segment now and record today's size (one row per day, upserted)."""
    size = segment_size(segment)
    now = timezone.now()
    Segment.objects.filter(pk=segment.pk).update(last_count=size, last_counted_at=now)
    SegmentSnapshot.objects.update_or_create(segment=segment, date=now.date(), defaults={"size": size})
    segment.last_count, segment.last_counted_at = size, now
    return size


def segments_record_sizes() -> int:
    """Nightly: record every segment's size (one COUNT per segment)."""
    segments = list(Segment.objects.all())
    for segment in segments:
        segment_refresh_count(segment=segment)
    return len(segments)


def segment_add_members_by_email(*, segment: Segment, emails) -> tuple[int, list[str]]:
    """Add the contacts with these emails to a static list; returns (added, emails not found)."""
    wanted = sorted({e.strip().lower() for e in emails if isinstance(e, str) and e.strip()})
    if has_nul(wanted):  # PostgreSQL refuses NUL even in a lookup: a 500 otherwise (tests/security)
        raise ValidationError({"emails": ["An email address cannot contain NUL characters."]})
    if not wanted:
        raise ValidationError({"emails": ["Give at least one email address."]})
    if len(wanted) > MAX_STATIC_ADD:
        raise ValidationError({"emails": [f"At most {MAX_STATIC_ADD} addresses at a time."]})
    found = dict(Contact.objects.filter(email__in=wanted).values_list("email", "pk"))
    added = segment_add_members(segment=segment, contact_ids=found.values()) if found else 0
    return added, [email for email in wanted if email not in found]
