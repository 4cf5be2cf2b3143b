"""The marketing checklist: audience, awareness, capture, content, channel mix and monitoring."""

from __future__ import annotations

import datetime as dt

from django.urls import reverse

from marketing.models import Channel
from marketing.models.campaigns import OFFLINE_CHANNELS

from .base import (
    _CHANNEL_ORDER,
    AWARENESS_BAND,
    CAPTURE_DAYS,
    CONTENT_USE_DAYS,
    GOAL_REVIEW_DAYS,
    MARKETING,
    MONITORING_WEEKS,
    MONITORING_WEEKS_YES,
    NO,
    NO_DATA,
    PARTLY,
    RECENT_CAMPAIGN_DAYS,
    TARGETING_SHARE_YES,
    YES,
    Answer,
    _add_months,
    _Clock,
    _count,
    _fetch,
    _moment,
    _month,
    _number,
    _percent,
    _ratio,
    _window,
)

CAMPAIGNS_SQL = """
SELECT
    (SELECT COUNT(*) FROM marketing_segment),
    COUNT(c.id),
    COUNT(c.id) FILTER (WHERE EXISTS (
        SELECT 1 FROM marketing_campaign_target_segments t WHERE t.campaign_id = c.id
    )),
    COALESCE(array_agg(DISTINCT c.channel), '{}')
FROM marketing_campaign c
WHERE c.status <> 'planned' AND c.start_date <= %(today)s AND (c.end_date IS NULL OR c.end_date >= %(since)s)
"""


def _campaigns(clock: _Clock) -> dict:
    """Segments, and the campaigns that ran in the last 90 days: how many target a segment, which channels."""
    segments, recent, targeting, channels = _fetch(
        CAMPAIGNS_SQL, {"today": clock.today, "since": clock.today - dt.timedelta(days=RECENT_CAMPAIGN_DAYS)}
    )
    channels = sorted(channels, key=lambda c: _CHANNEL_ORDER.get(c, len(_CHANNEL_ORDER)))
    return {"segments": segments, "recent_campaigns": recent, "targeting": targeting, "channels": channels}


def _audience(campaigns: dict) -> Answer:
    segments, recent, targeting = campaigns["segments"], campaigns["recent_campaigns"], campaigns["targeting"]
    share = _ratio(targeting, recent)
    if not segments:
        status = NO
    elif share is not None and share >= TARGETING_SHARE_YES:
        status = YES
    else:
        status = PARTLY
    head = _count(segments, "segment") if segments else "No segment"
    if recent:
        verb = "targets" if recent == 1 else "target"
        evidence = (
            f"{head}; {targeting} of {_count(recent, 'campaign')} active in the last {RECENT_CAMPAIGN_DAYS} "
            f"days {verb} one ({_percent(share)})."
        )
    else:
        evidence = f"{head}; no campaign active in the last {RECENT_CAMPAIGN_DAYS} days."
    return Answer(
        key="audience",
        team=MARKETING,
        question="Do we have a clear target audience?",
        status=status,
        evidence=evidence,
        link=reverse("marketing:segment_list"),
        figures={"segments": segments, "recent_campaigns": recent, "targeting": targeting, "share": share},
    )


REACH_SQL = """
SELECT
    SUM(s.audience_size) FILTER (WHERE s.sent_at >= %(recent)s),
    SUM(s.audience_size) FILTER (WHERE s.sent_at < %(recent)s)
FROM marketing_campaignsend s
WHERE s.sent_at >= %(before)s AND s.sent_at < %(end)s
"""


def _awareness(clock: _Clock, stored: dict) -> Answer:
    reach_recent, reach_before = _fetch(
        REACH_SQL,
        {
            "before": _moment(clock.before),
            "recent": _moment(clock.recent),
            "end": _moment(clock.this_month),
        },
    )
    recent, before = stored["visits_recent"], stored["visits_before"]
    change = _ratio(recent - before, before) if recent is not None and before else None
    if recent is None or before is None:
        status = NO_DATA
    elif not before:  # growth from nothing, or nothing either time
        status = YES if recent > 0 else PARTLY
    elif change > AWARENESS_BAND:
        status = YES
    elif change >= -AWARENESS_BAND:
        status = PARTLY
    else:
        status = NO
    visits = f"Visits: {_number(recent)} in {_window(clock.recent)}"
    visits += f" vs {_number(before)} in {_window(clock.before)}"
    if change is not None:
        visits += f" ({_percent(change, signed=True)})"
    reach = [_number(people, missing="none recorded") for people in (reach_recent, reach_before)]
    return Answer(
        key="awareness",
        team=MARKETING,
        question="Is awareness growing?",
        status=status,
        evidence=f"{visits}; reach of campaign sends: {reach[0]} vs {reach[1]}.",
        link=reverse("alignment:reports"),
        figures={
            "visits_recent": recent,
            "visits_before": before,
            "visits_recent_months": stored["visits_recent_months"],
            "visits_before_months": stored["visits_before_months"],
            "change": change,
            "reach_recent": reach_recent,
            "reach_before": reach_before,
            "recent_start": clock.recent,
            "before_start": clock.before,
        },
    )


CAPTURE_SQL = """
SELECT
    COUNT(f.id),
    COUNT(f.id) FILTER (WHERE EXISTS (
        SELECT 1 FROM marketing_formsubmission s
        WHERE s.form_id = f.id AND s.created_at >= %(since)s AND s.created_at <= %(now)s
    )),
    (SELECT COUNT(*) FROM marketing_formsubmission s JOIN marketing_leadform g ON g.id = s.form_id
     WHERE g.is_active AND s.created_at >= %(since)s AND s.created_at <= %(now)s)
FROM marketing_leadform f
WHERE f.is_active
"""


def _capture(clock: _Clock, stored: dict) -> Answer:
    forms, forms_used, submissions = _fetch(
        CAPTURE_SQL, {"since": clock.days_ago(CAPTURE_DAYS), "now": clock.now}
    )
    leads = stored["leads_last_month"]
    has_forms, has_leads = forms_used > 0, leads is not None and leads > 0
    status = YES if has_forms and has_leads else PARTLY if has_forms or has_leads else NO
    month = _month(clock.last_month)
    if forms:
        head = (
            f"{forms_used} of {_count(forms, 'active form')} received submissions in the last {CAPTURE_DAYS} "
            f"days ({_count(submissions, 'submission')})"
        )
    else:
        head = "No active form"
    tail = f"no stored leads for {month}" if leads is None else f"{_count(int(leads), 'lead')} in {month}"
    return Answer(
        key="capture",
        team=MARKETING,
        question="Do we capture interested people's contact details?",
        status=status,
        evidence=f"{head}; {tail}.",
        link=reverse("marketing:form_list"),
        figures={
            "active_forms": forms,
            "forms_with_submissions": forms_used,
            "submissions": submissions,
            "leads_last_month": leads,
            "month": clock.last_month,
        },
    )


CONTENT_SQL = """
SELECT
    COUNT(*) FILTER (WHERE c.created_at >= %(m1)s AND c.created_at < %(m2)s),
    COUNT(*) FILTER (WHERE c.created_at >= %(m2)s AND c.created_at < %(m3)s),
    COUNT(*) FILTER (WHERE c.created_at >= %(m3)s AND c.created_at < %(end)s),
    (SELECT COUNT(DISTINCT a.content_id) FROM sales_activity a
     WHERE a.content_id IS NOT NULL AND a.deal_id IS NOT NULL
       AND ((a.done_at >= %(since)s AND a.done_at <= %(now)s)
            OR (a.created_at >= %(since)s AND a.created_at <= %(now)s)))
FROM marketing_contentasset c
WHERE c.created_at >= %(m1)s AND c.created_at < %(end)s
"""


def _content(clock: _Clock) -> Answer:
    months = [clock.recent, _add_months(clock.recent, 1), clock.last_month]
    *per_month, used = _fetch(
        CONTENT_SQL,
        {
            "m1": _moment(months[0]),
            "m2": _moment(months[1]),
            "m3": _moment(months[2]),
            "end": _moment(clock.this_month),
            "since": clock.days_ago(CONTENT_USE_DAYS),
            "now": clock.now,
        },
    )
    if all(per_month) and used:
        status = YES
    elif any(per_month) or used:
        status = PARTLY
    else:
        status = NO
    new = ", ".join(f"{n} in {_month(month)}" for month, n in zip(months, per_month, strict=True))
    return Answer(
        key="content",
        team=MARKETING,
        question="Do we publish valuable content consistently?",
        status=status,
        evidence=(
            f"New assets: {new}; {_count(used, 'asset')} used in deals in the last {CONTENT_USE_DAYS} days."
        ),
        link=reverse("marketing:content_list"),
        figures={
            "new_assets": {month.isoformat(): n for month, n in zip(months, per_month, strict=True)},
            "used_in_deals": used,
        },
    )


def _labels(channels: list[str]) -> str:
    return ", ".join(Channel(c).label if c in Channel.values else c for c in channels) or "none"


def _channels(campaigns: dict) -> Answer:
    recent, channels = campaigns["recent_campaigns"], campaigns["channels"]
    offline = [c for c in channels if c in OFFLINE_CHANNELS]
    online = [c for c in channels if c not in OFFLINE_CHANNELS]
    status = NO if not recent else YES if online and offline else PARTLY
    if recent:
        evidence = (
            f"{_count(recent, 'campaign')} active in the last {RECENT_CAMPAIGN_DAYS} days; online: "
            f"{_labels(online)}; offline: {_labels(offline)}."
        )
    else:
        evidence = f"No campaign active in the last {RECENT_CAMPAIGN_DAYS} days."
    return Answer(
        key="channels",
        team=MARKETING,
        question="Do we mix online and offline channels?",
        status=status,
        evidence=evidence,
        link=reverse("marketing:campaign_list"),
        figures={"recent_campaigns": recent, "online": online, "offline": offline},
    )


# The weeks are the 4 rolling 7-day spans ending today (28 days split from today backwards): ISO weeks
# would give 5 partial weeks for most 28-day spans, so "3 of 4" could not be read plainly.
MONITORING_SQL = """
SELECT
    (SELECT COUNT(DISTINCT (%(today)s - v.day) / 7) FROM alignment_pagevisit v
     WHERE v.page IN ('reports', 'scorecard') AND v.day >= %(weeks_from)s AND v.day <= %(today)s),
    (SELECT COUNT(DISTINCT v.day) FROM alignment_pagevisit v
     WHERE v.page = 'goals' AND v.day >= %(goals_from)s AND v.day <= %(today)s),
    (SELECT COUNT(*) FROM alignment_goal g WHERE g.updated_at >= %(since)s AND g.updated_at <= %(now)s)
"""


def _monitoring(clock: _Clock) -> Answer:
    weeks, goal_days, goals_updated = _fetch(
        MONITORING_SQL,
        {
            "today": clock.today,
            "weeks_from": clock.today - dt.timedelta(days=7 * MONITORING_WEEKS - 1),
            "goals_from": clock.today - dt.timedelta(days=GOAL_REVIEW_DAYS - 1),
            "since": clock.days_ago(GOAL_REVIEW_DAYS),
            "now": clock.now,
        },
    )
    regular, reviewed = weeks >= MONITORING_WEEKS_YES, bool(goal_days or goals_updated)
    status = YES if regular and reviewed else PARTLY if regular or reviewed else NO
    return Answer(
        key="monitoring",
        team=MARKETING,
        question="Do we monitor results regularly?",
        status=status,
        evidence=(
            f"Reports or scorecard opened in {weeks} of the last {MONITORING_WEEKS} weeks; goals page opened "
            f"on {_count(goal_days, 'day')} and {_count(goals_updated, 'goal')} updated in the last "
            f"{GOAL_REVIEW_DAYS} days."
        ),
        link=reverse("alignment:goals"),
        figures={"weeks_with_visits": weeks, "goal_page_days": goal_days, "goals_updated": goals_updated},
    )
