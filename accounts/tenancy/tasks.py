from __future__ import annotations

import random

from django.db import OperationalError

from config.celery import app, platform_task, send_to_tenant


@platform_task(
    name="tenancy.provision_tenant",
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(OperationalError,),
    max_retries=5,
    retry_backoff=True,
)
def provision_tenant(tenant_id: int) -> str:
    from .services import tenant_provision

    return tenant_provision(tenant_id=tenant_id).schema_name


def dispatch_plan(schemas: list[str], period_seconds: float) -> list[tuple[str, float, float]]:
    """(schema, countdown, expires) per tenant: sends are spread over up to a fifth of the period
    (at most a minute) and expire 1.5 periods after they are due, so a backlog never piles up."""
    jitter = max(0.0, min(60.0, period_seconds / 5))
    plan = []
    for schema in schemas:
        countdown = random.uniform(0, jitter)  # noqa: S311 - spreading load, not security
        plan.append((schema, countdown, countdown + period_seconds * 1.5))
    return plan


@platform_task(name="tenancy.relay_outbox", ignore_result=True)
def relay_outbox() -> int:
    """Send the tasks left in the outbox while the broker was down (config.outbox). Returns how many."""
    from config.outbox import RELAY_MIN_AGE_SECONDS, relay

    return relay(min_age_seconds=RELAY_MIN_AGE_SECONDS)


@platform_task(name="tenancy.dispatch_to_tenants")
def dispatch_to_tenants(task_name: str, period_seconds: int) -> dict[str, str]:
    """Fan ``task_name`` out to every ready, active tenant. Returns schema -> task id."""
    from .selectors import dispatchable_schemas

    # Not through the outbox: this is itself a periodic relay (a send lost now is made by the next period)
    # and it writes nothing a task must follow.
    task = app.tasks[task_name]
    sent = {}
    for schema, countdown, expires in dispatch_plan(dispatchable_schemas(), period_seconds):
        sent[schema] = send_to_tenant(task, schema, countdown=countdown, expires=expires).id
    return sent
