"""Touchpoints: single, in batches of up to 1,000, from forms and imports. Set-based where it counts."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models.functions import Lower
from django.utils import timezone

from accounts import audit
from config.validation import check_text

from ..models import Campaign, CampaignSend, Channel, Contact, ContentAsset, Touchpoint, TouchpointKind
from ..models.contacts import Source
from .campaigns import parse_moment
from .contacts import contact_upsert, contacts_refresh_touches

MAX_BATCH = 1000
TEXT_FIELDS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content", "referrer", "url",
               "anonymous_id", "external_id")  # fmt: skip
TOUCH_FIELDS = (
    "kind", "contact_id", "email", "anonymous_id", "campaign_id", "content_id", "send_id", "channel",
    "occurred_at", *TEXT_FIELDS,
)  # fmt: skip


def _int_or_none(value):
    if value in (None, ""):
        return None
    if isinstance(value, bool):
        raise ValueError
    return int(value)


class _Lookups:
    """Everything the items refer to, fetched with one query per kind for the whole batch."""

    def __init__(self, items: list[dict]):
        def ids(key):
            out = set()
            for item in items:
                try:
                    value = _int_or_none(item.get(key)) if isinstance(item, dict) else None
                except (TypeError, ValueError):
                    continue
                if value is not None:
                    out.add(value)
            return out

        def usable(item, key) -> bool:
            # A NUL cannot even be looked up in PostgreSQL (a 500 found by tests/security); _build
            # refuses the item naming the field.
            value = item.get(key) if isinstance(item, dict) else None
            return isinstance(value, str) and bool(value.strip()) and "\x00" not in value

        def texts(key):
            return {item[key].strip().lower() for item in items if usable(item, key)}

        self.contacts = set(Contact.objects.filter(pk__in=ids("contact_id")).values_list("pk", flat=True))
        self.emails = dict(Contact.objects.filter(email__in=texts("email")).values_list("email", "pk"))
        campaign_rows = Campaign.objects.filter(pk__in=ids("campaign_id")).values_list("pk", "channel")
        self.campaigns = dict(campaign_rows)
        codes = texts("utm_campaign")
        self.utm = (
            {
                code: (pk, channel)
                for pk, code, channel in Campaign.objects.annotate(code=Lower("utm_campaign"))
                .filter(code__in=codes)
                .values_list("pk", "code", "channel")
            }
            if codes
            else {}
        )
        self.content = set(ContentAsset.objects.filter(pk__in=ids("content_id")).values_list("pk", flat=True))
        self.sends = dict(CampaignSend.objects.filter(pk__in=ids("send_id")).values_list("pk", "campaign_id"))
        external = {i["external_id"].strip() for i in items if usable(i, "external_id")}
        self.external = dict(
            Touchpoint.objects.filter(external_id__in=external).values_list("external_id", "pk")
        )


def _build(item, lookups: _Lookups, seen_external: set[str]) -> tuple[Touchpoint | None, dict, str | None]:
    """(touchpoint, errors, email to upsert)."""
    if not isinstance(item, dict):
        return None, {"non_field_errors": ["Each item must be an object."]}, None
    errors: dict[str, list[str]] = {key: ["Unknown field."] for key in item if key not in TOUCH_FIELDS}
    tp = Touchpoint()
    kind = item.get("kind")
    if kind not in TouchpointKind.values:
        errors["kind"] = [f"Choose one of {', '.join(TouchpointKind.values)}."]
    tp.kind = kind if isinstance(kind, str) else ""
    for key in TEXT_FIELDS:
        value = item.get(key, "")
        if value is None:
            value = ""
        if not isinstance(value, str):
            errors[key] = ["Give text."]
            continue
        setattr(tp, key, value.strip())
    for key, field in (
        ("campaign_id", "campaign"),
        ("content_id", "content"),
        ("send_id", "send"),
        ("contact_id", "contact"),
    ):
        try:
            value = _int_or_none(item.get(key))
        except (TypeError, ValueError):
            errors[key] = ["Give a whole number id."]
            continue
        if value is None:
            continue
        known = {
            "campaign": lookups.campaigns,
            "content": lookups.content,
            "send": lookups.sends,
            "contact": lookups.contacts,
        }[field]
        if value not in known:
            errors[key] = [f"Unknown {field}."]
        else:
            setattr(tp, f"{field}_id", value)
    email = item.get("email")
    upsert_email = None
    if email not in (None, ""):
        if not isinstance(email, str):
            errors["email"] = ["Enter a valid email address."]
        else:
            email = email.strip().lower()
            try:
                if len(email) > 254:
                    raise ValidationError("too long")
                validate_email(email)
            except ValidationError:
                errors["email"] = ["Enter a valid email address."]
            else:
                if tp.contact_id is None:
                    if email in lookups.emails:
                        tp.contact_id = lookups.emails[email]
                    else:
                        upsert_email = email
    if tp.campaign_id is None and tp.send_id is not None:
        tp.campaign_id = lookups.sends[tp.send_id]
    if tp.campaign_id is None and tp.utm_campaign:
        match = lookups.utm.get(tp.utm_campaign.lower())
        if match:
            tp.campaign_id = match[0]
    channel = item.get("channel") or ""
    if channel and channel not in Channel.values:
        errors["channel"] = [f"Choose one of {', '.join(Channel.values)}."]
    tp.channel = channel if isinstance(channel, str) else ""
    if not tp.channel and tp.campaign_id is not None:
        tp.channel = lookups.campaigns.get(tp.campaign_id) or next(
            (ch for pk, ch in lookups.utm.values() if pk == tp.campaign_id), ""
        )
    if item.get("occurred_at") in (None, ""):
        tp.occurred_at = timezone.now()
    else:
        moment = parse_moment(item.get("occurred_at"), "occurred_at", errors)
        if moment is not None:
            if moment > timezone.now() + timezone.timedelta(minutes=5):
                errors["occurred_at"] = ["This cannot be in the future."]
            tp.occurred_at = moment
    if tp.contact_id is None and upsert_email is None and not tp.anonymous_id and "email" not in errors:
        errors["contact_id"] = ["Give contact_id, email or anonymous_id."]
    for field in Touchpoint._meta.concrete_fields:
        value = getattr(tp, field.attname, None)
        if (
            isinstance(value, str)
            and field.max_length
            and len(value) > field.max_length
            and field.name not in errors
        ):
            errors[field.name] = [f"Use at most {field.max_length} characters."]
    errors.update({k: v for k, v in check_text(tp).items() if k not in errors})
    if tp.external_id and not errors:
        if tp.external_id in seen_external:
            errors["external_id"] = ["Repeated within this batch."]
        seen_external.add(tp.external_id)
    return tp, errors, upsert_email


def touchpoints_record(*, items: list, source: str = Source.API) -> list[dict]:
    """Record up to 1,000 touchpoints. Returns one result per item, in order:
    ``{"index", "status": "created" | "duplicate" | "error", "id"?, "errors"?}``. Valid items are stored
    even when others fail; a known ``external_id`` is reported as a duplicate, not stored twice."""
    if not isinstance(items, list) or not items:
        raise ValidationError({"items": ["Give a non-empty list of touchpoints."]})
    if len(items) > MAX_BATCH:
        raise ValidationError({"items": [f"At most {MAX_BATCH} touchpoints per request."]})
    lookups = _Lookups(items)
    results: list[dict] = []
    pending: list[tuple[int, Touchpoint, str | None]] = []
    seen: set[str] = set()
    for index, item in enumerate(items):
        tp, errors, email = _build(item, lookups, seen)
        if errors:
            results.append({"index": index, "status": "error", "errors": errors})
        elif tp.external_id and tp.external_id in lookups.external:
            results.append({"index": index, "status": "duplicate", "id": lookups.external[tp.external_id]})
        else:
            results.append({"index": index, "status": "created"})
            pending.append((index, tp, email))
    with transaction.atomic():
        for index, tp, email in pending:
            if email is not None and email in lookups.emails:
                tp.contact_id = lookups.emails[email]  # a new address made earlier in this batch
            elif email is not None:
                try:
                    contact, _ = contact_upsert(data={"email": email}, source=source)
                except ValidationError as exc:
                    results[index] = {"index": index, "status": "error", "errors": exc.message_dict}
                    continue
                lookups.emails[email] = contact.pk
                tp.contact_id = contact.pk
        created = [tp for index, tp, _ in pending if results[index]["status"] == "created"]
        Touchpoint.objects.bulk_create(created)
        audit.note(count=len(created))  # bulk_create sends no signals: the audit entry counts them here
        for (index, _, _), tp in zip(
            [p for p in pending if results[p[0]]["status"] == "created"], created, strict=True
        ):
            results[index]["id"] = tp.pk
        contact_ids = {tp.contact_id for tp in created if tp.contact_id}
        contacts_refresh_touches(contact_ids)
        if contact_ids:
            from .scoring import enqueue_rescore

            enqueue_rescore(contact_ids=contact_ids)
    return results


def touchpoint_create(*, data: dict, source: str = Source.API) -> Touchpoint:
    result = touchpoints_record(items=[data], source=source)[0]
    if result["status"] == "error":
        raise ValidationError(result["errors"])
    return Touchpoint.objects.get(pk=result["id"])


@transaction.atomic
def contact_identify(*, anonymous_id: str, contact: Contact) -> int:
    """Merge an anonymous visitor's touchpoints into a known contact."""
    if not isinstance(anonymous_id, str) or not anonymous_id.strip():
        raise ValidationError({"anonymous_id": ["This field is required."]})
    moved = Touchpoint.objects.filter(anonymous_id=anonymous_id.strip(), contact__isnull=True).update(
        contact=contact
    )
    audit.note(count=moved, touchpoints_identified=moved)
    if moved:
        contacts_refresh_touches([contact.pk])
    return moved
