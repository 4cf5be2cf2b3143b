"""Lead capture forms: the form definition, its public submission, and the HTML to embed it elsewhere."""

from __future__ import annotations

import ipaddress
import re
import secrets
from typing import Any
from urllib.parse import parse_qs, urlsplit

from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.urls import reverse

from config.validation import NUL_MESSAGE, clean_into, strip_text, unknown_fields

from ..models import Campaign, Contact, FormSubmission, LeadForm, TouchpointKind
from ..models.contacts import Source
from .contacts import CONTACT_FIELDS, contact_upsert
from .touchpoints import touchpoints_record

FORM_FIELDS = ("name", "campaign", "fields", "thank_you_text", "redirect_url", "is_active")
FIELD_TYPES = ("text", "email", "tel", "textarea", "select", "checkbox")
SPEC_KEYS = ("name", "label", "type", "required", "options")
MAX_FIELDS = 30
MAX_OPTIONS = 100
MAX_LABEL = 200
MAX_THANK_YOU = 5000
# Contact fields a visitor may fill in; company, owner and unsubscribed are the workspace's business.
FORM_CONTACT_FIELDS = tuple(
    name for name in CONTACT_FIELDS if name not in ("company", "owner", "unsubscribed")
)
HONEYPOT = "website"
UTM_FIELDS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
# Hidden fields the hosted page and the view send along; a question cannot use these names.
RESERVED_NAMES = frozenset({HONEYPOT, "referrer", *UTM_FIELDS})
NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
TEL_RE = re.compile(r"^[0-9+()./\s-]{3,40}$")

MAX_KEYS = 50
MAX_VALUE_CHARS = 2000
MAX_TOTAL_BYTES = 20 * 1024
TRUE_VALUES = frozenset({"on", "true", "1", "yes"})


# --- Definition --------------------------------------------------------------------------------------


def _choices_of(name: str) -> list[str]:
    return [str(value) for value, _ in Contact._meta.get_field(name).choices or []]


def _allowed_types(name: str) -> tuple[str, ...]:
    if name == "email":
        return ("email",)
    if name == "consent_marketing":
        return ("checkbox",)
    if name in FORM_CONTACT_FIELDS:
        return ("select",) if _choices_of(name) else ("text", "tel", "textarea", "select")
    return FIELD_TYPES


def _clean_options(raw: Any, name: str, where: str, problems: list[str]) -> list[str]:
    choices = _choices_of(name) if name in FORM_CONTACT_FIELDS else []
    if raw is None and choices:
        return choices
    if not isinstance(raw, list) or not raw or len(raw) > MAX_OPTIONS:
        problems.append(f"{where}.options: give a list of 1 to {MAX_OPTIONS} options")
        return []
    options: list[str] = []
    for index, option in enumerate(raw):
        text = option.strip() if isinstance(option, str) else ""
        if not text or len(text) > MAX_LABEL or "\x00" in text:
            problems.append(f"{where}.options.{index}: give text of 1 to {MAX_LABEL} characters")
        elif text in options:
            problems.append(f"{where}.options.{index}: '{text}' is repeated")
        elif choices and text not in choices:
            problems.append(f"{where}.options.{index}: '{text}' is not one of {', '.join(choices)}")
        else:
            options.append(text)
    return options


def _clean_field(item: Any, where: str, problems: list[str]) -> dict | None:
    if not isinstance(item, dict):
        problems.append(f"{where}: each field must be an object")
        return None
    problems.extend(f"{where}: unknown key '{key}'" for key in item if key not in SPEC_KEYS)
    name = item.get("name")
    if not isinstance(name, str) or not NAME_RE.match(name):
        problems.append(f"{where}.name: use a-z, 0-9 and _, starting with a letter, at most 40 characters")
        return None
    if name in RESERVED_NAMES:
        problems.append(f"{where}.name: '{name}' is reserved")
        return None
    if name in CONTACT_FIELDS and name not in FORM_CONTACT_FIELDS:
        problems.append(f"{where}.name: '{name}' cannot be set from a form")
        return None
    allowed = _allowed_types(name)
    kind = item.get("type", allowed[0])
    if kind not in FIELD_TYPES:
        problems.append(f"{where}.type: unknown type '{kind}'")
    elif kind not in allowed:
        problems.append(f"{where}.type: '{name}' must be one of {', '.join(allowed)}")
    required = item.get("required", name == "email")
    if not isinstance(required, bool):
        problems.append(f"{where}.required: give true or false")
    elif name == "email" and not required:
        problems.append(f"{where}.required: the email field is always required")
    label = item.get("label") or name.replace("_", " ").capitalize()
    if not isinstance(label, str) or len(label.strip()) > MAX_LABEL or "\x00" in label:
        problems.append(f"{where}.label: give text of at most {MAX_LABEL} characters")
        label = name
    field = {"name": name, "label": label.strip(), "type": kind, "required": required is True}
    if kind == "select":
        field["options"] = _clean_options(item.get("options"), name, where, problems)
    elif item.get("options") is not None:
        problems.append(f"{where}.options: only select fields have options")
    return field


def fields_spec_clean(raw: Any) -> list[dict]:
    """The normalised field list (email first if it was missing), or a ValidationError on ``fields``
    whose messages name the item: ``fields.2.type: unknown type 'date'``."""
    if not isinstance(raw, list):
        raise ValidationError({"fields": ["fields: give a list of fields"]})
    problems: list[str] = []
    cleaned: list[dict] = []
    for index, item in enumerate(raw):
        field = _clean_field(item, f"fields.{index}", problems)
        if field is None:
            continue
        if any(other["name"] == field["name"] for other in cleaned):
            problems.append(f"fields.{index}.name: '{field['name']}' is used twice")
        cleaned.append(field)
    if not any(field["name"] == "email" for field in cleaned):
        cleaned.insert(0, {"name": "email", "label": "Email", "type": "email", "required": True})
    if len(cleaned) > MAX_FIELDS:
        problems.append(f"fields: at most {MAX_FIELDS} fields, email included")
    if problems:
        raise ValidationError({"fields": problems})
    return cleaned


def _scheme_and_query(url: str) -> tuple[str, str]:
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. an unclosed "[" in the host
        return "", ""
    return parts.scheme.lower(), parts.query


def _resolve_campaign(value: Any, errors: dict) -> Campaign | None:
    if value in (None, ""):
        return None
    try:
        if isinstance(value, bool):
            raise ValueError
        return Campaign.objects.get(pk=int(value))
    except (TypeError, ValueError, Campaign.DoesNotExist):
        errors["campaign"] = ["Unknown campaign."]
        return None


def _apply(form: LeadForm, data: dict) -> None:
    errors = unknown_fields(data, FORM_FIELDS)
    data = strip_text({key: value for key, value in data.items() if key not in errors})
    if "fields" in data:
        try:
            form.fields = fields_spec_clean(data["fields"])
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if "campaign" in data:
        form.campaign = _resolve_campaign(data["campaign"], errors)
    for key in ("name", "thank_you_text", "redirect_url"):
        if key in data:
            if isinstance(data[key], str):
                setattr(form, key, data[key])
            else:
                errors[key] = ["Give text."]
    if "is_active" in data:
        if isinstance(data["is_active"], bool):
            form.is_active = data["is_active"]
        else:
            errors["is_active"] = ["Give true or false."]
    if "thank_you_text" not in errors and len(form.thank_you_text) > MAX_THANK_YOU:
        errors["thank_you_text"] = [f"Use at most {MAX_THANK_YOU} characters."]
    if (
        "redirect_url" not in errors
        and form.redirect_url
        and _scheme_and_query(form.redirect_url)[0] not in ("http", "https")
    ):
        errors["redirect_url"] = ["Give an http:// or https:// address."]
    clean_into(form, errors)
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def form_create(*, data: dict, actor=None) -> LeadForm:
    # 144 random bits: a clash is not going to happen, and the unique key column would refuse it.
    form = LeadForm(key=secrets.token_urlsafe(18), created_by=actor)
    _apply(form, {"fields": [], **data})
    form.save()
    return form


@transaction.atomic
def form_update(*, form: LeadForm, data: dict) -> LeadForm:
    _apply(form, data)
    form.save(update_fields=[key for key in FORM_FIELDS if key in data])
    return form


@transaction.atomic
def form_delete(*, form: LeadForm) -> None:
    form.delete()


# --- Submission --------------------------------------------------------------------------------------


def form_active_by_key(*, key: str) -> LeadForm | None:
    """The active form with this key in the current schema; another workspace's key is simply unknown."""
    if not isinstance(key, str) or not 0 < len(key) <= 32:
        return None
    return LeadForm.objects.filter(key=key, is_active=True).first()


def _payload(data: Any) -> dict[str, Any]:
    """One value per key (the last, as ``QueryDict.get`` does), within the size limits."""
    if hasattr(data, "lists"):
        pairs = [(key, value) for key, values in data.lists() for value in values]
    elif isinstance(data, dict):
        pairs = list(data.items())
    else:
        raise ValidationError({NON_FIELD_ERRORS: ["Send the form's fields."]})
    errors: dict[str, list[str]] = {}
    payload: dict[str, Any] = {}
    total = 0
    for key, value in pairs:
        if not isinstance(key, str) or "\x00" in key or len(key) > 100:
            errors[NON_FIELD_ERRORS] = ["The submission contains an invalid field name."]
            continue
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = str(value)
        if value is not None and not isinstance(value, str | bool):
            errors[key] = ["Give a single value."]
            continue
        if isinstance(value, str):
            if "\x00" in value:
                errors[key] = [NUL_MESSAGE]
            elif len(value) > MAX_VALUE_CHARS:
                errors[key] = [f"Use at most {MAX_VALUE_CHARS} characters."]
            total += len(value.encode())
        total += len(key.encode())
        payload[key] = value
    if len(payload) > MAX_KEYS:
        errors[NON_FIELD_ERRORS] = [f"The submission has more than {MAX_KEYS} fields."]
    elif total > MAX_TOTAL_BYTES:
        errors[NON_FIELD_ERRORS] = [f"The submission is larger than {MAX_TOTAL_BYTES // 1024} KB."]
    if errors:
        raise ValidationError(errors)
    return payload


def _answer(field: dict, raw: Any, errors: dict) -> str | bool:
    name = field["name"]
    if field["type"] == "checkbox":
        ticked = raw is True or (isinstance(raw, str) and raw.strip().lower() in TRUE_VALUES)
        if field["required"] and not ticked:
            errors[name] = ["Tick this box to continue."]
        return ticked
    if isinstance(raw, bool):
        errors[name] = ["Give text."]
        return ""
    value = (raw or "").strip()
    if not value:
        if field["required"]:
            errors[name] = ["This field is required."]
        return ""
    if field["type"] == "email":
        value = value.lower()
        try:
            if len(value) > 254:
                raise ValidationError("too long")
            validate_email(value)
        except ValidationError:
            errors[name] = ["Enter a valid email address."]
    elif field["type"] == "tel" and not TEL_RE.match(value):
        errors[name] = ["Enter a valid phone number."]
    elif field["type"] == "select" and value not in field.get("options", []):
        errors[name] = ["Choose one of the options."]
    return value


def _text(value: Any, limit: int) -> str:
    return value.replace("\x00", "").strip()[:limit] if isinstance(value, str) else ""


def _ip(value: Any) -> str | None:
    try:
        return str(ipaddress.ip_address(value)) if isinstance(value, str) else None
    except ValueError:
        return None


def _utm(payload: dict[str, Any], page_url: str) -> dict[str, str]:
    """UTM parameters from the hidden fields, or else from the page's own address."""
    query = parse_qs(_scheme_and_query(page_url)[1])
    posted = {key: _text(payload.get(key), 200) for key in UTM_FIELDS}
    if any(posted.values()):
        return posted
    return {key: _text((query.get(key) or [""])[0], 200) for key in UTM_FIELDS}


@transaction.atomic
def form_submit(*, key: str, data: Any, meta: dict) -> FormSubmission:
    """Store one submission of the active form ``key`` of the current schema: contact (by email),
    touchpoint, submission row and counter, all or nothing.

    Raises ``LeadForm.DoesNotExist`` for a key that is unknown here (another workspace's key included)
    and ``ValidationError`` naming the fields. A filled honeypot returns an unsaved submission."""
    form = form_active_by_key(key=key)
    if form is None:
        raise LeadForm.DoesNotExist
    payload = _payload(data)
    if payload.get(HONEYPOT) not in (None, "", False):
        return FormSubmission(form=form)

    errors: dict[str, list[str]] = {}
    contact_data: dict[str, Any] = {}
    answers: dict[str, Any] = {}
    for field in form.fields:
        value = _answer(field, payload.get(field["name"]), errors)
        if field["name"] in FORM_CONTACT_FIELDS or field["name"] == "email":
            # An unticked consent box must not withdraw consent given earlier.
            if value not in ("", False):
                contact_data[field["name"]] = value
        else:
            answers[field["name"]] = value
    if errors:
        raise ValidationError(errors)

    contact, _ = contact_upsert(data=contact_data, source=Source.FORM)
    page_url = _text(meta.get("page_url"), 2000)
    referrer = _text(meta.get("referrer"), 2000)
    touch = {
        "kind": TouchpointKind.FORM_SUBMISSION,
        "contact_id": contact.pk,
        "campaign_id": form.campaign_id,
        "referrer": referrer,
        "url": page_url,
        **_utm(payload, page_url),
    }
    result = touchpoints_record(items=[touch], source=Source.FORM)[0]
    if result["status"] != "created":
        raise ValidationError(result.get("errors") or {NON_FIELD_ERRORS: ["The visit was not recorded."]})
    submission = FormSubmission.objects.create(
        form=form,
        contact=contact,
        touchpoint_id=result["id"],
        data=answers,
        ip_address=_ip(meta.get("ip")),
        user_agent=_text(meta.get("user_agent"), 300),
        referrer=referrer,
    )
    LeadForm.objects.filter(pk=form.pk).update(submission_count=F("submission_count") + 1)
    return submission


def form_embed_snippet(*, form: LeadForm, base_url: str) -> str:
    """Plain HTML to paste into another site: posts to ``/f/<key>/`` on the workspace host, no script."""
    path = reverse("form_public", kwargs={"key": form.key}, urlconf=settings.ROOT_URLCONF)
    return render_to_string(
        "marketing/public/embed.html",
        {"lead_form": form, "action": base_url.rstrip("/") + path, "honeypot": HONEYPOT},
    ).strip()
