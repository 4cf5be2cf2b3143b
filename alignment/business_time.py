"""Business-hours arithmetic on a tenant's business calendar (SLA clocks, speed to lead).

A calendar opens one window per working day: from ``day_start`` to ``day_end`` on the local wall clock of its
time zone, on the ISO weekdays in ``working_days`` (Monday is 1), except on ``holidays`` (local dates). The
working time between two moments is the real time elapsed inside those windows, so a window that contains a
daylight-saving change is an hour shorter or longer than its wall-clock length. A wall-clock time that does
not exist (skipped in spring) or exists twice (repeated in autumn) is read as the later of its two possible
instants, which is what PostgreSQL's ``timestamp AT TIME ZONE zone`` does; ``BUSINESS_HOURS_SQL`` computes the
same hours inside the database. Hours are exact to the microsecond and returned rounded to 6 decimal places.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Context, Decimal
from zoneinfo import ZoneInfo, available_timezones

from django.core.exceptions import ValidationError

UTC = dt.UTC
ONE_DAY = dt.timedelta(days=1)
MICROSECONDS_PER_HOUR = 3_600_000_000
HOURS_PLACES = Decimal("0.000001")
# A search for the next working window gives up after this many days without one.
MAX_IDLE_DAYS = 3 * 366
_DECIMAL = Context(prec=50, rounding=ROUND_HALF_UP)


@functools.cache
def _known_time_zones() -> frozenset[str]:
    return frozenset(available_timezones())


@dataclass(frozen=True)
class Calendar:
    """When a workspace works: a daily window on some ISO weekdays in one time zone, minus holidays."""

    time_zone: str = "UTC"
    working_days: tuple[int, ...] = (1, 2, 3, 4, 5)
    day_start: dt.time = dt.time(9)
    day_end: dt.time = dt.time(17)
    holidays: frozenset[dt.date] = frozenset()

    def __post_init__(self) -> None:
        self.clean()
        # Normalised so that equal calendars compare (and hash) equal whatever order they were given in.
        object.__setattr__(self, "working_days", tuple(sorted(set(self.working_days))))
        object.__setattr__(self, "holidays", frozenset(self.holidays))

    def clean(self) -> None:
        errors: dict[str, list[str]] = {}
        for field, message in [
            ("time_zone", _time_zone_error(self.time_zone)),
            ("working_days", _working_days_error(self.working_days)),
            ("day_start", _wall_time_error(self.day_start)),
            ("day_end", _wall_time_error(self.day_end) or _day_end_error(self.day_start, self.day_end)),
            ("holidays", _holidays_error(self.holidays)),
        ]:
            if message:
                errors[field] = [message]
        if errors:
            raise ValidationError(errors)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    def window(self, day: dt.date) -> tuple[dt.datetime, dt.datetime] | None:
        """The working window of one local date as UTC instants, or None if the day is not worked."""
        if day.isoweekday() not in self.working_days or day in self.holidays:
            return None
        return _instant(day, self.day_start, self.zone), _instant(day, self.day_end, self.zone)

    def local_date(self, moment: dt.datetime) -> dt.date:
        return moment.astimezone(self.zone).date()

    def sql_arguments(self) -> list:
        """The calendar arguments of ``alignment_business_hours_in`` (after ``a`` and ``b``), in order."""
        return [self.time_zone, list(self.working_days), self.day_start, self.day_end, sorted(self.holidays)]

    def sql_params(self) -> dict:
        """The same arguments under the names ``HOURS_SQL`` binds."""
        return dict(
            zip(("tz", "days", "day_start", "day_end", "holidays"), self.sql_arguments(), strict=True)
        )


# The business hours from {a} to {b} (SQL expressions) on the calendar bound as ``Calendar.sql_params``.
HOURS_SQL = (
    "alignment_business_hours_in({a}, {b}, %(tz)s, %(days)s::int[], %(day_start)s::time, %(day_end)s::time,"
    " %(holidays)s::date[])"
)


def _time_zone_error(name: object) -> str | None:
    if not isinstance(name, str) or name not in _known_time_zones():
        return f"Unknown time zone {name!r}."
    # PostgreSQL reads a name that is also an abbreviation ("CET", "EST") as a fixed offset without daylight
    # saving, so only region names (and UTC) mean the same thing in Python and in SQL.
    if "/" not in name and name != "UTC":
        return f"Use a region time zone such as Europe/Berlin, not {name!r}."
    return None


def _working_days_error(days: object) -> str | None:
    try:
        values = tuple(days)  # type: ignore[arg-type]
    except TypeError:
        return "Working days must be a list of ISO weekdays (1 = Monday to 7 = Sunday)."
    if not values:
        return "At least one working day is required."
    if any(isinstance(d, bool) or not isinstance(d, int) or not 1 <= d <= 7 for d in values):
        return "Working days must be ISO weekdays (1 = Monday to 7 = Sunday)."
    return None


def _wall_time_error(value: object) -> str | None:
    if not isinstance(value, dt.time) or value.tzinfo is not None:
        return "Must be a local time of day without a time zone."
    return None


def _day_end_error(start: object, end: dt.time) -> str | None:
    if isinstance(start, dt.time) and start.tzinfo is None and end <= start:
        return "The working day must end after it starts."
    return None


def _holidays_error(holidays: object) -> str | None:
    try:
        values = list(holidays)  # type: ignore[call-overload]
    except TypeError:
        return "Holidays must be a set of dates."
    if any(not isinstance(d, dt.date) or isinstance(d, dt.datetime) for d in values):
        return "Holidays must be dates."
    return None


def _instant(day: dt.date, wall: dt.time, zone: ZoneInfo) -> dt.datetime:
    """The UTC instant of a local wall-clock time; a skipped or repeated time reads as its later instant."""
    local = dt.datetime.combine(day, wall)
    return max(local.replace(tzinfo=zone, fold=fold).astimezone(UTC) for fold in (0, 1))


def _require_aware(moment: dt.datetime, name: str) -> None:
    if not isinstance(moment, dt.datetime) or moment.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime, not {moment!r}")


def _days(first: dt.date, last: dt.date) -> Iterator[dt.date]:
    day = first
    while day <= last:
        yield day
        day += ONE_DAY


def _to_hours(elapsed: dt.timedelta) -> Decimal:
    microseconds = Decimal(elapsed // dt.timedelta(microseconds=1))
    return _DECIMAL.divide(microseconds, Decimal(MICROSECONDS_PER_HOUR)).quantize(
        HOURS_PLACES, context=_DECIMAL
    )


def _to_timedelta(hours: Decimal | float | int) -> dt.timedelta:
    """Hours as a duration rounded to the microsecond (far coarser than a float's binary error)."""
    if isinstance(hours, bool) or not isinstance(hours, Decimal | float | int):
        raise TypeError(f"hours must be a Decimal, float or int, not {hours!r}")
    hours = Decimal(hours)
    if not hours.is_finite() or hours < 0:
        raise ValueError(f"hours must be a finite number >= 0, not {hours}")
    microseconds = _DECIMAL.multiply(hours, Decimal(MICROSECONDS_PER_HOUR)).to_integral_value(
        context=_DECIMAL
    )
    return dt.timedelta(microseconds=int(microseconds))


def business_hours_between(a: dt.datetime, b: dt.datetime, calendar: Calendar) -> Decimal:
    """The working time from ``a`` to ``b`` in hours (0 when ``b`` is not after ``a``)."""
    _require_aware(a, "a")
    _require_aware(b, "b")
    # In UTC: Python subtracts two datetimes that share a tzinfo by their wall clocks, ignoring DST.
    a, b = a.astimezone(UTC), b.astimezone(UTC)
    elapsed = dt.timedelta(0)
    if b > a:
        # One local day either side: a window can reach across midnight when its wall time is skipped.
        first, last = calendar.local_date(a) - ONE_DAY, calendar.local_date(b) + ONE_DAY
        for day in _days(first, last):
            window = calendar.window(day)
            if window is not None:
                opens, closes = max(a, window[0]), min(b, window[1])
                if closes > opens:
                    elapsed += closes - opens
    return _to_hours(elapsed)


def add_business_hours(start: dt.datetime, hours: Decimal | float | int, calendar: Calendar) -> dt.datetime:
    """The UTC instant at which ``hours`` of working time have elapsed since ``start``.

    Outside working time the clock starts at the next window's opening; an amount that ends exactly at a
    window's close returns that close. ``hours == 0`` returns ``start`` itself. Raises ValueError when the
    calendar has no working time for more than three years in a row (holidays all the way).
    """
    _require_aware(start, "start")
    remaining = _to_timedelta(hours)
    if not remaining:
        return start
    cursor = start.astimezone(UTC)
    day = calendar.local_date(start) - ONE_DAY
    idle_days = 0
    while idle_days <= MAX_IDLE_DAYS:
        window = calendar.window(day)
        opens = max(cursor, window[0]) if window else cursor
        if window and window[1] > opens:
            if remaining <= window[1] - opens:
                return opens + remaining
            remaining -= window[1] - opens
            cursor, idle_days = window[1], 0
        else:
            idle_days += 1
        day += ONE_DAY
    raise ValueError(f"No working time within three years after {start.isoformat()}")


# The same hours as business_hours_between, set-based: one row per local date from the day before a's to the
# day after b's, each day's window read in the zone (PostgreSQL reads skipped and repeated wall times as their
# later instant, like _instant) and clipped to [a, b]. NULL holidays means none; any other NULL gives NULL.
# The result does not depend on the session's TimeZone.
BUSINESS_HOURS_SQL = """
CREATE OR REPLACE FUNCTION alignment_business_hours_in(
    a timestamptz, b timestamptz, tz text, days int[], day_start time, day_end time, holidays date[]
) RETURNS numeric LANGUAGE sql STABLE PARALLEL SAFE
AS $fn$
    SELECT CASE WHEN num_nulls(a, b, tz, days, day_start, day_end) > 0 THEN NULL ELSE (
        SELECT round(COALESCE(SUM(EXTRACT(epoch FROM LEAST(b, w.closes) - GREATEST(a, w.opens))), 0)
                     / 3600, 6)
        FROM generate_series(-1, (b AT TIME ZONE tz)::date - (a AT TIME ZONE tz)::date + 1) AS n
        CROSS JOIN LATERAL (SELECT (a AT TIME ZONE tz)::date + n AS day) AS d
        CROSS JOIN LATERAL (
            SELECT (d.day + day_start) AT TIME ZONE tz AS opens, (d.day + day_end) AT TIME ZONE tz AS closes
        ) AS w
        WHERE EXTRACT(isodow FROM d.day)::int = ANY (days)
          AND NOT COALESCE(d.day = ANY (holidays), false)
          AND LEAST(b, w.closes) > GREATEST(a, w.opens)
    ) END
$fn$;
"""

DROP_BUSINESS_HOURS_SQL = (
    "DROP FUNCTION IF EXISTS alignment_business_hours_in(timestamptz, timestamptz, text, int[], time, time, "
    "date[]);"
)
