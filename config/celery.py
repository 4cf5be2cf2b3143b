"""The tenant-aware Celery app, the two task bases and the whole periodic schedule.

Every task is either a *tenant task* (runs inside one tenant's schema, named explicitly by the sender
and checked again inside the worker) or a *platform task* (runs in ``public``: provisioning, the
dispatcher). A tenant task that finds itself in ``public`` or in another tenant's schema raises
instead of touching data (tenant-schemas-celery #12, #15, #59, #170).
"""

from __future__ import annotations

import os
from typing import Any

from celery import Task
from celery.schedules import crontab
from celery.signals import task_prerun
from django.db import connection
from tenant_schemas_celery.app import CeleryApp

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = CeleryApp("tandem")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["accounts", "accounts.tenancy", "marketing", "sales", "alignment"])

PUBLIC = "public"
DAY = 24 * 60 * 60


class WrongSchemaError(RuntimeError):
    """A task was about to run in a schema other than the one it was sent for."""


class TenantBoundTask(app.Task):  # type: ignore[name-defined,misc]
    """Base of every per-tenant task. Callers pass ``tenant_schema=``; the worker checks it."""

    abstract = True

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        expected = kwargs.get("tenant_schema")
        actual = connection.schema_name
        if actual == PUBLIC:
            raise WrongSchemaError(
                f"{self.name} refused to run in the public schema (sent for {expected!r})."
            )
        if expected != actual:
            raise WrongSchemaError(f"{self.name} was sent for {expected!r} but runs in {actual!r}.")
        from accounts import audit

        token = audit.begin()  # what the run writes becomes one audit entry (accounts.audit)
        succeeded = False
        try:
            result = super().__call__(*args, **kwargs)
            succeeded = True
            return result
        finally:
            audit.task_end(token, task_name=self.name, task_id=self.request.id, succeeded=succeeded)


class PlatformTask(app.Task):  # type: ignore[name-defined,misc]
    """Base of tasks that work on the platform itself (tenants, domains) in the public schema."""

    abstract = True

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if connection.schema_name != PUBLIC:
            raise WrongSchemaError(f"{self.name} must run in public, not in {connection.schema_name!r}.")
        return super().__call__(*args, **kwargs)


@task_prerun.connect
def _discard_broken_connections(task: Task | None = None, **_: Any) -> None:
    """What Django does at the start of every request, before every task: a connection that had errors and
    no longer answers (PostgreSQL restarted) is closed, and the next query checks the connection first
    (CONN_HEALTH_CHECKS). With CELERY_DB_REUSE_MAX Celery itself does this only every few hundred tasks,
    so without it a worker would fail every task after a database restart until then."""
    if task is not None and getattr(task.request, "is_eager", False):
        return  # in-process run (tests): the caller's connection and transaction
    from django.db import connections

    for conn in connections.all(initialized_only=True):
        if not conn.in_atomic_block:
            conn.close_if_unusable_or_obsolete()


def tenant_task(**options: Any):
    """Decorator for per-tenant tasks. The task function must accept ``tenant_schema``."""
    return app.task(base=TenantBoundTask, **options)


def platform_task(**options: Any):
    return app.task(base=PlatformTask, **options)


def send_to_tenant(task: Task, tenant_schema: str, /, **options: Any):
    """Send ``task`` for one tenant: the schema travels in the header *and* as an argument."""
    if not tenant_schema or tenant_schema == PUBLIC:
        raise WrongSchemaError(f"{task.name} needs a tenant schema, got {tenant_schema!r}.")
    kwargs = {**options.pop("kwargs", {}), "tenant_schema": tenant_schema}
    headers = {**(options.pop("headers", None) or {}), "_schema_name": tenant_schema}
    return task.apply_async(kwargs=kwargs, headers=headers, **options)


def send_to_platform(task: Task, /, **options: Any):
    headers = {**(options.pop("headers", None) or {}), "_schema_name": PUBLIC}
    return task.apply_async(headers=headers, **options)


OUTBOX_RELAY_SECONDS = 10
METRICS_REFRESH_SECONDS = 45  # with the dispatch jitter, a write shows in the metrics within a minute


def _per_tenant(task_name: str, schedule: Any, period_seconds: float) -> dict[str, Any]:
    """A schedule entry that fans ``task_name`` out to every ready tenant, expiring after one period."""
    return {
        "task": "tenancy.dispatch_to_tenants",
        "schedule": schedule,
        "kwargs": {"task_name": task_name, "period_seconds": period_seconds},
        "options": {"expires": period_seconds, "headers": {"_schema_name": PUBLIC}},
    }


def _schedule() -> dict[str, dict[str, Any]]:
    """The whole periodic schedule. Per-tenant work goes through the dispatcher, one entry per job."""
    from django.conf import settings

    period = settings.TANDEM_DISPATCH_SECONDS
    return {
        # Tasks asked for while the broker was down (config.outbox); it expires before the next run, so a
        # backlog of relays never builds up behind an outage.
        "outbox-relay": {
            "task": "tenancy.relay_outbox",
            "schedule": OUTBOX_RELAY_SECONDS,
            "options": {"expires": OUTBOX_RELAY_SECONDS, "headers": {"_schema_name": PUBLIC}},
        },
        "tenant-housekeeping": _per_tenant("accounts.housekeeping", period, period),
        # Webhook deliveries that are due: also sent right after each commit that writes events, so this
        # catches what was written while the broker was down, and the retries.
        "webhook-deliveries": _per_tenant("accounts.deliver_webhooks", 30, 30),
        # Scores decay with time: every contact is rescored once a day.
        "marketing-nightly-rescore": _per_tenant("marketing.rescore_all", crontab(hour=2, minute=15), DAY),
        "marketing-segment-sizes": _per_tenant(
            "marketing.record_segment_sizes", crontab(hour=3, minute=0), DAY
        ),
        # Metrics: the periods touched by new facts refresh within a minute; a full recompute nightly.
        "alignment-refresh-metrics": _per_tenant(
            "alignment.refresh_metrics", METRICS_REFRESH_SECONDS, METRICS_REFRESH_SECONDS
        ),
        "alignment-nightly-recompute": _per_tenant(
            "alignment.recompute_metrics", crontab(hour=3, minute=30), DAY
        ),
        # SLA clocks: warnings, breaches and escalations within a minute of the business hour they fall in.
        "alignment-sla-check": _per_tenant("alignment.sla_check", 60, 60),
        # The objection loop's monthly digest, routed by category to the owning team.
        "alignment-objection-digest": _per_tenant(
            "alignment.objection_digest", crontab(day_of_month=1, hour=6, minute=0), DAY
        ),
        # Goals follow the pace line as time passes, not only when values change.
        "alignment-refresh-goals": _per_tenant("alignment.refresh_goals", crontab(minute=5), 60 * 60),
        # Scheduled reports: hourly check; each schedule sends once per week or month (Mondays, the 1st).
        "alignment-scheduled-reports": _per_tenant(
            "alignment.send_scheduled_reports", crontab(minute=20), 60 * 60
        ),
    }


@app.on_after_configure.connect
def _install_schedule(sender: Any, **_: Any) -> None:
    sender.conf.beat_schedule = _schedule()
