"""The import task. ``marketing.tasks`` imports this module so that the worker registers it."""

from __future__ import annotations

from config.celery import tenant_task


@tenant_task(name="marketing.run_import", acks_late=True)
def run_import(*, tenant_schema: str, job_id: int) -> dict[str, object] | None:
    """Run one import job of the tenant (idempotent: a job done or running elsewhere is left alone).
    None when the job does not exist in this tenant, e.g. deleted before the worker got to it."""
    from marketing.models import ImportJob

    from .runner import import_job_run

    try:
        job = import_job_run(job_id=job_id)
    except ImportJob.DoesNotExist:
        return None
    return {
        "status": job.status,
        "total_rows": job.total_rows,
        "processed_rows": job.processed_rows,
        "created_rows": job.created_rows,
        "updated_rows": job.updated_rows,
        "error_rows": job.error_rows,
    }
