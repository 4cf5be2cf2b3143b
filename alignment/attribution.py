"""Multi-touch attribution: the credits each model gives each touchpoint of a deal, in SQL.

The touches of a deal are the touchpoints of its contacts and of its company's contacts, at or before the
deal was created and within the attribution lookback. Positions, in time order (ties by id):

- first touch: the earliest; last touch (= the deal-creation touch): the latest;
- lead-creation touch: the latest touch at or before the lead was created (the deal's lead contact, else
  its earliest contact); when every touch came later, the first touch.

Weights (metrics.md): first touch 100% first; last touch 100% last; linear 1/n; U-shaped 40% first, 40%
lead creation, 20% shared by every other touch; W-shaped 30% first, 30% lead creation, 30% deal creation,
10% shared by every other touch; time decay 2^(-age/h), age in days before the deal's creation. When two
positions fall on one touch it takes both shares; the weights of a deal are then normalised to 1, so a
single touch takes 100% and a share with no touch to go to is spread over the others pro rata.

Credits are cents: each is the amount times the weight, rounded, and the rounding remainder goes to the
touch with the largest weight (the earliest on a tie), so a deal's credits sum exactly to its amount for
every model.
"""

from __future__ import annotations

from .models import AttributionModel

MODELS = tuple(AttributionModel.values)  # the VALUES list below names one column per model

CREDITS = """
WITH scope AS (
    SELECT d.id, d.amount, d.created_at, d.closed_at, d.status, d.company_id, d.lead_id
    FROM sales_deal d
    WHERE %(deals)s::bigint[] IS NULL OR d.id = ANY(%(deals)s::bigint[])
),
people AS (
    SELECT dc.deal_id, dc.contact_id FROM sales_dealcontact dc JOIN scope s ON s.id = dc.deal_id
    UNION
    SELECT s.id, c.id FROM scope s {company_contacts}
),
lead_at AS (
    SELECT s.id AS deal_id, COALESCE(lc.created_at, first_contact.at) AS at
    FROM scope s
    LEFT JOIN marketing_contact lc ON lc.id = s.lead_id
    LEFT JOIN LATERAL (
        SELECT min(c.created_at) AS at FROM sales_dealcontact dc
        JOIN marketing_contact c ON c.id = dc.contact_id WHERE dc.deal_id = s.id
    ) first_contact ON TRUE
),
touches AS (
    SELECT s.id AS deal_id, s.amount, s.created_at, s.closed_at, s.status, tp.id AS touchpoint_id,
           tp.occurred_at, tp.campaign_id, COALESCE(NULLIF(tp.channel, ''), cp.channel, '') AS channel,
           row_number() OVER deal_touches AS pos,
           count(*) OVER (PARTITION BY s.id) AS n,
           la.at AS lead_at
    FROM scope s
    JOIN people p ON p.deal_id = s.id
    {touches}
    LEFT JOIN marketing_campaign cp ON cp.id = tp.campaign_id
    JOIN lead_at la ON la.deal_id = s.id
    WHERE tp.occurred_at <= s.created_at
      AND tp.occurred_at > s.created_at - make_interval(days => %(lookback_days)s)
    WINDOW deal_touches AS (PARTITION BY s.id ORDER BY tp.occurred_at, tp.id)
),
positioned AS (
    SELECT t.*,
           COALESCE(max(t.pos) FILTER (WHERE t.occurred_at <= t.lead_at) OVER (PARTITION BY t.deal_id), 1)
               AS lc
    FROM touches t
),
raw AS (  -- one row per touch with the raw weight of each model
    SELECT p.*,
           (p.pos = 1)::int::numeric AS r_first,
           (p.pos = p.n)::int::numeric AS r_last,
           1::numeric AS r_linear,
           0.4 * (p.pos = 1)::int + 0.4 * (p.pos = p.lc)::int
           + CASE WHEN p.pos NOT IN (1, p.lc)
                  THEN 0.2 / (p.n - CASE WHEN p.lc = 1 THEN 1 ELSE 2 END) ELSE 0 END AS r_u,
           0.3 * (p.pos = 1)::int + 0.3 * (p.pos = p.lc)::int + 0.3 * (p.pos = p.n)::int
           + CASE WHEN p.pos NOT IN (1, p.lc, p.n)
                  THEN 0.1 / (p.n - (SELECT count(DISTINCT x) FROM unnest(ARRAY[1, p.lc, p.n]) x))
                  ELSE 0 END AS r_w,
           power(2::float8,  -- float: numeric powers are slow, and the weights are normalised anyway
                 -(EXTRACT(epoch FROM p.created_at - p.occurred_at) / 86400.0)::float8
                 / %(half_life)s::float8)::numeric AS r_decay
    FROM positioned p
),
weighted AS (  -- normalised per deal (one window pass for every model), then one row per model
    SELECT r.deal_id, r.amount, r.created_at, r.closed_at, r.status, r.touchpoint_id, r.campaign_id,
           r.channel, r.pos, m.model, m.w
    FROM (
        SELECT r.*,
               r.r_first / SUM(r.r_first) OVER d AS w_first, r.r_last / SUM(r.r_last) OVER d AS w_last,
               r.r_linear / SUM(r.r_linear) OVER d AS w_linear, r.r_u / SUM(r.r_u) OVER d AS w_u,
               r.r_w / SUM(r.r_w) OVER d AS w_w, r.r_decay / SUM(r.r_decay) OVER d AS w_decay
        FROM raw r
        WINDOW d AS (PARTITION BY r.deal_id)
    ) r
    CROSS JOIN LATERAL (VALUES
        ('first_touch', r.w_first), ('last_touch', r.w_last), ('linear', r.w_linear),
        ('u_shaped', r.w_u), ('w_shaped', r.w_w), ('time_decay', r.w_decay)
    ) AS m(model, w)
),
rounded AS (
    SELECT w.*, round(w.amount * w.w, 2) AS cents,
           row_number() OVER (PARTITION BY w.deal_id, w.model ORDER BY w.w DESC, w.pos) AS rank
    FROM weighted w
    WHERE w.w > 0
)
INSERT INTO _alignment_credits
    (deal_id, touchpoint_id, model, weight, credit, campaign_id, channel, deal_created_at, deal_won_at)
SELECT r.deal_id, r.touchpoint_id, r.model, round(r.w, 12),
       r.cents + CASE WHEN r.rank = 1
                      THEN r.amount - SUM(r.cents) OVER (PARTITION BY r.deal_id, r.model) ELSE 0 END,
       r.campaign_id, r.channel, r.created_at, CASE WHEN r.status = 'won' THEN r.closed_at END
FROM rounded r
"""

UPSERT = """
INSERT INTO alignment_attributioncredit
    (deal_id, touchpoint_id, model, definition_id, weight, credit, campaign_id, channel,
     deal_created_at, deal_won_at)
SELECT deal_id, touchpoint_id, model, %(definition)s, weight, credit, campaign_id, channel,
       deal_created_at, deal_won_at
FROM _alignment_credits
ON CONFLICT (deal_id, touchpoint_id, model, definition_id) DO UPDATE
SET weight = EXCLUDED.weight, credit = EXCLUDED.credit, campaign_id = EXCLUDED.campaign_id,
    channel = EXCLUDED.channel, deal_created_at = EXCLUDED.deal_created_at, deal_won_at = EXCLUDED.deal_won_at
WHERE (alignment_attributioncredit.weight, alignment_attributioncredit.credit,
       alignment_attributioncredit.campaign_id, alignment_attributioncredit.channel,
       alignment_attributioncredit.deal_created_at, alignment_attributioncredit.deal_won_at)
      IS DISTINCT FROM (EXCLUDED.weight, EXCLUDED.credit, EXCLUDED.campaign_id, EXCLUDED.channel,
                        EXCLUDED.deal_created_at, EXCLUDED.deal_won_at)
"""

# Credits of the recomputed deals (every deal on a full run) that the computation no longer gives (a deal
# deleted meanwhile is marked too, and gives none).
PRUNE = """
DELETE FROM alignment_attributioncredit ac
WHERE ac.definition_id = %(definition)s
  AND (%(deals)s::bigint[] IS NULL OR ac.deal_id = ANY(%(deals)s::bigint[]))
  AND NOT EXISTS (
      SELECT 1 FROM _alignment_credits n
      WHERE n.deal_id = ac.deal_id AND n.touchpoint_id = ac.touchpoint_id AND n.model = ac.model
  )
"""


# An incremental run keeps the credits of its deals as they were (-1) and as they are now (+1), from which
# the engine changes the attributed sums (``engine_sql.Summed``). Credits are written by the engine only.
CHANGES = """
INSERT INTO _alignment_credit_changes
    (sign, definition_id, model, channel, campaign_id, credit, weight, deal_created_at, deal_won_at)
SELECT -1, ac.definition_id, ac.model, ac.channel, ac.campaign_id, ac.credit, ac.weight, ac.deal_created_at,
       ac.deal_won_at
FROM alignment_attributioncredit ac
WHERE ac.definition_id = %(definition)s AND ac.deal_id = ANY(%(deals)s::bigint[])
UNION ALL
SELECT 1, %(definition)s, n.model, n.channel, n.campaign_id, n.credit, n.weight, n.deal_created_at,
       n.deal_won_at
FROM _alignment_credits n
"""

# A full run joins whole tables (hash joins); an incremental run looks up the few deals' people and touches
# through their indexes (a planner guessing more deals would scan every touchpoint), up to LOOKUP_LIMIT deals
# (a bulk import marks more: whole-table joins are then the cheaper plan).
LOOKUP_LIMIT = 5000
JOINS = {
    True: {
        "touches": "JOIN marketing_touchpoint tp ON tp.contact_id = p.contact_id",
        "company_contacts": "JOIN marketing_contact c ON c.company_id = s.company_id",
    },
    False: {
        "touches": """JOIN LATERAL (
            SELECT t.id, t.occurred_at, t.campaign_id, t.channel FROM marketing_touchpoint t
            WHERE t.contact_id = p.contact_id AND t.occurred_at <= s.created_at
              AND t.occurred_at > s.created_at - make_interval(days => %(lookback_days)s)
            OFFSET 0  -- keeps the lookup per deal (a pulled-up join would be planned as a hash join)
        ) tp ON TRUE""",
        "company_contacts": """JOIN LATERAL (
            SELECT m.id FROM marketing_contact m WHERE m.company_id = s.company_id OFFSET 0
        ) c ON TRUE""",
    },
}


def recompute_credits(cursor, *, params: dict, deals: list | None) -> int:
    """Recompute the credits of ``deals`` (the dirty deals; every deal when None); returns the number of rows
    written or removed. Runs inside the engine's transaction (UTC)."""
    step = {**params, "deals": deals}
    cursor.execute("TRUNCATE _alignment_credits")
    joins = JOINS[deals is None or len(deals) > LOOKUP_LIMIT]
    sql = CREDITS.replace("{touches}", joins["touches"])
    cursor.execute(sql.replace("{company_contacts}", joins["company_contacts"]), step)
    if deals is None:  # a full run's many rows: the planner's counts for the prune
        cursor.execute("ANALYZE _alignment_credits")
    else:  # into the run's table of changes, emptied when the run began
        cursor.execute(CHANGES, step)
    cursor.execute(UPSERT, step)
    written = cursor.rowcount
    cursor.execute(PRUNE, step)
    return written + cursor.rowcount
