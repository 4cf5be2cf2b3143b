"""The metric engine: SQL aggregates over the fact tables, stored per (metric, granularity, period,
dimension, dimension value, attribution model, definition version) and upserted.

- One SQL statement per computation and granularity computes the whole workspace and every dimension at
  once (``GROUPING SETS``); nothing loops over fact rows in Python (``alignment.engine_sql``).
- Results land in a temporary table, then one upsert writes only the values that changed and one delete
  removes values of recomputed periods that no longer exist (a deleted fact), so a rerun changes nothing.
- A full run recomputes every period; an incremental run recomputes only the periods holding the days that
  the fact-table triggers marked dirty since the last run, widened by each computation's reach (a cohort
  looks W days back; a snapshot or retention figure changes every later period).
- Attribution credits are recomputed first for the dirty deals (triggers mark a deal when it, its contacts,
  a touchpoint of its people, a company contact or a credited campaign's channel changes; the same writes
  mark the deal's days); rollups and derived metrics (costs per lead, ROI, CAC, payback, LTV, lead
  quality) follow from the stored values.
- One run per workspace at a time (``accounts.locks.try_workspace_lock``): a second run returns at once and
  leaves the work to the first (the dirty marks it did not take stay for the next).
"""

from __future__ import annotations

import logging

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from accounts.locks import try_workspace_lock

from . import engine_sql as q
from . import registry
from .models import DefinitionVersion, EngineRun
from .services import current_definition

NONE = q.NONE
logger = logging.getLogger(__name__)

COMPUTATIONS: list = [
    q.FUNNEL,
    q.by_segment(q.FUNNEL, "t.contact_id"),
    q.VISITS,
    q.MQL_COHORT,
    q.by_segment(q.MQL_COHORT, "t.contact_id"),
    q.DECISIONS,
    q.by_segment(q.DECISIONS, "d.contact_id"),
    q.by_team(q.DECISIONS, "d.decided_by_id"),
    q.SPEED,
    q.by_team(q.SPEED, "f.owner_id"),
    q.CLOSED,
    q.by_team(q.CLOSED, "dl.owner_id", [k for k in q.CLOSED.select if k != "lead_to_close_median"]),
    q.WIN_COHORT,
    q.by_team(q.WIN_COHORT, "dl.owner_id"),
    q.CREATED,
    q.by_team(q.CREATED, "dl.owner_id", ["pipeline_created", "deals_created"]),
    q.STAYS,
    q.SPEND,
    q.SEND_LAG,
    q.SNAPSHOT,
    q.RETENTION,
    # From the stored attribution credits (computed before these run).
    q.ATTRIBUTED_CREATED,
    q.ATTRIBUTED_WON,
    # Derived from stored values of the same period; run after their inputs, in this order.
    q.cost_per("cost_per_lead", "leads"),
    q.cost_per("cost_per_mql", "mqls"),
    q.cost_per("cost_per_sql", "sqls"),
    q.cost_per("cost_per_deal", "deals_created"),
    q.per_model(
        "cost_per_opportunity",
        "b.value",
        "a.value",
        "b.value / NULLIF(a.value, 0)",
        "attributed_opportunities",
    ),
    q.per_model(
        "campaign_roi",
        "COALESCE(a.value, 0) - b.value",
        "b.value",
        "(COALESCE(a.value, 0) - b.value) / NULLIF(b.value, 0)",
        "attributed_revenue",
    ),
    q.ratio_of(
        "marketing_sourced_share",
        "marketing_sourced_pipeline",
        "pipeline_created",
        (registry.CHANNEL, registry.CAMPAIGN, registry.REP, registry.PIPELINE),
    ),
    q.CAC,
    q.PAYBACK,
    q.LTV,
    q.QUALITY,
]

COMPUTED = {key for comp in COMPUTATIONS for key in comp.keys}
# The first computation that reads stored values: a full run refreshes the planner's statistics of the
# values table before it, at every granularity (a table filled moments ago looks empty to the planner).
FIRST_DERIVED = next(i for i, comp in enumerate(COMPUTATIONS) if getattr(comp, "name", "") == "cost_per_lead")


TEMP_TABLES = """
CREATE TEMP TABLE IF NOT EXISTS _alignment_values (
    metric text, period_start date, dimension text, dimension_value text, model text,
    numerator numeric, denominator numeric, value numeric
) ON COMMIT DROP;
-- the prune's anti-join looks rows up here whatever plan the statistics of the moment suggest
CREATE INDEX IF NOT EXISTS _alignment_values_key
    ON _alignment_values (metric, period_start, dimension, dimension_value, model);
CREATE TEMP TABLE IF NOT EXISTS _alignment_segments (segment_id bigint, contact_id bigint) ON COMMIT DROP;
CREATE TEMP TABLE IF NOT EXISTS _alignment_credits (
    deal_id bigint, touchpoint_id bigint, model text, weight numeric, credit numeric, campaign_id bigint,
    channel text, deal_created_at timestamptz, deal_won_at timestamptz
) ON COMMIT DROP;
CREATE INDEX IF NOT EXISTS _alignment_credits_key ON _alignment_credits (deal_id, touchpoint_id, model);
"""

UPSERT = """
INSERT INTO alignment_metricvalue
    (metric, granularity, period_start, dimension, dimension_value, model, definition_id,
     value, numerator, denominator, computed_at)
SELECT metric, %(grain)s, period_start, dimension, dimension_value, model, %(definition)s,
       round(value, 6), round(numerator, 6), round(denominator, 6), now()
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
  AND v.dimension = ANY(%(dimensions)s)
  AND (%(periods)s::date[] IS NULL OR v.period_start = ANY(%(periods)s::date[]))
  AND NOT EXISTS (
      SELECT 1 FROM _alignment_values n
      WHERE n.metric = v.metric AND n.period_start = v.period_start AND n.dimension = v.dimension
        AND n.dimension_value = v.dimension_value AND n.model = v.model
  )
"""

# Additive values (counts, sums, and rates of summed numerators and denominators) of a coarser period are
# the sums of those of the finer periods it is made of, already stored by this run: a quarter from its three
# months, a week or a month from its days. Medians, percentiles, snapshots and hand-written statements are
# computed from the facts at every granularity.
ROLLUP_FROM = {"week": "day", "month": "day", "quarter": "month"}

ROLLUP = """
INSERT INTO _alignment_values
    (metric, period_start, dimension, dimension_value, model, numerator, denominator, value)
SELECT v.metric, date_trunc(%(grain)s, v.period_start)::date, v.dimension, v.dimension_value, v.model,
       SUM(v.numerator), SUM(v.denominator),
       CASE WHEN bool_and(v.denominator IS NULL) THEN SUM(v.value)
            ELSE SUM(v.numerator) / NULLIF(SUM(v.denominator), 0) END
FROM alignment_metricvalue v
WHERE v.definition_id = %(definition)s AND v.granularity = %(finer)s AND v.metric = ANY(%(metrics)s)
  AND v.dimension = ANY(%(dimensions)s)
  AND (%(since)s::date IS NULL OR v.period_start >= %(since)s::date)
  AND (%(until)s::date IS NULL OR v.period_start < %(until)s::date)
  AND (%(periods)s::date[] IS NULL OR date_trunc(%(grain)s, v.period_start)::date = ANY(%(periods)s::date[]))
GROUP BY 1, 2, 3, 4, 5
"""


CLEAR_LIMIT = 5000


def _rolled_up(comp, grain: str, keys: list[str]) -> list[str]:
    """The keys of ``comp`` whose values for ``grain`` are sums of stored finer values."""
    finer = ROLLUP_FROM.get(grain)
    if finer is None or not isinstance(comp, q.Computation):
        return []
    return [k for k in keys if comp.select[k][0] != "NULL" and finer in registry.REGISTRY[k].periods]


# The periods of one granularity that a set of dirty days reaches, with the date range they span (so the
# fact scans can use their time indexes); bucketed by PostgreSQL itself, as the computations bucket.
PERIODS_OF_DAYS = """
SELECT array_agg(DISTINCT date_trunc(%(grain)s, s)::date), min(date_trunc(%(grain)s, s))::date,
       (max(date_trunc(%(grain)s, s))
        + CASE %(grain)s WHEN 'quarter' THEN interval '3 months' ELSE ('1 ' || %(grain)s)::interval END)::date
FROM unnest(%(days)s::date[]) AS d,
     generate_series(d - %(back)s, CASE WHEN %(forward)s < 0 THEN GREATEST(d, current_date)
                                       ELSE d + %(forward)s END, interval '1 day') AS s
"""


def params_of(definition: DefinitionVersion) -> dict:
    """The definition's settings under the names the statements bind (the bench's floor uses them too)."""
    return {
        "definition": definition.pk,
        "cohort_days": definition.cohort_window_days,
        "influence_days": definition.influence_lookback_days,
        "lookback_days": definition.attribution_lookback_days,
        "half_life": definition.time_decay_half_life_days,
        "trailing_days": definition.trailing_window_days,
        "gross_margin": definition.gross_margin,
        "sales_cost_month": definition.sales_cost_per_month,
        "cap_months": definition.lifetime_cap_months,
        "w_acceptance": definition.quality_weight_acceptance,
        "w_sql": definition.quality_weight_sql_rate,
        "w_win": definition.quality_weight_win_rate,
        "w_size": definition.quality_weight_deal_size,
    }


def _periods(cursor, grain: str, days: list, reach: tuple, known: dict) -> tuple | None:
    back, forward = reach
    if (grain, back, forward) not in known:
        cursor.execute(PERIODS_OF_DAYS, {"grain": grain, "days": days, "back": back, "forward": forward})
        starts, since, until = cursor.fetchone()
        known[grain, back, forward] = (starts, since, until) if starts else None
    return known[grain, back, forward]


def fill_segments(cursor, table: str = "_alignment_segments") -> None:
    """Segment membership now, into ``table`` (segment_id, contact_id): static lists as stored, rule segments
    through their compiled filter (one INSERT ... SELECT per segment, not per contact)."""
    from marketing.models import Segment, SegmentMember
    from marketing.segments import segment_queryset

    cursor.execute(f"TRUNCATE {table}")
    members = SegmentMember.objects.filter(segment__kind=Segment.Kind.STATIC).values(
        "segment_id", "contact_id"
    )
    sql, params = members.query.sql_with_params()
    cursor.execute(f"INSERT INTO {table} (segment_id, contact_id) {sql}", params)  # noqa: S608
    for segment in Segment.objects.filter(kind=Segment.Kind.RULE).only("id", "definition"):
        try:
            contacts = segment_queryset(segment.definition).order_by().values("id")  # no sort: a set
        except ValidationError:
            logger.warning(
                "Segment %s has a definition that no longer compiles; it has no members.", segment.pk
            )
            continue
        sql, params = contacts.query.sql_with_params()
        cursor.execute(
            f"INSERT INTO {table} (segment_id, contact_id) SELECT %s, m.id FROM ({sql}) m",  # noqa: S608
            [segment.pk, *params],
        )


def _compute(cursor, *, definition: DefinitionVersion, days: list | None) -> int:
    """Recompute every metric for the periods the dirty days reach (every period when ``days`` is None)."""
    params = params_of(definition)
    written = 0
    known: dict = {}  # (granularity, reach) -> periods, asked once per run
    segments_filled = False  # filled on first use: a run whose dirty days reach no segment metric skips it
    cursor.execute("TRUNCATE _alignment_values")
    dead = pending = 0  # rows deleted from the temporary table since it was last truncated; rows in it
    for grain in registry.GRANULARITIES:
        for index, comp in enumerate(COMPUTATIONS):
            if days is None and index == FIRST_DERIVED:
                cursor.execute("ANALYZE alignment_metricvalue")
            keys = [k for k in comp.keys if grain in registry.REGISTRY[k].periods]
            if not keys:
                continue
            if days is None:
                periods = (None, None, None)
            else:
                periods = _periods(cursor, grain, days, comp.reach, known)
                if periods is None:
                    continue
            starts, since, until = periods
            # A few hundred rows are cheaper to delete than to truncate (a new file for the table and its
            # index); once deleted rows add up, a truncate clears them so the scans stay short.
            if dead + pending > CLEAR_LIMIT:
                cursor.execute("TRUNCATE _alignment_values")
                dead = 0
            elif pending:
                cursor.execute("DELETE FROM _alignment_values")
                dead += pending
            pending = 0
            scope = {**params, "periods": starts, "since": since, "until": until}
            rolled = _rolled_up(comp, grain, keys)
            direct = [k for k in keys if k not in rolled]
            if direct:
                sql = comp.sql(grain, direct)
                if not segments_filled and "_alignment_segments" in sql:
                    fill_segments(cursor)
                    segments_filled = True
                cursor.execute(sql, scope)
                pending += max(cursor.rowcount, 0)
            if rolled:
                cursor.execute(
                    ROLLUP,
                    {
                        **scope,
                        "grain": grain,
                        "finer": ROLLUP_FROM[grain],
                        "metrics": rolled,
                        "dimensions": comp.produces,
                    },
                )
                pending += max(cursor.rowcount, 0)
            step = {
                "grain": grain,
                "definition": definition.pk,
                "metrics": keys,
                "dimensions": comp.produces,
                "periods": starts,
            }
            cursor.execute(UPSERT, step)
            written += cursor.rowcount
            cursor.execute(PRUNE, step)
            written += cursor.rowcount
    return written


def run(*, full: bool = False) -> EngineRun | None:
    """One engine run for the current workspace. Returns None when another run holds the lock, and an
    unsaved record when an incremental run finds nothing to do."""
    from .attribution import recompute_credits

    if connection.schema_name == "public":
        raise RuntimeError("The metric engine runs in a workspace schema, never in public.")
    with transaction.atomic(), connection.cursor() as cursor:
        if not try_workspace_lock(cursor, "alignment.engine"):
            return None
        cursor.execute("SET LOCAL TIME ZONE 'UTC'")  # periods are UTC days, as the dirty-day triggers mark
        definition = current_definition()
        if not EngineRun.objects.filter(kind=EngineRun.Kind.FULL, definition=definition).exists():
            full = True  # a new definition version starts with every value
        record = EngineRun(
            kind=EngineRun.Kind.FULL if full else EngineRun.Kind.INCREMENTAL, definition=definition
        )
        # Only marks committed now are taken; a write committing meanwhile keeps its mark for next time.
        cursor.execute("DELETE FROM alignment_dirtyday RETURNING day")
        days = sorted({row[0] for row in cursor.fetchall()})
        cursor.execute("DELETE FROM alignment_dirtydeal RETURNING deal_id")
        deals = sorted({row[0] for row in cursor.fetchall()})
        record.days = len(days)
        if not full and not days and not deals:
            return record  # nothing changed: nothing to store
        cursor.execute(TEMP_TABLES)
        written = 0
        if full or deals:
            written += recompute_credits(cursor, params=params_of(definition), deals=None if full else deals)
        if full:
            cursor.execute("ANALYZE alignment_attributioncredit")
        if full or days:
            written += _compute(cursor, definition=definition, days=None if full else days)
        record.values_written = written
        record.finished_at = timezone.now()
        record.save()
        return record
