"""The drill-downs: the records behind each component of the score for a period, a page at a time."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import connection
from django.urls import reverse

from .. import registry
from ..engine_sql import INFLUENCED, STRUCTURED
from ..reports.filters import shift
from .score import BY_KEY, PAGE_SIZE, Component

# --- Drill-downs -----------------------------------------------------------------------------------------


@dataclass
class Drill:
    """The records behind a component for one period: a summary table and a page of the records themselves
    (``PAGE_SIZE`` a page, with the total count)."""

    key: str
    title: str
    explanation: str
    summary_columns: list[tuple[str, str]]  # (label, unit) as the reports' tables: text, count, ratio, ...
    summary: list[list]
    columns: list[tuple[str, str]]
    rows: list[dict]  # {"cells": [value or (value, unit), ...], "link": url}
    total: int
    page: int
    empty: str

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // PAGE_SIZE))


def _bounds(grain: str, start: dt.date) -> dict:
    end = shift(start, grain, 1)
    return {
        "start": dt.datetime.combine(start, dt.time(), dt.UTC),
        "end": dt.datetime.combine(end, dt.time(), dt.UTC),
        "start_day": start,
        "end_day": end,
        "limit": PAGE_SIZE,
    }


def _fetch(sql: str, params: dict) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


# Each query of records selects their total as its last column (a window over the whole result) and takes
# one page of them: one query a page.


def _paged(sql: str, params: dict, page: int) -> tuple[list[tuple], int]:
    """A page of ``sql``'s rows with the total."""
    rows = _fetch(sql, {**params, "offset": (page - 1) * PAGE_SIZE})
    if not rows and page > 1:
        raise ValidationError({"page": [f"Page {page} is past the last page."]})
    return [r[:-1] for r in rows], (rows[0][-1] if rows else 0)


SLA_ROWS = """
SELECT k.contact_id, concat_ws(' ', c.first_name, c.last_name, '<' || c.email || '>'), k.mql_at,
       COALESCE(u.full_name, u.email, ''),
       CASE WHEN k.first_touch_breached_at IS NOT NULL THEN 'first touch' ELSE '' END,
       CASE WHEN k.decision_breached_at IS NOT NULL THEN 'decision' ELSE '' END,
       count(*) OVER ()
FROM alignment_slaclock k JOIN marketing_contact c ON c.id = k.contact_id
LEFT JOIN accounts_user u ON u.id = k.owner_id
WHERE k.mql_at >= %(start)s AND k.mql_at < %(end)s
  AND (k.first_touch_breached_at IS NOT NULL OR k.decision_breached_at IS NOT NULL)
ORDER BY k.mql_at DESC, k.id DESC
LIMIT %(limit)s OFFSET %(offset)s
"""
ACCEPTANCE_SUMMARY = """
SELECT CASE d.decision WHEN 'accepted' THEN 'Accepted' ELSE 'Rejected: ' || COALESCE(r.name, 'no reason') END,
       count(*)
FROM sales_leaddecision d LEFT JOIN sales_rejectionreason r ON r.id = d.reason_id
WHERE d.decided_at >= %(start)s AND d.decided_at < %(end)s
GROUP BY 1 ORDER BY 2 DESC, 1
"""
ACCEPTANCE_ROWS = """
SELECT d.contact_id, concat_ws(' ', c.first_name, c.last_name, '<' || c.email || '>'), d.decided_at,
       COALESCE(r.name, ''), COALESCE(u.full_name, u.email, ''),
       count(*) OVER ()
FROM sales_leaddecision d JOIN marketing_contact c ON c.id = d.contact_id
LEFT JOIN sales_rejectionreason r ON r.id = d.reason_id
LEFT JOIN accounts_user u ON u.id = d.decided_by_id
WHERE d.decided_at >= %(start)s AND d.decided_at < %(end)s AND d.decision = 'rejected'
ORDER BY d.decided_at DESC, d.id DESC
LIMIT %(limit)s OFFSET %(offset)s
"""
LOSS_SUMMARY = f"""
SELECT CASE WHEN {STRUCTURED} THEN 'With a structured reason' ELSE 'Without a structured reason' END,
       count(*)
FROM sales_deal dl
WHERE dl.status = 'lost' AND dl.closed_at >= %(start)s AND dl.closed_at < %(end)s
GROUP BY 1 ORDER BY 1 DESC
"""  # noqa: S608 - module constants
LOSS_ROWS = f"""
SELECT dl.id, dl.name, dl.closed_at, dl.amount, COALESCE(NULLIF(dl.loss_category, ''), 'none'),
       COALESCE(u.full_name, u.email, ''),
       count(*) OVER ()
FROM sales_deal dl LEFT JOIN accounts_user u ON u.id = dl.owner_id
WHERE dl.status = 'lost' AND dl.closed_at >= %(start)s AND dl.closed_at < %(end)s
  AND NOT ({STRUCTURED})
ORDER BY dl.closed_at DESC, dl.id DESC
LIMIT %(limit)s OFFSET %(offset)s
"""  # noqa: S608 - module constants
FEEDBACK_ROWS = """
SELECT o.id, o.name, o.category, count(*), an.n, count(*) OVER ()
FROM alignment_objectionlog l JOIN alignment_objection o ON o.id = l.objection_id
CROSS JOIN LATERAL (SELECT count(*) AS n FROM alignment_objectionanswer a WHERE a.objection_id = o.id) an
WHERE l.logged_at >= %(start)s AND l.logged_at < %(end)s
GROUP BY o.id, o.name, o.category, an.n
ORDER BY an.n = 0 DESC, count(*) DESC, o.name, o.id
LIMIT %(limit)s OFFSET %(offset)s
"""
ATTRIBUTION_SUMMARY = f"""
SELECT COALESCE(u.full_name, u.email, 'No owner'), count(*),
       count(*) FILTER (WHERE NOT {INFLUENCED})
FROM sales_deal dl LEFT JOIN accounts_user u ON u.id = dl.owner_id
WHERE dl.created_at >= %(start)s AND dl.created_at < %(end)s
GROUP BY 1 ORDER BY 1
"""  # noqa: S608 - module constants
ATTRIBUTION_ROWS = f"""
SELECT dl.id, dl.name, dl.created_at, dl.amount, COALESCE(u.full_name, u.email, ''),
       count(*) OVER ()
FROM sales_deal dl LEFT JOIN accounts_user u ON u.id = dl.owner_id
WHERE dl.created_at >= %(start)s AND dl.created_at < %(end)s AND NOT {INFLUENCED}
ORDER BY dl.created_at DESC, dl.id DESC
LIMIT %(limit)s OFFSET %(offset)s
"""  # noqa: S608 - module constants


def T(label: str) -> tuple[str, str]:  # noqa: N802 - column shorthands
    return label, "text"


def N(label: str) -> tuple[str, str]:  # noqa: N802
    return label, "count"


def W(label: str) -> tuple[str, str]:  # noqa: N802
    return label, "datetime"


def _contact(pk: int) -> str:
    return reverse("marketing:contact_detail", args=[pk])


def _deal(pk: int) -> str:
    return reverse("sales:deal_detail", args=[pk])


def drill(key: str, *, grain: str, start: dt.date, page: int = 1) -> Drill:
    """The records behind component ``key`` for the period (a fixed number of queries: the summary's and a
    page of records, or the goals and their stored values)."""
    if key not in BY_KEY:
        raise ValidationError({"component": [f"Choose one of: {', '.join(BY_KEY)}."]})
    if page < 1:
        raise ValidationError({"page": ["Give a page number from 1."]})
    params = _bounds(grain, start)
    component = BY_KEY[key]
    if key == "sla":
        from ..sla_report import sales_side  # the SLA page's counts per rep, the workspace's first

        summary = [
            [r.label, r.touch_met, r.touch_breached, r.decision_met, r.decision_breached]
            for r in sales_side(params["start"], params["end"])["reps"]
        ]
        rows, total = _paged(SLA_ROWS, params, page)
        return Drill(
            key, "Breached SLA clocks", component.formula,
            [T("Owner"), N("First touch met"), N("First touch breached"), N("Decision met"),
             N("Decision breached")],
            summary,
            [T("MQL"), W("MQL since"), T("Owner"), T("Breached")],
            [{"cells": [r[1], r[2], r[3], " and ".join(p for p in r[4:] if p)], "link": _contact(r[0])}
             for r in rows],
            total, page, "No SLA clock of this period was breached.",
        )  # fmt: skip
    if key == "acceptance":
        summary = _fetch(ACCEPTANCE_SUMMARY, params)
        rows, total = _paged(ACCEPTANCE_ROWS, params, page)
        return Drill(
            key, "Rejected MQLs", component.formula, [T("Decision"), N("MQLs")], [list(r) for r in summary],
            [T("MQL"), W("Decided"), T("Reason"), T("By")],
            [{"cells": list(r[1:]), "link": _contact(r[0])} for r in rows],
            total, page, "No MQL of this period was rejected.",
        )  # fmt: skip
    if key == "loss_reasons":
        summary = _fetch(LOSS_SUMMARY, params)
        rows, total = _paged(LOSS_ROWS, params, page)
        return Drill(
            key, "Lost deals without a structured reason", component.formula, [T("Lost deals"), N("Deals")],
            [list(r) for r in summary],
            [T("Deal"), W("Lost"), ("Amount", "currency"), T("Category"), T("Owner")],
            [{"cells": list(r[1:]), "link": _deal(r[0])} for r in rows],
            total, page, "Every deal lost in this period has a structured reason.",
        )  # fmt: skip
    if key == "feedback":
        rows, total = _paged(FEEDBACK_ROWS, params, page)
        return Drill(
            key, "Objections logged", component.formula, [], [],
            [T("Objection"), T("Category"), N("Logged"), N("Answering assets")],
            [{"cells": list(r[1:]), "link": reverse("alignment:objection", args=[r[0]])} for r in rows],
            total, page, "No objection was logged in this period.",
        )  # fmt: skip
    if key == "goals":
        return _goal_drill(component, grain, start, page)
    from ..services import reporting_definition

    params["influence_days"] = reporting_definition().influence_lookback_days
    summary = _fetch(ATTRIBUTION_SUMMARY, params)
    rows, total = _paged(ATTRIBUTION_ROWS, params, page)
    return Drill(
        key, "Deals created without a marketing touch", component.formula,
        [T("Owner"), N("Deals created"), N("Without a marketing touch")], [list(r) for r in summary],
        [T("Deal"), W("Created"), ("Amount", "currency"), T("Owner")],
        [{"cells": list(r[1:]), "link": _deal(r[0])} for r in rows],
        total, page, "Every deal created in this period had a marketing touch.",
    )  # fmt: skip


def _goal_drill(component: Component, grain: str, start: dt.date, page: int) -> Drill:
    """The period's goals with their stored actual, target and share (two queries, plus the owners')."""
    from .. import goals
    from ..models import Goal
    from ..services import reporting_definition

    listed = list(goals.goal_list().filter(period=grain, period_start=start).order_by("name", "id"))
    stored = goals.stored_values(reporting_definition(), listed)
    rows = []
    for goal in listed:
        actual = goals.progress(goal, stored)
        metric = registry.REGISTRY[goal.metric]
        rows.append(
            {
                "cells": [
                    goal.name,
                    metric.label,
                    (actual, metric.unit),
                    (goal.target, metric.unit),
                    goal_share(goal.metric, actual, goal.target),
                    Goal.Status(goal.status).label,
                ],
                "link": reverse("alignment:goal", args=[goal.pk]),
            }
        )
    first = (page - 1) * PAGE_SIZE
    if first and first >= len(rows):
        raise ValidationError({"page": [f"Page {page} is past the last page."]})
    return Drill(
        component.key, "Shared goals of the period", component.formula, [], [],
        [T("Goal"), T("Metric"), T("Actual"), T("Target"), ("Attainment", "ratio"), T("Status")],
        rows[first : first + PAGE_SIZE], len(rows), page,
        "No shared goal is set for this period (goals of a year count in no month or quarter).",
    )  # fmt: skip


def goal_share(metric: str, actual: Decimal | None, target: Decimal) -> Decimal | None:
    """One goal's attainment as goal attainment counts it (``engine_sql.GOAL_ATTAINMENT``)."""
    if actual is None:
        return None
    if registry.REGISTRY[metric].better == registry.DOWN:
        if actual <= target or actual <= 0:
            return Decimal(1)
        return max(Decimal(0), target / actual)
    if actual >= target:
        return Decimal(1)
    if target <= 0:
        return Decimal(0)
    return max(Decimal(0), actual / target)
