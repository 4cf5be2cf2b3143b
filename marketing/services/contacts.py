"""Companies, contacts and their lifecycle."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from accounts import webhooks
from config.validation import clean_into, full_clean, unknown_fields

from ..models import Company, Contact, LifecycleStage, StageTransition
from ..models.contacts import Source

DUPLICATE_EMAIL = "A contact with this email address already exists."
COMPANY_FIELDS = ("name", "domain", "industry", "size_band", "country", "region", "annual_revenue_band")
CONTACT_FIELDS = (
    "email", "first_name", "last_name", "phone", "job_title", "seniority", "company", "country", "region",
    "consent_marketing", "unsubscribed", "age_band", "gender", "marital_status", "income_band", "education",
    "occupation", "interests", "owner",
)  # fmt: skip


def _assign(instance, data: dict, allowed: Iterable[str]) -> dict[str, list[str]]:
    errors = unknown_fields(data, allowed)
    for key, value in data.items():
        if key in errors:
            continue
        if isinstance(value, str):
            value = value.strip()
        setattr(instance, key, value)
    return errors


def clean_domain(value: str) -> str:
    """acme.com from "https://www.Acme.com/about": how companies store their domain."""
    value = (value or "").strip().lower()
    for prefix in ("https://", "http://"):
        value = value.removeprefix(prefix)
    return value.removeprefix("www.").split("/")[0]


def _validate_company(company: Company, errors: dict) -> None:
    if (
        company.domain
        and Company.objects.filter(domain__iexact=company.domain).exclude(pk=company.pk).exists()
    ):
        errors.setdefault("domain", []).append("Another company already has this domain.")
    try:
        full_clean(company)
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            errors.setdefault(field, []).extend(messages)
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def company_create(*, data: dict) -> Company:
    company = Company()
    errors = _assign(company, data, COMPANY_FIELDS)
    company.domain = clean_domain(company.domain)
    _validate_company(company, errors)
    company.save()
    return company


@transaction.atomic
def company_update(*, company: Company, data: dict) -> Company:
    errors = _assign(company, data, COMPANY_FIELDS)
    company.domain = clean_domain(company.domain)
    _validate_company(company, errors)
    company.save(update_fields=[*[f for f in data if f in COMPANY_FIELDS], "updated_at"])
    return company


def _resolve_company(value, errors: dict) -> Company | None:
    if value in (None, "") or isinstance(value, Company):
        return value or None
    try:
        return Company.objects.get(pk=int(value))
    except (TypeError, ValueError, Company.DoesNotExist):
        errors["company"] = ["Unknown company."]
        return None


def _resolve_owner(value, errors: dict):
    from accounts.models import User

    if value in (None, "") or isinstance(value, User):
        return value or None
    try:
        return User.objects.get(pk=int(value), is_active=True)
    except (TypeError, ValueError, User.DoesNotExist):
        errors["owner"] = ["Unknown or inactive user."]
        return None


def _prepare_contact(contact: Contact, data: dict) -> dict[str, list[str]]:
    data = dict(data)
    errors: dict[str, list[str]] = {}
    if "company" in data:
        data["company"] = _resolve_company(data["company"], errors)
    if "owner" in data:
        data["owner"] = _resolve_owner(data["owner"], errors)
    if "interests" in data:
        interests = data["interests"]
        if isinstance(interests, str):
            interests = [part.strip() for part in interests.split(",")]
        if not isinstance(interests, list | tuple) or not all(isinstance(i, str) for i in interests):
            errors["interests"] = ["Give a list of interests."]
            data.pop("interests")
        else:
            data["interests"] = sorted({i.strip().lower() for i in interests if i.strip()})
    for flag in ("consent_marketing", "unsubscribed"):
        if flag in data and not isinstance(data[flag], bool):
            errors[flag] = ["Give true or false."]
            data.pop(flag)
    errors.update(_assign(contact, {k: v for k, v in data.items() if k not in errors}, CONTACT_FIELDS))
    if isinstance(contact.email, str):
        contact.email = contact.email.strip().lower()
    now = timezone.now()
    if contact.consent_marketing and contact.consent_at is None:
        contact.consent_at = now
    if contact.unsubscribed and contact.unsubscribed_at is None:
        contact.unsubscribed_at = now
    clean_into(contact, errors)
    if (
        "email" not in errors
        and contact.email
        and Contact.objects.filter(email__iexact=contact.email).exclude(pk=contact.pk).exists()
    ):
        errors["email"] = [ValidationError(DUPLICATE_EMAIL, code="unique")]  # a 409 through the API
    return errors


@transaction.atomic
def contact_create(
    *,
    data: dict,
    actor=None,
    source: str = Source.MANUAL,
    stage: str = LifecycleStage.LEAD,
    at: datetime | None = None,
) -> Contact:
    """Create a contact and record its first lifecycle stage."""
    at = at or timezone.now()
    contact = Contact(source=source, lifecycle_stage=stage, lifecycle_changed_at=at, created_at=at)
    errors = _prepare_contact(contact, data)
    if stage not in LifecycleStage.values:
        errors["lifecycle_stage"] = ["Unknown lifecycle stage."]
    if errors:
        raise ValidationError(errors)
    if stage == LifecycleStage.MQL:
        contact.mql_at = at
    contact.save()
    StageTransition.objects.create(
        contact=contact, from_stage="", to_stage=stage, at=at, by_user=actor, by_rule=source
    )
    webhooks.emit("contact.created", {"contact": contact_event_data(contact)})
    if stage == LifecycleStage.MQL:
        webhooks.emit("contact.mql", {"contact": contact_event_data(contact), "at": at})
    return contact


def contact_event_data(contact: Contact) -> dict:
    """What a webhook tells of a contact."""
    return {
        "id": contact.pk,
        "email": contact.email,
        "first_name": contact.first_name,
        "last_name": contact.last_name,
        "company": contact.company_id,
        "lifecycle_stage": contact.lifecycle_stage,
        "owner": contact.owner_id,
    }


def stage_events(rows: list[dict]) -> None:
    """The webhooks of lifecycle changes: ``rows`` of {"contact", "from_stage", "to_stage", "at"}."""
    webhooks.emit_all(
        {
            "contact.lifecycle_changed": rows,
            "contact.mql": [r for r in rows if r["to_stage"] == LifecycleStage.MQL],
        }
    )


@transaction.atomic
def contact_update(*, contact: Contact, data: dict, actor=None) -> Contact:
    """Change a contact's attributes. The lifecycle stage changes only through contact_change_stage."""
    if "lifecycle_stage" in data:
        raise ValidationError(
            {"lifecycle_stage": ["Change the stage with its own action, which records why."]}
        )
    errors = _prepare_contact(contact, data)
    if errors:
        raise ValidationError(errors)
    contact.save()
    return contact


def contact_upsert(*, data: dict, actor=None, source: str = Source.API) -> tuple[Contact, bool]:
    """Create the contact, or update the one with the same email (ignoring case). Safe under races:
    the unique email decides, and the loser updates the winner's row."""
    email = data.get("email")
    if not isinstance(email, str) or not email.strip():
        raise ValidationError({"email": ["This field is required."]})
    existing = Contact.objects.filter(email__iexact=email.strip()).first()
    if existing is None:
        try:
            with transaction.atomic():
                return contact_create(data=data, actor=actor, source=source), True
        except ValidationError as exc:
            if exc.message_dict.get("email") != [DUPLICATE_EMAIL]:
                raise
        except IntegrityError:  # a concurrent insert of the same email won; update its row
            pass
        existing = Contact.objects.get(email__iexact=email.strip())
    changes = {k: v for k, v in data.items() if k != "email" and v not in (None, "", [])}
    with transaction.atomic():
        locked = Contact.objects.select_for_update().get(pk=existing.pk)
        return contact_update(contact=locked, data=changes, actor=actor), False


@transaction.atomic
def contact_change_stage(
    *,
    contact: Contact,
    to_stage: str,
    actor=None,
    rule: str = "",
    rule_version: int | None = None,
    reason: str = "",
    at: datetime | None = None,
) -> StageTransition | None:
    """Move a contact to ``to_stage`` and record the transition once. Moving to the stage it is
    already in records nothing. The row is locked, so two simultaneous changes do not interleave."""
    if to_stage not in LifecycleStage.values:
        raise ValidationError(
            {"to_stage": [f"Unknown lifecycle stage. Choose from {', '.join(LifecycleStage.values)}."]}
        )
    if isinstance(reason, str) and "\x00" in reason:
        raise ValidationError({"reason": ["This field cannot contain NUL characters."]})
    locked = Contact.objects.select_for_update().get(pk=contact.pk)
    if locked.lifecycle_stage == to_stage:
        return None
    at = at or timezone.now()
    transition = StageTransition.objects.create(
        contact=locked,
        from_stage=locked.lifecycle_stage,
        to_stage=to_stage,
        at=at,
        by_user=actor,
        by_rule=rule,
        rule_version=rule_version,
        reason=(reason or "")[:5000],
    )
    locked.lifecycle_stage = to_stage
    locked.lifecycle_changed_at = at
    fields = ["lifecycle_stage", "lifecycle_changed_at", "updated_at"]
    if to_stage == LifecycleStage.MQL:
        locked.mql_at = at
        fields.append("mql_at")
    locked.save(update_fields=fields)
    contact.lifecycle_stage, contact.lifecycle_changed_at, contact.mql_at = to_stage, at, locked.mql_at
    stage_events(
        [
            {
                "contact": contact_event_data(locked),
                "from_stage": transition.from_stage,
                "to_stage": to_stage,
                "at": at,
            }
        ]
    )
    return transition


def contacts_refresh_touches(contact_ids: Iterable[int]) -> None:
    """Recompute first and last touch of the given contacts from their touchpoints, in one statement."""
    ids = sorted({int(i) for i in contact_ids if i})
    if not ids:
        return
    sql = """
    WITH ordered AS (
        SELECT t.contact_id, t.utm_source, t.utm_medium, t.campaign_id, t.referrer, t.occurred_at, t.channel,
               row_number() OVER (PARTITION BY t.contact_id ORDER BY t.occurred_at, t.id) AS first_rank,
               row_number() OVER (PARTITION BY t.contact_id
                                  ORDER BY t.occurred_at DESC, t.id DESC) AS last_rank
        FROM marketing_touchpoint t
        WHERE t.contact_id = ANY(%(ids)s)
    ),
    first_touch AS (SELECT * FROM ordered WHERE first_rank = 1),
    last_touch AS (SELECT * FROM ordered WHERE last_rank = 1)
    UPDATE marketing_contact c SET
        first_touch_source = COALESCE(NULLIF(f.utm_source, ''), f.channel, ''),
        first_touch_medium = COALESCE(f.utm_medium, ''),
        first_touch_campaign_id = f.campaign_id,
        first_touch_referrer = COALESCE(f.referrer, ''),
        first_touch_at = f.occurred_at,
        last_touch_source = COALESCE(NULLIF(l.utm_source, ''), l.channel, ''),
        last_touch_medium = COALESCE(l.utm_medium, ''),
        last_touch_campaign_id = l.campaign_id,
        last_touch_referrer = COALESCE(l.referrer, ''),
        last_touch_at = l.occurred_at
    FROM first_touch f JOIN last_touch l ON l.contact_id = f.contact_id
    WHERE c.id = f.contact_id
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, {"ids": ids})
