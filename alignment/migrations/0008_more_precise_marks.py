"""Marks the review of the incremental run found missing (each confirmed by an incremental run that
differed from a full one):

- a deal stage change also marks the day of the same deal's next change, where the stay it cuts or joins
  ends (stage conversion and time in stage sit in the period a stay ends);
- a lead entry also marks the close days of the deals it is the lead of (lead to close);
- a rep joining or leaving a team also marks the MQL days its activities answered (speed to lead by team).
"""

from importlib import import_module

from django.db import migrations

_previous = import_module("alignment.migrations.0006_precise_cohort_marks")

TRANSITIONS = _previous._function(
    "alignment_mark_contact_cohorts",
    """INSERT INTO alignment_dirtyday (day)
        SELECT DISTINCT m.at::date FROM ROWS r
        JOIN marketing_stagetransition m ON m.contact_id = r.contact_id AND m.to_stage = 'mql'
             AND m.at <= r.at
        WHERE r.to_stage = 'sql';
        INSERT INTO alignment_dirtyday (day)
        SELECT DISTINCT s.sent_at::date FROM ROWS r
        JOIN marketing_touchpoint tp ON tp.contact_id = r.contact_id AND tp.send_id IS NOT NULL
        JOIN marketing_campaignsend s ON s.id = tp.send_id AND s.sent_at <= r.at
        WHERE r.to_stage = 'lead';
        INSERT INTO alignment_dirtyday (day)
        SELECT DISTINCT d.closed_at::date FROM ROWS r
        JOIN sales_deal d ON d.lead_id = r.contact_id AND d.closed_at IS NOT NULL
        WHERE r.to_stage = 'lead';""",
)

STAGE_CHANGES = _previous._function(
    "alignment_mark_next_stage_change",
    """INSERT INTO alignment_dirtyday (day)
        SELECT DISTINCT nxt.at::date FROM ROWS r
        CROSS JOIN LATERAL (
            SELECT c.at FROM sales_dealstagechange c
            WHERE c.deal_id = r.deal_id AND (c.at, c.id) > (r.at, r.id)
            ORDER BY c.at, c.id LIMIT 1
        ) nxt;""",
)

TEAM = """
CREATE OR REPLACE FUNCTION alignment_mark_team_regrouped() RETURNS trigger LANGUAGE plpgsql
SET TimeZone = 'UTC'
AS $fn$
DECLARE
    rep bigint := CASE WHEN TG_OP = 'DELETE' THEN OLD.user_id ELSE NEW.user_id END;
BEGIN
    INSERT INTO alignment_dirtyday (day)
    SELECT DISTINCT day FROM (
        SELECT d.decided_at::date AS day FROM sales_leaddecision d WHERE d.decided_by_id = rep
        UNION SELECT a.done_at::date FROM sales_activity a WHERE a.owner_id = rep
        UNION SELECT m.at::date FROM sales_activity a
              JOIN marketing_stagetransition m ON m.contact_id = a.contact_id AND m.to_stage = 'mql'
                   AND m.at <= a.done_at
              WHERE a.owner_id = rep
        UNION SELECT x.day FROM sales_deal dl
              CROSS JOIN LATERAL (VALUES (dl.created_at::date), (dl.closed_at::date)) AS x(day)
              WHERE dl.owner_id = rep
    ) days WHERE day IS NOT NULL;
    RETURN NULL;
END
$fn$;
"""

CREATE = [
    TRANSITIONS,
    STAGE_CHANGES,
    TEAM,
    *[
        f"CREATE TRIGGER alignment_mark_next_stage_change_{event.lower()} AFTER {event} "
        f"ON sales_dealstagechange REFERENCING {referencing} "
        "FOR EACH STATEMENT EXECUTE FUNCTION alignment_mark_next_stage_change();"
        for event, referencing in [
            ("INSERT", "NEW TABLE AS alignment_new_rows"),
            ("UPDATE", "OLD TABLE AS alignment_old_rows NEW TABLE AS alignment_new_rows"),
            ("DELETE", "OLD TABLE AS alignment_old_rows"),
        ]
    ],
]
DROP = [
    *[
        f"DROP TRIGGER IF EXISTS alignment_mark_next_stage_change_{event} ON sales_dealstagechange;"
        for event in ("insert", "update", "delete")
    ],
    "DROP FUNCTION IF EXISTS alignment_mark_next_stage_change();",
]


class Migration(migrations.Migration):
    dependencies = [("alignment", "0007_credit_rollup_indexes")]

    operations = [migrations.RunSQL(CREATE, DROP)]
