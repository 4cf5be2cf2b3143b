from __future__ import annotations

from config.celery import tenant_task


def _run(*, full: bool) -> dict | None:
    from .engine import run
    from .goals import goals_refresh

    record = run(full=full)
    if record is not None and record.values_written:
        goals_refresh()  # progress follows the values just stored
    return None if record is None else {"days": record.days, "values_written": record.values_written}


# acks_late + reject_on_worker_lost: a worker (or its pool process) killed halfway leaves the message to
# be delivered again instead of acknowledged as lost. The run is one transaction of upserts per fixed
# period, so the killed run's writes are rolled back and the next run computes them once.
@tenant_task(name="alignment.refresh_metrics", acks_late=True, reject_on_worker_lost=True)
def refresh_metrics(*, tenant_schema: str) -> dict | None:
    """Every 45 s: recompute the periods whose facts changed (incremental). Skipped while another run for
    the workspace holds its lock; the marks it leaves are taken next time."""
    return _run(full=False)


@tenant_task(name="alignment.recompute_metrics", acks_late=True, reject_on_worker_lost=True)
def recompute_metrics(*, tenant_schema: str) -> dict | None:
    """Nightly: the full recompute, the correctness oracle (a rerun writes nothing when all is in step)."""
    return _run(full=True)


@tenant_task(name="alignment.refresh_goals", acks_late=True)
def refresh_goals(*, tenant_schema: str) -> int:
    """Hourly: goals move with time too (the pace line), so each is evaluated again; owners of a goal whose
    status changed are notified. Returns how many changed."""
    from .goals import goals_refresh

    return len(goals_refresh())


@tenant_task(name="alignment.sla_check", acks_late=True)
def sla_check(*, tenant_schema: str) -> dict:
    """Every minute: open SLA clocks for new MQLs, stop them on touches and decisions, and raise each
    warning, breach and escalation once (``alignment.sla``)."""
    from .sla import sla_check as check

    result = check()
    return {"opened": result.opened, "breached": len(result.breached), "escalated": len(result.escalated)}


@tenant_task(name="alignment.objection_digest", acks_late=True)
def objection_digest(*, tenant_schema: str) -> int:
    """On the 1st: last month's objections and loss reasons, routed by category to the owning team, once."""
    import datetime as dt

    from django.utils import timezone

    from .objections import digest_send

    last_month = (timezone.now().date().replace(day=1) - dt.timedelta(days=1)).replace(day=1)
    return digest_send(month=last_month)


@tenant_task(
    name="alignment.email_notifications",
    acks_late=True,
    max_retries=5,
    retry_backoff=True,
    autoretry_for=(OSError,),
)
def email_notifications(*, tenant_schema: str, ids: list[int]) -> int:
    from .notices import email

    return email(ids=ids)


from . import report_tasks  # noqa: E402,F401  (the scheduled report's task registers with the app)
