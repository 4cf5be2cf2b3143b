"""A new definition version marks its day, as a fact does, so the refresh's quiet check reads only the two
mark logs (``alignment.engine.QUIET``): the run that takes the mark finds the version not yet fully
computed and recomputes everything. Workspaces whose newest version has no full run yet get that mark now.

A workspace with no version has no values either: its first version (created on first use) or its first
fact marks a day, and that run is the first full one."""

from django.db import migrations

FUNCTION = """
CREATE OR REPLACE FUNCTION alignment_mark_definition() RETURNS trigger LANGUAGE plpgsql
SET TimeZone = 'UTC'
AS $fn$
BEGIN
    INSERT INTO alignment_dirtyday (day) VALUES (current_date);
    RETURN NULL;
END
$fn$;
"""

TRIGGER = (
    "CREATE TRIGGER alignment_definition_insert AFTER INSERT ON alignment_definitionversion "
    "FOR EACH STATEMENT EXECUTE FUNCTION alignment_mark_definition();"
)

PENDING = """
INSERT INTO alignment_dirtyday (day)
SELECT (now() AT TIME ZONE 'UTC')::date
 WHERE EXISTS (SELECT 1 FROM alignment_definitionversion)
   AND NOT EXISTS (
       SELECT 1 FROM alignment_enginerun
        WHERE kind = 'full' AND definition_id = (SELECT max(id) FROM alignment_definitionversion)
   );
"""


class Migration(migrations.Migration):
    dependencies = [("alignment", "0015_scorecard")]

    operations = [
        migrations.RunSQL(
            [FUNCTION, TRIGGER, PENDING],
            [
                "DROP TRIGGER IF EXISTS alignment_definition_insert ON alignment_definitionversion;",
                "DROP FUNCTION IF EXISTS alignment_mark_definition();",
            ],
        ),
    ]
