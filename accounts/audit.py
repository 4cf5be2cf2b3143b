"""The audit log: one entry per write operation, whoever made it and however it arrived.

- **Portal and API.** ``AuditMiddleware`` wraps every request on a workspace host that is not a read
  (POST, PUT, PATCH, DELETE). While the view runs, the rows it saves and deletes are captured (Django's
  ``post_save``/``post_delete``, for every model of the workspace apps but the log's own bookkeeping); when
  the answer is a success (below 400, and not an idempotent replay) one entry is written: the actor (the
  person, or the API key's prefix), the action (method and route), the object (the first row written, or
  the one the path names), the fields changed, every row touched, the status and the request id.
- **Bulk writes** (a batch, an import) that bypass model signals say what they did with :func:`note`.
- **Tasks.** ``config.celery.TenantBoundTask`` captures a workspace task the same way; a run that wrote
  nothing leaves no entry (the periodic checks run every few minutes).
- **Platform actions** on a workspace (deactivate, plan, retry) are written into that workspace's log by
  the console with :func:`record_platform`.

Entries cannot be changed or deleted (``AuditEntry`` refuses, and so does a trigger in the database);
the only rewrite is :func:`pseudonymise`, for the erasure of a person's data.

These signal receivers are the one place the project uses Django signals: the log observes writes, it
takes no part in them.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from django.db.models.signals import post_delete, post_save

logger = logging.getLogger(__name__)

WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
MAX_CHANGES = 50  # rows listed in one entry; ``count`` has them all
# Bookkeeping that is not a write anyone made: the log itself, sessions, counters, replay records, and the
# webhook delivery log (its own log).
IGNORED = {
    "accounts.AuditEntry",
    "accounts.RateCounter",
    "accounts.IdempotencyRecord",
    "accounts.WebhookAttempt",
    "alignment.PageVisit",
}
AUDITED_APPS = ("accounts", "marketing", "sales", "alignment")
# Fields never worth listing as "changed".
QUIET_FIELDS = {"updated_at", "last_login", "password"}


@dataclass
class Capture:
    changes: list[dict[str, Any]] = field(default_factory=list)
    count: int = 0
    notes: dict[str, Any] = field(default_factory=dict)

    def add(self, change: dict[str, Any]) -> None:
        self.count += 1
        if len(self.changes) < MAX_CHANGES:
            self.changes.append(change)

    @property
    def total(self) -> int:
        """Rows written: those the signals saw and those :func:`note` reported (bulk writes they miss)."""
        return self.count + self.notes.get("count", 0)

    def listed(self, details: dict[str, Any]) -> list[dict[str, Any]]:
        return self.changes + ([{"details": details}] if details else [])


_current: contextvars.ContextVar[Capture | None] = contextvars.ContextVar("tandem_audit", default=None)


def note(*, count: int | None = None, object_type: str = "", object_id: Any = None, **details: Any) -> None:
    """Tell the entry being captured about writes the model signals do not see (``bulk_create``,
    ``update()``, SQL): how many rows, which object, anything else worth keeping (kept in ``changes``)."""
    capture = _current.get()
    if capture is None:
        return
    if count is not None:
        capture.notes["count"] = capture.notes.get("count", 0) + int(count)
    if object_type:
        capture.notes["object_type"] = object_type
        capture.notes["object_id"] = "" if object_id is None else str(object_id)
    if details:
        capture.notes.setdefault("details", {}).update(details)


def _label(sender) -> str | None:
    meta = sender._meta
    if meta.app_label not in AUDITED_APPS or meta.label in IGNORED:
        return None
    return meta.label


def _saved(sender, instance, created, update_fields=None, raw=False, **kwargs) -> None:
    capture = _current.get()
    if capture is None or raw or (label := _label(sender)) is None:
        return
    if update_fields:
        fields = sorted(set(update_fields) - QUIET_FIELDS)
    elif created:
        fields = []
    else:
        fields = sorted({f.name for f in sender._meta.concrete_fields if not f.primary_key} - QUIET_FIELDS)
    capture.add(
        {"model": label, "id": instance.pk, "op": "create" if created else "update", "fields": fields}
    )


def _deleted(sender, instance, **kwargs) -> None:
    capture = _current.get()
    if capture is None or (label := _label(sender)) is None:
        return
    capture.add({"model": label, "id": instance.pk, "op": "delete", "fields": []})


post_save.connect(_saved, dispatch_uid="tandem-audit-saved")
post_delete.connect(_deleted, dispatch_uid="tandem-audit-deleted")


def begin() -> contextvars.Token:
    return _current.set(Capture())


def end(token: contextvars.Token) -> Capture:
    capture = _current.get()
    _current.reset(token)
    return capture or Capture()


def _object(capture: Capture, fallback_type: str = "", fallback_id: Any = None) -> tuple[str, str, list[str]]:
    if capture.notes.get("object_type"):
        return capture.notes["object_type"], capture.notes.get("object_id", ""), []
    if capture.changes:
        first = capture.changes[0]
        return first["model"], str(first["id"] or ""), list(first["fields"])
    return fallback_type, "" if fallback_id is None else str(fallback_id), []


def _write(
    capture: Capture | None = None,
    *,
    details: dict[str, Any] | None = None,
    fallback_object: tuple[str, Any] = ("", None),
    **values: Any,
) -> None:
    """Write one entry: ``values`` as given, and from ``capture`` the object, its changed fields, the rows
    touched and their count."""
    from .models import AuditEntry

    if capture is not None:
        object_type, object_id, fields = _object(capture, *fallback_object)
        values.update(
            object_type=object_type[:60],
            object_id=object_id[:64],
            changed_fields=[f[:60] for f in fields],
            changes=capture.listed(details or {}),
            count=capture.total,
        )
    values["action"] = values["action"][:120]
    values["request_id"] = (values.get("request_id") or "")[:64]
    if connection.schema_name == "public":
        return  # the public site has no log (its writes are sign-ups, recorded on the workspace)
    try:
        with transaction.atomic():
            AuditEntry.objects.create(**values)
    except Exception:  # the write happened: losing its entry must not turn it into a 500
        logger.exception("could not write an audit entry for %s", values.get("action"))


def actor_of(user) -> tuple[str, int | None, str]:
    from .api_auth import ApiKeyPrincipal
    from .models import AuditEntry, User

    if isinstance(user, User):
        return AuditEntry.ActorKind.USER, user.pk, user.email
    if isinstance(user, ApiKeyPrincipal):
        key = user.api_key
        return AuditEntry.ActorKind.API_KEY, key.pk, f"key {key.prefix}"
    return AuditEntry.ActorKind.ANONYMOUS, None, ""


def record_request(request, response, capture: Capture) -> None:
    from .models import AuditEntry

    match = getattr(request, "resolver_match", None)
    route = match.view_name if match else ""
    kwargs = match.kwargs if match else {}
    path_id = next((v for k, v in kwargs.items() if k in ("pk", "id")), None)
    kind, actor_id, label = actor_of(getattr(request, "user", None))
    _write(
        capture,
        details=capture.notes.get("details", {}),
        fallback_object=(route, path_id),
        source=AuditEntry.Source.API if request.path.startswith("/api/") else AuditEntry.Source.PORTAL,
        actor_kind=kind,
        actor_id=actor_id,
        actor_label=label,
        action=f"{request.method} {route}",
        method=request.method,
        path=request.path[:500],
        status=response.status_code,
        request_id=getattr(request, "id", ""),
    )


def record_read(request, response, *, object_type: str, object_id: Any, count: int, **details: Any) -> None:
    """A read worth its own entry (an export of a person's data): logged like a write."""
    capture = Capture(
        notes={"object_type": object_type, "object_id": str(object_id), "count": count, "details": details}
    )
    record_request(request, response, capture)


class AuditMiddleware:
    """One entry per successful write request on a workspace host (after authentication, so the actor is
    known; DRF puts the key's principal on the request as it authenticates)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method not in WRITE_METHODS or getattr(request, "tenant", None) is None:
            return self.get_response(request)
        token = begin()
        try:
            response = self.get_response(request)
        finally:
            capture = end(token)
        if (
            response.status_code < 400
            and response.get("Idempotent-Replayed") != "true"
            and not getattr(request, "audit_skip", False)
        ):
            record_request(request, response, capture)
        return response


def skip(request) -> None:
    """Mark a POST that writes nothing (a count preview) so it leaves no entry."""
    request = getattr(request, "_request", request)
    request.audit_skip = True


# --- tasks -----------------------------------------------------------------------------------------


def task_end(token: contextvars.Token, *, task_name: str, task_id: str, succeeded: bool) -> None:
    """Close the capture a workspace task ran in (``config.celery.TenantBoundTask``); a successful run
    that wrote something leaves one entry."""
    from .models import AuditEntry

    capture = end(token)
    if not succeeded or not capture.total:
        return
    details = dict(capture.notes.get("details", {}))
    actor = details.pop("actor", None)
    kind, actor_id, label = actor_of(actor) if actor is not None else (AuditEntry.ActorKind.SYSTEM, None, "")
    _write(
        capture,
        details=details,
        source=AuditEntry.Source.TASK,
        actor_kind=kind,
        actor_id=actor_id,
        actor_label=label or f"task {task_name}",
        action=f"task {task_name}",
        request_id=task_id,
    )


# --- platform actions ------------------------------------------------------------------------------


def record_platform(*, tenant, action: str, actor_email: str, details: dict | None = None) -> None:
    """A platform admin's action on a workspace, written into that workspace's own log."""
    from django_tenants.utils import schema_context

    from .models import AuditEntry

    if not getattr(tenant, "ready", False):
        return  # no schema yet
    with schema_context(tenant.schema_name):
        _write(
            source=AuditEntry.Source.PLATFORM,
            actor_kind=AuditEntry.ActorKind.PLATFORM,
            actor_label=actor_email,
            action=f"platform {action}",
            object_type="tenancy.Tenant",
            object_id=str(tenant.pk),
            changes=[{"details": details}] if details else [],
            count=1,
        )


# --- erasure -----------------------------------------------------------------------------------------


def pseudonymise(*, actor_kind: str, actor_id: int, label: str) -> int:
    """Replace a person's name in the entries they made with ``label`` (the erasure of their data). One of
    the two changes the log allows: the database trigger lets it through while the flag is on."""
    from .models import AuditEntry

    with _rewriting() as cursor:
        cursor.execute(
            f"UPDATE {AuditEntry._meta.db_table} SET actor_label = %s"  # noqa: S608
            " WHERE actor_kind = %s AND actor_id = %s",
            [label, actor_kind, actor_id],
        )
        return cursor.rowcount


def rewrite(entries: list[tuple[int, Any]]) -> int:
    """Give entries a new list of changes: ``(id, changes)``, a contact's identifiers replaced
    (``accounts.personal_data``). The other change the log allows."""
    from django.core.serializers.json import DjangoJSONEncoder
    from psycopg.types.json import Jsonb

    from .models import AuditEntry

    if not entries:
        return 0
    changed = 0
    with _rewriting() as cursor:
        for entry_id, changes in entries:
            cursor.execute(
                f"UPDATE {AuditEntry._meta.db_table} SET changes = %s WHERE id = %s",  # noqa: S608
                [Jsonb(changes, dumps=DjangoJSONEncoder().encode), entry_id],
            )
            changed += cursor.rowcount
    return changed


@contextlib.contextmanager
def _rewriting():
    """A cursor with the log's rewrite flag on, and off again before the transaction goes on (a failure
    rolls the savepoint back, and the flag with it)."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL tandem.audit_rewrite = 'on'")
        yield cursor
        cursor.execute("SET LOCAL tandem.audit_rewrite = 'off'")
