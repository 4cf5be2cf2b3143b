from __future__ import annotations

from django.db import connection, transaction

from accounts.locks import try_workspace_lock
from config.celery import tenant_task


@tenant_task(name="marketing.rescore_contacts", acks_late=True)
def rescore_contacts(*, tenant_schema: str, contact_ids: list[int]) -> int:
    """Scores of the contacts whose touchpoints just arrived (idempotent)."""
    from .services.scoring import scores_recompute

    return scores_recompute(contact_ids=contact_ids)


@tenant_task(name="marketing.rescore_all", acks_late=True)
def rescore_all(*, tenant_schema: str) -> int | None:
    """Nightly: every contact's score decays with time, so all are recomputed. Skipped if running."""
    from .services.scoring import scores_recompute

    with transaction.atomic(), connection.cursor() as cursor:
        if not try_workspace_lock(cursor, "marketing.rescore"):  # this workspace's rescore is running
            return None
        return scores_recompute()


@tenant_task(name="marketing.record_segment_sizes", acks_late=True)
def record_segment_sizes(*, tenant_schema: str) -> int:
    """Nightly: every segment's size for the day (upserted, so a rerun changes nothing)."""
    from .services.segments import segments_record_sizes

    return segments_record_sizes()


# CSV imports run in their own module; importing it registers the task with the worker.
from .imports import tasks as _import_tasks  # noqa: E402,F401
