"""Precise marks for the cohort-style metrics, so an incremental run recomputes the periods a write really
changes instead of every period W days back: an SQL entry marks the days of the same contact's MQL
entries (MQL-to-SQL cohorts), a lead entry marks the days of the sends that touched the contact (send-to-lead
lag), a sales activity marks the days of its contact's MQL entries (speed to lead), and a touchpoint of a
send marks the send's day."""

from django.db import migrations


def _function(name: str, body: str) -> str:
    """A statement-level trigger function running ``body`` over the new rows and then the old rows."""
    return f"""
CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql
SET TimeZone = 'UTC'
AS $fn$
BEGIN
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        {body.replace("ROWS", "alignment_new_rows")}
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        {body.replace("ROWS", "alignment_old_rows")}
    END IF;
    RETURN NULL;
END
$fn$;
"""


TRANSITIONS = _function(
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
        WHERE r.to_stage = 'lead';""",
)

ACTIVITIES = _function(
    "alignment_mark_activity_mqls",
    """INSERT INTO alignment_dirtyday (day)
        SELECT DISTINCT m.at::date FROM ROWS r
        JOIN marketing_stagetransition m ON m.contact_id = r.contact_id AND m.to_stage = 'mql'
             AND m.at <= r.done_at;""",
)

TOUCHES = _function(
    "alignment_mark_touch_sends",
    """INSERT INTO alignment_dirtyday (day)
        SELECT DISTINCT s.sent_at::date FROM ROWS r JOIN marketing_campaignsend s ON s.id = r.send_id;""",
)

TRIGGERS = {
    "marketing_stagetransition": "alignment_mark_contact_cohorts",
    "sales_activity": "alignment_mark_activity_mqls",
    "marketing_touchpoint": "alignment_mark_touch_sends",
}


def _triggers() -> tuple[list[str], list[str]]:
    create, drop = [], []
    for table, function in TRIGGERS.items():
        for event, referencing in [
            ("INSERT", "NEW TABLE AS alignment_new_rows"),
            ("UPDATE", "OLD TABLE AS alignment_old_rows NEW TABLE AS alignment_new_rows"),
            ("DELETE", "OLD TABLE AS alignment_old_rows"),
        ]:
            name = f"{function}_{event.lower()}"
            create.append(
                f"CREATE TRIGGER {name} AFTER {event} ON {table} REFERENCING {referencing} "
                f"FOR EACH STATEMENT EXECUTE FUNCTION {function}();"
            )
            drop.append(f"DROP TRIGGER IF EXISTS {name} ON {table};")
    drop += [f"DROP FUNCTION IF EXISTS {function}();" for function in TRIGGERS.values()]
    return create, drop


CREATE, DROP = _triggers()


class Migration(migrations.Migration):
    dependencies = [("alignment", "0005_regrouping_triggers")]

    operations = [migrations.RunSQL([TRANSITIONS, ACTIVITIES, TOUCHES, *CREATE], DROP)]
