"""More facts for the engine: activities, deal stage history, subscription events, touchpoints and campaign
sends mark their own days; a touchpoint or a deal contact also marks the creation and close days of the
deals it can change the attribution of. And the business-hours function speed to lead is measured in."""

from django.db import migrations

FACTS = {
    "sales_activity": ["done_at"],
    "sales_dealstagechange": ["at"],
    "sales_subscriptionevent": ["at"],
    "marketing_touchpoint": ["occurred_at"],
    "marketing_campaignsend": ["sent_at"],
}

# The deals a touchpoint can be credited on: those of its contact and of its contact's company, created at
# or after it (the engine recomputes the credits of deals whose creation or close day is dirty).
DEALS_OF_TOUCHES = """
CREATE OR REPLACE FUNCTION alignment_mark_deals_of_touches() RETURNS trigger LANGUAGE plpgsql
SET TimeZone = 'UTC'
AS $fn$
BEGIN
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO alignment_dirtyday (day)
        SELECT DISTINCT x.day FROM alignment_new_rows t
        JOIN LATERAL (
            SELECT d.id, d.created_at, d.closed_at FROM sales_dealcontact dc
            JOIN sales_deal d ON d.id = dc.deal_id WHERE dc.contact_id = t.contact_id
            UNION
            SELECT d.id, d.created_at, d.closed_at FROM marketing_contact c
            JOIN sales_deal d ON d.company_id = c.company_id WHERE c.id = t.contact_id
        ) d ON d.created_at >= t.occurred_at
        CROSS JOIN LATERAL (VALUES (d.created_at::date), (d.closed_at::date)) AS x(day)
        WHERE t.contact_id IS NOT NULL AND x.day IS NOT NULL;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        INSERT INTO alignment_dirtyday (day)
        SELECT DISTINCT x.day FROM alignment_old_rows t
        JOIN LATERAL (
            SELECT d.id, d.created_at, d.closed_at FROM sales_dealcontact dc
            JOIN sales_deal d ON d.id = dc.deal_id WHERE dc.contact_id = t.contact_id
            UNION
            SELECT d.id, d.created_at, d.closed_at FROM marketing_contact c
            JOIN sales_deal d ON d.company_id = c.company_id WHERE c.id = t.contact_id
        ) d ON d.created_at >= t.occurred_at
        CROSS JOIN LATERAL (VALUES (d.created_at::date), (d.closed_at::date)) AS x(day)
        WHERE t.contact_id IS NOT NULL AND x.day IS NOT NULL;
    END IF;
    RETURN NULL;
END
$fn$;
"""

DEALS_OF_LINKS = """
CREATE OR REPLACE FUNCTION alignment_mark_deals_of_links() RETURNS trigger LANGUAGE plpgsql
SET TimeZone = 'UTC'
AS $fn$
BEGIN
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO alignment_dirtyday (day)
        SELECT DISTINCT x.day FROM alignment_new_rows l JOIN sales_deal d ON d.id = l.deal_id
        CROSS JOIN LATERAL (VALUES (d.created_at::date), (d.closed_at::date)) AS x(day)
        WHERE x.day IS NOT NULL;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        INSERT INTO alignment_dirtyday (day)
        SELECT DISTINCT x.day FROM alignment_old_rows l JOIN sales_deal d ON d.id = l.deal_id
        CROSS JOIN LATERAL (VALUES (d.created_at::date), (d.closed_at::date)) AS x(day)
        WHERE x.day IS NOT NULL;
    END IF;
    RETURN NULL;
END
$fn$;
"""

# Hours between two moments inside the working week, Monday to Friday 09:00-17:00 UTC (the tenant's
# business calendar replaces these constants when it arrives).
BUSINESS_HOURS = """
CREATE OR REPLACE FUNCTION alignment_business_hours(a timestamptz, b timestamptz) RETURNS numeric
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $fn$
    SELECT COALESCE(SUM(EXTRACT(epoch FROM
               LEAST(b, (day + interval '17 hours') AT TIME ZONE 'UTC')
               - GREATEST(a, (day + interval '9 hours') AT TIME ZONE 'UTC'))), 0)::numeric / 3600
    FROM generate_series(date_trunc('day', a AT TIME ZONE 'UTC'), date_trunc('day', b AT TIME ZONE 'UTC'),
                         interval '1 day') AS day
    WHERE EXTRACT(isodow FROM day) < 6
      AND LEAST(b, (day + interval '17 hours') AT TIME ZONE 'UTC')
          > GREATEST(a, (day + interval '9 hours') AT TIME ZONE 'UTC')
$fn$;
"""


def _triggers(table: str, function: str, args: str = "") -> tuple[list[str], list[str]]:
    create, drop = [], []
    for event, referencing in [
        ("INSERT", "NEW TABLE AS alignment_new_rows"),
        ("UPDATE", "OLD TABLE AS alignment_old_rows NEW TABLE AS alignment_new_rows"),
        ("DELETE", "OLD TABLE AS alignment_old_rows"),
    ]:
        name = f"{function}_{event.lower()}"[:63]
        create.append(
            f"CREATE TRIGGER {name} AFTER {event} ON {table} REFERENCING {referencing} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {function}({args});"
        )
        drop.append(f"DROP TRIGGER IF EXISTS {name} ON {table};")
    return create, drop


CREATE, DROP = [BUSINESS_HOURS, DEALS_OF_TOUCHES, DEALS_OF_LINKS], []
for _table, _columns in FACTS.items():
    _c, _d = _triggers(_table, "alignment_dirty", ", ".join(f"'{c}'" for c in _columns))
    CREATE += [s.replace("alignment_dirty(", "alignment_mark_dirty(") for s in _c]
    DROP += _d
for _table, _function in [
    ("marketing_touchpoint", "alignment_mark_deals_of_touches"),
    ("sales_dealcontact", "alignment_mark_deals_of_links"),
]:
    _c, _d = _triggers(_table, _function)
    CREATE += _c
    DROP += _d
DROP += [
    "DROP FUNCTION IF EXISTS alignment_mark_deals_of_touches();",
    "DROP FUNCTION IF EXISTS alignment_mark_deals_of_links();",
    "DROP FUNCTION IF EXISTS alignment_business_hours(timestamptz, timestamptz);",
]


class Migration(migrations.Migration):
    dependencies = [
        ("alignment", "0003_attribution_reports"),
        ("marketing", "0002_default_mql_rule"),
        ("sales", "0003_activity_content"),
    ]

    operations = [migrations.RunSQL(CREATE, DROP)]
