"""SLA reports: the sales side judged on speed and follow-through per rep and team (from the clocks, in SQL),
the marketing side on volume and acceptance against its commitment (from stored metric values).

A clock counts as met once its step was done within the hours allowed, breached once the breach was
raised, and pending while it still runs; attainment is met / (met + breached), no data when both are 0.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection

from . import registry
from .business_time import HOURS_SQL
from .goals import period_end
from .models import GoalPeriod, MetricValue, SlaPolicy
from .sla import calendar

SALES_SIDE = (
    """
SELECT {key} AS key, GROUPING({key}) = 1 AS is_total,
       count(*) AS mqls,
       count(*) FILTER (WHERE k.first_touch_at IS NOT NULL AND k.first_touch_breached_at IS NULL)
           AS touch_met,
       count(*) FILTER (WHERE k.first_touch_breached_at IS NOT NULL) AS touch_breached,
       count(*) FILTER (WHERE k.decided_at IS NOT NULL AND k.decision_breached_at IS NULL) AS decision_met,
       count(*) FILTER (WHERE k.decision_breached_at IS NOT NULL) AS decision_breached,
       count(*) FILTER (WHERE k.escalation_level >= 2) AS escalated,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY """
    + HOURS_SQL.format(a="k.mql_at", b="k.first_touch_at")
    + """)
           FILTER (WHERE k.first_touch_at IS NOT NULL) AS median_touch_hours
FROM alignment_slaclock k
{join}
WHERE k.mql_at >= %(start)s AND k.mql_at < %(end)s
GROUP BY GROUPING SETS ({sets})
"""
)


@dataclass
class SideRow:
    key: int | None  # a rep's or a team's id; None for the workspace
    label: str
    mqls: int
    touch_met: int
    touch_breached: int
    decision_met: int
    decision_breached: int
    escalated: int
    median_touch_hours: Decimal | None

    @property
    def touch_attainment(self) -> Decimal | None:
        return _share(self.touch_met, self.touch_breached)

    @property
    def decision_attainment(self) -> Decimal | None:
        return _share(self.decision_met, self.decision_breached)


def _share(met: int, breached: int) -> Decimal | None:
    return (
        None if met + breached == 0 else (Decimal(met) / Decimal(met + breached)).quantize(Decimal("0.0001"))
    )


def sales_side(start: dt.date, end: dt.date) -> dict[str, list[SideRow]]:
    """Per rep (with the workspace total first) and per team, for the clocks of MQLs entered in
    [start, end): two queries."""
    from accounts.models import User
    from sales.models import Team

    params = {"start": start, "end": end, **calendar().sql_params()}
    result: dict[str, list[SideRow]] = {}
    with connection.cursor() as cursor:
        cursor.execute(SALES_SIDE.format(key="k.owner_id", join="", sets="(k.owner_id), ()"), params)
        reps = cursor.fetchall()
        team_sql = SALES_SIDE.format(
            key="tm.team_id",
            join="JOIN sales_team_members tm ON tm.user_id = k.owner_id",
            sets="(tm.team_id)",
        )
        cursor.execute(team_sql, params)
        teams = cursor.fetchall()
    names = {
        u.pk: u.full_name or u.email
        for u in User.objects.filter(pk__in=[r[0] for r in reps if r[0]]).only("id", "full_name", "email")
    }
    team_names = dict(Team.objects.filter(pk__in=[t[0] for t in teams]).values_list("pk", "name"))
    rows, total = [], None
    for key, is_total, *counts in reps:
        if is_total:
            total = SideRow(None, "Workspace", *counts)
        else:
            rows.append(SideRow(key, names.get(key, "No owner"), *counts))
    rows.sort(key=lambda r: (r.key is None, r.label.lower()))
    result["reps"] = ([total] if total else []) + rows
    result["teams"] = sorted(
        (SideRow(key, team_names.get(key, "?"), *counts) for key, _, *counts in teams),
        key=lambda r: r.label,
    )
    return result


@dataclass
class MarketingSide:
    period: str
    period_start: dt.date
    mqls: Decimal | None
    commitment: int | None
    acceptance_rate: Decimal | None
    min_acceptance_rate: Decimal | None

    @property
    def volume_met(self) -> bool | None:
        if self.commitment is None or self.mqls is None:
            return None
        return self.mqls >= self.commitment

    @property
    def acceptance_met(self) -> bool | None:
        if self.min_acceptance_rate is None or self.acceptance_rate is None:
            return None
        return self.acceptance_rate >= self.min_acceptance_rate


def marketing_side(day: dt.date) -> MarketingSide:
    """The workspace policy's commitment for the period holding ``day``, against the stored MQLs and
    acceptance rate of that period (one query for the policy, one for the values)."""
    from .goals import period_of
    from .services import reporting_definition

    policy = SlaPolicy.objects.filter(is_active=True, segment__isnull=True, team__isnull=True).first()
    period = policy.commitment_period if policy else GoalPeriod.MONTH
    if period == GoalPeriod.YEAR:
        period = GoalPeriod.QUARTER  # stored values go up to quarters
    start = period_of(period, day)
    grain = registry.MONTH if period == GoalPeriod.MONTH else registry.QUARTER
    values = dict(
        MetricValue.objects.filter(
            definition=reporting_definition(),
            granularity=grain,
            period_start=start,
            dimension="",
            model="",
            metric__in=["mqls", "mql_acceptance_rate"],
        ).values_list("metric", "value")
    )
    return MarketingSide(
        period=period,
        period_start=start,
        mqls=values.get("mqls"),
        commitment=policy.mql_commitment if policy else None,
        acceptance_rate=values.get("mql_acceptance_rate"),
        min_acceptance_rate=policy.min_acceptance_rate if policy else None,
    )


def month_range(day: dt.date) -> tuple[dt.date, dt.date]:
    start = day.replace(day=1)
    return start, period_end(GoalPeriod.MONTH, start)
