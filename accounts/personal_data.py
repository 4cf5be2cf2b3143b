"""Everything held about one person (a marketing contact): exported as JSON, or erased.

Each app declares its share in its own ``personal_data`` module and registers it from ``AppConfig.ready``:

- a :class:`Part` per table that holds a person's data: what the export lists from it, and what erasure
  does to it (delete the rows that are about the person, unlink and scrub the business records that stay,
  such as a deal they were the lead of);
- every other table of the workspace, with the reason it holds no one's personal data.

A table that is neither fails ``tests/accounts/test_personal_data.py``, so a new table cannot be forgotten;
a table with a foreign key to the contact (or to a part) must be a part.

Erasure runs in one transaction, the parts in ``stage`` order (the contact row itself last), then the
files and cache entries once it has committed. Besides the rows linked by key, copies of the person's
identifiers (e-mail address, full name, phone, the addresses they submitted forms from, the anonymous ids
of their visits) are searched for and replaced with ``[erased]`` wherever text is kept: webhook payloads
and receivers' answers, stored idempotent responses, notes, notifications, import files and their error
reports, and the audit log (the one rewrite the log allows).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, models, transaction
from django.db.models import Q, TextField
from django.db.models.functions import Cast
from django.utils import timezone

ERASED = "[erased]"
FORMAT = "tandem.personal-data/1"
MIN_NAME = 4  # a shorter full name ("Al") is not searched for in free text: it would match other words


@dataclass
class Person:
    """The contact being exported or erased, and the strings that name them wherever text is kept.

    An identifier matches only as a whole: ``ann@x.com`` is not found in ``joann@x.com`` nor ``Ann Lee`` in
    ``Joann Leeds``. SQL finds candidate rows (a case-insensitive substring), and :meth:`found_in` decides."""

    contact: Any
    identifiers: set[str] = field(default_factory=set)
    # Weaker: a first or last name alone is replaced only where it is a whole value (a payload's
    # "last_name") of a row one of the identifiers was found in; in running text it could be anyone's.
    names: set[str] = field(default_factory=set)
    # Work to do once the erasure has committed (files, cache entries).
    after_commit: list[Callable[[], None]] = field(default_factory=list)

    @property
    def id(self) -> int:
        return self.contact.pk

    def add(self, *values: str | None) -> None:
        for value in values:
            value = (value or "").strip()
            if len(value) >= MIN_NAME:
                self.identifiers.add(value)
        self.__dict__.pop("pattern", None)

    @functools.cached_property
    def pattern(self) -> re.Pattern | None:
        if not self.identifiers:
            return None
        alternatives = "|".join(re.escape(i) for i in sorted(self.identifiers, key=lambda s: (-len(s), s)))
        return re.compile(rf"{BEFORE}(?:{alternatives}){AFTER}", re.IGNORECASE)

    def found_in(self, value: Any) -> bool:
        """Whether one of the identifiers is in ``value`` (text, or any string inside lists and dicts)."""
        if self.pattern is None:
            return False
        if isinstance(value, str):
            return self.pattern.search(value) is not None
        if isinstance(value, list | tuple):
            return any(self.found_in(v) for v in value)
        if isinstance(value, dict):
            return any(self.found_in(k) or self.found_in(v) for k, v in value.items())
        return value is not None and not isinstance(value, bool | int | float) and self.found_in(str(value))


# An identifier is whole when it is not glued to the text around it: no letter, digit or e-mail character
# before it, none after it but a full stop that ends a sentence.
BEFORE = r"(?<![\w.+@-])"
AFTER = r"(?![\w@-]|\.\w)"


@dataclass(frozen=True)
class Part:
    """One table's share of a person's data."""

    name: str  # its key in the export
    model: str  # "app_label.Model"
    export: Callable[[Person], list[dict]]
    erase: Callable[[Person], dict[str, int]]  # {"deleted": n, "anonymised": n, "scrubbed": n}
    stage: int = 50  # erasure order: lower first; the contact row is 100
    identify: Callable[[Person], Iterable[str]] | None = None  # more strings that name the person
    description: str = ""


_parts: dict[str, Part] = {}
_unrelated: dict[str, str] = {}


def register(*parts: Part, unrelated: dict[str, str] | None = None) -> None:
    for part in parts:
        _parts[part.name] = part
    _unrelated.update(unrelated or {})


def parts() -> list[Part]:
    return sorted(_parts.values(), key=lambda p: (p.stage, p.name))


def unrelated() -> dict[str, str]:
    return dict(_unrelated)


# --- helpers for the parts ---------------------------------------------------------------------------


def rows(queryset, *fields: str) -> list[dict]:
    """The rows as plain dicts (every concrete column unless ``fields`` names them), one query."""
    return list(queryset.values(*fields))


def scrub(value: Any, person: Person) -> Any:
    """``value`` with every identifier of the person replaced by ``[erased]``, inside lists and dicts too, and
    a value that is their first or last name alone replaced whole."""
    if isinstance(value, str):
        if value.strip().lower() in person.names:
            return ERASED
        return person.pattern.sub(ERASED, value) if person.pattern is not None else value
    if isinstance(value, list):
        return [scrub(v, person) for v in value]
    if isinstance(value, dict):
        return {scrub(k, person): scrub(v, person) for k, v in value.items()}
    return value


def mentioning(model: type[models.Model], fields: Iterable[str], person: Person):
    """The rows of ``model`` whose text or JSON in ``fields`` contains one of the person's identifiers."""
    if not person.identifiers:
        return model.objects.none()
    qs = model._default_manager.all()
    condition = Q()
    for name in fields:
        column = model._meta.get_field(name)
        if isinstance(column, models.JSONField | models.GenericIPAddressField):
            alias = f"_{name}_text"
            qs = qs.annotate(**{alias: Cast(name, TextField())})
            name = alias
        for identifier in person.identifiers:
            condition |= Q(**{f"{name}__icontains": identifier})
    return qs.filter(condition)


def mention_ids(model: type[models.Model], fields: Iterable[str], person: Person) -> list[int]:
    """The ids of the rows of ``model`` that name the person in ``fields`` (whole identifiers only)."""
    fields = list(fields)
    candidates = mentioning(model, fields, person).values_list("pk", *fields)
    return [pk for pk, *values in candidates if person.found_in(values)]


def scrub_rows(model: type[models.Model], fields: Iterable[str], person: Person) -> int:
    """Replace the person's identifiers in ``fields`` of the rows that name them; the number changed. Only
    the few candidate rows are loaded; a text is cut to its column's length (``[erased]`` may be longer)."""
    fields = list(fields)
    changed = []
    for row in mentioning(model, fields, person):
        before = [getattr(row, f) for f in fields]
        if not person.found_in(before):
            continue
        after = [_fit(model, f, scrub(v, person)) for f, v in zip(fields, before, strict=True)]
        if after != before:
            for name, value in zip(fields, after, strict=True):
                setattr(row, name, value)
            changed.append(row)
    if changed:
        model._default_manager.bulk_update(changed, fields)
    return len(changed)


def _fit(model: type[models.Model], name: str, value: Any) -> Any:
    limit = getattr(model._meta.get_field(name), "max_length", None)
    return value[:limit] if isinstance(value, str) and limit else value


def counts(deleted: int = 0, anonymised: int = 0, scrubbed: int = 0) -> dict[str, int]:
    return {"deleted": deleted, "anonymised": anonymised, "scrubbed": scrubbed}


def deleted(queryset) -> int:
    """Delete the rows (and what cascades from them); the number of rows of the queryset's own model."""
    return queryset.delete()[1].get(queryset.model._meta.label, 0)


# --- export and erasure --------------------------------------------------------------------------------


def person_of(contact) -> Person:
    person = Person(contact=contact)
    person.names = {n.strip().lower() for n in (contact.first_name, contact.last_name) if n.strip()}
    for part in parts():
        if part.identify is not None:
            person.add(*part.identify(person))
    return person


def export(contact) -> dict:
    """Everything held about ``contact``: one key per part, each a list of rows (JSON-ready through
    DjangoJSONEncoder)."""
    person = person_of(contact)
    data: dict[str, Any] = {
        "format": FORMAT,
        "workspace": connection.tenant.slug if hasattr(connection.tenant, "slug") else connection.schema_name,
        "exported_at": timezone.now(),
        "contact_id": contact.pk,
    }
    for part in parts():
        data[part.name] = part.export(person)
    return data


def export_note(contact, data: dict) -> dict:
    """What the audit entry of an export says: the contact and the rows handed over, per part."""
    listed = {name: len(value) for name, value in data.items() if isinstance(value, list) and value}
    return {
        "object_type": contact._meta.label,
        "object_id": contact.pk,
        "count": sum(listed.values()),
        "exported": listed,
    }


def erase(contact) -> dict[str, dict[str, int]]:
    """Remove the person from every table, file and cache entry; the work done, per part.

    Call it inside the request's transaction or on its own; files and cache entries change once the
    transaction has committed."""
    from . import audit, webhooks

    with transaction.atomic():
        locked = type(contact)._default_manager.select_for_update().filter(pk=contact.pk).first()
        if locked is None:  # erased by someone else while this waited for the row
            raise type(contact).DoesNotExist
        person = person_of(locked)
        contact = locked
        done = {part.name: part.erase(person) for part in parts()}
        # Rows deleted through the ORM reach the entry by its signals; bulk updates do not, so they are noted.
        audit.note(
            count=sum(c["anonymised"] + c["scrubbed"] for c in done.values()),
            object_type=contact._meta.label,
            object_id=person.id,
            erased={name: c for name, c in done.items() if any(c.values())},
        )
        # Partners who copied the person through the API or webhooks must erase them too (GDPR art. 19).
        webhooks.emit("contact.erased", {"contact": {"id": person.id, "erased_at": timezone.now()}})
        schema = connection.schema_name  # the request may be over, and the connection on public, by then
        for job in person.after_commit:
            transaction.on_commit(functools.partial(_in_schema, schema, job), robust=True)
    return done


def _in_schema(schema: str, job: Callable[[], None]) -> None:
    from django_tenants.utils import schema_context

    with schema_context(schema):
        job()


def summary(done: dict[str, dict[str, int]]) -> dict[str, int]:
    return {
        kind: sum(c.get(kind, 0) for c in done.values()) for kind in ("deleted", "anonymised", "scrubbed")
    }


# --- accounts' share: copies kept by the API and the log ------------------------------------------------


def _webhook_events_export(person: Person) -> list[dict]:
    from .models import WebhookEvent

    found = mention_ids(WebhookEvent, ["data"], person)
    return rows(WebhookEvent.objects.filter(pk__in=found).order_by("id"), "id", "type", "created", "data")


def _webhook_events_erase(person: Person) -> dict[str, int]:
    from .models import WebhookEvent

    return counts(scrubbed=scrub_rows(WebhookEvent, ["data"], person))


def _webhook_attempts_export(person: Person) -> list[dict]:
    from .models import WebhookAttempt

    found = mention_ids(WebhookAttempt, ["response", "error"], person)
    return rows(WebhookAttempt.objects.filter(pk__in=found).order_by("id"), "id", "at", "status_code")


def _webhook_attempts_erase(person: Person) -> dict[str, int]:
    from .models import WebhookAttempt

    return counts(scrubbed=scrub_rows(WebhookAttempt, ["response", "error"], person))


def _replays(person: Person) -> list:
    """Stored API answers (kept 24 hours for an Idempotency-Key's retry) that name the person: candidates by
    a byte search in SQL (one query), decided by :meth:`Person.found_in` on the decoded answer."""
    from .models import IdempotencyRecord

    if not person.identifiers:
        return []
    found = IdempotencyRecord.objects.raw(
        f"SELECT * FROM {IdempotencyRecord._meta.db_table} r"  # noqa: S608 - the model's own table
        " WHERE EXISTS (SELECT 1 FROM unnest(%s::text[]) AS i(value) WHERE strpos("
        "lower(encode(r.body, 'escape')), lower(encode(convert_to(i.value, 'UTF8'), 'escape'))) > 0)"
        " ORDER BY r.id",
        [sorted(person.identifiers)],
    )
    return [record for record in found if person.found_in(bytes(record.body).decode("utf-8", "replace"))]


def _replays_export(person: Person) -> list[dict]:
    return [
        {"id": r.pk, "method": r.method, "path": r.path, "status_code": r.status_code, "created": r.created}
        for r in _replays(person)
    ]


def _replays_erase(person: Person) -> dict[str, int]:
    """The answer is scrubbed, not deleted: a retry with the same key must still replay, not redo the write
    (which could create the person again)."""
    from .models import IdempotencyRecord

    records = _replays(person)
    for record in records:
        text = bytes(record.body).decode("utf-8", "replace")
        try:
            record.body = json.dumps(scrub(json.loads(text), person), ensure_ascii=False).encode()
        except ValueError:
            record.body = scrub(text, person).encode()
    IdempotencyRecord.objects.bulk_update(records, ["body"])
    return counts(scrubbed=len(records))


def _audit_export(person: Person) -> list[dict]:
    from .models import AuditEntry

    about = Q(object_type=person.contact._meta.label, object_id=str(person.id))
    found = mention_ids(AuditEntry, ["changes"], person)
    return rows(
        AuditEntry.objects.filter(about | Q(pk__in=found)).order_by("id"),
        "id", "at", "source", "actor_label", "action", "object_type", "object_id", "changed_fields",
        "changes",
    )  # fmt: skip


def _audit_erase(person: Person) -> dict[str, int]:
    """Entries stay (who did what, when); the person's identifiers in their lists of changes are replaced.
    Entries about the contact keep its id, which names no one once the row is gone. The actor stays: a
    workspace user who is also a contact keeps their own trail."""
    from . import audit
    from .models import AuditEntry

    changed = []
    for entry in mentioning(AuditEntry, ["changes"], person):
        if person.found_in(entry.changes):
            changes = scrub(entry.changes, person)
            if changes != entry.changes:
                changed.append((entry.pk, changes))
    return counts(scrubbed=audit.rewrite(changed))


register(
    Part(
        name="webhook_events",
        model="accounts.WebhookEvent",
        export=_webhook_events_export,
        erase=_webhook_events_erase,
        description="Webhook payloads that carry the person (scrubbed; partners get contact.erased).",
    ),
    Part(
        name="webhook_answers",
        model="accounts.WebhookAttempt",
        export=_webhook_attempts_export,
        erase=_webhook_attempts_erase,
        description="Receivers' answers to those webhooks, where they echo the person (scrubbed).",
    ),
    Part(
        name="stored_api_answers",
        model="accounts.IdempotencyRecord",
        export=_replays_export,
        erase=_replays_erase,
        description="API answers kept for an Idempotency-Key's retry that contain the person (scrubbed).",
    ),
    Part(
        name="audit_entries",
        model="accounts.AuditEntry",
        export=_audit_export,
        erase=_audit_erase,
        stage=95,
        description="Log entries about the contact or naming the person (pseudonymised).",
    ),
    unrelated={
        "accounts.User": "workspace users (people who sign in), not contacts",
        "accounts.Invitation": "invitations of workspace users",
        "accounts.ApiKey": "API keys",
        "accounts.RateCounter": "request counts per key and window",
        "accounts.WebhookSubscription": "partners' webhook endpoints",
        "accounts.WebhookDelivery": "delivery state of a webhook event (the payload is in WebhookEvent)",
        "auth.Permission": "Django's permission names",
        "auth.Group": "Django's groups (unused)",
        "contenttypes.ContentType": "Django's model names",
        "sessions.Session": "workspace users' sign-in sessions; contacts never sign in",
    },
)
