"""Lead quality per campaign, channel or segment against the workspace average, and how long after each
send its leads arrived."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import Q

from config.validation import is_id
from marketing.models import CampaignSend

from ..engine_sql import SEND_LEADS
from ..models import DefinitionVersion
from .base import (
    NA,
    Column,
    Report,
    Table,
    Values,
    context,
    label_of,
    metric_column,
    metric_meta,
    names,
    or_na,
    ratio,
)
from .base import availability as stored_note
from .filters import CHANNELS, Filters, period_label

QUALITY = (
    ("mql_acceptance_rate", "Acceptance rate"),
    ("mql_to_sql_rate", "SQL rate"),
    ("win_rate", "Win rate"),
    ("average_deal_size", "Average deal size"),
)
LAG = (
    ("send_to_lead_lag_median", "Median (days)"),
    ("send_to_lead_lag_p80", "p80 (days)"),
    ("send_to_lead_within_7d", "Within 7 days"),
    ("send_to_lead_within_30d", "Within 30 days"),
)
KEYS = ("leads", "marketing_spend", "cost_per_lead", "lead_quality_index", *(k for k, _ in QUALITY))


def lead_quality_report(filters: Filters) -> Report:
    """Per campaign, channel or segment: acceptance, SQL rate, win rate and average deal size against the
    workspace average, and the stored lead quality index next to cost per lead; per send and channel the
    stored send-to-lead lag; the curve of one send. Seven queries, whatever the amount of stored data."""
    definition, pending, computed_at = context()
    grain, periods, by = filters.granularity, filters.periods, filters.option("by")
    values = Values.fetch(
        definition,
        Q(granularity=grain, period_start__gte=filters.start, period_start__lt=filters.until, model="")
        & (
            Q(metric__in=KEYS, dimension__in=("", by))
            | Q(metric__in=[k for k, _ in LAG], dimension__in=("send", "channel"))
        ),
    )
    ids = values.dimension_values(by, KEYS)
    known = names(by, ids)
    if filters.dimension == "channel":
        ids = {i for i in ids if (i if by == "channel" else known.get(i, {}).get("channel")) == filters.value}
    columns = [
        Column("name", by.capitalize()),
        metric_column("leads", grain, by),
        metric_column("cost_per_lead", grain, by),
    ]
    for key, label in QUALITY:
        column = metric_column(key, grain, by, label=label)
        columns += [column, Column(f"{key}_vs_average", f"{label} vs average", "relative", column.note)]
    index = metric_column("lead_quality_index", grain, by)
    columns += [index, Column("index_period", "Index of")]

    def row(name: str, dim: str, value: str) -> dict:
        result: dict[str, Any] = {"name": name}
        for column in columns[1:]:
            if column.key in ("lead_quality_index", "index_period") or column.key.endswith("_vs_average"):
                continue
            result[column.key] = or_na(column, values.total(column.key, grain, periods, dim, value))
            if column.key in dict(QUALITY):
                average = values.total(column.key, grain, periods)
                result[f"{column.key}_vs_average"] = or_na(column, ratio(result[column.key], average))
        latest = next(
            (p for p in reversed(periods) if values.get(index.key, grain, p, dim, value) is not None), None
        )
        result[index.key] = or_na(index, values.get(index.key, grain, latest, dim, value) if latest else None)
        result["index_period"] = period_label(latest, grain) if latest else ""
        return result

    ordered = sorted(ids, key=lambda v: label_of(known, by, v).lower())
    rows = [row("Workspace average", "", "")] + [row(label_of(known, by, v), by, v) for v in ordered]
    rows[0]["lead_quality_index"] = NA  # 100 by definition: the index compares with the workspace
    quality = Table(
        "quality",
        f"Lead quality by {by} against the workspace average",
        columns,
        rows,
        note="Rates over the range are the stored numerators over the stored denominators; the index (100 = "
        "the workspace average) is the stored value of the latest period that has one.",
        granularity=grain,
    )
    trend = Table(
        "quality_trend",
        f"Lead quality index per {grain}",
        [Column("name", by.capitalize())]
        + [Column(p.isoformat(), period_label(p, grain), "index", index.note) for p in periods],
        [
            {
                "name": label_of(known, by, v),
                **{p.isoformat(): values.get(index.key, grain, p, by, v) for p in periods},
            }
            for v in ordered
        ],
        granularity=grain,
    )
    lag, extra = _lag(filters, values, definition)
    tables = {"quality": quality, "quality_trend": trend, **lag}
    return Report("lead_quality", filters, definition, pending, computed_at, bool(values.rows), tables, extra)


def _lag(filters: Filters, values: Values, definition: DefinitionVersion) -> tuple[dict[str, Table], dict]:
    """The stored lag per send (bucketed by the send's time) and per channel, and the curve of the chosen
    send (else the latest in the range): two queries."""
    grain, periods = filters.granularity, filters.periods
    notes = {k: stored_note(k, grain) for k, _ in LAG}
    lag_columns = [Column(k, label, metric_meta(k)[1], notes[k]) for k, label in LAG]
    send_ids = sorted(int(v) for v in values.dimension_values("send") if is_id(v))
    start = dt.datetime.combine(filters.start, dt.time(), tzinfo=dt.UTC)
    until = dt.datetime.combine(filters.until, dt.time(), tzinfo=dt.UTC)
    sends = {
        s.pk: s
        for s in CampaignSend.objects.filter(Q(pk__in=send_ids) | Q(sent_at__gte=start, sent_at__lt=until))
        .select_related("campaign")
        .order_by("-sent_at", "-id")
    }
    rows = []
    for send_id in send_ids:
        send, key = sends.get(send_id), str(send_id)
        stored = [p for p in periods if any(values.get(k, grain, p, "send", key) is not None for k, _ in LAG)]
        period = stored[-1] if stored else periods[-1]
        within = values.rows.get(("send_to_lead_within_30d", grain, period, "send", key, ""))
        rows.append(
            {
                "send_id": send_id,
                "send": send.name if send else f"Send {send_id} (removed)",
                "campaign": send.campaign.name if send else "",
                "sent_at": send.sent_at if send else None,
                "leads": within.denominator if within else None,
                **{
                    k: or_na(c, values.get(k, grain, period, "send", key))
                    for (k, _), c in zip(LAG, lag_columns, strict=True)
                },
            }
        )
    rows.sort(key=lambda r: r["sent_at"] or start, reverse=True)
    by_send = Table(
        "send_lag",
        "How long after each send its leads arrived",
        [
            Column("send_id", "Send id"),
            Column("send", "Send"),
            Column("campaign", "Campaign"),
            Column("sent_at", "Sent (UTC)", "datetime"),
            Column("leads", "Leads", "count"),
            *lag_columns,
        ],
        rows,
        note=f"Leads: contacts touched by the send whose first lead-stage entry came within "
        f"{definition.cohort_window_days} days after it.",
        granularity=grain,
        empty="No send-to-lead lag is stored for sends in this range.",
    )
    channel_rows = []
    for period in periods:
        for channel in sorted(values.dimension_values("channel", [k for k, _ in LAG])):
            if filters.dimension == "channel" and channel != filters.value:
                continue
            channel_rows.append(
                {
                    "period": period,
                    "channel": CHANNELS.get(channel, "No channel" if channel == "none" else channel),
                    **{
                        k: or_na(c, values.get(k, grain, period, "channel", channel))
                        for (k, _), c in zip(LAG, lag_columns, strict=True)
                    },
                }
            )
    channel_rows = [r for r in channel_rows if any(r[k] is not None for k, _ in LAG)]
    by_channel = Table(
        "lag_by_channel",
        f"Send-to-lead lag by channel and {grain}",
        [Column("period", "Period", "period"), Column("channel", "Channel"), *lag_columns],
        channel_rows,
        granularity=grain,
    )
    send = filters.send or next(iter(sends.values()), None)
    tables = {"send_lag": by_send, "lag_by_channel": by_channel, "send_curve": send_curve(send, definition)}
    return tables, {"send": send, "sends": list(sends.values())}


# The engine's leads of a send (SEND_LAG in engine_sql): contacts touched by the send whose first lead-stage
# entry came at or after it and within W days; here counted per whole day after the send.
# The engine's own definition of a send's leads (engine_sql.SEND_LEADS), for one send, by whole days.
CURVE_SQL = f"""
SELECT floor(x.lag_days)::int AS day, COUNT(*) AS leads
FROM ({
    SEND_LEADS.replace("{sends}", "s.id = %(send)s").replace(
        "{leads_since}", "(SELECT o.sent_at FROM marketing_campaignsend o WHERE o.id = %(send)s)"
    )
}) x
GROUP BY 1
ORDER BY 1
"""  # noqa: S608 - built from the engine's constant; the send is a parameter


def send_curve(send: CampaignSend | None, definition: DefinitionVersion) -> Table:
    """The cumulative share of a send's leads by whole days after the send: one aggregate query over the
    send's touchpoints (the one report figure not read from stored values)."""
    columns = [
        Column("day", "Days after the send", "count"),
        Column("leads", "Leads that day", "count"),
        Column("cumulative", "Leads so far", "count"),
        Column("share", "Share of the send's leads", "ratio"),
    ]
    if send is None:
        return Table("send_curve", "Send-to-lead curve", columns, [], empty="No send in this range.")
    days = definition.cohort_window_days
    with connection.cursor() as cursor:
        cursor.execute(CURVE_SQL, {"send": send.pk, "cohort_days": days})
        per_day = dict(cursor.fetchall())
    total = sum(per_day.values())
    rows, running = [], 0
    last = max(per_day, default=-1)
    for day in range(last + 1):
        running += per_day.get(day, 0)
        rows.append(
            {
                "day": day,
                "leads": per_day.get(day, 0),
                "cumulative": running,
                "share": Decimal(running) / total,
            }
        )
    return Table(
        "send_curve",
        f"Send-to-lead curve: {send.name}, sent {send.sent_at:%d %b %Y}",
        columns,
        rows,
        note=f"Campaign {send.campaign.name}: {total} lead{'s' if total != 1 else ''} within {days} days of "
        "the send.",
        empty="No lead has arrived after this send yet.",
    )
