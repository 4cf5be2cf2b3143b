"""The transactional outbox: every task a write asks for goes through :func:`enqueue`.

``enqueue`` stores a row (``tenancy.OutboxMessage``, in ``public``) in the caller's transaction, so the
task is asked for if and only if the write commits. After the commit it tries to publish at once: one
connection attempt bounded by ``CELERY_BROKER_CONNECTION_TIMEOUT`` and ``retry=False``, no retry loop, so
a broker outage costs a request about a second at worst and never an error. The row is deleted once the
broker has the task; otherwise it stays, and is sent later by

- the relay (``tenancy.relay_outbox``, in the periodic schedule), and
- the next successful publish of the same process, which drains the backlog it knows it left.

Delivery is *at least once*: a process that dies between the broker taking the task and the row's delete
leaves the row, which the relay sends again when its claim runs out. The tasks sent this way look rows
up by id and claim or upsert what they write (notice e-mails are claimed before sending, imports run a
job once by its status, metrics and scores are upserted, webhook deliveries are claimed per row,
provisioning takes a lock and skips a ready tenant), so a repeat costs work, not correctness. The one
exception is the invitation e-mail: a repeat sends it twice, with the same link.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from celery import Task
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

logger = logging.getLogger(__name__)

PUBLIC = "public"
# How long a publisher holds the rows it took; past it, the relay takes them again (a crash halfway).
CLAIM_SECONDS = 60
# The relay leaves rows this young to their own after-commit publish.
RELAY_MIN_AGE_SECONDS = 5
RELAY_BATCH = 200
# A row naming a task this code does not have (renamed, or sent by a newer release) is set aside this long,
# so that it never blocks the rows behind it.
UNKNOWN_TASK_RETRY = dt.timedelta(hours=1)

# Set in this process when a publish failed, so that the next one that succeeds drains what was left.
_backlog = False


def enqueue(task: Task, schema: str, *, kwargs: dict[str, Any] | None = None) -> int:
    """Ask for ``task`` to run for ``schema`` (a tenant's, or ``"public"`` for a platform task) once the
    current transaction commits; nothing is sent if it rolls back. Returns the outbox row's id."""
    from accounts.tenancy.models import OutboxMessage

    from .celery import WrongSchemaError

    if not schema:
        raise WrongSchemaError(f"{task.name} needs a schema, got {schema!r}.")
    message = OutboxMessage.objects.create(schema_name=schema, task_name=task.name, kwargs=kwargs or {})
    pk = message.pk
    transaction.on_commit(lambda: _publish_now(pk))
    return pk


def _publish_now(pk: int) -> None:
    global _backlog
    if publish(ids=[pk]) and _backlog:
        _backlog = False
        relay()


def publish(*, ids: list[int] | None = None, min_age_seconds: float = 0, limit: int = RELAY_BATCH) -> int:
    """Send pending outbox rows (these ``ids``, or the oldest ``limit`` at least ``min_age_seconds`` old)
    and delete each one the broker took. Stops at the first failure; returns how many were sent."""
    global _backlog
    from accounts.tenancy.models import OutboxMessage

    from .celery import app

    now = timezone.now()
    with transaction.atomic():
        # Rows another publisher holds are skipped, not waited for.
        pending = (
            OutboxMessage.objects.select_for_update(skip_locked=True)
            .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
            .order_by("pk")
        )
        if ids is not None:
            pending = pending.filter(pk__in=ids)
        elif min_age_seconds:
            pending = pending.filter(created__lte=now - dt.timedelta(seconds=min_age_seconds))
        messages = list(pending[:limit])
        OutboxMessage.objects.filter(pk__in=[m.pk for m in messages]).update(
            claimed_until=now + dt.timedelta(seconds=CLAIM_SECONDS), attempts=F("attempts") + 1
        )
    sent = 0
    for index, message in enumerate(messages):
        task = app.tasks.get(message.task_name)
        if task is None:
            logger.error("outbox: no task named %s (#%s); set aside", message.task_name, message.pk)
            OutboxMessage.objects.filter(pk=message.pk).update(
                claimed_until=now + UNKNOWN_TASK_RETRY, last_error="unknown task"
            )
            continue
        try:
            _send(message, task)
        except Exception as exc:
            if app.conf.task_always_eager:
                raise  # an in-process run (tests): that is the task's own error, not the broker's
            _backlog = True
            logger.warning(
                "outbox: could not publish %s for %s (#%s, attempt %s); the relay will send it: %s",
                message.task_name, message.schema_name, message.pk, message.attempts + 1, exc,
            )  # fmt: skip
            OutboxMessage.objects.filter(pk__in=[m.pk for m in messages[index:]]).update(
                claimed_until=None, last_error=f"{type(exc).__name__}: {exc}"[:300]
            )
            break
        OutboxMessage.objects.filter(pk=message.pk).delete()
        sent += 1
    return sent


def relay(*, min_age_seconds: float = 0, max_batches: int = 10) -> int:
    """Send what is pending, in batches, until none is left or the broker fails. Returns how many."""
    total = 0
    for _ in range(max_batches):
        sent = publish(min_age_seconds=min_age_seconds)
        total += sent
        if sent < RELAY_BATCH:
            break
    return total


def _send(message, task: Task) -> None:
    from .celery import app

    if not app.conf.task_always_eager:
        # One bounded connection attempt (a pooled connection that is up returns at once); the publish
        # itself then runs with retry=False, so nothing here loops while the broker is down.
        with app.producer_or_acquire() as producer:
            producer.connection.ensure_connection(
                max_retries=1, interval_start=0, timeout=app.conf.broker_connection_timeout
            )
            _apply(message, task, producer=producer)
        return
    _apply(message, task)


def _apply(message, task: Task, **options: Any) -> None:
    from .celery import send_to_platform, send_to_tenant

    # Nobody waits on these results: not subscribing to one keeps the result backend out of the send.
    options.update(kwargs=dict(message.kwargs), retry=False, ignore_result=True)
    if message.schema_name == PUBLIC:
        send_to_platform(task, **options)
    else:
        send_to_tenant(task, message.schema_name, **options)
