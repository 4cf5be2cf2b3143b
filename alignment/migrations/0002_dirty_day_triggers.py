"""Statement-level triggers on the fact tables mark the days whose facts changed, whatever wrote them
(portal, API, imports, bulk demo loads). Incremental metric runs consume these days."""

from django.db import migrations

# table -> the date or timestamp columns whose day a change touches
FACTS = {  # only what the computations read; a table joins when a metric that reads it arrives
    "marketing_stagetransition": ["at"],
    "marketing_costline": ["date"],
    "sales_deal": ["created_at", "closed_at"],
    "sales_leaddecision": ["decided_at"],
}

FUNCTION = """
CREATE OR REPLACE FUNCTION alignment_mark_dirty() RETURNS trigger LANGUAGE plpgsql
SET TimeZone = 'UTC'  -- the day of a timestamp is its UTC day, whatever the writer's session says
AS $fn$
DECLARE
    col text;
BEGIN
    FOREACH col IN ARRAY TG_ARGV LOOP
        IF TG_OP IN ('INSERT', 'UPDATE') THEN
            EXECUTE format(
                'INSERT INTO alignment_dirtyday (day) '
                'SELECT DISTINCT (%1$I)::date FROM alignment_new_rows WHERE %1$I IS NOT NULL', col);
        END IF;
        IF TG_OP IN ('UPDATE', 'DELETE') THEN
            EXECUTE format(
                'INSERT INTO alignment_dirtyday (day) '
                'SELECT DISTINCT (%1$I)::date FROM alignment_old_rows WHERE %1$I IS NOT NULL', col);
        END IF;
    END LOOP;
    RETURN NULL;
END
$fn$;
"""


def _triggers() -> tuple[list[str], list[str]]:
    create, drop = [], []
    for table, columns in FACTS.items():
        args = ", ".join(f"'{c}'" for c in columns)
        for event, referencing in [
            ("INSERT", "NEW TABLE AS alignment_new_rows"),
            ("UPDATE", "OLD TABLE AS alignment_old_rows NEW TABLE AS alignment_new_rows"),
            ("DELETE", "OLD TABLE AS alignment_old_rows"),
        ]:
            name = f"alignment_dirty_{event.lower()}"
            create.append(
                f"CREATE TRIGGER {name} AFTER {event} ON {table} REFERENCING {referencing} "
                f"FOR EACH STATEMENT EXECUTE FUNCTION alignment_mark_dirty({args});"
            )
            drop.append(f"DROP TRIGGER IF EXISTS {name} ON {table};")
    return create, drop


CREATE, DROP = _triggers()


class Migration(migrations.Migration):
    dependencies = [
        ("alignment", "0001_engine"),
        ("marketing", "0002_default_mql_rule"),
        ("sales", "0003_activity_content"),
    ]

    operations = [
        migrations.RunSQL(
            [FUNCTION, *CREATE],
            [*DROP, "DROP FUNCTION IF EXISTS alignment_mark_dirty();"],
        ),
    ]
