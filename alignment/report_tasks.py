"""Scheduled joint reports: an hourly per-tenant check that sends what is due, and the preview mail."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from config.celery import tenant_task


def _now() -> dt.datetime:
    return timezone.now()


@tenant_task(name="alignment.send_scheduled_reports", acks_late=True)
def send_scheduled_reports(*, tenant_schema: str) -> dict[str, list[int]]:
    """Hourly: send every active schedule of the workspace that is due (weekly on Mondays, monthly on the
    1st, UTC), at most once per period. Safe to run twice at once or again after a crash: each schedule is
    claimed with a conditional update before its mail goes out."""
    from .schedules import schedules_send_due

    return schedules_send_due(now=_now())


@tenant_task(
    name="alignment.send_report_preview",
    acks_late=True,
    max_retries=3,
    retry_backoff=True,
    autoretry_for=(OSError,),
)
def send_report_preview(*, tenant_schema: str, user_id: int, frequency: str) -> bool:
    """The report for the last complete period, to the user who asked for a preview only."""
    from .schedules import report_preview_deliver

    return report_preview_deliver(user_id=user_id, frequency=frequency)
