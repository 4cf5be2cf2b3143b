"""The floor of the metric benchmark: the engine's metrics computed by plain SQL written by hand.

Each family below is one hand-written statement per granularity that scans its facts once and groups them
with plain ``GROUP BY`` per dimension, into a temporary table (``_floor_values``), with none of the engine's
machinery (no GROUPING SETS builder, no upsert, no prune, no dirty days, no stored inputs). It is what the
engine could cost at best, and an independent check of its numbers: ``compare`` matches every floor value
with the value the engine stored.

To cover a new engine family: add a ``Family`` to ``FAMILIES`` (most need only ``grouped`` with the facts,
their dimensions and the aggregates), in the order the engine computes them (derived ones last).
"""

# ruff: noqa: S608 - statements are built from this module's constants; values travel as parameters

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from alignment import registry

NONE = "none"  # the dimension value of facts without one

TEMP = """
CREATE TEMP TABLE IF NOT EXISTS _floor_values (
    grain text, metric text, period_start date, dimension text, dimension_value text, model text,
    numerator numeric, denominator numeric, value numeric
) ON COMMIT DROP;
CREATE TEMP TABLE IF NOT EXISTS _floor_segments (segment_id bigint, contact_id bigint) ON COMMIT DROP;
CREATE TEMP TABLE IF NOT EXISTS _floor_credits (
    deal_id bigint, touchpoint_id bigint, model text, weight numeric, credit numeric, campaign_id bigint,
    channel text, deal_created_at timestamptz, deal_won_at timestamptz
) ON COMMIT DROP;
TRUNCATE _floor_values, _floor_segments, _floor_credits;
CREATE INDEX IF NOT EXISTS _floor_values_key ON _floor_values (grain, metric, period_start, dimension,
    dimension_value);
"""

INSERT = """INSERT INTO _floor_values
    (grain, metric, period_start, dimension, dimension_value, model, numerator, denominator, value)"""

STEP = {"day": "1 day", "week": "7 days", "month": "1 month", "quarter": "3 months"}
MONTHS = {"day": "1 / 30.4375", "week": "7 / 30.4375", "month": "1", "quarter": "3"}
DAYS = "(EXTRACT(epoch FROM ({a}) - ({b})) / 86400.0)"


def days(later: str, earlier: str) -> str:
    return DAYS.format(a=later, b=earlier)


def count(expr: str) -> tuple[str, str, str]:
    return expr, "NULL", expr


def rate(num: str, den: str) -> tuple[str, str, str]:
    return num, den, f"({num})::numeric / NULLIF({den}, 0)"


def plain(expr: str) -> tuple[str, str, str]:
    return "NULL", "NULL", expr


@dataclass(frozen=True)
class Family:
    name: str
    keys: tuple[str, ...]
    sql: Callable[[str, list[str]], str]  # (granularity, the keys stored for it) -> INSERT statement
    derived: bool = False  # reads other families' values from _floor_values


def grouped(
    *,
    facts: str,
    dims: tuple[str, ...],
    measures: dict[str, tuple[str, str, str]],
    total: bool = True,
    model: bool = False,
) -> Callable[[str, list[str]], str]:
    """The common shape: ``facts`` selects ``p`` (the period start, from ``{grain}``), one column per
    dimension named ``d_<dimension>`` and whatever the measures read; it is scanned once (a materialised
    CTE), then grouped by the period and each dimension in turn with plain GROUP BY and unpivoted."""

    def sql(grain: str, keys: list[str]) -> str:
        chosen = [(key, measures[key]) for key in keys]
        aggregates = ", ".join(
            f"({num})::numeric AS n{i}, ({den})::numeric AS d{i}, ({val})::numeric AS v{i}"
            for i, (_, (num, den, val)) in enumerate(chosen)
        )
        by_model = ", m" if model else ""
        model_col = "m" if model else "''"
        groups = []
        if total:
            groups.append(
                f"SELECT p, '' AS dimension, '' AS dimension_value, {model_col} AS model, {aggregates} "
                f"FROM f GROUP BY p{by_model}"
            )
        for name in dims:
            groups.append(
                f"SELECT p, '{name}' AS dimension, COALESCE(d_{name}::text, '{NONE}') AS dimension_value, "
                f"{model_col} AS model, {aggregates} "
                f"FROM f GROUP BY p, d_{name}{by_model}"
            )
        unpivot = ", ".join(f"('{key}', g.n{i}, g.d{i}, g.v{i})" for i, (key, _) in enumerate(chosen))
        return f"""
            WITH f AS MATERIALIZED ({facts.replace("{grain}", grain)})
            {INSERT}
            SELECT '{grain}', x.metric, g.p, g.dimension, g.dimension_value, g.model, x.num, x.den, x.val
            FROM ({" UNION ALL ".join(groups)}) g
            CROSS JOIN LATERAL (VALUES {unpivot}) AS x(metric, num, den, val)
        """  # noqa: S608 - constants of this module

    return sql


def plain_facts(facts: str) -> str:
    """Facts for the workspace and the plain dimensions: no segment or team columns or joins."""
    return facts.replace("sm_segment AS d_segment,", "").replace("team AS d_team,", "").replace("{join}", "")


def by_segment(facts: str, contact: str) -> str:
    """The same facts once per segment of their contact (so no workspace total)."""
    return (
        facts.replace("sm_segment", "sm.segment_id")
        .replace("team AS d_team,", "")
        .replace("{join}", f"JOIN _floor_segments sm ON sm.contact_id = {contact}")
    )


def by_team(facts: str, rep: str) -> str:
    """The same facts once per team of their rep."""
    return (
        facts.replace("sm_segment AS d_segment,", "")
        .replace("team AS d_team", "tm.team_id AS d_team")
        .replace("{join}", f"JOIN sales_team_members tm ON tm.user_id = {rep}")
    )


# --- Marketing funnel ------------------------------------------------------------------------------------

FUNNEL_FACTS = """
    SELECT date_trunc('{grain}', t.at)::date AS p, cp.channel AS d_channel, cp.id AS d_campaign,
           sm_segment AS d_segment, t.to_stage AS stage
    FROM marketing_stagetransition t
    JOIN marketing_contact c ON c.id = t.contact_id
    LEFT JOIN marketing_campaign cp ON cp.id = c.first_touch_campaign_id
    {join}
    WHERE t.to_stage IN ('lead', 'mql', 'sql', 'opportunity', 'customer')
"""
FUNNEL_MEASURES = {
    "leads": count("count(*) FILTER (WHERE stage = 'lead')"),
    "mqls": count("count(*) FILTER (WHERE stage = 'mql')"),
    "sqls": count("count(*) FILTER (WHERE stage = 'sql')"),
    "opportunities": count("count(*) FILTER (WHERE stage = 'opportunity')"),
    "new_customers": count("count(*) FILTER (WHERE stage = 'customer')"),
    "mql_to_sql_rate": rate("count(*) FILTER (WHERE stage = 'sql')", "count(*) FILTER (WHERE stage = 'mql')"),
}

MQL_COHORT_FACTS = """
    SELECT date_trunc('{grain}', t.at)::date AS p, cp.channel AS d_channel, cp.id AS d_campaign,
           sm_segment AS d_segment,
           EXISTS (SELECT 1 FROM marketing_stagetransition s
                   WHERE s.contact_id = t.contact_id AND s.to_stage = 'sql' AND s.at >= t.at
                     AND s.at < t.at + make_interval(days => %(cohort_days)s)) AS reached
    FROM marketing_stagetransition t
    JOIN marketing_contact c ON c.id = t.contact_id
    LEFT JOIN marketing_campaign cp ON cp.id = c.first_touch_campaign_id
    {join}
    WHERE t.to_stage = 'mql'
"""
MQL_COHORT_MEASURES = {"mql_to_sql_rate_cohort": rate("count(*) FILTER (WHERE reached)", "count(*)")}

VISITS_FACTS = """
    SELECT date_trunc('{grain}', tp.occurred_at)::date AS p,
           COALESCE(NULLIF(tp.channel, ''), cp.channel) AS d_channel, cp.id AS d_campaign
    FROM marketing_touchpoint tp
    LEFT JOIN marketing_campaign cp ON cp.id = tp.campaign_id
    WHERE tp.kind = 'page_visit'
"""

SPEND_FACTS = """
    SELECT date_trunc('{grain}', k.date)::date AS p, cp.channel AS d_channel, cp.id AS d_campaign, k.amount
    FROM marketing_costline k JOIN marketing_campaign cp ON cp.id = k.campaign_id
    WHERE TRUE
"""

SEND_LAG_FACTS = (
    """
    SELECT date_trunc('{grain}', x.sent_at)::date AS p, cp.channel AS d_channel, cp.id AS d_campaign,
           x.send_id AS d_send, x.lag
    FROM (
        SELECT DISTINCT s.id AS send_id, s.campaign_id, s.sent_at, tp.contact_id,
               """
    + days("l.lead_at", "s.sent_at")
    + """ AS lag
        FROM marketing_campaignsend s
        JOIN marketing_touchpoint tp ON tp.send_id = s.id
        JOIN (SELECT contact_id, min(at) AS lead_at FROM marketing_stagetransition
              WHERE to_stage = 'lead' GROUP BY contact_id) l ON l.contact_id = tp.contact_id
        WHERE l.lead_at >= s.sent_at AND l.lead_at < s.sent_at + make_interval(days => %(cohort_days)s)
    ) x
    JOIN marketing_campaign cp ON cp.id = x.campaign_id
    WHERE TRUE
"""
)
SEND_LAG_MEASURES = {
    "send_to_lead_lag_median": plain("percentile_cont(0.5) WITHIN GROUP (ORDER BY lag)"),
    "send_to_lead_lag_p80": plain("percentile_cont(0.8) WITHIN GROUP (ORDER BY lag)"),
    "send_to_lead_within_7d": rate("count(*) FILTER (WHERE lag <= 7)", "count(*)"),
    "send_to_lead_within_30d": rate("count(*) FILTER (WHERE lag <= 30)", "count(*)"),
}

# --- Sales' answers to MQLs ------------------------------------------------------------------------------

DECISION_FACTS = """
    SELECT date_trunc('{grain}', d.decided_at)::date AS p, cp.channel AS d_channel, cp.id AS d_campaign,
           d.decided_by_id AS d_rep, sm_segment AS d_segment, team AS d_team, d.decision
    FROM sales_leaddecision d
    LEFT JOIN marketing_campaign cp ON cp.id = d.campaign_id
    {join}
    WHERE TRUE
"""
DECISION_MEASURES = {
    "sals": count("count(*) FILTER (WHERE decision = 'accepted')"),
    "mql_acceptance_rate": rate("count(*) FILTER (WHERE decision = 'accepted')", "count(*)"),
}

SPEED_FACTS = """
    SELECT date_trunc('{grain}', t.at)::date AS p, cp.channel AS d_channel, f.owner_id AS d_rep,
           team AS d_team, alignment_business_hours_in(t.at, f.done_at, %(tz)s, %(days)s::int[],
           %(day_start)s::time, %(day_end)s::time, %(holidays)s::date[]) AS hours
    FROM marketing_stagetransition t
    JOIN marketing_contact c ON c.id = t.contact_id
    LEFT JOIN marketing_campaign cp ON cp.id = c.first_touch_campaign_id
    JOIN LATERAL (
        SELECT a.done_at, a.owner_id FROM sales_activity a
        WHERE a.contact_id = t.contact_id AND a.done_at >= t.at
          AND a.done_at < t.at + make_interval(days => %(cohort_days)s)
        ORDER BY a.done_at, a.id LIMIT 1
    ) f ON TRUE
    {join}
    WHERE t.to_stage = 'mql'
"""
SPEED_MEASURES = {
    "speed_to_lead_median": plain("percentile_cont(0.5) WITHIN GROUP (ORDER BY hours)"),
    "speed_to_lead_p90": plain("percentile_cont(0.9) WITHIN GROUP (ORDER BY hours)"),
}

# --- Deals -----------------------------------------------------------------------------------------------

CLOSED_FACTS = (
    """
    SELECT date_trunc('{grain}', dl.closed_at)::date AS p, cp.channel AS d_channel, cp.id AS d_campaign,
           dl.owner_id AS d_rep, dl.pipeline_id AS d_pipeline, team AS d_team, dl.status = 'won' AS won,
           dl.amount, """
    + days("dl.closed_at", "dl.created_at")
    + """ AS cycle,
           """
    + days("dl.closed_at", "ld.lead_at")
    + """ AS lead_to_close,
           dl.status = 'lost' AS lost,
           dl.loss_reason_id IS NOT NULL AND dl.loss_category NOT IN ('', 'other') AS structured
    FROM sales_deal dl
    LEFT JOIN marketing_campaign cp ON cp.id = dl.source_campaign_id
    LEFT JOIN (SELECT contact_id, min(at) AS lead_at FROM marketing_stagetransition
               WHERE to_stage = 'lead' GROUP BY contact_id) ld ON ld.contact_id = dl.lead_id
    {join}
    WHERE dl.status IN ('won', 'lost')
"""
)
CLOSED_MEASURES = {
    "win_rate": rate("count(*) FILTER (WHERE won)", "count(*)"),
    "deals_won": count("count(*) FILTER (WHERE won)"),
    "revenue_won": count("COALESCE(sum(amount) FILTER (WHERE won), 0)"),
    "average_deal_size": rate("COALESCE(sum(amount) FILTER (WHERE won), 0)", "count(*) FILTER (WHERE won)"),
    "sales_cycle_mean": rate("sum(cycle) FILTER (WHERE won)", "count(*) FILTER (WHERE won)"),
    "sales_cycle_median": plain("percentile_cont(0.5) WITHIN GROUP (ORDER BY cycle) FILTER (WHERE won)"),
    "lead_to_close_median": plain(
        "percentile_cont(0.5) WITHIN GROUP (ORDER BY lead_to_close) "
        "FILTER (WHERE won AND lead_to_close IS NOT NULL)"
    ),
    "loss_reason_coverage": rate(
        "count(*) FILTER (WHERE lost AND structured)", "count(*) FILTER (WHERE lost)"
    ),
}

WIN_COHORT_FACTS = """
    SELECT date_trunc('{grain}', dl.created_at)::date AS p, dl.owner_id AS d_rep, dl.pipeline_id AS
        d_pipeline,
           team AS d_team, dl.status = 'won' AS won
    FROM sales_deal dl
    {join}
    WHERE dl.status IN ('won', 'lost') AND dl.closed_at < dl.created_at + make_interval(days =>
        %(cohort_days)s)
"""

CREATED_FACTS = """
    SELECT date_trunc('{grain}', dl.created_at)::date AS p, cp.channel AS d_channel, cp.id AS d_campaign,
           dl.owner_id AS d_rep, dl.pipeline_id AS d_pipeline, team AS d_team, dl.amount,
           dl.source_campaign_id IS NOT NULL AS sourced,
           EXISTS (SELECT 1 FROM sales_dealcontact dc
                   JOIN marketing_touchpoint tp ON tp.contact_id = dc.contact_id
                   WHERE dc.deal_id = dl.id AND tp.campaign_id IS NOT NULL AND tp.occurred_at <= dl.created_at
                     AND tp.occurred_at > dl.created_at - make_interval(days => %(influence_days)s)) AS
                         influenced
    FROM sales_deal dl
    LEFT JOIN marketing_campaign cp ON cp.id = dl.source_campaign_id
    {join}
    WHERE TRUE
"""
CREATED_MEASURES = {
    "pipeline_created": count("COALESCE(sum(amount), 0)"),
    "deals_created": count("count(*)"),
    "marketing_sourced_pipeline": count("COALESCE(sum(amount) FILTER (WHERE sourced), 0)"),
    "marketing_influenced_pipeline": count("COALESCE(sum(amount) FILTER (WHERE influenced), 0)"),
    "attribution_coverage": rate("count(*) FILTER (WHERE influenced)", "count(*)"),
}

# --- The scorecard's facts ---------------------------------------------------------------------------------

SLA_FACTS = """
    SELECT date_trunc('{grain}', k.mql_at)::date AS p, k.owner_id AS d_rep, team AS d_team,
           k.first_touch_at IS NOT NULL AS touched, k.first_touch_breached_at IS NOT NULL AS touch_late,
           k.decided_at IS NOT NULL AS decided, k.decision_breached_at IS NOT NULL AS decision_late
    FROM alignment_slaclock k
    {join}
    WHERE TRUE
"""
SLA_MEASURES = {
    "sla_attainment": rate(
        "count(*) FILTER (WHERE touched AND NOT touch_late)", "count(*) FILTER (WHERE touched OR touch_late)"
    ),
    "sla_decision_attainment": rate(
        "count(*) FILTER (WHERE decided AND NOT decision_late)",
        "count(*) FILTER (WHERE decided OR decision_late)",
    ),
}
FEEDBACK_FACTS = """
    SELECT date_trunc('{grain}', l.logged_at)::date AS p,
           l.objection_id IN (SELECT objection_id FROM alignment_objectionanswer) AS answered
    FROM alignment_objectionlog l
"""
IMPACT_FACTS = """
    SELECT date_trunc('{grain}', dl.closed_at)::date AS p, (dl.status = 'won')::int AS won,
           dl.id IN (SELECT deal_id FROM alignment_objectionlog WHERE deal_id IS NOT NULL) AS raised
    FROM sales_deal dl
    WHERE dl.status IN ('won', 'lost')
"""

STAYS_FACTS = (
    """
    SELECT date_trunc('{grain}', st.ended_at)::date AS p, s.pipeline_id AS d_pipeline, s.id AS d_stage,
           n.position > s.position AND n.kind <> 'lost' AS forward, """
    + days("st.ended_at", "st.started_at")
    + """
               AS stay
    FROM (
        SELECT ch.to_stage_id AS stage_id, ch.at AS started_at,
               lead(ch.at) OVER w AS ended_at, lead(ch.to_stage_id) OVER w AS next_stage_id
        FROM sales_dealstagechange ch
        WINDOW w AS (PARTITION BY ch.deal_id ORDER BY ch.at, ch.id)
    ) st
    JOIN sales_stage s ON s.id = st.stage_id
    JOIN sales_stage n ON n.id = st.next_stage_id
    WHERE TRUE
"""
)
STAYS_MEASURES = {
    "stage_conversion": rate("count(*) FILTER (WHERE forward)", "count(*)"),
    "time_in_stage_median": plain("percentile_cont(0.5) WITHIN GROUP (ORDER BY stay)"),
}

# --- Attribution: credits by hand, then rolled up -------------------------------------------------------

CREDITS = """
WITH people AS (
    SELECT deal_id, contact_id FROM sales_dealcontact
    UNION
    SELECT d.id, c.id FROM sales_deal d JOIN marketing_contact c ON c.company_id = d.company_id
),
lead_at AS (
    SELECT d.id AS deal_id, COALESCE(lc.created_at, min(c.created_at)) AS at
    FROM sales_deal d
    LEFT JOIN marketing_contact lc ON lc.id = d.lead_id
    LEFT JOIN sales_dealcontact dc ON dc.deal_id = d.id
    LEFT JOIN marketing_contact c ON c.id = dc.contact_id
    GROUP BY d.id, lc.created_at
),
touches AS (
    SELECT d.id AS deal_id, d.amount, d.created_at, CASE WHEN d.status = 'won' THEN d.closed_at END AS won_at,
           tp.id AS touchpoint_id, tp.occurred_at, tp.campaign_id,
           COALESCE(NULLIF(tp.channel, ''), cp.channel, '') AS channel,
           row_number() OVER (PARTITION BY d.id ORDER BY tp.occurred_at, tp.id) AS pos,
           count(*) OVER (PARTITION BY d.id) AS n, la.at AS lead_at
    FROM sales_deal d
    JOIN lead_at la ON la.deal_id = d.id
    JOIN people p ON p.deal_id = d.id
    JOIN marketing_touchpoint tp ON tp.contact_id = p.contact_id
    LEFT JOIN marketing_campaign cp ON cp.id = tp.campaign_id
    WHERE tp.occurred_at <= d.created_at
      AND tp.occurred_at > d.created_at - make_interval(days => %(lookback_days)s)
),
positioned AS (
    SELECT t.*, COALESCE(max(pos) FILTER (WHERE occurred_at <= lead_at) OVER (PARTITION BY deal_id), 1) AS lc
    FROM touches t
),
raw AS (
    SELECT p.deal_id, p.amount, p.created_at, p.won_at, p.touchpoint_id, p.campaign_id, p.channel, p.pos,
        m.model,
           (CASE m.model
               WHEN 'first_touch' THEN (p.pos = 1)::int
               WHEN 'last_touch' THEN (p.pos = p.n)::int
               WHEN 'linear' THEN 1
               WHEN 'u_shaped' THEN 0.4 * (p.pos = 1)::int + 0.4 * (p.pos = p.lc)::int
                   + CASE WHEN p.pos NOT IN (1, p.lc)
                          THEN 0.2 / (p.n - CASE WHEN p.lc = 1 THEN 1 ELSE 2 END) ELSE 0 END
               WHEN 'w_shaped' THEN 0.3 * (p.pos = 1)::int + 0.3 * (p.pos = p.lc)::int + 0.3 * (p.pos =
                   p.n)::int
                   + CASE WHEN p.pos NOT IN (1, p.lc, p.n)
                          THEN 0.1 / (p.n - CASE WHEN p.lc IN (1, p.n) THEN 2 ELSE 3 END
                                          + CASE WHEN p.n = 1 THEN 1 ELSE 0 END)
                          ELSE 0 END
               ELSE power(2::numeric, -(EXTRACT(epoch FROM p.created_at - p.occurred_at) / 86400.0)::numeric
                                      / %(half_life)s::numeric)
           END)::numeric AS raw
    FROM positioned p
    CROSS JOIN (VALUES ('first_touch'), ('last_touch'), ('linear'), ('u_shaped'), ('w_shaped'),
                       ('time_decay')) AS m(model)
),
weighted AS (
    SELECT r.*, r.raw / sum(r.raw) OVER (PARTITION BY r.deal_id, r.model) AS w FROM raw r
),
rounded AS (
    SELECT w.*, round(w.amount * w.w, 2) AS cents,
           row_number() OVER (PARTITION BY w.deal_id, w.model ORDER BY w.w DESC, w.pos) AS rank
    FROM weighted w WHERE w.w > 0
)
INSERT INTO _floor_credits
    (deal_id, touchpoint_id, model, weight, credit, campaign_id, channel, deal_created_at, deal_won_at)
SELECT deal_id, touchpoint_id, model, round(w, 12),
       cents + CASE WHEN rank = 1 THEN amount - sum(cents) OVER (PARTITION BY deal_id, model) ELSE 0 END,
       campaign_id, channel, created_at, won_at
FROM rounded
"""

ATTRIBUTED_CREATED_FACTS = """
    SELECT date_trunc('{grain}', deal_created_at)::date AS p, model AS m, NULLIF(channel, '') AS d_channel,
           campaign_id AS d_campaign, credit, round(weight, 6) AS weight  -- summed as stored: 6 places
    FROM _floor_credits WHERE TRUE
"""
ATTRIBUTED_WON_FACTS = """
    SELECT date_trunc('{grain}', deal_won_at)::date AS p, model AS m, NULLIF(channel, '') AS d_channel,
           campaign_id AS d_campaign, credit
    FROM _floor_credits WHERE deal_won_at IS NOT NULL
"""

# --- Snapshots and retention, one row per period ----------------------------------------------------------

PERIODS = """
    SELECT p::date AS period_start, (p + interval '{step}')::timestamptz AS period_end
    FROM generate_series(date_trunc('{grain}', COALESCE(({first})::date, current_date)),
                         date_trunc('{grain}', current_date), interval '{step}') AS p
"""


def _periods(grain: str, first: str) -> str:
    return PERIODS.replace("{first}", first).replace("{grain}", grain).replace("{step}", STEP[grain])


def snapshot(grain: str, keys: list[str]) -> str:
    """Open deals at each period end in the stage they were in then (the stay holding the period end), and
    the deals closed in the trailing window before it."""
    periods = _periods(grain, "(SELECT min(created_at) FROM sales_deal)")
    return f"""
    WITH periods AS ({periods}),
    stays AS (
        SELECT deal_id, to_stage_id, at, lead(at) OVER (PARTITION BY deal_id ORDER BY at, id) AS next_at
        FROM sales_dealstagechange
    ),
    open_at AS (
        SELECT p.period_start, dl.owner_id, dl.pipeline_id,
               dl.amount * COALESCE(dl.probability_override, sg.probability) / 100.0 AS weighted
        FROM periods p
        JOIN sales_deal dl ON dl.created_at < p.period_end AND (dl.closed_at IS NULL OR dl.closed_at >=
            p.period_end)
        LEFT JOIN stays s ON s.deal_id = dl.id AND s.at < p.period_end
             AND (s.next_at IS NULL OR s.next_at >= p.period_end)
        JOIN sales_stage sg ON sg.id = COALESCE(s.to_stage_id, dl.stage_id)
    ),
    closed_at AS (
        SELECT p.period_start, dl.owner_id, dl.pipeline_id, dl.status = 'won' AS won, dl.amount,
               {days("dl.closed_at", "dl.created_at")} AS cycle
        FROM periods p
        JOIN sales_deal dl ON dl.status IN ('won', 'lost') AND dl.closed_at < p.period_end
             AND dl.closed_at >= p.period_end - make_interval(days => %(trailing_days)s)
    ),
    opened AS (
        SELECT period_start, '' AS dimension, '' AS dimension_value, count(*) AS n, sum(weighted) AS weighted
        FROM open_at GROUP BY period_start
        UNION ALL SELECT period_start, 'rep', COALESCE(owner_id::text, '{NONE}'), count(*), sum(weighted)
        FROM open_at GROUP BY period_start, owner_id
        UNION ALL SELECT period_start, 'pipeline', pipeline_id::text, count(*), sum(weighted)
        FROM open_at GROUP BY period_start, pipeline_id
    ),
    closed AS (
        SELECT period_start, '' AS dimension, '' AS dimension_value, count(*) FILTER (WHERE won) AS won,
               count(*) AS closed, sum(amount) FILTER (WHERE won) AS won_amount,
               sum(cycle) FILTER (WHERE won) AS cycle_days
        FROM closed_at GROUP BY period_start
        UNION ALL SELECT period_start, 'rep', COALESCE(owner_id::text, '{NONE}'), count(*) FILTER (WHERE won),
               count(*), sum(amount) FILTER (WHERE won), sum(cycle) FILTER (WHERE won)
        FROM closed_at GROUP BY period_start, owner_id
        UNION ALL SELECT period_start, 'pipeline', pipeline_id::text, count(*) FILTER (WHERE won), count(*),
               sum(amount) FILTER (WHERE won), sum(cycle) FILTER (WHERE won)
        FROM closed_at GROUP BY period_start, pipeline_id
    ),
    figures AS (
        SELECT k.period_start, k.dimension, k.dimension_value, COALESCE(o.n, 0) AS n,
               COALESCE(o.weighted, 0) AS weighted, c.won, c.closed, c.won_amount, c.cycle_days,
               c.won::numeric / NULLIF(c.closed, 0) AS win_rate, c.won_amount / NULLIF(c.won, 0) AS deal_size,
               c.cycle_days / NULLIF(c.won, 0) AS cycle
        FROM (SELECT period_start, dimension, dimension_value FROM opened
              UNION SELECT period_start, dimension, dimension_value FROM closed
              UNION SELECT period_start, '', '' FROM periods) k
        LEFT JOIN opened o USING (period_start, dimension, dimension_value)
        LEFT JOIN closed c USING (period_start, dimension, dimension_value)
    )
    {INSERT}
    SELECT '{grain}', x.metric, f.period_start, f.dimension, f.dimension_value, '', x.num, x.den, x.val
    FROM figures f
    CROSS JOIN LATERAL (VALUES
        ('weighted_pipeline', NULL::numeric, NULL::numeric, f.weighted::numeric),
        ('velocity_open_deals', NULL, NULL, f.n::numeric),
        ('velocity_win_rate', f.won::numeric, f.closed::numeric, f.win_rate),
        ('velocity_deal_size', f.won_amount, f.won::numeric, f.deal_size),
        ('velocity_cycle_days', f.cycle_days, f.won::numeric, f.cycle),
        ('pipeline_velocity', NULL, NULL, f.n * f.win_rate * f.deal_size / NULLIF(f.cycle, 0))
    ) AS x(metric, num, den, val)
    WHERE x.metric = ANY(%(keys)s)
    """  # noqa: S608 - constants of this module


def retention(grain: str, keys: list[str]) -> str:
    """MRR per account at each period's start and end from each subscription's event intervals (an
    event's MRR holds until the next event), the moves in the period and the accounts acquired in it."""
    periods = _periods(grain, "(SELECT min(at) FROM sales_subscriptionevent)")
    return f"""
    WITH periods AS (
        SELECT period_start, (period_start::timestamp AT TIME ZONE 'UTC') AS starts, period_end
        FROM ({periods}) x
    ),
    events AS (
        SELECT e.*, sb.account_id, lead(e.at) OVER (PARTITION BY e.subscription_id ORDER BY e.at, e.id) AS
            next_at
        FROM sales_subscriptionevent e JOIN sales_subscription sb ON sb.id = e.subscription_id
    ),
    at_start AS (
        SELECT p.period_start, e.account_id, sum(e.mrr_after) AS mrr FROM periods p
        JOIN events e ON e.at < p.starts AND (e.next_at IS NULL OR e.next_at >= p.starts)
        GROUP BY 1, 2
    ),
    at_end AS (
        SELECT p.period_start, e.account_id, sum(e.mrr_after) AS mrr FROM periods p
        JOIN events e ON e.at < p.period_end AND (e.next_at IS NULL OR e.next_at >= p.period_end)
        GROUP BY 1, 2
    ),
    customers AS (
        SELECT s.period_start, s.account_id, s.mrr AS start_mrr, COALESCE(e.mrr, 0) AS end_mrr
        FROM at_start s LEFT JOIN at_end e USING (period_start, account_id)
        WHERE s.mrr > 0
    ),
    moves AS (
        SELECT p.period_start,
               sum(e.mrr_after - e.mrr_before) FILTER (WHERE e.kind = 'expansion') AS expansion,
               sum(e.mrr_before - e.mrr_after) FILTER (WHERE e.kind = 'contraction') AS contraction,
               sum(e.mrr_before - e.mrr_after) FILTER (WHERE e.kind = 'churn') AS churned
        FROM periods p
        JOIN events e ON e.at >= p.starts AND e.at < p.period_end
        JOIN customers c ON c.period_start = p.period_start AND c.account_id = e.account_id
        GROUP BY 1
    ),
    firsts AS (SELECT account_id, min(at) AS first_at FROM events GROUP BY 1),
    fresh AS (
        SELECT p.period_start, count(DISTINCT f.account_id) AS n, sum(e.mrr_after) AS mrr
        FROM periods p
        JOIN firsts f ON f.first_at >= p.starts AND f.first_at < p.period_end
        JOIN events e ON e.account_id = f.account_id AND e.kind = 'new' AND e.at >= p.starts
             AND e.at < p.period_end
        GROUP BY 1
    ),
    figures AS (
        SELECT p.period_start, count(c.account_id) AS customers,
               count(c.account_id) FILTER (WHERE c.end_mrr = 0) AS lost, COALESCE(sum(c.start_mrr), 0) AS
                   start_mrr
        FROM periods p LEFT JOIN customers c ON c.period_start = p.period_start
        GROUP BY 1
    )
    {INSERT}
    SELECT '{grain}', x.metric, f.period_start, '', '', '', x.num, x.den, x.val
    FROM figures f
    LEFT JOIN moves mv USING (period_start)
    LEFT JOIN fresh fr USING (period_start)
    CROSS JOIN LATERAL (
        SELECT COALESCE(mv.expansion, 0) AS expansion, COALESCE(mv.contraction, 0) AS contraction,
               COALESCE(mv.churned, 0) AS churned
    ) m
    CROSS JOIN LATERAL (VALUES
        ('logo_churn', f.lost::numeric, f.customers::numeric, f.lost::numeric / NULLIF(f.customers, 0)),
        ('gross_revenue_churn', m.churned + m.contraction, f.start_mrr,
         (m.churned + m.contraction) / NULLIF(f.start_mrr, 0)),
        ('net_revenue_retention', f.start_mrr + m.expansion - m.contraction - m.churned, f.start_mrr,
         (f.start_mrr + m.expansion - m.contraction - m.churned) / NULLIF(f.start_mrr, 0)),
        ('expansion_rate', m.expansion, f.start_mrr, m.expansion / NULLIF(f.start_mrr, 0)),
        ('start_mrr', NULL, NULL, f.start_mrr),
        ('average_mrr', f.start_mrr, f.customers::numeric, f.start_mrr / NULLIF(f.customers, 0)),
        ('new_accounts', NULL, NULL, COALESCE(fr.n, 0)::numeric),
        ('new_customer_mrr', fr.mrr, fr.n::numeric, fr.mrr / NULLIF(fr.n, 0))
    ) AS x(metric, num, den, val)
    WHERE x.metric = ANY(%(keys)s)
    """  # noqa: S608 - constants of this module


# --- Derived from the floor's own values of the same granularity -----------------------------------------


# Derived metrics read their inputs as the engine stores them (six decimals).
STORED = """(SELECT grain, metric, period_start, dimension, dimension_value, model, round(value, 6) AS value,
                    round(numerator, 6) AS numerator, round(denominator, 6) AS denominator
             FROM _floor_values)"""


def _of(grain: str, metric: str, alias: str, model: str = "''") -> str:
    return (
        f"{STORED} {alias} ON {alias}.grain = '{grain}' AND {alias}.metric = '{metric}' "
        f"AND {alias}.period_start = b.period_start AND {alias}.dimension = b.dimension "
        f"AND {alias}.dimension_value = b.dimension_value AND {alias}.model = {model}"
    )


def _rows(grain: str, metric: str) -> str:
    return f"(SELECT * FROM {STORED} x WHERE grain = '{grain}' AND metric = '{metric}' AND model = '') b"


def cost_per(key: str, metric: str) -> Family:
    def sql(grain: str, keys: list[str]) -> str:
        return f"""{INSERT}
        SELECT '{grain}', '{key}', b.period_start, b.dimension, b.dimension_value, '', b.value, n.value,
               b.value / NULLIF(n.value, 0)
        FROM {_rows(grain, "marketing_spend")} LEFT JOIN {_of(grain, metric, "n")}"""

    return Family(key, (key,), sql, derived=True)


MODELS = "(VALUES ('first_touch'), ('last_touch'), ('linear'), ('u_shaped'), ('w_shaped'), ('time_decay'))"


def per_model(key: str, metric: str, num: str, den: str, val: str) -> Family:
    def sql(grain: str, keys: list[str]) -> str:
        return f"""{INSERT}
        SELECT '{grain}', '{key}', b.period_start, b.dimension, b.dimension_value, md.model, {num}, {den},
            {val}
        FROM {_rows(grain, "marketing_spend")} CROSS JOIN {MODELS} AS md(model)
        LEFT JOIN {_of(grain, metric, "a", "md.model")}"""

    return Family(key, (key,), sql, derived=True)


def sourced_share(grain: str, keys: list[str]) -> str:
    return f"""{INSERT}
    SELECT '{grain}', 'marketing_sourced_share', b.period_start, b.dimension, b.dimension_value, '', n.value,
           b.value, n.value / NULLIF(b.value, 0)
    FROM {_rows(grain, "pipeline_created")} JOIN {_of(grain, "marketing_sourced_pipeline", "n")}"""


def cac(grain: str, keys: list[str]) -> str:
    return f"""{INSERT}
    SELECT '{grain}', 'cac', b.period_start, '', '', '', t.total, b.value, t.total / NULLIF(b.value, 0)
    FROM {_rows(grain, "new_accounts")} LEFT JOIN {_of(grain, "marketing_spend", "s")}
    CROSS JOIN LATERAL (SELECT COALESCE(s.value, 0) + %(sales_cost_month)s * ({MONTHS[grain]}) AS total) t
    WHERE b.dimension = ''"""


def payback(grain: str, keys: list[str]) -> str:
    return f"""{INSERT}
    SELECT '{grain}', 'cac_payback_months', b.period_start, '', '', '', b.value, m.value * %(gross_margin)s,
           b.value / NULLIF(m.value * %(gross_margin)s, 0)
    FROM {_rows(grain, "cac")} JOIN {_of(grain, "new_customer_mrr", "m")}"""


def ltv(grain: str, keys: list[str]) -> str:
    """Average MRR x margin x the lifetime in months (1 / monthly churn, from the churn's own numerator and
    denominator), capped."""
    return f"""{INSERT}
    SELECT '{grain}', 'ltv', b.period_start, '', '', '', NULL, NULL,
           b.value * %(gross_margin)s
           * LEAST(%(cap_months)s::numeric, ({MONTHS[grain]}) * c.denominator / NULLIF(c.numerator, 0))
    FROM {_rows(grain, "average_mrr")} JOIN {_of(grain, "gross_revenue_churn", "c")}
    WHERE b.value IS NOT NULL AND c.value IS NOT NULL"""


QUALITY_PARTS = [
    ("mql_acceptance_rate", "w_acceptance"),
    ("mql_to_sql_rate", "w_sql"),
    ("win_rate", "w_win"),
    ("average_deal_size", "w_size"),
]


def quality(grain: str, keys: list[str]) -> str:
    parts = " UNION ALL ".join(
        f"""SELECT v.period_start, v.dimension, v.dimension_value, %({weight})s::numeric AS weight,
                   v.value / w.value AS relative
            FROM {STORED} v
            JOIN {STORED} w ON w.grain = v.grain AND w.metric = v.metric AND w.period_start = v.period_start
                 AND w.dimension = '' AND w.model = ''
            WHERE v.grain = '{grain}' AND v.metric = '{metric}' AND v.model = ''
              AND v.dimension IN ('channel', 'campaign', 'segment')
              AND v.value IS NOT NULL AND w.value IS NOT NULL AND w.value <> 0"""
        for metric, weight in QUALITY_PARTS
    )
    return f"""{INSERT}
    SELECT '{grain}', 'lead_quality_index', q.period_start, q.dimension, q.dimension_value, '',
           sum(q.weight * q.relative), sum(q.weight), 100 * sum(q.weight * q.relative) /
               NULLIF(sum(q.weight), 0)
    FROM ({parts}) q GROUP BY 1, 2, 3, 4, 5, 6"""


def marketing_sla(grain: str, keys: list[str]) -> str:
    """The workspace policy's commitment scaled to the period and its minimum acceptance, against the MQLs
    and acceptance of every period since the first with MQLs (none delivered: 0)."""
    return f"""
    WITH pol AS (
        SELECT mql_commitment * ({MONTHS[grain]})::numeric
                   / (CASE commitment_period WHEN 'month' THEN 1 WHEN 'quarter' THEN 3 ELSE 12 END) AS due,
               min_acceptance_rate AS minimum
        FROM alignment_slapolicy
        WHERE is_active AND segment_id IS NULL AND team_id IS NULL
          AND num_nonnulls(mql_commitment, min_acceptance_rate) > 0
        ORDER BY id LIMIT 1
    ),
    first AS (
        SELECT min(period_start) AS p FROM {STORED} x
        WHERE grain = '{grain}' AND metric = 'mqls' AND dimension = '' AND value > 0
    ),
    parts AS (
        SELECT s.p::date AS p,
               CASE WHEN pol.due IS NULL THEN NULL WHEN pol.due <= 0 THEN 1
                    ELSE LEAST(1, COALESCE(m.value, 0) / pol.due) END AS volume,
               CASE WHEN pol.minimum IS NULL OR a.value IS NULL THEN NULL WHEN pol.minimum <= 0 THEN 1
                    ELSE LEAST(1, a.value / pol.minimum) END AS acceptance
        FROM first
        CROSS JOIN generate_series(
            first.p, date_trunc('{grain}', current_date), interval '{STEP[grain]}'
        ) s(p)
        CROSS JOIN pol
        LEFT JOIN {STORED} m ON m.grain = '{grain}' AND m.metric = 'mqls' AND m.period_start = s.p::date
             AND m.dimension = '' AND m.model = ''
        LEFT JOIN {STORED} a ON a.grain = '{grain}' AND a.metric = 'mql_acceptance_rate'
             AND a.period_start = s.p::date AND a.dimension = '' AND a.model = ''
    )
    {INSERT}
    SELECT '{grain}', 'marketing_sla_attainment', p, '', '', '',
           COALESCE(volume, 0) + COALESCE(acceptance, 0), num_nonnulls(volume, acceptance),
           (COALESCE(volume, 0) + COALESCE(acceptance, 0)) / num_nonnulls(volume, acceptance)
    FROM parts WHERE num_nonnulls(volume, acceptance) > 0"""


DOWN = ", ".join(f"'{k}'" for k, m in registry.REGISTRY.items() if m.better == registry.DOWN)


def goal_attainment(grain: str, keys: list[str]) -> str:
    """Each goal of the period with a value: actual / target (target / actual where lower is better) within
    [0, 1]; their mean."""
    return f"""{INSERT}
    SELECT '{grain}', 'goal_attainment', g.period_start, '', '', '',
           sum(x.share), count(x.share), avg(x.share)
    FROM alignment_goal g
    JOIN {STORED} v ON v.grain = '{grain}' AND v.metric = g.metric AND v.model = g.model
         AND v.period_start = g.period_start AND v.dimension = '' AND v.dimension_value = ''
    CROSS JOIN LATERAL (SELECT CASE
        WHEN v.value IS NULL THEN NULL
        WHEN g.metric IN ({DOWN}) THEN
            CASE WHEN v.value <= 0 THEN 1 ELSE LEAST(1, GREATEST(0, g.target / v.value)) END
        WHEN g.target <= 0 THEN (v.value >= g.target)::int
        ELSE LEAST(1, GREATEST(0, v.value / g.target)) END AS share) x
    WHERE g.period = '{grain}'
    GROUP BY g.period_start
    HAVING count(x.share) > 0"""


def pipeline_coverage(grain: str, keys: list[str]) -> str:
    return f"""{INSERT}
    SELECT '{grain}', 'pipeline_coverage', t.p, '', '', '', o.amount, t.left_over,
           o.amount / NULLIF(t.left_over, 0)
    FROM (
        SELECT g.period_start AS p, GREATEST(max(g.target) - COALESCE(max(w.value), 0), 0) AS left_over
        FROM alignment_goal g
        LEFT JOIN {STORED} w ON w.grain = '{grain}' AND w.metric = 'revenue_won'
             AND w.period_start = g.period_start AND w.dimension = '' AND w.model = ''
        WHERE g.metric = 'revenue_won' AND g.period = '{grain}'
        GROUP BY g.period_start
    ) t
    CROSS JOIN LATERAL (
        SELECT COALESCE(sum(dl.amount), 0) AS amount FROM sales_deal dl
        WHERE dl.status = 'open'
          AND date_trunc('{grain}', dl.expected_close_date)::date = t.p
    ) o"""


SCORE_PARTS = [  # (the definition's weight, the SQL of the component from the period's stored values)
    ("s_sla", "(SELECT avg(side) FROM unnest(ARRAY[c.sales_side, c.marketing_side]) side)"),
    ("s_acceptance", "c.acceptance"),
    ("s_loss", "c.loss"),
    ("s_feedback", "c.feedback"),
    ("s_goals", "c.goals"),
    ("s_attribution", "c.attribution"),
]


def score(grain: str, keys: list[str]) -> str:
    def value(metric: str) -> str:
        return f"max(value) FILTER (WHERE metric = '{metric}')"

    sla = "('sla_attainment', 'sla_decision_attainment')"
    parts = " UNION ALL ".join(
        f"SELECT c.period_start, %({weight})s::numeric AS weight, {expr} AS value FROM c"
        for weight, expr in SCORE_PARTS
    )
    return f"""
    WITH c AS (
        SELECT period_start,
               sum(numerator) FILTER (WHERE metric IN {sla})
                   / NULLIF(sum(denominator) FILTER (WHERE metric IN {sla}), 0) AS sales_side,
               {value("marketing_sla_attainment")} AS marketing_side,
               {value("mql_acceptance_rate")} AS acceptance, {value("loss_reason_coverage")} AS loss,
               {value("feedback_closure")} AS feedback, {value("goal_attainment")} AS goals,
               {value("attribution_coverage")} AS attribution
        FROM {STORED} x
        WHERE grain = '{grain}' AND dimension = '' AND model = ''
        GROUP BY period_start
    )
    {INSERT}
    SELECT '{grain}', 'alignment_score', period_start, '', '', '', sum(weight * value), sum(weight),
           100 * sum(weight * value) / sum(weight)
    FROM ({parts}) p
    WHERE value IS NOT NULL AND weight > 0
    GROUP BY period_start"""


def _only(measures: dict, keys: list[str] | None = None) -> dict:
    return {k: v for k, v in measures.items() if keys is None or k in keys}


CAMPAIGN = ("channel", "campaign")
SEGMENT, TEAM = ("segment",), ("team",)
CLOSED_TEAM = [k for k in CLOSED_MEASURES if k != "lead_to_close_median"]
CREATED_TEAM = ["pipeline_created", "deals_created"]

FAMILIES: list[Family] = [
    Family(
        "funnel",
        tuple(FUNNEL_MEASURES),
        grouped(facts=plain_facts(FUNNEL_FACTS), dims=CAMPAIGN, measures=FUNNEL_MEASURES),
    ),
    Family(
        "funnel by segment",
        tuple(FUNNEL_MEASURES),
        grouped(
            facts=by_segment(FUNNEL_FACTS, "t.contact_id"),
            dims=SEGMENT,
            measures=FUNNEL_MEASURES,
            total=False,
        ),
    ),
    Family(
        "visits",
        ("visits",),
        grouped(facts=VISITS_FACTS, dims=CAMPAIGN, measures={"visits": count("count(*)")}),
    ),
    Family(
        "MQL cohorts",
        tuple(MQL_COHORT_MEASURES),
        grouped(facts=plain_facts(MQL_COHORT_FACTS), dims=CAMPAIGN, measures=MQL_COHORT_MEASURES),
    ),
    Family(
        "MQL cohorts by segment",
        tuple(MQL_COHORT_MEASURES),
        grouped(
            facts=by_segment(MQL_COHORT_FACTS, "t.contact_id"),
            dims=SEGMENT,
            measures=MQL_COHORT_MEASURES,
            total=False,
        ),
    ),
    Family(
        "lead decisions",
        tuple(DECISION_MEASURES),
        grouped(facts=plain_facts(DECISION_FACTS), dims=(*CAMPAIGN, "rep"), measures=DECISION_MEASURES),
    ),
    Family(
        "lead decisions by segment",
        tuple(DECISION_MEASURES),
        grouped(
            facts=by_segment(DECISION_FACTS, "d.contact_id"),
            dims=SEGMENT,
            measures=DECISION_MEASURES,
            total=False,
        ),
    ),
    Family(
        "lead decisions by team",
        tuple(DECISION_MEASURES),
        grouped(
            facts=by_team(DECISION_FACTS, "d.decided_by_id"),
            dims=TEAM,
            measures=DECISION_MEASURES,
            total=False,
        ),
    ),
    Family(
        "speed to lead",
        tuple(SPEED_MEASURES),
        grouped(facts=plain_facts(SPEED_FACTS), dims=("channel", "rep"), measures=SPEED_MEASURES),
    ),
    Family(
        "speed to lead by team",
        tuple(SPEED_MEASURES),
        grouped(facts=by_team(SPEED_FACTS, "f.owner_id"), dims=TEAM, measures=SPEED_MEASURES, total=False),
    ),
    Family(
        "closed deals",
        tuple(CLOSED_MEASURES),
        grouped(
            facts=plain_facts(CLOSED_FACTS),
            dims=(*CAMPAIGN, "rep", "pipeline"),
            measures=CLOSED_MEASURES,
        ),
    ),
    Family(
        "closed deals by team",
        tuple(CLOSED_TEAM),
        grouped(
            facts=by_team(CLOSED_FACTS, "dl.owner_id"),
            dims=TEAM,
            measures=_only(CLOSED_MEASURES, CLOSED_TEAM),
            total=False,
        ),
    ),
    Family(
        "deal cohorts",
        ("win_rate_cohort",),
        grouped(
            facts=plain_facts(WIN_COHORT_FACTS),
            dims=("rep", "pipeline"),
            measures={"win_rate_cohort": rate("count(*) FILTER (WHERE won)", "count(*)")},
        ),
    ),
    Family(
        "deal cohorts by team",
        ("win_rate_cohort",),
        grouped(
            facts=by_team(WIN_COHORT_FACTS, "dl.owner_id"),
            dims=TEAM,
            measures={"win_rate_cohort": rate("count(*) FILTER (WHERE won)", "count(*)")},
            total=False,
        ),
    ),
    Family(
        "created deals",
        tuple(CREATED_MEASURES),
        grouped(
            facts=plain_facts(CREATED_FACTS),
            dims=(*CAMPAIGN, "rep", "pipeline"),
            measures=CREATED_MEASURES,
        ),
    ),
    Family(
        "created deals by team",
        tuple(CREATED_TEAM),
        grouped(
            facts=by_team(CREATED_FACTS, "dl.owner_id"),
            dims=TEAM,
            measures=_only(CREATED_MEASURES, CREATED_TEAM),
            total=False,
        ),
    ),
    Family(
        "SLA clocks",
        tuple(SLA_MEASURES),
        grouped(facts=plain_facts(SLA_FACTS), dims=("rep",), measures=SLA_MEASURES),
    ),
    Family(
        "SLA clocks by team",
        tuple(SLA_MEASURES),
        grouped(facts=by_team(SLA_FACTS, "k.owner_id"), dims=TEAM, measures=SLA_MEASURES, total=False),
    ),
    Family(
        "objection feedback",
        ("feedback_closure",),
        grouped(
            facts=FEEDBACK_FACTS,
            dims=(),
            measures={"feedback_closure": rate("count(*) FILTER (WHERE answered)", "count(*)")},
        ),
    ),
    Family(
        "objection impact",
        ("objection_impact",),
        grouped(
            facts=IMPACT_FACTS,
            dims=(),
            measures={
                "objection_impact": plain(
                    "avg(won) FILTER (WHERE NOT raised) - avg(won) FILTER (WHERE raised)"
                )
            },
        ),
    ),
    Family(
        "stage stays",
        tuple(STAYS_MEASURES),
        grouped(facts=STAYS_FACTS, dims=("pipeline", "stage"), measures=STAYS_MEASURES),
    ),
    Family(
        "spend",
        ("marketing_spend",),
        grouped(
            facts=SPEND_FACTS, dims=CAMPAIGN, measures={"marketing_spend": count("COALESCE(sum(amount), 0)")}
        ),
    ),
    Family(
        "send to lead lag",
        tuple(SEND_LAG_MEASURES),
        grouped(facts=SEND_LAG_FACTS, dims=(*CAMPAIGN, "send"), measures=SEND_LAG_MEASURES),
    ),
    Family(
        "pipeline snapshots",
        (
            "weighted_pipeline",
            "velocity_open_deals",
            "velocity_win_rate",
            "velocity_deal_size",
            "velocity_cycle_days",
            "pipeline_velocity",
        ),
        snapshot,
    ),
    Family(
        "retention",
        (
            "logo_churn",
            "gross_revenue_churn",
            "net_revenue_retention",
            "expansion_rate",
            "start_mrr",
            "average_mrr",
            "new_accounts",
            "new_customer_mrr",
        ),
        retention,
    ),
    Family(
        "attributed pipeline",
        ("attributed_pipeline", "attributed_opportunities"),
        grouped(
            facts=ATTRIBUTED_CREATED_FACTS,
            dims=CAMPAIGN,
            model=True,
            measures={
                "attributed_pipeline": count("sum(credit)"),
                "attributed_opportunities": count("sum(weight)"),
            },
        ),
    ),
    Family(
        "attributed revenue",
        ("attributed_revenue",),
        grouped(
            facts=ATTRIBUTED_WON_FACTS,
            dims=CAMPAIGN,
            model=True,
            measures={"attributed_revenue": count("sum(credit)")},
        ),
    ),
    cost_per("cost_per_lead", "leads"),
    cost_per("cost_per_mql", "mqls"),
    cost_per("cost_per_sql", "sqls"),
    cost_per("cost_per_deal", "deals_created"),
    per_model(
        "cost_per_opportunity",
        "attributed_opportunities",
        "b.value",
        "a.value",
        "b.value / NULLIF(a.value, 0)",
    ),
    per_model(
        "campaign_roi",
        "attributed_revenue",
        "COALESCE(a.value, 0) - b.value",
        "b.value",
        "(COALESCE(a.value, 0) - b.value) / NULLIF(b.value, 0)",
    ),
    Family("marketing_sourced_share", ("marketing_sourced_share",), sourced_share, derived=True),
    Family("cac", ("cac",), cac, derived=True),
    Family("cac payback", ("cac_payback_months",), payback, derived=True),
    Family("ltv", ("ltv",), ltv, derived=True),
    Family("lead quality", ("lead_quality_index",), quality, derived=True),
    Family("marketing SLA", ("marketing_sla_attainment",), marketing_sla, derived=True),
    Family("goal attainment", ("goal_attainment",), goal_attainment, derived=True),
    Family("pipeline coverage", ("pipeline_coverage",), pipeline_coverage, derived=True),
    Family("alignment score", ("alignment_score",), score, derived=True),
]

COVERED = {key for family in FAMILIES for key in family.keys}


def run(cursor, *, definition, timings: dict[str, float] | None = None) -> None:
    """Compute every covered metric for every granularity into ``_floor_values``, in the
    caller's transaction (UTC); ``timings`` collects the seconds spent per family."""
    import time

    from alignment import engine

    clock = timings if timings is not None else {}

    def timed(name: str, sql: str, args: dict | None = None) -> None:
        started = time.perf_counter()
        cursor.execute(sql, args)
        clock[name] = clock.get(name, 0.0) + time.perf_counter() - started

    cursor.execute("SET LOCAL TIME ZONE 'UTC'")
    cursor.execute(TEMP)
    started = time.perf_counter()
    engine.fill_segments(cursor, "_floor_segments")
    clock["segments"] = clock.get("segments", 0.0) + time.perf_counter() - started
    args = engine.params_of(definition)
    timed("attribution credits", CREDITS, args)
    for grain in registry.GRANULARITIES:
        analyzed = False
        for family in FAMILIES:
            chosen = [k for k in family.keys if grain in registry.REGISTRY[k].periods]
            if not chosen:
                continue
            if family.derived and not analyzed:  # the planner's row counts for the joins of derived values
                timed("analyze", "ANALYZE _floor_values")
                analyzed = True
            timed(family.name, family.sql(grain, chosen), {**args, "keys": chosen})


# Floor values that differ from the values the engine stored for the same definition (rounded as stored),
# and stored values the floor has no row for.
COMPARE = """
WITH floor AS (
    SELECT grain, metric, period_start, dimension, dimension_value, model,
           round(numerator, 6) AS numerator, round(denominator, 6) AS denominator, round(value, 6) AS value
    FROM _floor_values
),
stored AS (
    SELECT granularity AS grain, metric, period_start, dimension, dimension_value, model, numerator,
           denominator, value
    FROM alignment_metricvalue WHERE definition_id = %(definition)s AND metric = ANY(%(metrics)s)
),
paired AS (  -- a value on one side only, or NULL against a number, or numbers apart, is a mismatch
    SELECT COALESCE(f.metric, s.metric) AS metric, f.metric IS NULL AS only_stored,
           s.metric IS NULL AS only_floor,
           f.metric IS NOT NULL AND s.metric IS NOT NULL AND f.value IS DISTINCT FROM s.value
           AND (f.value IS NULL OR s.value IS NULL
                OR abs(f.value - s.value) > 0.00001 * GREATEST(1, abs(s.value))) AS differ,
           COALESCE(f.grain, s.grain) || ' ' || COALESCE(f.period_start, s.period_start) || ' '
           || COALESCE(f.dimension, s.dimension) || '=' || COALESCE(f.dimension_value, s.dimension_value)
           || ' ' || COALESCE(f.model, s.model) || ': floor ' || COALESCE(f.value::text, 'null')
           || ', engine ' || COALESCE(s.value::text, 'null') AS cell
    FROM floor f
    FULL JOIN stored s USING (grain, metric, period_start, dimension, dimension_value, model)
)
SELECT metric, count(*) AS total, count(*) FILTER (WHERE only_stored) AS only_stored,
       count(*) FILTER (WHERE only_floor) AS only_floor, count(*) FILTER (WHERE differ) AS differ,
       min(cell) FILTER (WHERE only_stored OR only_floor OR differ) AS example
FROM paired
GROUP BY 1 ORDER BY 1
"""


def compare(cursor, *, definition) -> list[dict]:
    """Per metric: how many floor and stored values there are and how many disagree, with an example."""
    cursor.execute(COMPARE, {"definition": definition.pk, "metrics": sorted(COVERED)})
    columns = [c.name for c in cursor.description]
    return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
