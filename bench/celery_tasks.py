"""The floor task of the Celery fan-out benchmark (bench/celery_bench.py): a per-tenant task that does
nothing, through the same task base, schema switch and checks as every per-tenant task. Loaded only by the
benchmark's worker (``--include bench.celery_tasks``)."""

from __future__ import annotations

from config.celery import tenant_task


@tenant_task(name="bench.noop")
def noop(*, tenant_schema: str) -> None:
    return None


@tenant_task(name="bench.noop_acks_late", acks_late=True, reject_on_worker_lost=True)
def noop_acks_late(*, tenant_schema: str) -> None:
    """The same, delivered as the metric refresh is: acknowledged after it ran."""
    return None
