"""Activities: calls, meetings, demos... The first done activity on an MQL is its first sales touch."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from config.validation import clean_into, unknown_fields
from marketing.models import Contact, ContentAsset
from marketing.services.campaigns import parse_moment
from marketing.services.content import content_record_use

from ..models import Activity, Deal

ACTIVITY_FIELDS = (
    "kind",
    "subject",
    "deal",
    "contact",
    "due_at",
    "done_at",
    "outcome",
    "notes",
    "owner",
    "content",
)


def _apply(activity: Activity, data: dict) -> dict:
    from marketing.services.contacts import _resolve_owner

    from .deals import _get

    errors = unknown_fields(data, ACTIVITY_FIELDS)
    for key, value in data.items():
        if key in errors:
            continue
        if key in ("due_at", "done_at"):
            setattr(activity, key, parse_moment(value, key, errors) if value not in (None, "") else None)
        elif key == "deal":
            activity.deal = _get(Deal, value, key, errors)
        elif key == "contact":
            activity.contact = _get(Contact, value, key, errors)
        elif key == "content":
            activity.content = _get(ContentAsset, value, key, errors)
        elif key == "owner":
            activity.owner = _resolve_owner(value, errors)
        else:
            setattr(activity, key, value.strip() if isinstance(value, str) else value)
    if activity.deal_id is None and activity.contact_id is None and not ({"deal", "contact"} & set(errors)):
        errors["deal"] = ["Link the activity to a deal, a contact or both."]
    if activity.deal_id and activity.contact_id is None:
        primary = activity.deal.deal_contacts.filter(is_primary=True).first()
        activity.contact_id = primary.contact_id if primary else None
    if activity.done_at and activity.done_at > timezone.now() + timezone.timedelta(minutes=5):
        errors["done_at"] = ["An activity cannot be done in the future."]
    clean_into(activity, errors)
    return errors


def _save(activity: Activity, data: dict) -> Activity:
    shared_before = activity.content_id
    errors = _apply(activity, data)
    if errors:
        raise ValidationError(errors)
    activity.save()
    if activity.content_id and activity.content_id != shared_before:
        # Marketing sees how often sales puts its content in front of prospects.
        content_record_use(asset=activity.content, use="share")
    return activity


@transaction.atomic
def activity_create(*, data: dict, actor=None) -> Activity:
    return _save(Activity(owner=actor), data)


@transaction.atomic
def activity_update(*, activity: Activity, data: dict) -> Activity:
    return _save(activity, data)


@transaction.atomic
def activity_complete(*, activity: Activity, outcome: str = "", at=None) -> Activity:
    return activity_update(activity=activity, data={"done_at": at or timezone.now(), "outcome": outcome})
