"""The metric engine: SQL aggregates over the fact tables, stored per (metric, granularity, period,
dimension, dimension value, attribution model, definition version) and upserted.

- One SQL statement per computation and granularity computes the whole workspace and every dimension at
  once (``GROUPING SETS``); nothing loops over fact rows in Python (``alignment.engine_sql``).
- Results land in a temporary table; per granularity (or earlier, when a computation reads a metric still
  pending) one upsert writes only the values that changed and one delete removes values of the recomputed
  scope that no longer exist (a deleted fact), so a rerun changes nothing.
- A full run recomputes every period; an incremental run recomputes only the periods holding the days that
  the fact-table triggers marked dirty since the last run, widened by each computation's reach (a cohort
  looks W days back; a snapshot or retention figure changes every later period).
- Attribution credits are recomputed first for the dirty deals (triggers mark a deal when it, its contacts,
  a touchpoint of its people, a company contact or a credited campaign's channel changes; the same writes
  mark the deal's days); an incremental run changes the attributed sums by the credits it replaced
  (``engine_sql.Summed``). Rollups and derived metrics (costs per lead, ROI, CAC, payback, LTV, lead
  quality) follow from the stored values.
- One run per workspace at a time (``accounts.locks.try_workspace_lock``): a second run returns at once and
  leaves the work to the first (the dirty marks it did not take stay for the next).
"""

from __future__ import annotations

import logging

from django.core.exceptions import ValidationError
from django.db import InterfaceError, OperationalError, connection, transaction
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
    q.by_segment(q.FUNNEL, "t.contact_id", q.TRANSITION_CONTACTS),
    q.VISITS,
    q.MQL_COHORT,
    q.by_segment(q.MQL_COHORT, "t.contact_id", q.TRANSITION_CONTACTS),
    q.DECISIONS,
    q.by_segment(q.DECISIONS, "d.contact_id", q.DECISION_CONTACTS),
    q.by_team(q.DECISIONS, "d.decided_by_id"),
    q.SPEED,
    q.by_team(q.SPEED, "x.owner_id"),
    q.SLA,
    q.by_team(q.SLA, "k.owner_id"),
    q.FEEDBACK,
    q.CLOSED,
    q.by_team(q.CLOSED, "dl.owner_id", [k for k in q.CLOSED.select if k != "lead_to_close_median"]),
    q.OBJECTION_IMPACT,
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
    # The scorecard: from the stored values of every metric above (goals may name any of them).
    q.MARKETING_SLA,
    q.GOAL_ATTAINMENT,
    q.PIPELINE_COVERAGE,
    q.SCORE,
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
CREATE TEMP TABLE IF NOT EXISTS _alignment_active (contact_id bigint) ON COMMIT DROP;
CREATE TEMP TABLE IF NOT EXISTS _alignment_credits (
    deal_id bigint, touchpoint_id bigint, model text, weight numeric, credit numeric, campaign_id bigint,
    channel text, deal_created_at timestamptz, deal_won_at timestamptz
) ON COMMIT DROP;
CREATE INDEX IF NOT EXISTS _alignment_credits_key ON _alignment_credits (deal_id, touchpoint_id, model);
CREATE TEMP TABLE IF NOT EXISTS _alignment_credit_changes (
    sign int, definition_id bigint, model text, channel text, campaign_id bigint, credit numeric,
    weight numeric, deal_created_at timestamptz, deal_won_at timestamptz
) ON COMMIT DROP;
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

# Values of the recomputed scope that the run no longer produced (a deleted fact): the scope is one row per
# (metric, dimension, period) a computation was asked for, or per (metric, dimension) on a full run.
PRUNE = """
DELETE FROM alignment_metricvalue v
USING unnest(%(metrics)s::text[], %(dimensions)s::text[], %(periods)s::date[])
    AS s(metric, dimension, period_start)
WHERE v.definition_id = %(definition)s AND v.granularity = %(grain)s
  AND v.metric = s.metric AND v.dimension = s.dimension AND {period}
  AND NOT EXISTS (
      SELECT 1 FROM _alignment_values n
      WHERE n.metric = v.metric AND n.period_start = v.period_start AND n.dimension = v.dimension
        AND n.dimension_value = v.dimension_value AND n.model = v.model
  )
"""
PRUNE_PERIODS = PRUNE.replace("{period}", "v.period_start = s.period_start")
PRUNE_ALL = PRUNE.replace("{period}", "TRUE")


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


class Batch:
    """The values of one granularity computed since they were last stored: computations add rows to the
    temporary table and their scope; ``store`` upserts them all and prunes the scope in two statements.
    A computation that reads a stored metric still pending has the batch stored first."""

    def __init__(self, cursor, *, grain: str, definition: int, full: bool, dead: int = 0):
        self.cursor, self.grain, self.definition, self.full = cursor, grain, definition, full
        self.metrics: set[str] = set()
        self.scope: tuple[list, list, list] = ([], [], [])
        self.rows = 0  # rows in the temporary table
        self.dead = dead  # rows deleted from it since it was last truncated (carried from the last batch)

    def add(self, keys: list[str], dimensions: list[str], periods: list | None, rows: int, *, prune=True):
        """Values of ``keys`` added; with ``prune``, stored ones of their scope that were not are removed."""
        self.metrics.update(keys)
        self.rows += max(rows, 0)
        metrics, dims, starts = self.scope
        for key in keys if prune else []:
            for dimension in dimensions:
                for start in [None] if periods is None else periods:
                    metrics.append(key)
                    dims.append(dimension)
                    starts.append(start)

    def store(self) -> int:
        """Upsert the pending values and prune their scope; returns the rows written or removed."""
        if not self.metrics:
            return 0
        cursor = self.cursor
        metrics, dims, starts = self.scope
        step = {"grain": self.grain, "definition": self.definition}
        cursor.execute(UPSERT, step)
        written = cursor.rowcount
        cursor.execute(
            PRUNE_ALL if self.full else PRUNE_PERIODS,
            {**step, "metrics": metrics, "dimensions": dims, "periods": starts},
        )
        written += cursor.rowcount
        # A few hundred rows are cheaper to delete than to truncate (a new file for the table and its
        # index); once deleted rows add up, a truncate clears them so the scans stay short.
        if self.dead + self.rows > CLEAR_LIMIT:
            cursor.execute("TRUNCATE _alignment_values")
            self.dead = 0
        elif self.rows:
            cursor.execute("DELETE FROM _alignment_values")
            self.dead += self.rows
        self.metrics, self.scope, self.rows = set(), ([], [], []), 0
        return written


def _direct(comp, grain: str) -> list[str]:
    """The keys of ``comp`` computed from the facts at ``grain`` (not summed from finer stored values)."""
    keys = [k for k in comp.keys if grain in registry.REGISTRY[k].periods]
    rolled = _rolled_up(comp, grain, keys)
    return [k for k in keys if k not in rolled]


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
    """The definition's settings and the business calendar under the names the statements bind (the bench's
    floor uses them too)."""
    from .sla import calendar

    return {
        **calendar().sql_params(),
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
        **{weight: getattr(definition, f"score_weight_{name}") for name, weight in q.SCORE_COMPONENTS},
    }


def _periods(cursor, grain: str, days: list, reach: tuple, known: dict) -> tuple | None:
    back, forward = reach
    if (grain, back, forward) not in known:
        cursor.execute(PERIODS_OF_DAYS, {"grain": grain, "days": days, "back": back, "forward": forward})
        starts, since, until = cursor.fetchone()
        known[grain, back, forward] = (starts, since, until) if starts else None
    return known[grain, back, forward]


def fill_segments(cursor, table: str = "_alignment_segments", *, active: str | None = None) -> None:
    """Segment membership now, into ``table`` (segment_id, contact_id): static lists as stored, rule segments
    through their compiled filter (one INSERT ... SELECT per segment, not per contact). ``active`` (a table
    of contact ids) limits it to those contacts."""
    from django.db.models import BooleanField
    from django.db.models.expressions import RawSQL

    from marketing.models import Contact, Segment, SegmentMember
    from marketing.segments import segment_queryset

    def within(column: str) -> RawSQL:
        # = ANY(ARRAY(...)): planned as a few index lookups (an IN would be a semi-join over every contact)
        sql = f"{column} = ANY(ARRAY(SELECT contact_id FROM {active}))"  # noqa: S608 - constants only
        return RawSQL(sql, [], output_field=BooleanField())  # noqa: S611 - constants only

    cursor.execute(f"TRUNCATE {table}")
    members = SegmentMember.objects.filter(segment__kind=Segment.Kind.STATIC)
    if active:
        members = members.filter(within(f"{SegmentMember._meta.db_table}.contact_id"))
    sql, params = members.values("segment_id", "contact_id").query.sql_with_params()
    cursor.execute(f"INSERT INTO {table} (segment_id, contact_id) {sql}", params)  # noqa: S608
    for segment in Segment.objects.filter(kind=Segment.Kind.RULE).only("id", "definition"):
        try:
            contacts = segment_queryset(segment.definition)
        except ValidationError:
            logger.warning(
                "Segment %s has a definition that no longer compiles; it has no members.", segment.pk
            )
            continue
        if active:
            contacts = contacts.filter(within(f"{Contact._meta.db_table}.id"))
        sql, params = contacts.order_by().values("id").query.sql_with_params()  # no sort: a set
        cursor.execute(
            f"INSERT INTO {table} (segment_id, contact_id) SELECT %s, m.id FROM ({sql}) m",  # noqa: S608
            [segment.pk, *params],
        )


def _span(cursor, days: list, known: dict, reads) -> tuple | None:
    """The date range of every period this incremental run computes from the facts, at any granularity,
    for the computations ``reads(comp)`` picks (merged: a superset is harmless); None when there is none."""
    ranges = [
        periods[1:]
        for grain in registry.GRANULARITIES
        for comp in COMPUTATIONS
        if reads(comp)
        and _direct(comp, grain)  # values rolled up from stored finer ones read no facts
        and (periods := _periods(cursor, grain, days, comp.reach, known)) is not None
    ]
    return (min(r[0] for r in ranges), max(r[1] for r in ranges)) if ranges else None


def _active_contacts(cursor, days: list, known: dict) -> str:
    """Fill ``_alignment_active`` with the contacts whose facts the segment computations of this
    incremental run read; returns its name."""
    sources = list(
        dict.fromkeys(c.segment_contacts for c in COMPUTATIONS if getattr(c, "segment_contacts", ""))
    )
    span = _span(cursor, days, known, lambda comp: getattr(comp, "segment_contacts", ""))
    cursor.execute("TRUNCATE _alignment_active")
    if span is not None:
        union = "\nUNION\n".join(sources)
        cursor.execute(  # noqa: S608 - constants of engine_sql
            f"INSERT INTO _alignment_active (contact_id) {union}", {"since": span[0], "until": span[1]}
        )
    cursor.execute("ANALYZE _alignment_active")
    return "_alignment_active"


def _fill_facts(cursor, facts: q.Facts, *, days: list | None, known: dict, params: dict) -> None:
    """Write ``facts`` for every period the run asks of the computations reading them, at any granularity
    (the range they span together); every fact on a full run. Called for a computation with periods to
    compute, so the range is never empty."""
    since = until = None
    if days is not None:
        since, until = _span(cursor, days, known, lambda comp: getattr(comp, "facts", None) == facts)
    cursor.execute(f"CREATE TEMP TABLE IF NOT EXISTS {facts.table} ({facts.columns}) ON COMMIT DROP")
    cursor.execute(f"TRUNCATE {facts.table}")
    cursor.execute(f"INSERT INTO {facts.table} {facts.select}", {**params, "since": since, "until": until})  # noqa: S608


def _compute(cursor, *, definition: DefinitionVersion, params: dict, days: list | None) -> int:
    """Recompute every metric for the periods the dirty days reach (every period when ``days`` is None);
    ``params`` are the definition's and the calendar's (``params_of``)."""
    written = 0
    known: dict = {}  # (granularity, reach) -> periods, asked once per run
    segments_filled = False  # filled on first use: a run whose dirty days reach no segment metric skips it
    facts_filled: set = set()  # the facts tables written this run, on first use too
    cursor.execute("TRUNCATE _alignment_values")
    dead = 0  # rows deleted from the temporary table since it was last truncated, carried across batches
    for grain in registry.GRANULARITIES:
        batch = Batch(cursor, grain=grain, definition=definition.pk, full=days is None, dead=dead)
        for index, comp in enumerate(COMPUTATIONS):
            keys = [k for k in comp.keys if grain in registry.REGISTRY[k].periods]
            if not keys:
                continue
            # an incremental run adds the changes of a sum kept as signed rows to its stored values
            by_change = days is not None and isinstance(comp, q.Summed)
            if days is None:
                periods = (None, None, None)
            else:
                if by_change:
                    cursor.execute(comp.changed_periods_sql(grain))
                    periods = cursor.fetchone()
                    periods = periods if periods[0] else None
                else:
                    periods = _periods(cursor, grain, days, comp.reach, known)
                if periods is None:
                    continue
            if batch.metrics.intersection(comp.reads):
                written += batch.store()  # it reads values of this batch: store them first
            if days is None and index == FIRST_DERIVED:
                cursor.execute("ANALYZE alignment_metricvalue")
            starts, since, until = periods
            scope = {**params, "periods": starts, "since": since, "until": until}
            rolled = _rolled_up(comp, grain, keys)
            direct = [k for k in keys if k not in rolled]
            rows = 0
            if direct and by_change:
                cursor.execute(comp.change_sql(grain, direct), scope)
                batch.add(direct, comp.produces, starts, cursor.rowcount, prune=False)
                direct = []
            facts = getattr(comp, "facts", None)
            if direct and facts is not None and facts.table not in facts_filled:
                _fill_facts(cursor, facts, days=days, known=known, params=params)
                facts_filled.add(facts.table)
            if direct:
                sql = comp.sql(grain, direct)
                if not segments_filled and "_alignment_segments" in sql:
                    # an incremental run needs only the memberships of the contacts of its facts
                    active = None if days is None else _active_contacts(cursor, days, known)
                    fill_segments(cursor, active=active)
                    segments_filled = True
                cursor.execute(sql, scope)
                rows += cursor.rowcount
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
                rows += cursor.rowcount
            batch.add([k for k in keys if not by_change or k in rolled], comp.produces, starts, rows)
        written += batch.store()
        dead = batch.dead
    return written


# Nothing marked: the incremental run has nothing to do. One statement over the two mark logs, no
# transaction or lock, so the every-45-seconds refresh of a quiet workspace (most of them, on a platform of
# many) costs about what a task that does nothing costs (bench/celery_bench.py). A new definition version
# marks its day too (migration 0016), and the run that takes the mark recomputes everything when the
# version has no full run yet; a workspace that never had a full run has no facts or versions to compute
# from until one marks a day. A mark committed just after this is taken by the next run, as it is when it
# commits during a run. The names are qualified: no search path, and no statement to set one.
QUIET = """
SELECT NOT EXISTS (SELECT 1 FROM {schema}.alignment_dirtyday)
   AND NOT EXISTS (SELECT 1 FROM {schema}.alignment_dirtydeal)
"""


def _quiet() -> bool:
    """Whether an incremental run would find nothing to do: one round trip to the database.

    On a connection already open it is sent as it is: no health check first (a task's first query pays
    one, ``CONN_HEALTH_CHECKS``) and no search path, both round trips of their own. The statement is its
    own health check: when the connection died (a database restart) outside a transaction, it is closed
    and the statement goes the usual way, which connects again.
    """
    sql = QUIET.format(schema=connection.ops.quote_name(connection.schema_name))
    if connection.connection is not None:
        try:
            with connection.wrap_database_errors:
                raw = connection.connection.cursor()
            wrap = connection.make_debug_cursor if connection.queries_logged else connection.make_cursor
            with wrap(raw) as cursor:
                cursor.execute(sql)
                return cursor.fetchone()[0]
        except (OperationalError, InterfaceError):
            if connection.in_atomic_block:
                raise
            logger.warning("The database connection was lost; connecting again.", exc_info=True)
            connection.close()
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchone()[0]


def run(*, full: bool = False) -> EngineRun | None:
    """One engine run for the current workspace. Returns None when another run holds the lock, and an
    unsaved record when an incremental run finds nothing to do."""
    from .attribution import recompute_credits

    if connection.schema_name == "public":
        raise RuntimeError("The metric engine runs in a workspace schema, never in public.")
    if not full and _quiet():
        return EngineRun(kind=EngineRun.Kind.INCREMENTAL)  # nothing changed: nothing to store
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
        cursor.execute("TRUNCATE _alignment_credit_changes")  # a run in an outer transaction reuses it
        params = params_of(definition)
        written = 0
        if full or deals:
            written += recompute_credits(cursor, params=params, deals=None if full else deals)
        if full:
            cursor.execute("ANALYZE alignment_attributioncredit")
        # changed credits change attributed sums even without a dirty day
        written += _compute(cursor, definition=definition, params=params, days=None if full else days)
        record.values_written = written
        record.finished_at = timezone.now()
        record.save()
        return record
