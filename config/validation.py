"""Validation shared by every service: bad input becomes a ValidationError naming the field, never a
database error (PostgreSQL refuses NUL characters in text, for instance, with a 500 otherwise)."""

from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import models

NUL_MESSAGE = "This field cannot contain NUL characters."


def has_nul(value) -> bool:
    """A NUL character in text, in an array of text, or anywhere in a JSON value (keys included)."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(has_nul(key) or has_nul(item) for key, item in value.items())
    if isinstance(value, list | tuple):
        return any(has_nul(item) for item in value)
    return False


def check_text(instance: models.Model) -> dict[str, list[str]]:
    """NUL characters anywhere in the instance's text, arrays of text and JSON (PostgreSQL's jsonb refuses
    ``\u0000`` too: a 500 found by schemathesis in a scoring rule's condition)."""
    return {
        field.name: [NUL_MESSAGE]
        for field in instance._meta.concrete_fields
        if has_nul(getattr(instance, field.attname, None))
    }


def full_clean(instance: models.Model, *, exclude: Iterable[str] | None = None) -> None:
    """``Model.full_clean`` preceded by the NUL check, with one combined error.

    Check constraints are left to the services, which test them first with messages that name the
    field ("The end date cannot be before the start date."); the database constraints stay the backstop.
    """
    errors: dict[str, list] = dict(check_text(instance))
    try:
        instance.full_clean(exclude=list(exclude or []) + list(errors), validate_constraints=False)
    except ValidationError as exc:
        for field, items in exc.error_dict.items():  # the errors themselves, so codes ("unique") survive
            errors.setdefault(field, []).extend(items)
    if errors:
        raise ValidationError(errors)


def strip_text(data: dict) -> dict:
    """Trim surrounding whitespace of every string value."""
    return {key: value.strip() if isinstance(value, str) else value for key, value in data.items()}


def unknown_fields(data: dict, allowed: Iterable[str]) -> dict[str, list[str]]:
    allowed = set(allowed)
    return {key: ["Unknown field."] for key in data if key not in allowed}


def clean_into(instance: models.Model, errors: dict[str, list[str]]) -> None:
    """Run :func:`full_clean` on the fields not already in ``errors`` and add its messages to them."""
    try:
        full_clean(instance, exclude=list(errors))
    except ValidationError as exc:
        for field, items in exc.error_dict.items():
            errors.setdefault(field, []).extend(items)


def resolve_ids(model: type[models.Model], value, field: str, errors: dict) -> list | None:
    """The rows for a list of ids (or instances); a field error when any is missing or malformed."""
    if not isinstance(value, list | tuple):
        errors[field] = [f"Give a list of existing {model._meta.verbose_name} ids."]
        return None
    try:
        wanted = {int(item.pk if isinstance(item, models.Model) else item) for item in value}
    except (TypeError, ValueError):
        wanted = None
    rows = list(model.objects.filter(pk__in=wanted)) if wanted is not None else []
    if wanted is None or len(rows) != len(wanted):
        errors[field] = [f"Give a list of existing {model._meta.verbose_name} ids."]
        return None
    return rows


def is_id(value) -> bool:
    """A database id written as text: ASCII digits only (``"²".isdigit()`` is True, ``int("²")`` fails) and
    short enough for a bigint."""
    return isinstance(value, str) and value.isascii() and value.isdigit() and 0 < len(value) < 19
