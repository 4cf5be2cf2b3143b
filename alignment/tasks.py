from __future__ import annotations

from config.celery import tenant_task


def _run(*, full: bool) -> dict | None:
    from .engine import run

    record = run(full=full)
    return None if record is None else {"days": record.days, "values_written": record.values_written}


@tenant_task(name="alignment.refresh_metrics", acks_late=True)
def refresh_metrics(*, tenant_schema: str) -> dict | None:
    """Every 45 s: recompute the periods whose facts changed (incremental). Skipped while another run for
    the workspace holds its lock; the marks it leaves are taken next time."""
    return _run(full=False)


@tenant_task(name="alignment.recompute_metrics", acks_late=True)
def recompute_metrics(*, tenant_schema: str) -> dict | None:
    """Nightly: the full recompute, the correctness oracle (a rerun writes nothing when all is in step)."""
    return _run(full=True)


from . import report_tasks  # noqa: E402,F401  (the scheduled report's task registers with the app)
