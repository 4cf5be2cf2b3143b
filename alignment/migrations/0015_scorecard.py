"""The alignment scorecard: the weights of the score's components in the metric definitions, the page
visits the checklists read, and the facts of the scorecard metrics marking their days for incremental runs:

- an SLA clock marks its MQL entry's day (SLA attainment, both sales steps);
- an objection log marks the day it was logged (feedback closure) and its deal's close day (objection
  impact); an answer added or removed marks the days of every log of its objection;
- a goal marks the first day of its period when it is added, removed or its metric, model, period or target
  changes (goal attainment, pipeline coverage; not when its evaluation is stored);
- an open deal marks its expected close day when it is added, removed, or its expected close date, status
  or amount changes (pipeline coverage: open pipeline closing in the period).
"""

from decimal import Decimal
from importlib import import_module

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

_cohorts = import_module("alignment.migrations.0006_precise_cohort_marks")
_facts = import_module("alignment.migrations.0004_more_fact_triggers")

LOGS = _cohorts._function(
    "alignment_mark_objection_logs",
    """INSERT INTO alignment_dirtyday (day)
        SELECT DISTINCT x.day FROM ROWS l
        LEFT JOIN sales_deal d ON d.id = l.deal_id
        CROSS JOIN LATERAL (VALUES (l.logged_at::date), (d.closed_at::date)) AS x(day)
        WHERE x.day IS NOT NULL;""",
)

ANSWERS = _cohorts._function(
    "alignment_mark_objection_answers",
    """INSERT INTO alignment_dirtyday (day)
        SELECT DISTINCT l.logged_at::date FROM alignment_objectionlog l
        WHERE l.objection_id IN (SELECT a.objection_id FROM ROWS a);""",
)


def _changed(name: str, columns: str, day: str, where: str = "TRUE") -> str:
    """Rows added or removed mark ``day``; an update marks it (old and new) where ``columns`` changed."""
    old, new = (", ".join(f"{alias}.{c.strip()}" for c in columns.split(",")) for alias in ("o", "n"))
    return f"""
CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql
SET TimeZone = 'UTC'
AS $fn$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO alignment_dirtyday (day)
        SELECT DISTINCT (n.{day})::date FROM alignment_new_rows n WHERE n.{day} IS NOT NULL AND {where.format(r="n")};
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO alignment_dirtyday (day)
        SELECT DISTINCT (o.{day})::date FROM alignment_old_rows o WHERE o.{day} IS NOT NULL AND {where.format(r="o")};
    ELSE
        INSERT INTO alignment_dirtyday (day)
        SELECT DISTINCT x.day FROM alignment_new_rows n JOIN alignment_old_rows o ON o.id = n.id
        CROSS JOIN LATERAL (VALUES
            (CASE WHEN {where.format(r="n")} THEN (n.{day})::date END),
            (CASE WHEN {where.format(r="o")} THEN (o.{day})::date END)
        ) AS x(day)
        WHERE ({new}) IS DISTINCT FROM ({old}) AND x.day IS NOT NULL;
    END IF;
    RETURN NULL;
END
$fn$;
"""


GOALS = _changed("alignment_mark_goals", "metric, model, period, period_start, target", "period_start")
OPEN_DEALS = _changed(
    "alignment_mark_open_deals", "expected_close_date, status, amount", "expected_close_date", "{r}.status = 'open'"
)

CREATE, DROP = [LOGS, ANSWERS, GOALS, OPEN_DEALS], []
for _table, _function, _args in [
    ("alignment_slaclock", "alignment_mark_dirty", "'mql_at'"),
    ("alignment_objectionlog", "alignment_mark_objection_logs", ""),
    ("alignment_objectionanswer", "alignment_mark_objection_answers", ""),
    ("alignment_goal", "alignment_mark_goals", ""),
    ("sales_deal", "alignment_mark_open_deals", ""),
]:
    _c, _d = _facts._triggers(_table, _function, _args)
    CREATE += _c
    DROP += _d
DROP += [
    "DROP FUNCTION IF EXISTS alignment_mark_objection_logs();",
    "DROP FUNCTION IF EXISTS alignment_mark_objection_answers();",
    "DROP FUNCTION IF EXISTS alignment_mark_goals();",
    "DROP FUNCTION IF EXISTS alignment_mark_open_deals();",
]


class Migration(migrations.Migration):

    dependencies = [
        ('alignment', '0014_objection_loop'),
        ('sales', '0005_team_lead'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='definitionversion',
            name='score_weight_acceptance',
            field=models.DecimalField(decimal_places=2, default=Decimal('1'), max_digits=5),
        ),
        migrations.AddField(
            model_name='definitionversion',
            name='score_weight_attribution',
            field=models.DecimalField(decimal_places=2, default=Decimal('1'), max_digits=5),
        ),
        migrations.AddField(
            model_name='definitionversion',
            name='score_weight_feedback',
            field=models.DecimalField(decimal_places=2, default=Decimal('1'), max_digits=5),
        ),
        migrations.AddField(
            model_name='definitionversion',
            name='score_weight_goals',
            field=models.DecimalField(decimal_places=2, default=Decimal('1'), max_digits=5),
        ),
        migrations.AddField(
            model_name='definitionversion',
            name='score_weight_loss_reasons',
            field=models.DecimalField(decimal_places=2, default=Decimal('1'), max_digits=5),
        ),
        migrations.AddField(
            model_name='definitionversion',
            name='score_weight_sla',
            field=models.DecimalField(decimal_places=2, default=Decimal('1'), max_digits=5),
        ),
        migrations.CreateModel(
            name='PageVisit',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('page', models.CharField(choices=[('reports', 'Joint reports'), ('scorecard', 'Scorecard'), ('goals', 'Goals'), ('sla', 'SLA'), ('objections', 'Objections')], max_length=20)),
                ('day', models.DateField()),
                ('visits', models.PositiveIntegerField(default=1)),
                ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'ordering': ['-day', 'id'],
                'indexes': [models.Index(fields=['page', 'day'], name='page_visit_day')],
                'constraints': [models.UniqueConstraint(fields=('user', 'page', 'day'), name='page_visit_once')],
            },
        ),
        migrations.RunSQL(CREATE, DROP),
    ]
