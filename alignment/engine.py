"""The metric engine: SQL aggregates over the fact tables, stored per (metric, granularity, period,
dimension, dimension value, definition version) and upserted.

- One SQL statement per computation and granularity computes the whole workspace and every dimension at
  once (``GROUPING SETS``); nothing loops over fact rows in Python.
- Results land in a temporary table, then one upsert writes only the values that changed and one delete
  removes values of recomputed periods that no longer exist (a deleted fact), so a rerun changes nothing.
- A full run recomputes every period; an incremental run recomputes only the periods holding the days that
  the fact-table triggers marked dirty since the last run.
- One run per workspace at a time (``accounts.locks.try_workspace_lock``): a second run returns at once and
  leaves the work to the first (the dirty marks it did not take stay for the next).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection, transaction
from django.utils import timezone

from accounts.locks import try_workspace_lock

from . import registry
from .models import DefinitionVersion, EngineRun
from .services import current_definition

NONE = "none"  # the dimension value of facts without one (a lead with no campaign)


@dataclass(frozen=True)
class Computation:
    """SQL for a set of metrics sharing one scan. ``select`` yields, per metric, a triple of SQL
    expressions (numerator, denominator, value) over the grouped rows."""

    ts: str  # the timestamp or date column that places a fact in a period
    source: str  # FROM ... JOIN ...
    dimensions: dict[str, str]  # dimension name -> SQL expression
    select: dict[str, tuple[str, str, str]]
    where: str = "TRUE"  # which fact rows count


def _rate(num: str, den: str) -> tuple[str, str, str]:
    return num, den, f"({num})::numeric / NULLIF({den}, 0)"


def _count(expr: str) -> tuple[str, str, str]:
    return expr, "NULL", expr


CAMPAIGN_DIMS = {registry.CHANNEL: "cp.channel", registry.CAMPAIGN: "cp.id"}

COMPUTATIONS: list[Computation] = [
    # Funnel entries, from the transition history.
    Computation(
        ts="t.at",
        source="""marketing_stagetransition t
            JOIN marketing_contact c ON c.id = t.contact_id
            LEFT JOIN marketing_campaign cp ON cp.id = c.first_touch_campaign_id""",
        where="t.to_stage IN ('lead', 'mql', 'sql', 'opportunity', 'customer')",
        dimensions=CAMPAIGN_DIMS,
        select={
            "leads": _count("COUNT(*) FILTER (WHERE t.to_stage = 'lead')"),
            "mqls": _count("COUNT(*) FILTER (WHERE t.to_stage = 'mql')"),
            "sqls": _count("COUNT(*) FILTER (WHERE t.to_stage = 'sql')"),
            "opportunities": _count("COUNT(*) FILTER (WHERE t.to_stage = 'opportunity')"),
            "new_customers": _count("COUNT(*) FILTER (WHERE t.to_stage = 'customer')"),
            "mql_to_sql_rate": _rate(
                "COUNT(*) FILTER (WHERE t.to_stage = 'sql')", "COUNT(*) FILTER (WHERE t.to_stage = 'mql')"
            ),
        },
    ),
    # Sales' decisions on MQLs.
    Computation(
        ts="d.decided_at",
        source="""sales_leaddecision d
            LEFT JOIN marketing_campaign cp ON cp.id = d.campaign_id""",
        dimensions={**CAMPAIGN_DIMS, registry.REP: "d.decided_by_id"},
        select={
            "sals": _count("COUNT(*) FILTER (WHERE d.decision = 'accepted')"),
            "mql_acceptance_rate": _rate("COUNT(*) FILTER (WHERE d.decision = 'accepted')", "COUNT(*)"),
        },
    ),
    # Deals closed in the period.
    Computation(
        ts="dl.closed_at",
        source="""sales_deal dl
            LEFT JOIN marketing_campaign cp ON cp.id = dl.source_campaign_id""",
        where="dl.status IN ('won', 'lost')",
        dimensions={**CAMPAIGN_DIMS, registry.REP: "dl.owner_id", registry.PIPELINE: "dl.pipeline_id"},
        select={
            "win_rate": _rate("COUNT(*) FILTER (WHERE dl.status = 'won')", "COUNT(*)"),
            "deals_won": _count("COUNT(*) FILTER (WHERE dl.status = 'won')"),
            "revenue_won": _count("COALESCE(SUM(dl.amount) FILTER (WHERE dl.status = 'won'), 0)"),
            "average_deal_size": _rate(
                "COALESCE(SUM(dl.amount) FILTER (WHERE dl.status = 'won'), 0)",
                "COUNT(*) FILTER (WHERE dl.status = 'won')",
            ),
        },
    ),
    # Deals created in the period.
    Computation(
        ts="dl.created_at",
        source="""sales_deal dl
            LEFT JOIN marketing_campaign cp ON cp.id = dl.source_campaign_id""",
        dimensions={**CAMPAIGN_DIMS, registry.REP: "dl.owner_id", registry.PIPELINE: "dl.pipeline_id"},
        select={"pipeline_created": _count("COALESCE(SUM(dl.amount), 0)")},
    ),
    # Marketing spend.
    Computation(
        ts="k.date",
        source="""marketing_costline k
            JOIN marketing_campaign cp ON cp.id = k.campaign_id""",
        dimensions=CAMPAIGN_DIMS,
        select={"marketing_spend": _count("COALESCE(SUM(k.amount), 0)")},
    ),
]

COMPUTED = {key for comp in COMPUTATIONS for key in comp.select}


def _bucket(ts: str, grain: str) -> str:
    if grain not in registry.GRANULARITIES:
        raise ValueError(f"Unknown granularity {grain!r}")
    return f"date_trunc('{grain}', {ts})::date"


def _statement(comp: Computation, grain: str, keys: list[str]) -> str:
    """INSERT INTO the run's temporary table one row per (metric, period, dimension, value): one grouped scan
    (GROUPING SETS: the whole workspace and each dimension), unpivoted with LATERAL VALUES."""
    bucket = _bucket(comp.ts, grain)
    dims = comp.dimensions
    dimension = (
        "CASE " + " ".join(f"WHEN GROUPING({e}) = 0 THEN '{n}'" for n, e in dims.items()) + " ELSE '' END"
    )
    value = (
        "CASE "
        + " ".join(f"WHEN GROUPING({e}) = 0 THEN COALESCE(({e})::text, '{NONE}')" for e in dims.values())
        + " ELSE '' END"
    )
    sets = ", ".join([f"({bucket})", *[f"({bucket}, {e})" for e in dims.values()]])
    chosen = [(key, comp.select[key]) for key in keys]
    columns = ", ".join(
        f"({num})::numeric AS n{i}, ({den})::numeric AS d{i}, ({val})::numeric AS v{i}"
        for i, (_, (num, den, val)) in enumerate(chosen)
    )
    unpivot = ", ".join(f"('{key}', g.n{i}, g.d{i}, g.v{i})" for i, (key, _) in enumerate(chosen))
    # Built only from the constants above and a checked granularity; the periods are parameters.
    return f"""
        INSERT INTO _alignment_values
            (metric, period_start, dimension, dimension_value, numerator, denominator, value)
        SELECT m.metric, g.period_start, g.dimension, g.dimension_value, m.numerator, m.denominator, m.value
        FROM (
            SELECT {bucket} AS period_start, {dimension} AS dimension, {value} AS dimension_value, {columns}
            FROM {comp.source}
            WHERE ({comp.where}) AND {comp.ts} IS NOT NULL
              AND (%(since)s::date IS NULL OR {comp.ts} >= %(since)s::date)
              AND (%(until)s::date IS NULL OR {comp.ts} < %(until)s::date)
              AND (%(periods)s::date[] IS NULL OR {bucket} = ANY(%(periods)s::date[]))
            GROUP BY GROUPING SETS ({sets})
        ) g
        CROSS JOIN LATERAL (VALUES {unpivot}) AS m(metric, numerator, denominator, value)
    """  # noqa: S608


TEMP_TABLE = """
CREATE TEMP TABLE IF NOT EXISTS _alignment_values (
    metric text, period_start date, dimension text, dimension_value text,
    numerator numeric, denominator numeric, value numeric
) ON COMMIT DROP
"""

UPSERT = """
INSERT INTO alignment_metricvalue
    (metric, granularity, period_start, dimension, dimension_value, model, definition_id,
     value, numerator, denominator, computed_at)
SELECT metric, %(grain)s, period_start, dimension, dimension_value, '', %(definition)s,
       value, numerator, denominator, now()
FROM _alignment_values
ON CONFLICT (metric, granularity, period_start, dimension, dimension_value, model, definition_id) DO UPDATE
SET value = EXCLUDED.value, numerator = EXCLUDED.numerator, denominator = EXCLUDED.denominator,
    computed_at = EXCLUDED.computed_at
WHERE (alignment_metricvalue.value, alignment_metricvalue.numerator, alignment_metricvalue.denominator)
      IS DISTINCT FROM (EXCLUDED.value, EXCLUDED.numerator, EXCLUDED.denominator)
"""

PRUNE = """
DELETE FROM alignment_metricvalue v
WHERE v.definition_id = %(definition)s AND v.granularity = %(grain)s AND v.metric = ANY(%(metrics)s)
  AND (%(periods)s::date[] IS NULL OR v.period_start = ANY(%(periods)s::date[]))
  AND NOT EXISTS (
      SELECT 1 FROM _alignment_values n
      WHERE n.metric = v.metric AND n.period_start = v.period_start AND n.dimension = v.dimension
        AND n.dimension_value = v.dimension_value
  )
"""


def _compute(cursor, *, definition: DefinitionVersion, periods: dict[str, tuple] | None) -> int:
    """Recompute every computed metric for the given periods of each granularity (all when None).
    ``periods`` maps a granularity to (period starts, first day, day after the last period)."""
    written = 0
    for grain in registry.GRANULARITIES:
        if periods is not None and grain not in periods:
            continue
        starts, since, until = periods[grain] if periods is not None else (None, None, None)
        cursor.execute(TEMP_TABLE)
        cursor.execute("TRUNCATE _alignment_values")
        keys_for_grain = []
        for comp in COMPUTATIONS:
            keys = [k for k in comp.select if grain in registry.REGISTRY[k].periods]
            if keys:
                keys_for_grain += keys
                cursor.execute(
                    _statement(comp, grain, keys), {"periods": starts, "since": since, "until": until}
                )
        params = {"grain": grain, "definition": definition.pk, "metrics": keys_for_grain, "periods": starts}
        cursor.execute(UPSERT, params)
        written += cursor.rowcount
        cursor.execute(PRUNE, params)
        written += cursor.rowcount
    return written


# The periods holding the dirty days, per granularity, with the date range they span (so the fact scans
# can use their time indexes); bucketed by PostgreSQL itself, as the computations bucket.
PERIODS_OF_DAYS = """
SELECT g, array_agg(DISTINCT date_trunc(g, d)::date), min(date_trunc(g, d))::date,
       (max(date_trunc(g, d))
        + CASE g WHEN 'quarter' THEN interval '3 months' ELSE ('1 ' || g)::interval END)::date
FROM unnest(%(days)s::date[]) AS d, unnest(%(grains)s::text[]) AS g
GROUP BY g
"""


def run(*, full: bool = False, definition: DefinitionVersion | None = None) -> EngineRun | None:
    """One engine run for the current workspace. Returns None when another run holds the lock, and an
    unsaved record when an incremental run finds nothing to do."""
    if connection.schema_name == "public":
        raise RuntimeError("The metric engine runs in a workspace schema, never in public.")
    with transaction.atomic(), connection.cursor() as cursor:
        if not try_workspace_lock(cursor, "alignment.engine"):
            return None
        cursor.execute("SET LOCAL TIME ZONE 'UTC'")  # periods are UTC days, as the dirty-day triggers mark
        definition = definition or current_definition()
        record = EngineRun(
            kind=EngineRun.Kind.FULL if full else EngineRun.Kind.INCREMENTAL, definition=definition
        )
        # Only marks committed now are taken; a write committing meanwhile keeps its mark for next time.
        cursor.execute("DELETE FROM alignment_dirtyday RETURNING day")
        days = sorted({row[0] for row in cursor.fetchall()})
        record.days = len(days)
        if full:
            periods = None
        elif not days:
            return record  # nothing changed: nothing to store
        else:
            cursor.execute(PERIODS_OF_DAYS, {"days": days, "grains": list(registry.GRANULARITIES)})
            periods = {grain: (starts, since, until) for grain, starts, since, until in cursor.fetchall()}
        record.values_written = _compute(cursor, definition=definition, periods=periods)
        record.finished_at = timezone.now()
        record.save()
        return record
