"""Batch upserts for partners: up to 1,000 contacts (by e-mail) or companies (by domain, then name) in
one call, each item validated and written on its own (a savepoint each), so one bad item never stops
the others; one result per item, in order."""

from __future__ import annotations

from collections.abc import Callable

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models.functions import Lower

from ..models import Company
from .contacts import clean_domain, company_create, company_update

MAX_ITEMS = 1000


def company_upsert(*, data: dict) -> tuple[Company, bool]:
    """The company with the item's domain (ignoring case), else the one with its name when neither has
    another domain, updated; otherwise a new one."""
    domain = clean_domain(str(data.get("domain") or ""))
    name = str(data.get("name") or "").strip()
    match = None
    if domain:
        match = Company.objects.annotate(ldomain=Lower("domain")).filter(ldomain=domain.lower()).first()
    if match is None and name:
        named = Company.objects.filter(name__iexact=name).order_by("id").first()
        if named is not None and not (domain and named.domain and named.domain.lower() != domain.lower()):
            match = named
    if match is None:
        return company_create(data=data), True
    return company_update(company=match, data=data), False


def upsert_items(
    items: list, *, validate: Callable[[dict], dict], save: Callable[[dict], tuple[object, bool]]
) -> list[dict]:
    """Each item checked by ``validate`` (field errors as a ValidationError or a dict) and written by
    ``save``; ``[{"index", "status": created|updated|error, "id"?, "errors"?}]``."""
    results = []
    for index, item in enumerate(items):
        try:
            if not isinstance(item, dict):
                raise ValidationError({"non_field_errors": ["Each item is an object."]})
            data = validate(item)
            with transaction.atomic():
                row, created = save(data)
        except ValidationError as exc:
            errors = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
            results.append({"index": index, "status": "error", "errors": errors})
        else:
            results.append({"index": index, "status": "created" if created else "updated", "id": row.pk})
    return results
