"""The sales checklist: targets, conversion, satisfaction, prospects' needs, process and follow-up."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Count, Max, Q, Subquery, Sum
from django.urls import reverse

from sales.models import Quota, SubscriptionEvent
from sales.reports import quota_attainment

from ..models import Goal
from ..registry import REGISTRY
from .base import (
    ATTAINMENT_PARTLY,
    ATTAINMENT_YES,
    CHURN_DAYS,
    CONVERSION_GOAL_METRICS,
    DISCOVERY_KINDS,
    DISCOVERY_PER_DEAL,
    NEEDS_DAYS,
    NO,
    NO_DATA,
    NRR_PARTLY,
    NRR_YES,
    OVERDUE_SHARE_MAX,
    PARTLY,
    PROCESS_MIN_STAGES,
    SALES,
    STALE_FACTOR,
    STALE_SHARE_MAX,
    YES,
    Answer,
    _Clock,
    _count,
    _fetch,
    _money,
    _month,
    _number,
    _percent,
    _period,
    _ratio,
    _window,
)


def _targets(clock: _Clock, workspace: dict) -> Answer:
    """Revenue quotas of the last ended period (the latest end; a quarter before a month ending the same
    day), won against target, in one query (``sales.reports.quota_attainment``)."""
    ended = quota_attainment(Quota.objects.filter(metric=Quota.Metric.REVENUE_WON)).filter(
        period_end__lte=clock.today
    )
    latest = ended.order_by("-period_end", "-period").values("period_end", "period")[:1]
    totals = ended.filter(
        period_end=Subquery(latest.values("period_end")), period=Subquery(latest.values("period"))
    ).aggregate(
        quotas=Count("id"),
        target=Sum("target"),
        won=Sum("actual"),
        period=Max("period"),
        period_start=Max("period_start"),
    )
    quotas, target, won = totals["quotas"], totals["target"], totals["won"]
    attainment = _ratio(won, target)
    if attainment is None:
        status = NO_DATA
    elif attainment >= ATTAINMENT_YES:
        status = YES
    elif attainment >= ATTAINMENT_PARTLY:
        status = PARTLY
    else:
        status = NO
    if not quotas:
        evidence = "No revenue quota for a period that has ended."
    else:
        currency, period = workspace["currency"], _period(totals["period"], totals["period_start"])
        evidence = (
            f"Revenue won {_money(won, currency)} of a {_money(target, currency)} target in {period} "
            f"({_percent(attainment)}, {_count(quotas, 'quota')})."
        )
    return Answer(
        key="targets",
        team=SALES,
        question="Are revenue targets met?",
        status=status,
        evidence=evidence,
        link=reverse("sales:quotas"),
        figures={
            "quotas": quotas,
            "period": totals["period"],
            "period_start": totals["period_start"],
            "target": target,
            "won": won,
            "attainment": attainment,
        },
    )


_GOAL_STATUS = {
    Goal.Status.ON_TRACK: YES,
    Goal.Status.AT_RISK: PARTLY,
    Goal.Status.OFF_TRACK: NO,
    Goal.Status.NO_DATA: NO_DATA,
}


def _conversion(clock: _Clock, stored: dict) -> Answer:
    goal = (
        Goal.objects.filter(metric__in=CONVERSION_GOAL_METRICS, period_start__lte=clock.today)
        .order_by("-period_start", "-id")
        .values("pk", "name", "metric", "period", "period_start", "status")
        .first()
    )
    customers, leads = stored["new_customers_recent"], stored["leads_recent"]
    rate = _ratio(customers, leads)
    window = _window(clock.recent)
    if leads is None:
        head = f"No stored leads for {window}"
    elif customers is None:
        head = f"{_count(int(leads), 'lead')} but no stored new customers for {window}"
    elif not leads:
        head = f"0 leads in {window}"
    else:
        head = (
            f"{_count(int(customers), 'new customer')} from {_count(int(leads), 'lead')} in {window} "
            f"({_percent(rate)})"
        )
    if goal is None:
        status, tail, link = NO_DATA, "no goal set to judge it", reverse("alignment:goals")
    else:
        status = _GOAL_STATUS.get(goal["status"], NO_DATA)
        label = REGISTRY[goal["metric"]].label if goal["metric"] in REGISTRY else goal["metric"]
        tail = (
            f'goal "{goal["name"]}" ({label}, {_period(goal["period"], goal["period_start"])}) is '
            f"{Goal.Status(goal['status']).label.lower()}"
        )
        link = reverse("alignment:goal", args=[goal["pk"]])
    return Answer(
        key="conversion",
        team=SALES,
        question="Is lead-to-customer conversion satisfactory?",
        status=status,
        evidence=f"{head}; {tail}.",
        link=link,
        figures={
            "new_customers": customers,
            "leads": leads,
            "rate": rate,
            "goal": goal["pk"] if goal else None,
            "goal_status": goal["status"] if goal else None,
        },
    )


def _satisfaction(clock: _Clock, stored: dict) -> Answer:
    churns = SubscriptionEvent.objects.filter(
        kind=SubscriptionEvent.Kind.CHURN, at__gte=clock.days_ago(CHURN_DAYS), at__lte=clock.now
    ).aggregate(churns=Count("id"), with_reason=Count("id", filter=~Q(churn_reason="")))
    nrr, logo_churn = stored["nrr"], stored["logo_churn"]
    count, explained = churns["churns"], churns["with_reason"]
    if nrr is None and not count:
        status = NO_DATA
    elif nrr is not None and nrr >= NRR_YES and explained == count:
        status = YES
    elif (nrr is not None and nrr >= NRR_PARTLY) or explained:
        status = PARTLY
    else:
        status = NO
    churn = (
        f"{_count(count, 'churn')} in the last {CHURN_DAYS} days, {explained} with a reason"
        if count
        else f"no churn in the last {CHURN_DAYS} days"
    )
    return Answer(
        key="satisfaction",
        team=SALES,
        question="Are customers satisfied?",
        status=status,
        evidence=(
            f"In {_month(clock.last_month)}: net revenue retention {_percent(nrr)}, logo churn "
            f"{_percent(logo_churn)}; {churn}."
        ),
        link=reverse("sales:customers"),
        figures={"nrr": nrr, "logo_churn": logo_churn, "churns": count, "churns_with_reason": explained},
    )


NEEDS_SQL = """
SELECT
    (SELECT COUNT(*) FROM alignment_objectionlog l WHERE l.logged_at >= %(since)s AND l.logged_at <= %(now)s),
    (SELECT COUNT(*) FROM sales_activity a
     WHERE a.kind = ANY(%(kinds)s) AND a.done_at >= %(since)s AND a.done_at <= %(now)s),
    (SELECT COUNT(*) FROM sales_deal d WHERE d.created_at >= %(since)s AND d.created_at <= %(now)s)
"""


def _needs(clock: _Clock) -> Answer:
    objections, discovery, deals = _fetch(
        NEEDS_SQL, {"since": clock.days_ago(NEEDS_DAYS), "now": clock.now, "kinds": list(DISCOVERY_KINDS)}
    )
    per_deal = _ratio(discovery, deals)
    heard, discovered = objections > 0, per_deal is not None and per_deal >= DISCOVERY_PER_DEAL
    status = YES if heard and discovered else PARTLY if heard or discovered else NO
    ratio = ""
    if per_deal is not None:
        ratio = f" ({per_deal.quantize(Decimal('0.1'), rounding=ROUND_HALF_UP)} per new deal)"
    return Answer(
        key="needs",
        team=SALES,
        question="Do we understand prospects' needs?",
        status=status,
        evidence=(
            f"In the last {NEEDS_DAYS} days: {_count(objections, 'objection')} logged; "
            f"{_count(discovery, 'discovery activity', 'discovery activities')} (calls, meetings, demos) "
            f"for {_count(deals, 'new deal')}{ratio}."
        ),
        link=reverse("alignment:objections"),
        figures={
            "objections": objections,
            "discovery_activities": discovery,
            "new_deals": deals,
            "per_deal": per_deal,
        },
    )


PROCESS_SQL = """
WITH open_deals AS (
    SELECT d.pipeline_id, d.stage_id, s.kind,
           %(now)s - d.stage_entered_at > make_interval(days => %(factor)s * s.expected_days) AS stale
    FROM sales_deal d JOIN sales_stage s ON s.id = d.stage_id
    WHERE d.status = 'open'
)
SELECT
    COUNT(*),
    COUNT(DISTINCT stage_id) FILTER (WHERE kind = 'open'),
    COUNT(*) FILTER (WHERE stale),
    (SELECT COALESCE(json_agg(json_build_array(x.name, x.deals) ORDER BY x.position, x.id), '[]')
     FROM (SELECT p.id, p.position, p.name, COUNT(*) AS deals
           FROM open_deals o JOIN sales_pipeline p ON p.id = o.pipeline_id
           GROUP BY p.id, p.position, p.name) x)
FROM open_deals
"""


def _process(clock: _Clock) -> Answer:
    deals, stages, stale, pipelines = _fetch(PROCESS_SQL, {"now": clock.now, "factor": STALE_FACTOR})
    stale_share = _ratio(stale, deals)
    if not deals:
        status = NO
    elif stages >= PROCESS_MIN_STAGES and stale_share <= STALE_SHARE_MAX:
        status = YES
    else:
        status = PARTLY
    if deals:
        spread = ", ".join(f"{name} {n}" for name, n in pipelines)
        evidence = (
            f"{_count(deals, 'open deal')} ({spread}) across {_count(stages, 'open stage')}; {stale} stale, "
            f"longer than {STALE_FACTOR}x their stage's expected days ({_percent(stale_share)})."
        )
    else:
        evidence = "No open deal."
    return Answer(
        key="process",
        team=SALES,
        question="Do we follow a defined sales process?",
        status=status,
        evidence=evidence,
        link=reverse("sales:board"),
        figures={
            "open_deals": deals,
            "per_pipeline": {name: n for name, n in pipelines},
            "open_stages": stages,
            "stale": stale,
            "stale_share": stale_share,
        },
    )


def _follow_up(clock: _Clock, stored: dict, workspace: dict) -> Answer:
    median, allowed = stored["speed_to_lead_median"], workspace["allowed_hours"]
    overdue, open_activities = workspace["overdue"], workspace["open_activities"]
    share = _ratio(overdue, open_activities)
    fast = median is not None and median <= allowed
    on_time = share is None or share <= OVERDUE_SHARE_MAX  # nothing open: nothing overdue
    if median is None and not open_activities:
        status = NO_DATA
    else:
        status = YES if fast and on_time else PARTLY if fast or on_time else NO
    hours = "no data" if median is None else f"{_number(median)} business hours"
    activities = "no open activity"
    if open_activities:
        activities = (
            f"{overdue} of {_count(open_activities, 'open activity', 'open activities')} overdue "
            f"({_percent(share)})"
        )
    return Answer(
        key="follow_up",
        team=SALES,
        question="Do we follow up actively?",
        status=status,
        evidence=(
            f"Median first touch in {_month(clock.last_month)}: {hours} against {_number(allowed)} allowed; "
            f"{activities}."
        ),
        link=reverse("alignment:sla"),
        figures={
            "median_hours": median,
            "allowed_hours": allowed,
            "allowed_source": workspace["allowed_source"],
            "overdue": overdue,
            "open_activities": open_activities,
            "overdue_share": share,
        },
    )
