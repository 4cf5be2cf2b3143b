"""Business-hours arithmetic: hand-computed cases across a weekend, a holiday, daylight-saving changes and
time zones far from UTC, deadlines from ``add_business_hours``, its inverse property, calendar validation, and
the SQL function giving the same hours as the Python one.

Dates used below: 2026-06-01 is a Monday; 2026-03-29 and 2026-10-25 (Sundays) are Europe/Berlin's changes to
and from summer time (CET +01:00 <-> CEST +02:00 at 01:00 UTC); 2026-03-08 is America/New_York's change to
summer time (EST -05:00 -> EDT -04:00).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from hypothesis import example, given, settings
from hypothesis import strategies as st

from alignment.business_time import (
    BUSINESS_HOURS_SQL,
    DROP_BUSINESS_HOURS_SQL,
    Calendar,
    add_business_hours,
    business_hours_between,
)

UTC = dt.UTC
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
TOKYO = ZoneInfo("Asia/Tokyo")
LOS_ANGELES = ZoneInfo("America/Los_Angeles")

OFFICE = Calendar()  # Monday to Friday 09:00-17:00 UTC
BERLIN_OFFICE = Calendar(time_zone="Europe/Berlin")
# Sundays 00:00-06:00 Berlin time: the window holds the 02:00/03:00 change itself.
BERLIN_NIGHT = Calendar(
    time_zone="Europe/Berlin", working_days=(7,), day_start=dt.time(0), day_end=dt.time(6)
)
BERLIN_SMALL_HOURS = Calendar(
    time_zone="Europe/Berlin", working_days=(7,), day_start=dt.time(2, 30), day_end=dt.time(4)
)
WEDNESDAY_OFF = Calendar(holidays=frozenset({dt.date(2026, 6, 10)}))


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


def berlin(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=BERLIN)


def hours(value: str | int) -> Decimal:
    return Decimal(value)


# (a, b, calendar, hours), shared by the Python tests and the SQL comparison; arithmetic in the comments.
CASES = {
    # Mon 10:00 -> Mon 15:30, inside one window: 5.5 h.
    "one day": (utc(2026, 6, 1, 10), utc(2026, 6, 1, 15, 30), OFFICE, hours("5.5")),
    # Mon 07:00 -> Tue 20:00: Mon 09-17 (8 h) + Tue 09-17 (8 h) = 16 h; the hours outside count nothing.
    "before opening to after closing": (utc(2026, 6, 1, 7), utc(2026, 6, 2, 20), OFFICE, hours(16)),
    # Mon 12:00:00 -> Mon 12:00:01: one second = 1/3600 h = 0.000277777... -> 0.000278.
    "one second": (utc(2026, 6, 1, 12), utc(2026, 6, 1, 12, 0, 1), OFFICE, hours("0.000278")),
    # Fri 16:00 -> Mon 10:00: Fri 16-17 (1 h) + Sat, Sun (0) + Mon 09-10 (1 h) = 2 h.
    "weekend": (utc(2026, 6, 5, 16), utc(2026, 6, 8, 10), OFFICE, hours(2)),
    # Sat 10:00 -> Sun 18:00: no working day in between = 0 h.
    "inside a weekend": (utc(2026, 6, 6, 10), utc(2026, 6, 7, 18), OFFICE, hours(0)),
    # Tue 15:00 -> Thu 11:00 with Wednesday a holiday: Tue 15-17 (2 h) + Wed (0) + Thu 09-11 (2 h) = 4 h
    # (12 h without the holiday).
    "holiday": (utc(2026, 6, 9, 15), utc(2026, 6, 11, 11), WEDNESDAY_OFF, hours(4)),
    "no holiday": (utc(2026, 6, 9, 15), utc(2026, 6, 11, 11), OFFICE, hours(12)),
    # b before a, and b == a: 0 h.
    "backwards": (utc(2026, 6, 2, 12), utc(2026, 6, 1, 12), OFFICE, hours(0)),
    "empty": (utc(2026, 6, 1, 12), utc(2026, 6, 1, 12), OFFICE, hours(0)),
    # Berlin, spring forward: Fri 2026-03-27 16:00 CET (15:00 UTC) -> Mon 03-30 10:00 CEST (08:00 UTC):
    # Fri 16-17 (1 h) + Mon 09-10 (1 h) = 2 h. With Friday's offset (+01:00) on Monday too, Monday would
    # open at 08:00 UTC and count 0 h: 1 h in all.
    "berlin spring weekend": (berlin(2026, 3, 27, 16), berlin(2026, 3, 30, 10), BERLIN_OFFICE, hours(2)),
    # Berlin, fall back: Fri 2026-10-23 16:00 CEST (14:00 UTC) -> Mon 10-26 10:00 CET (09:00 UTC): 1+1 = 2 h.
    # With Friday's offset (+02:00) on Monday, Monday would open at 07:00 UTC and count 2 h: 3 h in all.
    "berlin autumn weekend": (berlin(2026, 10, 23, 16), berlin(2026, 10, 26, 10), BERLIN_OFFICE, hours(2)),
    # Sunday 00:00-06:00 on 2026-03-29: 00:00 CET = 23:00 UTC (Sat), 06:00 CEST = 04:00 UTC: 5 h of real time.
    "berlin spring night": (berlin(2026, 3, 28), berlin(2026, 3, 30), BERLIN_NIGHT, hours(5)),
    # Sunday 00:00-06:00 on 2026-10-25: 00:00 CEST = 22:00 UTC (Sat), 06:00 CET = 05:00 UTC: 7 h.
    "berlin autumn night": (berlin(2026, 10, 24), berlin(2026, 10, 26), BERLIN_NIGHT, hours(7)),
    # Inside the spring night: 01:00 CET (00:00 UTC) -> 04:00 CEST (02:00 UTC) = 2 h though 3 on the wall.
    "berlin spring hour": (berlin(2026, 3, 29, 1), berlin(2026, 3, 29, 4), BERLIN_NIGHT, hours(2)),
    # A window opening at 02:30, a wall time Berlin skips in spring and repeats in autumn, reads as the later
    # instant, as PostgreSQL does. Spring: 02:30 read at +01:00 = 01:30 UTC, 04:00 CEST = 02:00 UTC: 0.5 h.
    # Autumn: 02:30 read at +01:00 (the second one) = 01:30 UTC, 04:00 CET = 03:00 UTC: 1.5 h.
    "berlin skipped opening": (berlin(2026, 3, 29), berlin(2026, 3, 30), BERLIN_SMALL_HOURS, hours("0.5")),
    "berlin repeated opening": (berlin(2026, 10, 25), berlin(2026, 10, 26), BERLIN_SMALL_HOURS, hours("1.5")),
    # New York, spring forward 2026-03-08: Fri 03-06 16:00 EST (21:00 UTC) -> Mon 03-09 10:00 EDT (14:00 UTC):
    # Fri 16-17 (1 h) + Mon 09-10 (1 h) = 2 h.
    "new york spring weekend": (
        dt.datetime(2026, 3, 6, 16, tzinfo=NEW_YORK),
        dt.datetime(2026, 3, 9, 10, tzinfo=NEW_YORK),
        Calendar(time_zone="America/New_York"),
        hours(2),
    ),
    # Tokyo (+09:00) 09-17 is 00:00-08:00 UTC. Fri 2026-06-05 07:00 UTC (16:00 JST Fri) -> Sun 06-07 23:30 UTC
    # (08:30 JST Mon): Fri 16-17 JST (1 h) + Mon before opening (0) = 1 h, although b is a Sunday in UTC.
    "tokyo before monday opening": (
        utc(2026, 6, 5, 7),
        utc(2026, 6, 7, 23, 30),
        Calendar(time_zone="Asia/Tokyo"),
        hours(1),
    ),
    # ... -> Mon 06-08 01:00 UTC (10:00 JST Mon): 1 h Friday + Mon 09-10 JST (1 h) = 2 h.
    "tokyo monday": (utc(2026, 6, 5, 7), utc(2026, 6, 8, 1), Calendar(time_zone="Asia/Tokyo"), hours(2)),
    # Los Angeles (-07:00 in June) 09:00-18:00 is 16:00 UTC -> 01:00 UTC the next day. Mon 2026-06-01
    # 17:00 PDT (06-02 00:00 UTC) -> Tue 10:00 PDT (06-02 17:00 UTC): Mon 17-18 (1 h) + Tue 09-10 (1 h) = 2 h;
    # both moments are on the same UTC date.
    "los angeles": (
        utc(2026, 6, 2, 0),
        utc(2026, 6, 2, 17),
        Calendar(time_zone="America/Los_Angeles", day_end=dt.time(18)),
        hours(2),
    ),
    # Tue 2026-06-02 -> Tue 2026-09-01 09:00 UTC: 13 whole weeks of 5 days x 8 h = 520 h.
    "a quarter": (utc(2026, 6, 2, 9), utc(2026, 9, 1, 9), OFFICE, hours(520)),
}


@pytest.mark.parametrize(("a", "b", "calendar", "expected"), CASES.values(), ids=CASES.keys())
def test_business_hours_between(a, b, calendar, expected):
    assert business_hours_between(a, b, calendar) == expected


def test_the_result_is_a_decimal_rounded_to_six_places():
    # 09:00 -> 09:20: 20 min = 1/3 h = 0.333333...
    value = business_hours_between(utc(2026, 6, 1, 9), utc(2026, 6, 1, 9, 20), OFFICE)
    assert isinstance(value, Decimal)
    assert value.as_tuple().exponent == -6
    assert value == Decimal("0.333333")


def test_moments_in_any_zone_mean_the_same_instants():
    # The weekend case with both moments given in Tokyo time: the same instants, the same 2 h.
    a, b = utc(2026, 6, 5, 16).astimezone(TOKYO), utc(2026, 6, 8, 10).astimezone(TOKYO)
    assert business_hours_between(a, b, OFFICE) == 2


def test_naive_moments_are_refused():
    with pytest.raises(ValueError, match="aware"):
        business_hours_between(dt.datetime(2026, 6, 1, 9), utc(2026, 6, 1, 10), OFFICE)  # noqa: DTZ001
    with pytest.raises(ValueError, match="aware"):
        add_business_hours(dt.datetime(2026, 6, 1, 9), 1, OFFICE)  # noqa: DTZ001


# (start, hours, calendar, deadline)
DEADLINES = {
    # Fri 15:00 + 24 h: Fri 15-17 (2, left 22) + Mon (8, left 14) + Tue (8, left 6) + Wed 09-15 = Wed 15:00.
    "24 h from friday": (utc(2026, 6, 5, 15), 24, OFFICE, utc(2026, 6, 10, 15)),
    # Mon 09:00 + 8 h ends exactly at Monday's close, not at Tuesday's opening.
    "a whole day": (utc(2026, 6, 1, 9), 8, OFFICE, utc(2026, 6, 1, 17)),
    # Mon 10:00 + 1.5 h = Mon 11:30.
    "a float": (utc(2026, 6, 1, 10), 1.5, OFFICE, utc(2026, 6, 1, 11, 30)),
    # Mon 10:00 + 0.000278 h = + 1.0008 s.
    "a decimal": (utc(2026, 6, 1, 10), Decimal("0.000278"), OFFICE, utc(2026, 6, 1, 10, 0, 1, 800)),
    # Starting outside working time: Mon 06:00 + 0.5 h = Mon 09:30; Mon 18:00 + 1 h = Tue 10:00;
    # Sat 12:00 + 1 h = Mon 10:00.
    "before opening": (utc(2026, 6, 1, 6), Decimal("0.5"), OFFICE, utc(2026, 6, 1, 9, 30)),
    "after closing": (utc(2026, 6, 1, 18), 1, OFFICE, utc(2026, 6, 2, 10)),
    "on a saturday": (utc(2026, 6, 6, 12), 1, OFFICE, utc(2026, 6, 8, 10)),
    # Tue 15:00 + 4 h with Wednesday off: Tue 15-17 (2, left 2) + Wed (0) + Thu 09-11 = Thu 11:00.
    "over a holiday": (utc(2026, 6, 9, 15), 4, WEDNESDAY_OFF, utc(2026, 6, 11, 11)),
    # Berlin Fri 2026-03-27 16:00 CET + 2 h: Fri 16-17 (1) + Mon 09-10 CEST = Mon 10:00 CEST = 08:00 UTC.
    "over spring forward": (berlin(2026, 3, 27, 16), 2, BERLIN_OFFICE, utc(2026, 3, 30, 8)),
    # Berlin Fri 2026-10-23 16:00 CEST + 2 h: Fri 16-17 (1) + Mon 09-10 CET = Mon 10:00 CET = 09:00 UTC.
    "over fall back": (berlin(2026, 10, 23, 16), 2, BERLIN_OFFICE, utc(2026, 10, 26, 9)),
    # Sunday night windows: 5 h from 00:00 CET end at 06:00 CEST (04:00 UTC), 7 h from 00:00 CEST at 06:00 CET
    # (05:00 UTC); 2 h from 01:00 CET (00:00 UTC) end at 04:00 CEST (02:00 UTC).
    "spring night": (berlin(2026, 3, 29), 5, BERLIN_NIGHT, utc(2026, 3, 29, 4)),
    "autumn night": (berlin(2026, 10, 25), 7, BERLIN_NIGHT, utc(2026, 10, 25, 5)),
    "spring hour": (berlin(2026, 3, 29, 1), 2, BERLIN_NIGHT, utc(2026, 3, 29, 2)),
    # Tokyo Fri 2026-06-05 16:00 JST (07:00 UTC) + 2 h = Mon 10:00 JST = Mon 01:00 UTC.
    "tokyo": (utc(2026, 6, 5, 7), 2, Calendar(time_zone="Asia/Tokyo"), utc(2026, 6, 8, 1)),
}


@pytest.mark.parametrize(
    ("start", "amount", "calendar", "deadline"), DEADLINES.values(), ids=DEADLINES.keys()
)
def test_add_business_hours(start, amount, calendar, deadline):
    result = add_business_hours(start, amount, calendar)
    assert result == deadline
    assert result.utcoffset() == dt.timedelta(0)


def test_adding_nothing_returns_the_start_itself():
    start = dt.datetime(2026, 6, 6, 12, tzinfo=BERLIN)  # a Saturday, outside working time
    assert add_business_hours(start, 0, BERLIN_OFFICE) is start
    assert add_business_hours(start, Decimal("0.000"), BERLIN_OFFICE) is start


def test_negative_or_odd_amounts_are_refused():
    with pytest.raises(ValueError, match=">= 0"):
        add_business_hours(utc(2026, 6, 1, 9), -1, OFFICE)
    with pytest.raises(ValueError, match=">= 0"):
        add_business_hours(utc(2026, 6, 1, 9), float("nan"), OFFICE)
    with pytest.raises(TypeError):
        add_business_hours(utc(2026, 6, 1, 9), "1", OFFICE)


def _every_day(first: dt.date, days: int) -> frozenset[dt.date]:
    return frozenset(first + dt.timedelta(days=n) for n in range(days))


def test_a_long_holiday_stretch_is_crossed():
    # Two years off from Mon 2026-06-01: the clock starts on the first day after, Thu 2028-06-01 (731 days).
    calendar = Calendar(holidays=_every_day(dt.date(2026, 6, 1), 731))
    assert add_business_hours(utc(2026, 6, 1, 9), 1, calendar) == utc(2028, 6, 1, 10)


def test_no_working_time_for_three_years_stops_the_search():
    calendar = Calendar(holidays=_every_day(dt.date(2026, 6, 1), 4 * 366))
    with pytest.raises(ValueError, match="three years"):
        add_business_hours(utc(2026, 6, 1, 9), 1, calendar)


ZONES = [
    "UTC",
    "Europe/Berlin",
    "Europe/Dublin",  # negative daylight saving in the tz database
    "America/New_York",
    "America/Santiago",  # changes at midnight
    "America/St_Johns",  # -03:30
    "Asia/Tokyo",
    "Asia/Kathmandu",  # +05:45
    "Australia/Lord_Howe",  # half-hour daylight saving
    "Pacific/Chatham",  # +12:45 / +13:45
    "Pacific/Kiritimati",  # +14:00
]
TIMES = st.one_of(st.integers(0, 23).map(dt.time), st.times())


def _on_a_day(wall: dt.time) -> dt.datetime:
    """A time of day on some date, for time-of-day arithmetic."""
    return dt.datetime.combine(dt.date(2000, 1, 1), wall)


@st.composite
def cases(draw, min_window: dt.timedelta = dt.timedelta(0)) -> tuple[dt.datetime, Calendar]:
    """A start anywhere in 2000-2037 in any of ZONES, and a calendar with holidays in the weeks after it."""
    start = draw(
        st.datetimes(
            min_value=dt.datetime(2000, 1, 1),  # noqa: DTZ001
            max_value=dt.datetime(2037, 12, 31),  # noqa: DTZ001
            timezones=st.sampled_from([ZoneInfo(z) for z in ZONES]),
            allow_imaginary=False,
        )
    )
    zone = draw(st.sampled_from(ZONES))
    day_start = draw(TIMES)
    if _on_a_day(day_start) + min_window > _on_a_day(dt.time.max):
        day_start = dt.time(0)
    earliest = (_on_a_day(day_start) + max(min_window, dt.timedelta(microseconds=1))).time()
    day_end = max(draw(TIMES), earliest)
    first = start.astimezone(ZoneInfo(zone)).date()
    holidays = draw(st.sets(st.integers(-1, 60).map(lambda n: first + dt.timedelta(days=n)), max_size=10))
    calendar = Calendar(
        time_zone=zone,
        working_days=tuple(draw(st.sets(st.integers(1, 7), min_size=1))),
        day_start=day_start,
        day_end=day_end,
        holidays=frozenset(holidays),
    )
    return start, calendar


@settings(max_examples=300, deadline=None, database=None)
@given(case=cases(min_window=dt.timedelta(hours=1)), amount=st.decimals(0, 200, places=6))
@example(case=(utc(2026, 6, 5, 15), OFFICE), amount=Decimal(24))
@example(case=(berlin(2026, 3, 28, 23), BERLIN_NIGHT), amount=Decimal("4.5"))
def test_add_business_hours_is_the_inverse_of_business_hours_between(case, amount):
    start, calendar = case
    deadline = add_business_hours(start, amount, calendar)
    assert deadline >= start
    assert business_hours_between(start, deadline, calendar) == amount


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"time_zone": "Mars/Olympus_Mons"}, "time_zone"),
        ({"time_zone": ""}, "time_zone"),
        ({"time_zone": "CET"}, "time_zone"),  # PostgreSQL reads it as the fixed +01:00 abbreviation
        ({"working_days": ()}, "working_days"),
        ({"working_days": (0, 1)}, "working_days"),
        ({"working_days": (5, 8)}, "working_days"),
        ({"day_end": dt.time(9)}, "day_end"),
        ({"day_start": dt.time(18)}, "day_end"),
        ({"day_start": "09:00"}, "day_start"),
        ({"day_start": dt.time(9, tzinfo=UTC)}, "day_start"),
        ({"holidays": frozenset({"2026-12-25"})}, "holidays"),
    ],
)
def test_validation_names_the_field(fields, field):
    with pytest.raises(ValidationError) as error:
        Calendar(**fields)
    assert list(error.value.message_dict) == [field]


def test_validation_reports_every_bad_field():
    with pytest.raises(ValidationError) as error:
        Calendar(time_zone="Nowhere/Town", working_days=(), day_end=dt.time(8))
    assert set(error.value.message_dict) == {"time_zone", "working_days", "day_end"}


def test_calendars_are_normalised():
    given_as = Calendar(working_days=(5, 1, 1), holidays={dt.date(2026, 12, 25)})  # type: ignore[arg-type]
    assert given_as == Calendar(working_days=(1, 5), holidays=frozenset({dt.date(2026, 12, 25)}))
    assert hash(given_as) == hash(Calendar(working_days=(1, 5), holidays=frozenset({dt.date(2026, 12, 25)})))


# The SQL function


def _create_function() -> None:
    with connection.cursor() as cursor:
        cursor.execute(BUSINESS_HOURS_SQL)


def _sql_hours(a: dt.datetime | None, b: dt.datetime | None, *calendar_arguments) -> Decimal | None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT alignment_business_hours_in(%s, %s, %s, %s::int[], %s::time, %s::time, %s::date[])",
            [a, b, *calendar_arguments],
        )
        return cursor.fetchone()[0]


@pytest.mark.django_db
@pytest.mark.parametrize(("a", "b", "calendar", "expected"), CASES.values(), ids=CASES.keys())
def test_sql_function_on_the_hand_computed_cases(a, b, calendar, expected):
    _create_function()
    assert _sql_hours(a, b, *calendar.sql_arguments()) == expected


@pytest.mark.django_db
def test_sql_function_does_not_depend_on_the_session_time_zone():
    _create_function()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL TimeZone = 'Pacific/Kiritimati'")
    for a, b, calendar, expected in CASES.values():
        assert _sql_hours(a, b, *calendar.sql_arguments()) == expected


@pytest.mark.django_db
def test_sql_function_nulls():
    _create_function()
    a, b, calendar, expected = CASES["holiday"]
    tz, days, day_start, day_end, _ = calendar.sql_arguments()
    assert _sql_hours(None, b, *calendar.sql_arguments()) is None
    assert _sql_hours(a, None, *calendar.sql_arguments()) is None
    assert _sql_hours(a, b, tz, None, day_start, day_end, []) is None
    # NULL holidays (or NULL among them) mean no holiday: 12 h as in "no holiday".
    assert _sql_hours(a, b, tz, days, day_start, day_end, None) == 12
    assert _sql_hours(a, b, tz, days, day_start, day_end, [None]) == 12


@pytest.mark.django_db
def test_sql_function_drops():
    _create_function()
    with connection.cursor() as cursor:
        cursor.execute(DROP_BUSINESS_HOURS_SQL)
        cursor.execute("SELECT to_regproc('alignment_business_hours_in')")
        assert cursor.fetchone()[0] is None


@pytest.mark.django_db
def test_sql_function_equals_python_on_a_sample():
    _create_function()

    @settings(max_examples=50, deadline=None, database=None)
    @given(
        case=cases(),
        span=st.timedeltas(min_value=dt.timedelta(days=-2), max_value=dt.timedelta(days=60)),
    )
    def check(case, span):
        a, calendar = case
        b = a + span
        assert _sql_hours(a, b, *calendar.sql_arguments()) == business_hours_between(a, b, calendar)

    check()
