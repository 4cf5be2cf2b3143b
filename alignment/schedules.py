"""Scheduled joint reports: create, pause or resume, delete, send when due, and a preview to oneself.

Only leadership and admins manage schedules (``can_manage``); the other roles read the list. Sending is at
most once per period: a schedule is claimed with one conditional UPDATE on ``last_sent_at`` before the mail
goes out, so two workers (or a redelivered task) never both send; a failed send gives the claim back so the
next hourly check tries again.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import User
from accounts.roles import Role
from accounts.throttle import over_limit

from . import report_email
from .models import ReportSchedule

logger = logging.getLogger(__name__)

MANAGERS = frozenset({Role.ADMIN, Role.LEADERSHIP})
MAX_RECIPIENTS = 20
MAX_SCHEDULES = 20
MAX_RECIPIENTS_TEXT = 10_000
PREVIEWS_PER_WINDOW = 3
PREVIEW_WINDOW_SECONDS = 10 * 60
THROTTLED = "throttled"


def can_manage(user) -> bool:
    return isinstance(user, User) and user.is_active and bool(MANAGERS & set(user.roles))


def _require_manager(actor: User | None) -> None:
    if actor is not None and not can_manage(actor):
        raise PermissionDenied("Only leadership and admins manage scheduled reports.")


def parse_recipients(raw) -> list[str]:
    """One address per line (commas and semicolons also separate); blank lines and repeats (regardless of
    case) dropped. Every bad address is named in the one field error."""
    text = "" if raw is None else str(raw)
    if "\x00" in text:
        raise ValidationError({"recipients": ["Remove the NUL characters."]})
    if len(text) > MAX_RECIPIENTS_TEXT:
        raise ValidationError({"recipients": [f"Enter at most {MAX_RECIPIENTS} addresses."]})
    addresses: list[str] = []
    seen: set[str] = set()
    bad: list[str] = []
    for part in text.replace(";", "\n").replace(",", "\n").splitlines():
        address = part.strip()
        if not address:
            continue
        try:
            if len(address) > 254:
                raise ValidationError("too long")
            validate_email(address)
        except ValidationError:
            bad.append(address if len(address) <= 60 else address[:57] + "...")
            continue
        if address.lower() not in seen:
            seen.add(address.lower())
            addresses.append(address)
    if bad:
        raise ValidationError({"recipients": [f"Not a valid email address: {', '.join(bad)}."]})
    if not addresses:
        raise ValidationError({"recipients": ["Enter at least one email address."]})
    if len(addresses) > MAX_RECIPIENTS:
        raise ValidationError(
            {"recipients": [f"Enter at most {MAX_RECIPIENTS} addresses (you entered {len(addresses)})."]}
        )
    return addresses


def _frequency(raw, errors: dict) -> str | None:
    value = "" if raw is None else str(raw).strip()
    if value not in ReportSchedule.Frequency.values:
        errors["frequency"] = ["Choose weekly or monthly."]
        return None
    return value


def _active(raw, errors: dict) -> bool | None:
    if isinstance(raw, bool):
        return raw
    value = str(raw).strip().lower()
    if value in ("1", "true", "on", "yes"):
        return True
    if value in ("0", "false", "off", "no"):
        return False
    errors["is_active"] = ["Choose active or paused."]
    return None


def _validated(data: dict, *, partial: bool) -> dict:
    errors: dict[str, list[str]] = {}
    unknown = sorted(str(k) for k in data if k not in ("frequency", "recipients", "is_active"))
    if unknown:
        errors["non_field_errors"] = [f"Unknown field: {', '.join(unknown)}."]
    values: dict = {}
    if "frequency" in data or not partial:
        values["frequency"] = _frequency(data.get("frequency"), errors)
    if "recipients" in data or not partial:
        try:
            values["recipients"] = "\n".join(parse_recipients(data.get("recipients")))
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if "is_active" in data:
        values["is_active"] = _active(data["is_active"], errors)
    if errors:
        raise ValidationError(errors)
    return values


@transaction.atomic
def schedule_create(*, actor: User | None, data: dict) -> ReportSchedule:
    _require_manager(actor)
    values = _validated(data, partial=False)
    # Two creators at once: the second waits on the rows' locks, then counts afresh (a new statement sees
    # the first's row), so the cap holds.
    list(ReportSchedule.objects.select_for_update().values_list("id", flat=True))
    if ReportSchedule.objects.count() >= MAX_SCHEDULES:
        raise ValidationError(
            {"non_field_errors": [f"A workspace can have at most {MAX_SCHEDULES} scheduled reports."]}
        )
    schedule = ReportSchedule(created_by=actor, **values)
    schedule.full_clean()
    schedule.save()
    return schedule


@transaction.atomic
def schedule_update(*, schedule: ReportSchedule, actor: User | None, data: dict) -> ReportSchedule:
    """Change the frequency, recipients or state (pause/resume). Resuming sends at the next due day that
    has not been sent for; pausing keeps ``last_sent_at``."""
    _require_manager(actor)
    values = _validated(data, partial=True)
    changed = [name for name, value in values.items() if getattr(schedule, name) != value]
    for name in changed:
        setattr(schedule, name, values[name])
    if changed:
        schedule.full_clean()
        schedule.save(update_fields=changed)
    return schedule


@transaction.atomic
def schedule_delete(*, schedule: ReportSchedule, actor: User | None) -> None:
    _require_manager(actor)
    schedule.delete()


def recipients_of(schedule: ReportSchedule) -> list[str]:
    return [line.strip() for line in schedule.recipients.splitlines() if line.strip()]


# --- sending -----------------------------------------------------------------------------------------


def period_due(frequency: str, today: dt.date) -> report_email.Period | None:
    """The period a schedule sends for on ``today`` (UTC): weekly on Mondays for the previous ISO week,
    monthly on the 1st for the previous month; None on other days."""
    if frequency == ReportSchedule.Frequency.WEEKLY and today.weekday() == 0:
        return report_email.last_complete_period(frequency, today)
    if frequency == ReportSchedule.Frequency.MONTHLY and today.day == 1:
        return report_email.last_complete_period(frequency, today)
    return None


def _sent_for(period: report_email.Period) -> dt.datetime:
    """A schedule was sent for ``period`` when ``last_sent_at`` is on or after the period's end."""
    return dt.datetime.combine(period.end, dt.time.min, tzinfo=dt.UTC)


def next_send_date(schedule: ReportSchedule, now: dt.datetime) -> dt.date | None:
    """The UTC day the schedule sends next (today if due and not sent yet); None while paused."""
    if not schedule.is_active:
        return None
    today = report_email.utc_today(now)
    period = period_due(schedule.frequency, today)
    if period is not None and (schedule.last_sent_at is None or schedule.last_sent_at < _sent_for(period)):
        return today
    return report_email.period_containing(schedule.frequency, today).end


def _claim(schedule: ReportSchedule, period: report_email.Period, now: dt.datetime) -> bool:
    """Mark the schedule sent for ``period``; False if it already was (by anyone). One UPDATE: a second
    worker waits on the row lock, then re-checks the condition against the committed row and matches none."""
    return bool(
        ReportSchedule.objects.filter(pk=schedule.pk, is_active=True, frequency=schedule.frequency)
        .filter(Q(last_sent_at__isnull=True) | Q(last_sent_at__lt=_sent_for(period)))
        .update(last_sent_at=now)
    )


def schedule_send_if_due(*, schedule: ReportSchedule, now: dt.datetime, reports: dict | None = None) -> bool:
    """Send ``schedule`` if it is due and not yet sent for the period. ``reports`` caches the built report
    per frequency across schedules of one run."""
    today = report_email.utc_today(now)
    period = period_due(schedule.frequency, today) if schedule.is_active else None
    if period is None or not _claim(schedule, period, now):
        return False
    try:
        cache = reports if reports is not None else {}
        if schedule.frequency not in cache:
            cache[schedule.frequency] = report_email.build_report(frequency=schedule.frequency, today=today)
        report_email.report_message(cache[schedule.frequency], to=recipients_of(schedule)).send()
    except Exception:
        # Give the claim back (only ours: a later claim has another timestamp) so the next check retries.
        ReportSchedule.objects.filter(pk=schedule.pk, last_sent_at=now).update(
            last_sent_at=schedule.last_sent_at
        )
        raise
    return True


def schedules_send_due(*, now: dt.datetime | None = None) -> dict[str, list[int]]:
    """Send every active schedule of the current workspace that is due. One failing schedule (a mail
    server refusing an address) does not stop the others; it is logged and retried at the next check."""
    now = now or timezone.now()
    result: dict[str, list[int]] = {"sent": [], "failed": []}
    reports: dict = {}
    for schedule in ReportSchedule.objects.filter(is_active=True).order_by("id"):
        try:
            sent = schedule_send_if_due(schedule=schedule, now=now, reports=reports)
        except Exception:
            logger.exception(
                "Scheduled report %s in %s could not be sent", schedule.pk, connection.schema_name
            )
            result["failed"].append(schedule.pk)
            continue
        if sent:
            result["sent"].append(schedule.pk)
    return result


def report_preview_send(*, actor: User, frequency: str) -> None:
    """Queue the report for ``frequency`` to the actor alone, at most three times in ten minutes."""
    _require_manager(actor)
    errors: dict[str, list[str]] = {}
    value = _frequency(frequency, errors)
    if errors:
        raise ValidationError(errors)
    key = f"alignment:report-preview:{actor.pk}"
    if over_limit(key, limit=PREVIEWS_PER_WINDOW, window_seconds=PREVIEW_WINDOW_SECONDS):
        message = (
            f"You asked for {PREVIEWS_PER_WINDOW} previews recently; try again in "
            f"{PREVIEW_WINDOW_SECONDS // 60} minutes."
        )
        raise ValidationError({"non_field_errors": [ValidationError(message, code=THROTTLED)]})
    from config.outbox import enqueue

    from .report_tasks import send_report_preview

    enqueue(send_report_preview, connection.schema_name, kwargs={"user_id": actor.pk, "frequency": value})


def is_throttled(exc: ValidationError) -> bool:
    return any(
        error.code == THROTTLED for error in getattr(exc, "error_dict", {}).get("non_field_errors", [])
    )


def report_preview_deliver(*, user_id: int, frequency: str) -> bool:
    """Build and send the preview (the task's body); False when the user is gone or inactive."""
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None or frequency not in ReportSchedule.Frequency.values:
        return False
    report = report_email.build_report(frequency=frequency)
    report_email.report_message(report, to=[user.email], preview=True).send()
    return True
