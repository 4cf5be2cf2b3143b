"""What both checklists share: the answer, the moments they are computed against, the wording of figures
and the facts several answers read.

Each team gets six questions ("Do we have a clear target audience?", "Are revenue targets met?"). Every
answer carries a status, one or two sentences of evidence with the real figures, the raw figures and a link
to the portal page where the evidence can be seen. Stored metric values are read under the reporting
definition, for the whole workspace; a missing row or a NULL value is "no data", never zero.

``checklists()`` runs a fixed number of queries, whatever the number of rows (13): one for the reporting
definition (two before the first full recompute), one for the stored metric values, one for the workspace
settings and open activities, and one aggregate per answer that reads facts (10: audience and channels share
theirs). All dates are UTC dates.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.db import connection
from django.db.models import Count, Max, Q, Sum

from marketing.models import Channel

from ..models import MetricValue
from ..services import reporting_definition

STATUSES = ("yes", "partly", "no", "no_data")
YES, PARTLY, NO, NO_DATA = STATUSES
MARKETING, SALES = "marketing", "sales"

# A campaign is "recent" when it ran on any day of this many days up to today (audience and channels).
RECENT_CAMPAIGN_DAYS = 90
# Audience: at least this share of the recent campaigns must target a segment for a clear "yes".
TARGETING_SHARE_YES = Decimal("0.5")
# Awareness: visits of the last 3 full months against the 3 before; a change within +/- this band is flat.
AWARENESS_BAND = Decimal("0.05")
# Capture: a form counts when it received a submission in this many days.
CAPTURE_DAYS = 30
# Content: an asset is "used" when an activity on a deal shared it in this many days (new assets are
# counted in each of the last 3 full months).
CONTENT_USE_DAYS = 90
# Monitoring: the reports or the scorecard opened in at least this many of the last 4 weeks...
MONITORING_WEEKS = 4
MONITORING_WEEKS_YES = 3
# ... and the goals looked at (the goals page opened, or a goal updated) in this many days.
GOAL_REVIEW_DAYS = 30
# Targets: attainment of the last ended quota period; from this share "yes", from the next "partly".
ATTAINMENT_YES = Decimal("1")
ATTAINMENT_PARTLY = Decimal("0.8")
# Satisfaction: net revenue retention from this ratio "yes" (with every churn explained), from the next
# "partly"; churn events are read over this many days.
NRR_YES = Decimal("1")
NRR_PARTLY = Decimal("0.9")
CHURN_DAYS = 90
# Needs: objections and discovery activities over this many days, and at least this many discovery
# activities (calls, meetings, demos) per deal created in the same days.
NEEDS_DAYS = 90
DISCOVERY_PER_DEAL = Decimal("1")
DISCOVERY_KINDS = ("call", "meeting", "demo")
# Process: open deals should sit in at least this many open stages, and at most this share of them may be
# stale (longer in their stage than this factor times the stage's expected days).
PROCESS_MIN_STAGES = 3
STALE_FACTOR = 2
STALE_SHARE_MAX = Decimal("0.2")
# Follow-up: the hours allowed for a first touch when neither an SLA policy nor sales settings say, and the
# largest share of open activities that may be overdue.
FOLLOW_UP_DEFAULT_HOURS = Decimal("4")
OVERDUE_SHARE_MAX = Decimal("0.1")

# The goals that judge lead-to-customer conversion.
CONVERSION_GOAL_METRICS = ("new_customers", "mql_to_sql_rate", "mql_to_sql_rate_cohort", "win_rate")
# The stored metrics the checklists read (month granularity, whole workspace).
STORED_METRICS = (
    "visits",
    "leads",
    "new_customers",
    "net_revenue_retention",
    "logo_churn",
    "speed_to_lead_median",
)

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_CHANNEL_ORDER = {value: n for n, value in enumerate(Channel.values)}


@dataclass(frozen=True)
class Answer:
    key: str
    team: str
    question: str
    status: str
    evidence: str
    link: str
    figures: dict


@dataclass(frozen=True)
class _Clock:
    """The moments every answer is computed against (UTC)."""

    now: dt.datetime
    today: dt.date
    this_month: dt.date  # first day of the month holding ``now``
    last_month: dt.date  # the last full month
    recent: dt.date  # first of the last 3 full months
    before: dt.date  # first of the 3 months before those

    def days_ago(self, days: int) -> dt.datetime:
        return self.now - dt.timedelta(days=days)


def _add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def _clock(now: dt.datetime) -> _Clock:
    now = now.astimezone(dt.UTC)
    this_month = now.date().replace(day=1)
    return _Clock(
        now=now,
        today=now.date(),
        this_month=this_month,
        last_month=_add_months(this_month, -1),
        recent=_add_months(this_month, -3),
        before=_add_months(this_month, -6),
    )


def _moment(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)


# --- wording ---------------------------------------------------------------------------------------------


def _month(day: dt.date) -> str:
    return f"{_MONTHS[day.month - 1]} {day.year}"


def _window(start: dt.date, months: int = 3) -> str:
    """``Mar-May 2026``, or ``Dec 2025-Feb 2026`` across a year."""
    last = _add_months(start, months - 1)
    if start.year == last.year:
        return f"{_MONTHS[start.month - 1]}-{_MONTHS[last.month - 1]} {last.year}"
    return f"{_month(start)}-{_month(last)}"


def _period(period: str, start: dt.date) -> str:
    if period == "quarter":
        return f"Q{(start.month - 1) // 3 + 1} {start.year}"
    if period == "year":
        return str(start.year)
    return _month(start)


def _count(n: int, singular: str, plural: str | None = None) -> str:
    return f"{n:,} {singular if n == 1 else plural or singular + 's'}"


def _number(value: Decimal | int | None, missing: str = "no data") -> str:
    """A count or a number of hours with thousands separators and at most two decimals."""
    if value is None:
        return missing
    rounded = Decimal(value).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    if rounded == rounded.to_integral_value():
        return f"{rounded:,.0f}"
    return f"{rounded.normalize():,f}"


def _money(value: Decimal, currency: str) -> str:
    places = ".0f" if value == value.to_integral_value() else ".2f"
    return f"{currency} {value:,{places}}"


def _percent(ratio: Decimal | None, *, signed: bool = False) -> str:
    if ratio is None:
        return "no data"
    whole = (ratio * 100).quantize(Decimal("1"), rounding=ROUND_HALF_UP)
    return f"{whole:+}%" if signed and whole else f"{whole}%"


def _ratio(part: Decimal | int | None, whole: Decimal | int | None) -> Decimal | None:
    if part is None or not whole:
        return None
    return Decimal(part) / Decimal(whole)


# --- the facts -------------------------------------------------------------------------------------------


def _stored(clock: _Clock) -> dict:
    """Stored monthly values for the whole workspace under the reporting definition (one query, plus the
    definition's). A sum over months with no non-NULL value is None: no data."""
    definition = reporting_definition()
    recent = Q(period_start__gte=clock.recent)
    before = Q(period_start__lt=clock.recent)
    last = Q(period_start=clock.last_month)

    def metric(key: str) -> Q:
        return Q(metric=key)

    return MetricValue.objects.filter(
        definition=definition,
        granularity="month",
        dimension="",
        dimension_value="",
        model="",
        metric__in=STORED_METRICS,
        period_start__gte=clock.before,
        period_start__lt=clock.this_month,
    ).aggregate(
        visits_recent=Sum("value", filter=metric("visits") & recent),
        visits_recent_months=Count("value", filter=metric("visits") & recent),
        visits_before=Sum("value", filter=metric("visits") & before),
        visits_before_months=Count("value", filter=metric("visits") & before),
        leads_recent=Sum("value", filter=metric("leads") & recent),
        new_customers_recent=Sum("value", filter=metric("new_customers") & recent),
        leads_last_month=Sum("value", filter=metric("leads") & last),
        nrr=Max("value", filter=metric("net_revenue_retention") & last),
        logo_churn=Max("value", filter=metric("logo_churn") & last),
        speed_to_lead_median=Max("value", filter=metric("speed_to_lead_median") & last),
    )


def _fetch(sql: str, params: dict) -> tuple:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


WORKSPACE_SQL = """
SELECT
    (SELECT p.first_touch_hours FROM alignment_slapolicy p
     WHERE p.is_active AND p.segment_id IS NULL AND p.team_id IS NULL ORDER BY p.id LIMIT 1),
    (SELECT s.mql_follow_up_hours FROM sales_salessettings s WHERE s.id = 1),
    (SELECT s.currency FROM sales_salessettings s WHERE s.id = 1),
    COUNT(*) FILTER (WHERE a.due_at < %(now)s),
    COUNT(*)
FROM sales_activity a
WHERE a.done_at IS NULL
"""


def _workspace(clock: _Clock) -> dict:
    """The workspace SLA's first-touch hours, the sales settings and the open activities (one query)."""
    policy_hours, settings_hours, currency, overdue, open_activities = _fetch(
        WORKSPACE_SQL, {"now": clock.now}
    )
    if policy_hours is not None:
        allowed, source = Decimal(policy_hours), "sla_policy"
    elif settings_hours is not None:
        allowed, source = Decimal(settings_hours), "sales_settings"
    else:
        allowed, source = FOLLOW_UP_DEFAULT_HOURS, "default"
    return {
        "allowed_hours": allowed,
        "allowed_source": source,
        "currency": currency or "EUR",
        "overdue": overdue,
        "open_activities": open_activities,
    }
