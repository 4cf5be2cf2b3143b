"""Dirty deals: the deals whose attribution credits a write may change, so an incremental run recomputes
the credits of those deals only, instead of every deal created or closed on a dirty day.

The marks come from the writes that change a deal's credits: the deal itself (amount, dates, status,
company, lead), its contacts, a touchpoint of one of its people at or before its creation, one of its
company's contacts moving company, and the channel of a campaign its credits name. The functions that
already mark the days of those deals now mark their ids too; a new one watches the deals table. Deals of
days that are dirty when this migration runs are marked, so the next run misses nothing.
"""

from importlib import import_module

from django.db import migrations, models

_cohorts = import_module("alignment.migrations.0006_precise_cohort_marks")
_facts = import_module("alignment.migrations.0004_more_fact_triggers")
_regrouping = import_module("alignment.migrations.0005_regrouping_triggers")

# A deal's own change: every inserted or deleted deal, and updated deals whose credited fields changed.
DEALS = """
CREATE OR REPLACE FUNCTION alignment_mark_dirty_deals() RETURNS trigger LANGUAGE plpgsql
AS $fn$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO alignment_dirtydeal (deal_id) SELECT n.id FROM alignment_new_rows n;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO alignment_dirtydeal (deal_id) SELECT o.id FROM alignment_old_rows o;
    ELSE
        INSERT INTO alignment_dirtydeal (deal_id)
        SELECT n.id FROM alignment_new_rows n JOIN alignment_old_rows o ON o.id = n.id
        WHERE (n.amount, n.created_at, n.closed_at, n.status, n.company_id, n.lead_id)
              IS DISTINCT FROM (o.amount, o.created_at, o.closed_at, o.status, o.company_id, o.lead_id);
    END IF;
    RETURN NULL;
END
$fn$;
"""

TOUCHES = _cohorts._function(
    "alignment_mark_deals_of_touches",
    """WITH deals AS (
            SELECT DISTINCT d.id, d.created_at, d.closed_at FROM ROWS t
            JOIN LATERAL (
                SELECT d.id, d.created_at, d.closed_at FROM sales_dealcontact dc
                JOIN sales_deal d ON d.id = dc.deal_id WHERE dc.contact_id = t.contact_id
                UNION
                SELECT d.id, d.created_at, d.closed_at FROM marketing_contact c
                JOIN sales_deal d ON d.company_id = c.company_id WHERE c.id = t.contact_id
            ) d ON d.created_at >= t.occurred_at
            WHERE t.contact_id IS NOT NULL
        ), marked AS (
            INSERT INTO alignment_dirtydeal (deal_id) SELECT id FROM deals
        )
        INSERT INTO alignment_dirtyday (day)
        SELECT DISTINCT x.day FROM deals d
        CROSS JOIN LATERAL (VALUES (d.created_at::date), (d.closed_at::date)) AS x(day)
        WHERE x.day IS NOT NULL;""",
)

# A deal contact added or removed: the deal (gone already when the deal itself was deleted: its id still).
LINKS = _cohorts._function(
    "alignment_mark_deals_of_links",
    """INSERT INTO alignment_dirtydeal (deal_id) SELECT DISTINCT l.deal_id FROM ROWS l;
        INSERT INTO alignment_dirtyday (day)
        SELECT DISTINCT x.day FROM ROWS l JOIN sales_deal d ON d.id = l.deal_id
        CROSS JOIN LATERAL (VALUES (d.created_at::date), (d.closed_at::date)) AS x(day)
        WHERE x.day IS NOT NULL;""",
)

CONTACT = """
CREATE OR REPLACE FUNCTION alignment_mark_contact_regrouped() RETURNS trigger LANGUAGE plpgsql
SET TimeZone = 'UTC'
AS $fn$
BEGIN
    -- the funnel by campaign and channel follows the contact's first-touch campaign
    INSERT INTO alignment_dirtyday (day)
    SELECT DISTINCT t.at::date FROM marketing_stagetransition t WHERE t.contact_id = NEW.id;
    IF OLD.company_id IS DISTINCT FROM NEW.company_id THEN
        -- the attribution of its old and new company's deals takes in or drops its touches
        INSERT INTO alignment_dirtydeal (deal_id)
        SELECT d.id FROM sales_deal d WHERE d.company_id IN (OLD.company_id, NEW.company_id);
        INSERT INTO alignment_dirtyday (day)
        SELECT DISTINCT x.day FROM sales_deal d
        CROSS JOIN LATERAL (VALUES (d.created_at::date), (d.closed_at::date)) AS x(day)
        WHERE d.company_id IN (OLD.company_id, NEW.company_id) AND x.day IS NOT NULL;
    END IF;
    RETURN NULL;
END
$fn$;
"""

# A campaign's channel: the credits naming it carry the channel (a touch without one of its own).
CAMPAIGN_DEALS = """
CREATE OR REPLACE FUNCTION alignment_mark_campaign_deals() RETURNS trigger LANGUAGE plpgsql
AS $fn$
BEGIN
    INSERT INTO alignment_dirtydeal (deal_id)
    SELECT DISTINCT ac.deal_id FROM alignment_attributioncredit ac WHERE ac.campaign_id = NEW.id;
    RETURN NULL;
END
$fn$;
CREATE TRIGGER alignment_campaign_deals AFTER UPDATE ON marketing_campaign FOR EACH ROW
WHEN (OLD.channel IS DISTINCT FROM NEW.channel)
EXECUTE FUNCTION alignment_mark_campaign_deals();
"""

# The deals of the days already dirty: the runs before this migration recomputed those by day.
BACKLOG = """
INSERT INTO alignment_dirtydeal (deal_id)
SELECT d.id FROM sales_deal d
WHERE (d.created_at AT TIME ZONE 'UTC')::date IN (SELECT day FROM alignment_dirtyday)
   OR (d.closed_at AT TIME ZONE 'UTC')::date IN (SELECT day FROM alignment_dirtyday);
"""

DEAL_TRIGGERS = [
    f"CREATE TRIGGER alignment_dirty_deals_{event.lower()} AFTER {event} ON sales_deal "
    f"REFERENCING {referencing} FOR EACH STATEMENT EXECUTE FUNCTION alignment_mark_dirty_deals();"
    for event, referencing in [
        ("INSERT", "NEW TABLE AS alignment_new_rows"),
        ("UPDATE", "OLD TABLE AS alignment_old_rows NEW TABLE AS alignment_new_rows"),
        ("DELETE", "OLD TABLE AS alignment_old_rows"),
    ]
]


def _function_only(sql: str) -> str:
    """A migration's function definition without the trigger it created next to it."""
    return sql.split("CREATE TRIGGER")[0]


CREATE = [DEALS, *DEAL_TRIGGERS, TOUCHES, LINKS, CONTACT, CAMPAIGN_DEALS, BACKLOG]
REVERSE = [
    "DROP TRIGGER IF EXISTS alignment_campaign_deals ON marketing_campaign;",
    "DROP FUNCTION IF EXISTS alignment_mark_campaign_deals();",
    *[f"DROP TRIGGER IF EXISTS alignment_dirty_deals_{e} ON sales_deal;" for e in ("insert", "update", "delete")],
    "DROP FUNCTION IF EXISTS alignment_mark_dirty_deals();",
    _facts.DEALS_OF_TOUCHES,
    _facts.DEALS_OF_LINKS,
    _function_only(_regrouping.CONTACT),
]


class Migration(migrations.Migration):
    dependencies = [("alignment", "0008_more_precise_marks")]

    operations = [
        migrations.CreateModel(
            name="DirtyDeal",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("deal_id", models.BigIntegerField()),
            ],
        ),
        migrations.RunSQL(CREATE, REVERSE),
    ]
