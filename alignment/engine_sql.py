"""The SQL of the metric engine: one computation per family of metrics sharing one scan.

Every computation writes rows ``(metric, period_start, dimension, dimension_value, model, numerator,
denominator, value)`` into the run's temporary table ``_alignment_values`` for one granularity, limited to the
periods it is asked for. Statements are built only from the constants in this module and a checked
granularity; everything else is a bind parameter:

- ``%(periods)s`` (date[] or NULL = every period), ``%(since)s`` / ``%(until)s`` (the date range the periods
  span, so scans use their time indexes);
- the definition in force: ``%(cohort_days)s`` (W), ``%(influence_days)s`` (L), ``%(lookback_days)s``,
  ``%(half_life)s``, ``%(trailing_days)s``, ``%(gross_margin)s``, ``%(sales_cost_month)s``,
  ``%(cap_months)s``, ``%(w_acceptance)s``, ``%(w_sql)s``, ``%(w_win)s``, ``%(w_size)s``, ``%(definition)s``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from . import registry
from .business_time import HOURS_SQL
from .models import AttributionModel

NONE = "none"  # the dimension value of facts without one (a lead with no campaign)
FOREVER = -1  # a reach that runs to today: a change affects every later period (snapshots, retention)

# How far a dirty day reaches: a change on day x affects the periods holding days x - back .. x + forward
# (days, or FOREVER). Cohort-style metrics need no reach: their triggers mark the days they change.
SAME_DAY = (0, 0)


@dataclass(frozen=True)
class Facts:
    """Rows that computations read at every granularity, written once per run into the temporary table
    ``table`` for the date range of all their periods: the costly part of a scan (lookups per row, windows)
    done once instead of once per granularity. ``select`` returns the rows placed in
    [%(since)s, %(until)s) (NULL: unbounded) in the order of ``columns``."""

    table: str
    columns: str
    select: str


# The bounds of the rows a ``Facts`` select returns, for a timestamp ``ts``.
WITHIN = "{ts} >= COALESCE(%(since)s::date, '-infinity') AND {ts} < COALESCE(%(until)s::date, 'infinity')"


@dataclass(frozen=True)
class Computation:
    """Metrics grouped by period and dimension over one scan of ``source`` (GROUPING SETS: the workspace
    total and one set per dimension). ``select`` maps a metric to (numerator, denominator, value) SQL."""

    name: str
    ts: str  # the timestamp or date that places a fact in a period
    source: str
    select: dict[str, tuple[str, str, str]]
    dimensions: dict[str, str] = field(default_factory=dict)
    where: str = "TRUE"
    total: bool = True  # False for dimensions whose facts repeat per value (segments, teams)
    model: str = "''"  # the attribution model column, grouped in every set
    reach: tuple = SAME_DAY
    reads: tuple[str, ...] = ()  # reads no stored metric: it computes from the facts
    # Per segment: the contacts of its facts placed in [%(since)s, %(until)s), whose segment membership an
    # incremental run needs (a superset is harmless).
    segment_contacts: str = ""
    facts: Facts | None = None  # the temporary table ``source`` reads, written first

    @property
    def keys(self) -> list[str]:
        return list(self.select)

    @property
    def produces(self) -> list[str]:
        """The dimensions of the rows it writes ('' = the workspace), which its prune may remove."""
        return ([""] if self.total else []) + list(self.dimensions)

    def _grouping(self, grain: str) -> tuple[str, str, str, str]:
        """(bucket, dimension, dimension value, grouping sets) SQL."""
        bucket = bucket_of(self.ts, grain)
        dims = self.dimensions
        if not dims and not self.total:
            raise ValueError(f"{self.name}: nothing to group by")
        dimension = "CASE " + " ".join(f"WHEN GROUPING({e}) = 0 THEN '{n}'" for n, e in dims.items())
        dimension += " ELSE '' END" if dims else ""
        value = "CASE " + " ".join(
            f"WHEN GROUPING({e}) = 0 THEN COALESCE(({e})::text, '{NONE}')" for e in dims.values()
        )
        value += " ELSE '' END" if dims else ""
        if not dims:
            dimension = value = "''"
        always = bucket if self.model == "''" else f"{bucket}, {self.model}"  # a constant is not grouped
        sets = [f"({always})"] if self.total else []
        sets += [f"({always}, {e})" for e in dims.values()]
        return bucket, dimension, value, ", ".join(sets)

    def sql(self, grain: str, keys: list[str]) -> str:
        bucket, dimension, value, sets = self._grouping(grain)
        chosen = [(key, self.select[key]) for key in keys]
        columns = ", ".join(
            f"({num})::numeric AS n{i}, ({den})::numeric AS d{i}, ({val})::numeric AS v{i}"
            for i, (_, (num, den, val)) in enumerate(chosen)
        )
        unpivot = ", ".join(f"('{key}', g.n{i}, g.d{i}, g.v{i})" for i, (key, _) in enumerate(chosen))
        return f"""
            {INSERT}
            SELECT m.metric, g.period_start, g.dimension, g.dimension_value, g.model,
                   m.numerator, m.denominator, m.value
            FROM (
                SELECT {bucket} AS period_start, {dimension} AS dimension, {value} AS dimension_value,
                       {self.model} AS model, {columns}
                FROM {self.source}
                WHERE ({self.where}) AND {self.ts} IS NOT NULL
                  AND (%(since)s::date IS NULL OR {self.ts} >= %(since)s::date)
                  AND (%(until)s::date IS NULL OR {self.ts} < %(until)s::date)
                  AND (%(periods)s::date[] IS NULL OR {bucket} = ANY(%(periods)s::date[]))
                GROUP BY GROUPING SETS ({sets})
            ) g
            CROSS JOIN LATERAL (VALUES {unpivot}) AS m(metric, numerator, denominator, value)
        """  # noqa: S608


@dataclass(frozen=True)
class Summed(Computation):
    """Sums of columns of ``source`` whose every change an incremental run has as signed rows in the
    temporary table ``changes`` (the same columns under the same alias, and ``sign``: -1 for a row as it
    was, +1 as it is). Such a run adds the change of each group to its stored value instead of scanning
    the periods' rows, and removes the groups left with no row."""

    sums: dict[str, str] = field(default_factory=dict)  # metric -> the summed column
    changes: str = ""  # "table alias"

    @property
    def _sign(self) -> str:
        return f"{self.changes.split()[-1]}.sign"

    def changed_periods_sql(self, grain: str) -> str:
        """The periods the changes fall in, with the date range they span (as ``PERIODS_OF_DAYS``)."""
        bucket = bucket_of(self.ts, grain)
        return f"""SELECT array_agg(DISTINCT {bucket}), min({bucket}),
            (max({bucket}) + interval '{STEP[grain]}')::date
            FROM {self.changes} WHERE {self.ts} IS NOT NULL"""  # noqa: S608

    def change_sql(self, grain: str, keys: list[str]) -> str:
        """Into ``_alignment_values``: each changed group of the asked periods at its stored value plus
        its change; stored values of the groups with no row left are deleted."""
        bucket, dimension, value, sets = self._grouping(grain)
        changes = ", ".join(f"SUM({self._sign} * ({self.sums[k]})) AS c{i}" for i, k in enumerate(keys))
        match = " OR ".join(
            [
                f"(g.dimension = '{n}' AND COALESCE(({e})::text, '{NONE}') = g.dimension_value)"
                for n, e in self.dimensions.items()
            ]
            + (["g.dimension = ''"] if self.total else [])
        )
        unpivot = ", ".join(f"('{key}', g.c{i})" for i, key in enumerate(keys))
        metrics = ", ".join(f"'{key}'" for key in keys)
        stored = f"""v.granularity = '{grain}' AND v.definition_id = %(definition)s
            AND v.period_start = g.period_start AND v.dimension = g.dimension
            AND v.dimension_value = g.dimension_value AND v.model = g.model"""
        return f"""
            WITH changed AS (
                SELECT {bucket} AS period_start, {dimension} AS dimension, {value} AS dimension_value,
                       {self.model} AS model, {changes}, bool_or({self._sign} > 0) AS added
                FROM {self.changes}
                WHERE ({self.where}) AND {self.ts} IS NOT NULL AND {bucket} = ANY(%(periods)s::date[])
                GROUP BY GROUPING SETS ({sets})
            ),
            groups AS (  -- a group with an added row has rows; any other is looked for
                SELECT g.*, CASE WHEN g.added THEN TRUE ELSE EXISTS (
                    SELECT 1 FROM {self.source}
                    WHERE ({self.where}) AND {self.ts} >= g.period_start
                      AND {self.ts} < g.period_start + interval '{STEP[grain]}'
                      AND {self.model} = g.model AND ({match})
                ) END AS kept
                FROM changed g
            ),
            gone AS (
                DELETE FROM alignment_metricvalue v USING groups g
                WHERE NOT g.kept AND v.metric IN ({metrics}) AND {stored}
            )
            {INSERT}
            SELECT m.metric, g.period_start, g.dimension, g.dimension_value, g.model, n.value, NULL, n.value
            FROM groups g
            CROSS JOIN LATERAL (VALUES {unpivot}) AS m(metric, change)
            LEFT JOIN alignment_metricvalue v ON v.metric = m.metric AND {stored}
            CROSS JOIN LATERAL (SELECT COALESCE(v.value, 0) + m.change AS value) n
            WHERE g.kept
        """  # noqa: S608


def summed(*, sums: dict[str, str], **computation) -> Summed:
    select = {key: _count(f"SUM({column})") for key, column in sums.items()}
    return Summed(select=select, sums=sums, **computation)


@dataclass(frozen=True)
class Statement:
    """A computation written by hand: ``template`` is formatted with ``grain`` (checked) and must insert
    rows for ``keys`` only, within the asked periods."""

    name: str
    keys_: tuple[str, ...]
    template: str
    reach: tuple = SAME_DAY
    dimensions: tuple[str, ...] = ()
    total: bool = True
    reads: tuple[str, ...] = ()  # the stored metrics (same granularity) it reads: stored before it runs

    @property
    def keys(self) -> list[str]:
        return list(self.keys_)

    @property
    def produces(self) -> list[str]:
        return ([""] if self.total else []) + list(self.dimensions)

    def sql(self, grain: str, keys: list[str]) -> str:
        check_grain(grain)
        sql = self.template.replace("{grain}", grain).replace("{step}", STEP[grain])
        return sql.replace("{months}", MONTHS_IN[grain])


INSERT = """INSERT INTO _alignment_values
    (metric, period_start, dimension, dimension_value, model, numerator, denominator, value)"""


def check_grain(grain: str) -> None:
    if grain not in registry.GRANULARITIES:
        raise ValueError(f"Unknown granularity {grain!r}")


STEP = {"day": "1 day", "week": "7 days", "month": "1 month", "quarter": "3 months"}


def bucket_of(ts: str, grain: str) -> str:
    check_grain(grain)
    return f"date_trunc('{grain}', {ts})::date"


def _rate(num: str, den: str) -> tuple[str, str, str]:
    return num, den, f"({num})::numeric / NULLIF({den}, 0)"


def _count(expr: str) -> tuple[str, str, str]:
    return expr, "NULL", expr


def _plain(expr: str) -> tuple[str, str, str]:
    """A statistic with no numerator and denominator (a median, a percentile)."""
    return "NULL", "NULL", expr


CAMPAIGN_DIMS = {registry.CHANNEL: "cp.channel", registry.CAMPAIGN: "cp.id"}

# Segment membership now: static lists and every rule segment compiled to SQL, in a temporary table the
# run fills on first use (``_alignment_segments``). Teams: a rep's teams.
SEGMENT_JOIN = "JOIN _alignment_segments sm ON sm.contact_id = {contact}"
TEAM_JOIN = "JOIN sales_team_members tm ON tm.user_id = {rep}"


# The contacts of the facts of a date range, for ``by_segment``.
TRANSITION_CONTACTS = """SELECT t.contact_id FROM marketing_stagetransition t
    WHERE t.at >= %(since)s::date AND t.at < %(until)s::date"""
DECISION_CONTACTS = """SELECT d.contact_id FROM sales_leaddecision d
    WHERE d.decided_at >= %(since)s::date AND d.decided_at < %(until)s::date"""


def by_segment(comp: Computation, contact: str, contacts: str, keys: list[str] | None = None) -> Computation:
    """The same metrics per segment: a contact in two segments counts in both, so no workspace total.
    ``contacts`` selects the contacts whose facts fall in a date range (``TRANSITION_CONTACTS``, ...)."""
    return Computation(
        segment_contacts=contacts,
        name=f"{comp.name} by segment",
        ts=comp.ts,
        source=comp.source + "\n" + SEGMENT_JOIN.format(contact=contact),
        select={k: v for k, v in comp.select.items() if keys is None or k in keys},
        dimensions={registry.SEGMENT: "sm.segment_id"},
        where=comp.where,
        total=False,
        reach=comp.reach,
    )


def by_team(comp: Computation, rep: str, keys: list[str] | None = None) -> Computation:
    return Computation(
        name=f"{comp.name} by team",
        ts=comp.ts,
        source=comp.source + "\n" + TEAM_JOIN.format(rep=rep),
        select={k: v for k, v in comp.select.items() if keys is None or k in keys},
        dimensions={registry.TEAM: "tm.team_id"},
        where=comp.where,
        total=False,
        reach=comp.reach,
        facts=comp.facts,
    )


DAYS = "(EXTRACT(epoch FROM ({later}) - ({earlier})) / 86400.0)"


def days_between(later: str, earlier: str) -> str:
    return DAYS.format(later=later, earlier=earlier)


# --- Funnel -------------------------------------------------------------------------------------------

FUNNEL = Computation(
    name="funnel entries",
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
)

VISITS = Computation(
    name="visits",
    ts="tp.occurred_at",
    source="""marketing_touchpoint tp
        LEFT JOIN marketing_campaign cp ON cp.id = tp.campaign_id""",
    where="tp.kind = 'page_visit'",
    dimensions={registry.CHANNEL: "COALESCE(NULLIF(tp.channel, ''), cp.channel)", registry.CAMPAIGN: "cp.id"},
    select={"visits": _count("COUNT(*)")},
)

# MQLs of P followed to SQL within W: the cohort view. A later SQL entry changes the cohort of its MQL, up
# to W days back.
MQL_COHORT = Computation(
    name="MQL cohorts",
    ts="t.at",
    source="""marketing_stagetransition t
        JOIN marketing_contact c ON c.id = t.contact_id
        LEFT JOIN marketing_campaign cp ON cp.id = c.first_touch_campaign_id
        LEFT JOIN LATERAL (
            SELECT TRUE AS reached FROM marketing_stagetransition s
            WHERE s.contact_id = t.contact_id AND s.to_stage = 'sql'
              AND s.at >= t.at AND s.at < t.at + make_interval(days => %(cohort_days)s)
            LIMIT 1
        ) r ON TRUE""",
    where="t.to_stage = 'mql'",
    dimensions=CAMPAIGN_DIMS,
    select={"mql_to_sql_rate_cohort": _rate("COUNT(*) FILTER (WHERE r.reached)", "COUNT(*)")},
)

DECISIONS = Computation(
    name="lead decisions",
    ts="d.decided_at",
    source="""sales_leaddecision d
        LEFT JOIN marketing_campaign cp ON cp.id = d.campaign_id""",
    dimensions={**CAMPAIGN_DIMS, registry.REP: "d.decided_by_id"},
    select={
        "sals": _count("COUNT(*) FILTER (WHERE d.decision = 'accepted')"),
        "mql_acceptance_rate": _rate("COUNT(*) FILTER (WHERE d.decision = 'accepted')", "COUNT(*)"),
    },
)

# Speed to lead: from an MQL entry to the first sales activity done on the contact (within W), in business
# hours on the workspace's business calendar (``%(tz)s`` ... ``%(holidays)s``: ``alignment.sla.calendar``).
SPEED_FACTS = Facts(
    table="_alignment_speed",
    columns="at timestamptz, channel text, owner_id bigint, hours numeric",
    select="""
        SELECT t.at, cp.channel, f.owner_id, """
    + HOURS_SQL.format(a="t.at", b="f.done_at")
    + """
        FROM marketing_stagetransition t
        JOIN marketing_contact c ON c.id = t.contact_id
        LEFT JOIN marketing_campaign cp ON cp.id = c.first_touch_campaign_id
        JOIN LATERAL (
            SELECT a.done_at, a.owner_id FROM sales_activity a
            WHERE a.contact_id = t.contact_id AND a.done_at >= t.at
              AND a.done_at < t.at + make_interval(days => %(cohort_days)s)
            ORDER BY a.done_at, a.id LIMIT 1
        ) f ON TRUE
        WHERE t.to_stage = 'mql' AND """
    + WITHIN.format(ts="t.at"),
)
SPEED = Computation(
    name="speed to lead",
    ts="x.at",
    source="_alignment_speed x",
    facts=SPEED_FACTS,
    dimensions={registry.CHANNEL: "x.channel", registry.REP: "x.owner_id"},
    select={
        "speed_to_lead_median": _plain("percentile_cont(0.5) WITHIN GROUP (ORDER BY x.hours)"),
        "speed_to_lead_p90": _plain("percentile_cont(0.9) WITHIN GROUP (ORDER BY x.hours)"),
    },
)

# --- Deals --------------------------------------------------------------------------------------------

WON = "dl.status = 'won'"
LOST = "dl.status = 'lost'"
# A structured loss reason: one of the workspace's listed reasons, in a category that routes somewhere.
STRUCTURED = f"{LOST} AND dl.loss_reason_id IS NOT NULL AND dl.loss_category NOT IN ('', 'other')"
CYCLE = days_between("dl.closed_at", "dl.created_at")
CLOSED = Computation(
    name="closed deals",
    ts="dl.closed_at",
    source="""sales_deal dl
        LEFT JOIN marketing_campaign cp ON cp.id = dl.source_campaign_id
        LEFT JOIN LATERAL (
            SELECT min(s.at) AS lead_at FROM marketing_stagetransition s
            WHERE s.contact_id = dl.lead_id AND s.to_stage = 'lead'
        ) ld ON TRUE""",
    where="dl.status IN ('won', 'lost')",
    dimensions={**CAMPAIGN_DIMS, registry.REP: "dl.owner_id", registry.PIPELINE: "dl.pipeline_id"},
    select={
        "win_rate": _rate(f"COUNT(*) FILTER (WHERE {WON})", "COUNT(*)"),
        "deals_won": _count(f"COUNT(*) FILTER (WHERE {WON})"),
        "revenue_won": _count(f"COALESCE(SUM(dl.amount) FILTER (WHERE {WON}), 0)"),
        "average_deal_size": _rate(
            f"COALESCE(SUM(dl.amount) FILTER (WHERE {WON}), 0)", f"COUNT(*) FILTER (WHERE {WON})"
        ),
        "sales_cycle_mean": _rate(f"SUM({CYCLE}) FILTER (WHERE {WON})", f"COUNT(*) FILTER (WHERE {WON})"),
        "sales_cycle_median": _plain(
            f"percentile_cont(0.5) WITHIN GROUP (ORDER BY {CYCLE}) FILTER (WHERE {WON})"
        ),
        "lead_to_close_median": _plain(
            "percentile_cont(0.5) WITHIN GROUP (ORDER BY "
            + days_between("dl.closed_at", "ld.lead_at")
            + f") FILTER (WHERE {WON} AND ld.lead_at IS NOT NULL)"
        ),
        "loss_reason_coverage": _rate(
            f"COUNT(*) FILTER (WHERE {STRUCTURED})", f"COUNT(*) FILTER (WHERE {LOST})"
        ),
    },
)

# Deals created in P followed to their outcome within W (the creation cohort of win rate).
WIN_COHORT = Computation(
    name="deal cohorts",
    ts="dl.created_at",
    source="sales_deal dl",
    where="dl.status IN ('won', 'lost')"
    " AND dl.closed_at < dl.created_at + make_interval(days => %(cohort_days)s)",
    dimensions={registry.REP: "dl.owner_id", registry.PIPELINE: "dl.pipeline_id"},
    select={"win_rate_cohort": _rate(f"COUNT(*) FILTER (WHERE {WON})", "COUNT(*)")},
)

# A marketing touch of one of the deal's contacts within the influence lookback L before it was created:
# marketing-influenced pipeline and attribution coverage, and the scorecard's drill-down of the latter.
INFLUENCE_TOUCH = """EXISTS (
    SELECT 1 FROM marketing_touchpoint tp
    WHERE tp.contact_id = dc.contact_id AND tp.campaign_id IS NOT NULL
      AND tp.occurred_at <= dl.created_at
      AND tp.occurred_at > dl.created_at - make_interval(days => %(influence_days)s)
)"""
INFLUENCED = f"EXISTS (SELECT 1 FROM sales_dealcontact dc WHERE dc.deal_id = dl.id AND {INFLUENCE_TOUCH})"

CREATED = Computation(
    name="created deals",
    ts="dl.created_at",
    source="""sales_deal dl
        LEFT JOIN marketing_campaign cp ON cp.id = dl.source_campaign_id
        LEFT JOIN LATERAL (
            SELECT TRUE AS touched FROM sales_dealcontact dc
            WHERE dc.deal_id = dl.id AND """
    + INFLUENCE_TOUCH
    + """
            LIMIT 1
        ) inf ON TRUE""",
    dimensions={**CAMPAIGN_DIMS, registry.REP: "dl.owner_id", registry.PIPELINE: "dl.pipeline_id"},
    select={
        "pipeline_created": _count("COALESCE(SUM(dl.amount), 0)"),
        "deals_created": _count("COUNT(*)"),
        "marketing_sourced_pipeline": _count(
            "COALESCE(SUM(dl.amount) FILTER (WHERE dl.source_campaign_id IS NOT NULL), 0)"
        ),
        "marketing_influenced_pipeline": _count("COALESCE(SUM(dl.amount) FILTER (WHERE inf.touched), 0)"),
        "attribution_coverage": _rate("COUNT(*) FILTER (WHERE inf.touched)", "COUNT(*)"),
    },
)

# Stays in a stage, from the stage history: a stay ends at the next change of the deal.
STAY_FACTS = Facts(
    table="_alignment_stays",
    columns="ended_at timestamptz, days numeric, pipeline_id bigint, stage_id bigint, forward boolean",
    select="""
        SELECT st.ended_at, """
    + days_between("st.ended_at", "st.started_at")
    + """, s.pipeline_id, s.id, n.position > s.position AND n.kind <> 'lost'
        FROM (
            SELECT ch.deal_id, ch.to_stage_id AS stage_id, ch.at AS started_at,
                   lead(ch.at) OVER w AS ended_at, lead(ch.to_stage_id) OVER w AS next_stage_id
            FROM sales_dealstagechange ch
            WHERE ch.deal_id IN (  -- only deals with a move in the asked range (a plain semi-join: no OR)
                SELECT m.deal_id FROM sales_dealstagechange m WHERE """
    + WITHIN.format(ts="m.at")
    + """
            )
            WINDOW w AS (PARTITION BY ch.deal_id ORDER BY ch.at, ch.id)
        ) st
        JOIN sales_stage s ON s.id = st.stage_id
        JOIN sales_stage n ON n.id = st.next_stage_id
        WHERE """
    + WITHIN.format(ts="st.ended_at"),
)
STAYS = Computation(
    name="stage stays",
    ts="x.ended_at",
    source="_alignment_stays x",
    facts=STAY_FACTS,
    dimensions={registry.PIPELINE: "x.pipeline_id", registry.STAGE: "x.stage_id"},
    select={
        "stage_conversion": _rate("COUNT(*) FILTER (WHERE x.forward)", "COUNT(*)"),
        "time_in_stage_median": _plain("percentile_cont(0.5) WITHIN GROUP (ORDER BY x.days)"),
    },
)

SPEND = Computation(
    name="spend",
    ts="k.date",
    source="""marketing_costline k
        JOIN marketing_campaign cp ON cp.id = k.campaign_id""",
    dimensions=CAMPAIGN_DIMS,
    select={"marketing_spend": _count("COALESCE(SUM(k.amount), 0)")},
)

# Send to lead lag: the leads (first lead-stage entry) touched by a send, within W after the send.
# The leads of each send: contacts it touched whose first lead-stage entry came within W after it, one row
# per (send, contact) with its lag in days. ``{sends}`` narrows the sends (the report's curve reads one),
# ``{leads_since}`` is a moment no earlier than the first of them (their leads came in since).
SEND_LEADS = (
    """
    SELECT DISTINCT s.id AS send_id, s.campaign_id, s.sent_at, tp.contact_id, ld.lead_at,
           """
    + days_between("ld.lead_at", "s.sent_at")
    + """ AS lag_days
    FROM marketing_campaignsend s
    JOIN marketing_touchpoint tp ON tp.send_id = s.id AND tp.contact_id IS NOT NULL
    JOIN (  -- first lead entries, grouped once and hash-joined (not looked up per touch), of the contacts
            -- with one since the asked range began (a lead entry after a send in it)
        SELECT st.contact_id, min(st.at) AS lead_at FROM marketing_stagetransition st
        WHERE st.to_stage = 'lead' AND st.contact_id IN (
            SELECT r.contact_id FROM marketing_stagetransition r
            WHERE r.to_stage = 'lead' AND r.at >= {leads_since}
        )
        GROUP BY st.contact_id
    ) ld ON ld.contact_id = tp.contact_id AND ld.lead_at >= s.sent_at
        AND ld.lead_at < s.sent_at + make_interval(days => %(cohort_days)s)
    WHERE {sends}"""
)

SEND_LAG_FACTS = Facts(
    table="_alignment_send_leads",
    columns="sent_at timestamptz, send_id bigint, campaign_id bigint, channel text, lag_days numeric",
    select="SELECT x.sent_at, x.send_id, x.campaign_id, cp.channel, x.lag_days FROM ("
    + SEND_LEADS.replace("{leads_since}", "COALESCE(%(since)s::date, '-infinity')").replace(
        "{sends}", WITHIN.format(ts="s.sent_at")
    )
    + """
    ) x
    JOIN marketing_campaign cp ON cp.id = x.campaign_id""",
)
SEND_LAG = Computation(
    name="send to lead lag",
    ts="x.sent_at",
    source="_alignment_send_leads x",
    facts=SEND_LAG_FACTS,
    dimensions={
        registry.CHANNEL: "x.channel",
        registry.CAMPAIGN: "x.campaign_id",
        registry.SEND: "x.send_id",
    },
    select={
        "send_to_lead_lag_median": _plain("percentile_cont(0.5) WITHIN GROUP (ORDER BY x.lag_days)"),
        "send_to_lead_lag_p80": _plain("percentile_cont(0.8) WITHIN GROUP (ORDER BY x.lag_days)"),
        "send_to_lead_within_7d": _rate("COUNT(*) FILTER (WHERE x.lag_days <= 7)", "COUNT(*)"),
        "send_to_lead_within_30d": _rate("COUNT(*) FILTER (WHERE x.lag_days <= 30)", "COUNT(*)"),
    },
)

# --- Attribution rollups (from the stored credits) --------------------------------------------------------

CREDIT_DIMS = {registry.CHANNEL: "NULLIF(ac.channel, '')", registry.CAMPAIGN: "ac.campaign_id"}
# The engine is the only writer of credits; an incremental run keeps the old and new credits of the deals
# it recomputes as signed rows (``alignment.attribution``). Weights are summed at the precision values are
# stored at, so a sum changed by parts is the sum computed whole.
CREDIT_CHANGES = "_alignment_credit_changes ac"
ATTRIBUTED_CREATED = summed(
    name="attributed pipeline",
    ts="ac.deal_created_at",
    source="alignment_attributioncredit ac",
    changes=CREDIT_CHANGES,
    where="ac.definition_id = %(definition)s",
    dimensions=CREDIT_DIMS,
    model="ac.model",
    sums={"attributed_pipeline": "ac.credit", "attributed_opportunities": "round(ac.weight, 6)"},
)
ATTRIBUTED_WON = summed(
    name="attributed revenue",
    ts="ac.deal_won_at",
    source="alignment_attributioncredit ac",
    changes=CREDIT_CHANGES,
    where="ac.definition_id = %(definition)s",
    dimensions=CREDIT_DIMS,
    model="ac.model",
    sums={"attributed_revenue": "ac.credit"},
)

# --- Snapshots and retention (hand-written: one row per period end) ------------------------------------

# The periods a snapshot statement covers: every period of the grain from the first fact to today, or the
# asked ones.
PERIOD_SERIES = """
    SELECT p::date AS period_start, (p + interval '{step}')::timestamptz AS period_end
    FROM (SELECT ({first})::date AS first_day) f
    CROSS JOIN LATERAL generate_series(
        date_trunc('{grain}', GREATEST(%(since)s::date, f.first_day)),
        date_trunc('{grain}', current_date),
        interval '{step}'
    ) AS p
    WHERE f.first_day IS NOT NULL
      AND (%(periods)s::date[] IS NULL OR p::date = ANY(%(periods)s::date[]))
"""

# Open deals at each period end, with the stage they were in then (from the stage history; the deal's own
# stage when it has no history or the period has not ended: the stage it is in now), weighted by the deal's
# override or that stage's probability; and the
# four inputs of pipeline velocity over the trailing window ending at the period end.
SNAPSHOT = Statement(
    name="pipeline snapshots",
    keys_=(
        "weighted_pipeline",
        "velocity_open_deals",
        "velocity_win_rate",
        "velocity_deal_size",
        "velocity_cycle_days",
        "pipeline_velocity",
    ),
    dimensions=(registry.REP, registry.PIPELINE),
    reach=(0, FOREVER),
    template="""
    WITH periods AS ("""
    + PERIOD_SERIES.replace("{first}", "(SELECT min(created_at) FROM sales_deal)")
    + """),
    stays AS (  -- each deal's stays in a stage, from the stage history, of the deals still open at the start;
                -- only when a period has ended (one not ended takes each deal's current stage)
        SELECT ch.deal_id, ch.to_stage_id, ch.at AS from_at,
               lead(ch.at) OVER (PARTITION BY ch.deal_id ORDER BY ch.at, ch.id) AS to_at
        FROM sales_dealstagechange ch
        WHERE ch.deal_id IN (
            SELECT d.id FROM sales_deal d
            WHERE d.closed_at IS NULL OR d.closed_at >= COALESCE(%(since)s::date, '-infinity')
        ) AND EXISTS (SELECT 1 FROM periods p WHERE p.period_end <= now())
    ),
    open_at AS (
        SELECT p.period_start, dl.owner_id, dl.pipeline_id,
               dl.amount * COALESCE(dl.probability_override, sg.probability) / 100.0 AS weighted
        FROM periods p
        JOIN sales_deal dl ON dl.created_at < p.period_end
             AND (dl.closed_at IS NULL OR dl.closed_at >= p.period_end)
        LEFT JOIN stays st ON p.period_end <= now() AND st.deal_id = dl.id AND st.from_at < p.period_end
             AND (st.to_at IS NULL OR st.to_at >= p.period_end)
        JOIN sales_stage sg ON sg.id = COALESCE(st.to_stage_id, dl.stage_id)
    ),
    opened AS (
        SELECT period_start,
               CASE WHEN GROUPING(owner_id) = 0 THEN 'rep' WHEN GROUPING(pipeline_id) = 0 THEN 'pipeline'
                    ELSE '' END AS dimension,
               CASE WHEN GROUPING(owner_id) = 0 THEN COALESCE(owner_id::text, 'none')
                    WHEN GROUPING(pipeline_id) = 0 THEN pipeline_id::text ELSE '' END AS dimension_value,
               COUNT(*) AS n, SUM(weighted) AS weighted
        FROM open_at
        GROUP BY GROUPING SETS ((period_start), (period_start, owner_id), (period_start, pipeline_id))
    ),
    closed AS (
        SELECT p.period_start,
               CASE WHEN GROUPING(dl.owner_id) = 0 THEN 'rep'
                    WHEN GROUPING(dl.pipeline_id) = 0 THEN 'pipeline' ELSE '' END AS dimension,
               CASE WHEN GROUPING(dl.owner_id) = 0 THEN COALESCE(dl.owner_id::text, 'none')
                    WHEN GROUPING(dl.pipeline_id) = 0 THEN dl.pipeline_id::text
                    ELSE '' END AS dimension_value,
               COUNT(*) FILTER (WHERE dl.status = 'won') AS won, COUNT(*) AS closed,
               SUM(dl.amount) FILTER (WHERE dl.status = 'won') AS won_amount,
               SUM("""
    + CYCLE
    + """) FILTER (WHERE dl.status = 'won') AS cycle_days
        FROM periods p
        JOIN sales_deal dl ON dl.status IN ('won', 'lost')
             AND dl.closed_at < p.period_end
             AND dl.closed_at >= p.period_end - make_interval(days => %(trailing_days)s)
        GROUP BY GROUPING SETS (
            (p.period_start), (p.period_start, dl.owner_id), (p.period_start, dl.pipeline_id)
        )
    ),
    keyed AS (
        SELECT period_start, dimension, dimension_value FROM opened
        UNION SELECT period_start, dimension, dimension_value FROM closed
        UNION SELECT period_start, '', '' FROM periods
    ),
    joined AS (
        SELECT k.period_start, k.dimension, k.dimension_value,
               COALESCE(o.n, 0) AS n, COALESCE(o.weighted, 0) AS weighted,
               c.won, c.closed, c.won_amount, c.cycle_days
        FROM keyed k
        LEFT JOIN opened o USING (period_start, dimension, dimension_value)
        LEFT JOIN closed c USING (period_start, dimension, dimension_value)
    ),
    figures AS (
        SELECT *, won::numeric / NULLIF(closed, 0) AS win_rate, won_amount / NULLIF(won, 0) AS deal_size,
               cycle_days / NULLIF(won, 0) AS cycle
        FROM joined
    )
    """
    + INSERT
    + """
    SELECT m.metric, f.period_start, f.dimension, f.dimension_value, '', m.numerator, m.denominator, m.value
    FROM figures f
    CROSS JOIN LATERAL (VALUES
        ('weighted_pipeline', NULL::numeric, NULL::numeric, f.weighted::numeric),
        ('velocity_open_deals', NULL, NULL, f.n::numeric),
        ('velocity_win_rate', f.won::numeric, f.closed::numeric, f.win_rate),
        ('velocity_deal_size', f.won_amount, f.won::numeric, f.deal_size),
        ('velocity_cycle_days', f.cycle_days, f.won::numeric, f.cycle),
        ('pipeline_velocity', NULL, NULL, f.n * f.win_rate * f.deal_size / NULLIF(f.cycle, 0))
    ) AS m(metric, numerator, denominator, value)
    """,
)

# Retention from the subscription events: a subscription's MRR at a moment is the mrr_after of its last
# event before it. Customers at the start of P are accounts with MRR then; an account acquired in P is not
# in the denominators.
RETENTION = Statement(
    name="retention",
    keys_=(
        "logo_churn",
        "gross_revenue_churn",
        "net_revenue_retention",
        "expansion_rate",
        "start_mrr",
        "average_mrr",
        "new_accounts",
        "new_customer_mrr",
    ),
    reach=(0, FOREVER),
    template="""
    WITH periods AS ("""
    + PERIOD_SERIES.replace("{first}", "(SELECT min(at) FROM sales_subscriptionevent)")
    + """),
    span AS (SELECT p.period_start, p.period_end,
                    (p.period_start::timestamp AT TIME ZONE 'UTC') AS starts FROM periods p),
    intervals AS (  -- each subscription's MRR from one event to the next
        SELECT sb.account_id, e.mrr_after, e.at AS from_at,
               lead(e.at) OVER (PARTITION BY e.subscription_id ORDER BY e.at, e.id) AS to_at
        FROM sales_subscriptionevent e JOIN sales_subscription sb ON sb.id = e.subscription_id
    ),
    accounts AS (  -- each account's MRR at the start and the end of each period
        SELECT sp.period_start, i.account_id,
               COALESCE(SUM(i.mrr_after) FILTER (
                   WHERE i.from_at < sp.starts AND (i.to_at IS NULL OR i.to_at >= sp.starts)), 0) AS at_start,
               COALESCE(SUM(i.mrr_after) FILTER (
                   WHERE i.from_at < sp.period_end AND (i.to_at IS NULL OR i.to_at >= sp.period_end)), 0)
                   AS at_end
        FROM span sp
        JOIN intervals i ON i.from_at < sp.period_end AND (i.to_at IS NULL OR i.to_at >= sp.starts)
        GROUP BY sp.period_start, i.account_id
    ),
    moves AS (  -- MRR moves in P of accounts that were customers at its start
        SELECT sp.period_start,
               SUM(e.mrr_after - e.mrr_before) FILTER (WHERE e.kind = 'expansion') AS expansion,
               SUM(e.mrr_before - e.mrr_after) FILTER (WHERE e.kind = 'contraction') AS contraction,
               SUM(e.mrr_before - e.mrr_after) FILTER (WHERE e.kind = 'churn') AS churned
        FROM span sp
        JOIN sales_subscriptionevent e ON e.at >= sp.starts AND e.at < sp.period_end
        JOIN sales_subscription sb ON sb.id = e.subscription_id
        JOIN accounts ac ON ac.period_start = sp.period_start AND ac.account_id = sb.account_id
             AND ac.at_start > 0
        GROUP BY sp.period_start
    ),
    firsts AS (  -- each account's first subscription event: when it became a customer
        SELECT sb.account_id, min(e.at) AS first_at FROM sales_subscriptionevent e
        JOIN sales_subscription sb ON sb.id = e.subscription_id GROUP BY sb.account_id
    ),
    fresh AS (
        SELECT sp.period_start, COUNT(DISTINCT f.account_id) AS n, SUM(e.mrr_after) AS mrr
        FROM span sp
        JOIN firsts f ON f.first_at >= sp.starts AND f.first_at < sp.period_end
        JOIN sales_subscription sb ON sb.account_id = f.account_id
        JOIN sales_subscriptionevent e ON e.subscription_id = sb.id AND e.kind = 'new'
             AND e.at >= sp.starts AND e.at < sp.period_end
        GROUP BY sp.period_start
    ),
    figures AS (
        SELECT sp.period_start,
               COUNT(ac.account_id) FILTER (WHERE ac.at_start > 0) AS customers,
               COUNT(ac.account_id) FILTER (WHERE ac.at_start > 0 AND ac.at_end = 0) AS lost,
               COALESCE(SUM(ac.at_start), 0) AS start_mrr
        FROM span sp LEFT JOIN accounts ac ON ac.period_start = sp.period_start
        GROUP BY sp.period_start
    )
    """
    + INSERT
    + """
    SELECT m.metric, f.period_start, '', '', '', m.numerator, m.denominator, m.value
    FROM figures f
    LEFT JOIN moves mv ON mv.period_start = f.period_start
    LEFT JOIN fresh fr ON fr.period_start = f.period_start
    CROSS JOIN LATERAL (VALUES
        ('logo_churn', f.lost::numeric, f.customers::numeric, f.lost::numeric / NULLIF(f.customers, 0)),
        ('gross_revenue_churn', COALESCE(mv.churned, 0) + COALESCE(mv.contraction, 0), f.start_mrr,
         (COALESCE(mv.churned, 0) + COALESCE(mv.contraction, 0)) / NULLIF(f.start_mrr, 0)),
        ('net_revenue_retention',
         f.start_mrr + COALESCE(mv.expansion, 0) - COALESCE(mv.contraction, 0) - COALESCE(mv.churned, 0),
         f.start_mrr,
         (f.start_mrr + COALESCE(mv.expansion, 0) - COALESCE(mv.contraction, 0) - COALESCE(mv.churned, 0))
            / NULLIF(f.start_mrr, 0)),
        ('expansion_rate', COALESCE(mv.expansion, 0), f.start_mrr,
         COALESCE(mv.expansion, 0) / NULLIF(f.start_mrr, 0)),
        ('start_mrr', NULL, NULL, f.start_mrr),
        ('average_mrr', f.start_mrr, f.customers::numeric, f.start_mrr / NULLIF(f.customers, 0)),
        ('new_accounts', NULL, NULL, COALESCE(fr.n, 0)::numeric),
        ('new_customer_mrr', fr.mrr, fr.n::numeric, fr.mrr / NULLIF(fr.n, 0))
    ) AS m(metric, numerator, denominator, value)
    """,
)

# --- Derived metrics: from stored values of the same period, dimension and definition ------------------


def _stored(alias: str, metric: str, model: str = "''") -> str:
    """Join the stored value of ``metric`` for the same period, dimension and value as the base row b."""
    return (
        f"alignment_metricvalue {alias} ON {alias}.metric = '{metric}' AND {alias}.granularity = '{{grain}}'"
        f" AND {alias}.definition_id = %(definition)s AND {alias}.period_start = b.period_start"
        f" AND {alias}.dimension = b.dimension AND {alias}.dimension_value = b.dimension_value"
        f" AND {alias}.model = {model}"
    )


def derived(
    key: str, base: str, select: str, joins: str, *, uses: tuple[str, ...], where: str = "TRUE", **statement
) -> Statement:
    """A metric computed from stored values: one output row per stored row b of ``base`` in the asked
    periods, ``select`` giving (model, numerator, denominator, value) over b and the ``joins`` (which read
    the stored metrics ``uses``)."""
    return Statement(
        name=key,
        keys_=(key,),
        reads=(base, *uses),
        template=f"""{INSERT}
        SELECT '{key}', b.period_start, b.dimension, b.dimension_value, {select}
        FROM alignment_metricvalue b
        {joins}
        WHERE b.metric = '{base}' AND b.granularity = '{{grain}}' AND b.definition_id = %(definition)s
          AND b.model = '' AND (%(periods)s::date[] IS NULL OR b.period_start = ANY(%(periods)s::date[]))
          AND {where}""",
        **statement,
    )


SPEND_DIMENSIONS = (registry.CHANNEL, registry.CAMPAIGN)


def cost_per(key: str, count_metric: str) -> Statement:
    """spend / a count, per campaign, channel and the workspace; no data when the count is 0 or missing."""
    return derived(
        key,
        "marketing_spend",
        "'', b.value, n.value, b.value / NULLIF(n.value, 0)",
        f"LEFT JOIN {_stored('n', count_metric)}",
        uses=(count_metric,),
        dimensions=SPEND_DIMENSIONS,
    )


MODELS_SQL = "(VALUES " + ", ".join(f"('{model}')" for model in AttributionModel.values) + ")"


def per_model(key: str, numerator: str, denominator: str, value: str, metric: str) -> Statement:
    """A ratio of spend and an attributed metric, for every model (spend rows drive: no spend, no ROI)."""
    return derived(
        key,
        "marketing_spend",
        f"md.model, {numerator}, {denominator}, {value}",
        f"CROSS JOIN {MODELS_SQL} AS md(model) LEFT JOIN {_stored('a', metric, 'md.model')}",
        uses=(metric,),
        dimensions=SPEND_DIMENSIONS,
    )


def ratio_of(key: str, num_metric: str, den_metric: str, dimensions: tuple[str, ...]) -> Statement:
    within = ", ".join(f"'{d}'" for d in ("", *dimensions))
    return derived(
        key,
        den_metric,
        "'', n.value, b.value, n.value / NULLIF(b.value, 0)",
        f"JOIN {_stored('n', num_metric)}",
        uses=(num_metric,),
        where=f"b.dimension IN ({within})",
        dimensions=dimensions,
    )


MONTHS_IN = {"day": "1 / 30.4375", "week": "7 / 30.4375", "month": "1", "quarter": "3"}


FOLLOWS_RETENTION = (0, FOREVER)  # inputs include retention figures, which every later period follows

CAC = derived(
    "cac",
    "new_accounts",
    "'', cost.total, b.value, cost.total / NULLIF(b.value, 0)",
    f"""LEFT JOIN {_stored("s", "marketing_spend")}
    CROSS JOIN LATERAL (SELECT COALESCE(s.value, 0) + %(sales_cost_month)s * ({{months}}) AS total) cost""",
    uses=("marketing_spend",),
    where="b.dimension = ''",
    reach=FOLLOWS_RETENTION,
)
PAYBACK = derived(
    "cac_payback_months",
    "cac",
    "'', b.value, m.value * %(gross_margin)s, b.value / NULLIF(m.value * %(gross_margin)s, 0)",
    f"JOIN {_stored('m', 'new_customer_mrr')}",
    uses=("new_customer_mrr",),
    reach=FOLLOWS_RETENTION,
)
LTV = derived(
    "ltv",
    "average_mrr",
    "'', NULL, NULL, b.value * %(gross_margin)s * LEAST(%(cap_months)s::numeric,"
    " ({months}) * c.denominator / NULLIF(c.numerator, 0))",
    f"JOIN {_stored('c', 'gross_revenue_churn')}",
    uses=("gross_revenue_churn",),
    where="b.value IS NOT NULL AND c.value IS NOT NULL",
    reach=FOLLOWS_RETENTION,
)

# The lead quality index of a campaign, channel or segment: its acceptance rate, SQL rate, win rate and
# average deal size, each divided by the workspace's for the period, combined with the definition's
# weights over the components that have data; 100 = the workspace average.
QUALITY_PARTS = [
    ("mql_acceptance_rate", "w_acceptance"),
    ("mql_to_sql_rate", "w_sql"),
    ("win_rate", "w_win"),
    ("average_deal_size", "w_size"),
]


def _quality_sql() -> str:
    parts = []
    for metric, weight in QUALITY_PARTS:
        parts.append(
            f"""SELECT v.period_start, v.dimension, v.dimension_value, %({weight})s::numeric AS weight,
                   v.value / NULLIF(w.value, 0) AS relative
            FROM alignment_metricvalue v
            JOIN alignment_metricvalue w ON w.metric = v.metric AND w.granularity = v.granularity
                 AND w.definition_id = v.definition_id AND w.period_start = v.period_start
                 AND w.dimension = '' AND w.model = ''
            WHERE v.metric = '{metric}' AND v.granularity = '{{grain}}' AND v.definition_id = %(definition)s
              AND v.dimension IN ('channel', 'campaign', 'segment') AND v.model = ''
              AND (%(periods)s::date[] IS NULL OR v.period_start = ANY(%(periods)s::date[]))
              AND v.value IS NOT NULL AND w.value IS NOT NULL AND w.value <> 0"""
        )
    union = "\n UNION ALL \n".join(parts)
    return f"""{INSERT}
    SELECT 'lead_quality_index', q.period_start, q.dimension, q.dimension_value, '',
           SUM(q.weight * q.relative), SUM(q.weight),
           100 * SUM(q.weight * q.relative) / NULLIF(SUM(q.weight), 0)
    FROM ({union}) q
    GROUP BY q.period_start, q.dimension, q.dimension_value"""


QUALITY = Statement(
    name="lead quality",
    keys_=("lead_quality_index",),
    dimensions=(registry.CHANNEL, registry.CAMPAIGN, registry.SEGMENT),
    total=False,
    reads=tuple(metric for metric, _ in QUALITY_PARTS),
    template=_quality_sql(),
)


# --- The alignment scorecard: the SLA, the objection loop, goals and the score ----------------------------

# The sales side of the SLA from its clocks, placed by the MQL entry: a step is met once done without a
# breach and breached once the breach was raised (a late step counts as breached); a running clock counts
# in neither until then.
SLA_STEPS = {"first_touch": "first_touch_at", "decision": "decided_at"}


def _sla_rate(side: str) -> tuple[str, str, str]:
    met = f"k.{SLA_STEPS[side]} IS NOT NULL AND k.{side}_breached_at IS NULL"
    due = f"({met}) OR k.{side}_breached_at IS NOT NULL"
    return _rate(f"COUNT(*) FILTER (WHERE {met})", f"COUNT(*) FILTER (WHERE {due})")


SLA = Computation(
    name="SLA clocks",
    ts="k.mql_at",
    source="alignment_slaclock k",
    dimensions={registry.REP: "k.owner_id"},
    select={"sla_attainment": _sla_rate("first_touch"), "sla_decision_attainment": _sla_rate("decision")},
)

# Objections logged in P whose objection has an answering asset now (linking one closes every log of it).
FEEDBACK = Computation(
    name="objection feedback",
    ts="l.logged_at",
    source="""alignment_objectionlog l
        LEFT JOIN LATERAL (
            SELECT TRUE AS answered FROM alignment_objectionanswer a
            WHERE a.objection_id = l.objection_id LIMIT 1
        ) an ON TRUE""",
    select={"feedback_closure": _rate("COUNT(*) FILTER (WHERE an.answered)", "COUNT(*)")},
)

# Deals closed in P: the win rate of those without any logged objection minus that of those with one.
OBJECTION_IMPACT = Computation(
    name="objection impact",
    ts="dl.closed_at",
    source="""sales_deal dl
        LEFT JOIN LATERAL (
            SELECT TRUE AS raised FROM alignment_objectionlog l WHERE l.deal_id = dl.id LIMIT 1
        ) ob ON TRUE""",
    where="dl.status IN ('won', 'lost')",
    select={
        "objection_impact": _plain(
            f"(COUNT(*) FILTER (WHERE {WON} AND ob.raised IS NULL))::numeric"
            " / NULLIF(COUNT(*) FILTER (WHERE ob.raised IS NULL), 0)"
            f" - (COUNT(*) FILTER (WHERE {WON} AND ob.raised))::numeric"
            " / NULLIF(COUNT(*) FILTER (WHERE ob.raised), 0)"
        )
    },
)


def _stored_at(alias: str, metric: str, period: str) -> str:
    """Join the stored workspace value of ``metric`` for the period starting at ``period``."""
    return (
        f"alignment_metricvalue {alias} ON {alias}.metric = '{metric}' AND {alias}.granularity = '{{grain}}'"
        f" AND {alias}.definition_id = %(definition)s AND {alias}.period_start = {period}"
        f" AND {alias}.dimension = '' AND {alias}.model = ''"
    )


# The marketing side of the SLA under the workspace policy, for every period from the first stored MQLs:
# the MQLs against the commitment (scaled from its period to this one) and the acceptance rate against the
# minimum, each capped at 1, averaged over the parts the policy sets and the data has. A period without MQLs
# after the first delivered none (0 against the commitment).
MARKETING_SLA = Statement(
    name="marketing SLA",
    keys_=("marketing_sla_attainment",),
    reads=("mqls", "mql_acceptance_rate"),
    reach=(0, FOREVER),  # whether any MQL came before decides whether a later period delivered 0
    template="""
    WITH policy AS (
        SELECT p.mql_commitment * ({months}) / CASE p.commitment_period
                   WHEN 'month' THEN 1 WHEN 'quarter' THEN 3 ELSE 12 END::numeric AS commitment,
               p.min_acceptance_rate
        FROM alignment_slapolicy p
        WHERE p.is_active AND p.segment_id IS NULL AND p.team_id IS NULL
          AND (p.mql_commitment IS NOT NULL OR p.min_acceptance_rate IS NOT NULL)
        ORDER BY p.id LIMIT 1
    ),
    periods AS ("""
    + PERIOD_SERIES.replace(
        "{first}",
        "SELECT min(f.period_start) FROM alignment_metricvalue f WHERE f.metric = 'mqls'"
        " AND f.granularity = '{grain}' AND f.definition_id = %(definition)s AND f.dimension = ''"
        " AND f.value > 0",
    )
    + """),
    parts AS (
        SELECT b.period_start,
               CASE WHEN pol.commitment IS NULL THEN NULL WHEN pol.commitment <= 0 THEN 1
                    ELSE LEAST(1, COALESCE(m.value, 0) / pol.commitment) END AS volume,
               CASE WHEN pol.min_acceptance_rate IS NULL OR a.value IS NULL THEN NULL
                    WHEN pol.min_acceptance_rate <= 0 THEN 1
                    ELSE LEAST(1, a.value / pol.min_acceptance_rate) END AS acceptance
        FROM periods b CROSS JOIN policy pol
        LEFT JOIN """
    + _stored_at("m", "mqls", "b.period_start")
    + """
        LEFT JOIN """
    + _stored_at("a", "mql_acceptance_rate", "b.period_start")
    + """
    ),
    summed AS (
        SELECT period_start, COALESCE(volume, 0) + COALESCE(acceptance, 0) AS met,
               (volume IS NOT NULL)::int + (acceptance IS NOT NULL)::int AS parts
        FROM parts
    )
    """
    + INSERT
    + """
    SELECT 'marketing_sla_attainment', period_start, '', '', '', met, parts, met / parts
    FROM summed WHERE parts > 0
    """,
)

# What a goal may measure: every metric but those made of goals.
GOAL_METRICS = tuple(k for k in registry.REGISTRY if k not in registry.FROM_GOALS)
_DOWN = ", ".join(f"'{k}'" for k, m in registry.REGISTRY.items() if m.better == registry.DOWN)

# Goal attainment of a period: the mean, over its goals (month goals at the month, quarter goals at the
# quarter) whose metric has a stored value, of actual / target capped to [0, 1]; target / actual where lower
# is better. Goals read any stored metric, snapshots and retention included: every later period follows.
GOAL_ATTAINMENT = Statement(
    name="goal attainment",
    keys_=("goal_attainment",),
    reads=GOAL_METRICS,
    reach=(0, FOREVER),
    template=f"""{INSERT}
    SELECT 'goal_attainment', g.period_start, '', '', '', SUM(a.share), COUNT(a.share), AVG(a.share)
    FROM alignment_goal g
    JOIN alignment_metricvalue v ON v.metric = g.metric AND v.model = g.model
         AND v.granularity = '{{grain}}' AND v.definition_id = %(definition)s
         AND v.period_start = g.period_start AND v.dimension = '' AND v.dimension_value = ''
    CROSS JOIN LATERAL (SELECT CASE
        WHEN v.value IS NULL THEN NULL
        WHEN g.metric IN ({_DOWN}) THEN
            CASE WHEN v.value <= g.target OR v.value <= 0 THEN 1 ELSE GREATEST(0, g.target / v.value) END
        WHEN v.value >= g.target THEN 1
        WHEN g.target <= 0 THEN 0
        ELSE GREATEST(0, v.value / g.target) END AS share) a
    WHERE g.period = '{{grain}}' AND v.metric IN ({", ".join(f"'{k}'" for k in GOAL_METRICS)})
      AND (%(periods)s::date[] IS NULL OR g.period_start = ANY(%(periods)s::date[]))
    GROUP BY g.period_start
    HAVING COUNT(a.share) > 0""",
)

# Open deals expected to close in P against what is left of P's revenue goal (the largest, if several);
# no data once the goal is met (nothing left to cover).
PIPELINE_COVERAGE = Statement(
    name="pipeline coverage",
    keys_=("pipeline_coverage",),
    reads=("revenue_won",),
    template="""
    WITH targets AS (
        SELECT g.period_start, max(g.target) AS target FROM alignment_goal g
        WHERE g.metric = 'revenue_won' AND g.period = '{grain}'
          AND (%(periods)s::date[] IS NULL OR g.period_start = ANY(%(periods)s::date[]))
        GROUP BY g.period_start
    )
    """
    + INSERT
    + """
    SELECT 'pipeline_coverage', t.period_start, '', '', '', o.amount, x.gap, o.amount / NULLIF(x.gap, 0)
    FROM targets t
    LEFT JOIN """
    + _stored_at("w", "revenue_won", "t.period_start")
    + """
    CROSS JOIN LATERAL (
        SELECT COALESCE(SUM(dl.amount), 0) AS amount FROM sales_deal dl
        WHERE dl.status = 'open' AND dl.expected_close_date >= t.period_start
          AND dl.expected_close_date < (t.period_start + interval '{step}')::date
    ) o
    CROSS JOIN LATERAL (SELECT GREATEST(t.target - COALESCE(w.value, 0), 0) AS gap) x
    """,
)

# The alignment score: 100 x the weighted mean of its components over those with data; each component's
# weight is the definition's ``score_weight_<component>``, bound as the parameter named here. The SLA
# component is the mean of its two sides: sales (both steps met over both steps due) and marketing.
SCORE_COMPONENTS = (
    ("sla", "s_sla"),
    ("acceptance", "s_acceptance"),
    ("loss_reasons", "s_loss"),
    ("feedback", "s_feedback"),
    ("goals", "s_goals"),
    ("attribution", "s_attribution"),
)
SCORE_VALUES = {
    "acceptance": "mql_acceptance_rate",
    "loss_reasons": "loss_reason_coverage",
    "feedback": "feedback_closure",
    "goals": "goal_attainment",
    "attribution": "attribution_coverage",
    "marketing_sla": "marketing_sla_attainment",
}
SCORE_PARTS = {"touch": "sla_attainment", "decision": "sla_decision_attainment"}


def _score_sql() -> str:
    values = ",\n".join(
        f"max(value) FILTER (WHERE metric = '{metric}') AS {name}" for name, metric in SCORE_VALUES.items()
    )
    parts = ",\n".join(
        f"max(numerator) FILTER (WHERE metric = '{metric}') AS {name}_met,"
        f" max(denominator) FILTER (WHERE metric = '{metric}') AS {name}_due"
        for name, metric in SCORE_PARTS.items()
    )
    rows = ",\n".join(f"(%({weight})s::numeric, c.{name})" for name, weight in SCORE_COMPONENTS)
    metrics = ", ".join(f"'{m}'" for m in (*SCORE_VALUES.values(), *SCORE_PARTS.values()))
    return f"""
    WITH v AS (
        SELECT period_start, {values}, {parts}
        FROM alignment_metricvalue
        WHERE metric IN ({metrics}) AND granularity = '{{grain}}' AND definition_id = %(definition)s
          AND dimension = '' AND model = ''
          AND (%(periods)s::date[] IS NULL OR period_start = ANY(%(periods)s::date[]))
        GROUP BY period_start
    ),
    c AS (
        SELECT v.period_start, v.acceptance, v.loss_reasons, v.feedback, v.goals, v.attribution,
               (SELECT avg(side) FROM (VALUES
                    ((COALESCE(v.touch_met, 0) + COALESCE(v.decision_met, 0))
                     / NULLIF(COALESCE(v.touch_due, 0) + COALESCE(v.decision_due, 0), 0)),
                    (v.marketing_sla)
               ) AS sides(side)) AS sla
        FROM v
    ),
    parts AS (
        SELECT c.period_start, x.weight, x.value
        FROM c CROSS JOIN LATERAL (VALUES {rows}) AS x(weight, value)
        WHERE x.value IS NOT NULL AND x.weight > 0
    )
    {INSERT}
    SELECT 'alignment_score', period_start, '', '', '', SUM(weight * value), SUM(weight),
           100 * SUM(weight * value) / SUM(weight)
    FROM parts GROUP BY period_start"""


SCORE = Statement(
    name="alignment score",
    keys_=("alignment_score",),
    reads=(*SCORE_VALUES.values(), *SCORE_PARTS.values()),
    reach=(0, FOREVER),  # goal attainment follows every later period
    template=_score_sql(),
)
