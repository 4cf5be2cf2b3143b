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


@platform_task(name="tenancy.dispatch_to_tenants")
def dispatch_to_tenants(task_name: str, period_seconds: int) -> list[str]:
    """Fan ``task_name`` out to every ready, active tenant, spread over the period, each send
    expiring after 1.5 periods so a backlog never piles up."""
    from .selectors import dispatchable_schemas

    task = app.tasks[task_name]
    jitter = max(0.0, min(60.0, period_seconds / 5))
    schemas = dispatchable_schemas()
    for schema in schemas:
        countdown = random.uniform(0, jitter)  # noqa: S311 - spreading load, not security
        send_to_tenant(task, schema, countdown=countdown, expires=countdown + period_seconds * 1.5)
    return schemas
