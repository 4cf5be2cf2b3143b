"""Dirty deals: the deals whose attribution credits a write may change, so an incremental run recomputes
the credits of those deals only, instead of every deal created or closed on a dirty day.

The marks come from the writes that change a deal's credits: the deal itself (amount, dates, status,
company, lead), its contacts, a touchpoint of one of its people at or before its creation, one of its
company's contacts moving company, and the channel of a campaign its credits name. Each has a trigger of its
own that marks deal ids next to the triggers that mark days, except the touchpoint's: it shares the lookup
of the deals a touch reaches with the day marks (touchpoints are the busiest fact table). Deals of days that
are dirty when this migration runs are marked, so the next run misses nothing.
"""

from importlib import import_module

from django.db import migrations, models

_cohorts = import_module("alignment.migrations.0006_precise_cohort_marks")
_facts = import_module("alignment.migrations.0004_more_fact_triggers")


def _marks(name: str, body: str) -> str:
    """A trigger function that appends deal ids, whatever the writer's session."""
    return f"""
CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql
AS $fn$
BEGIN
    {body}
    RETURN NULL;
END
$fn$;
"""


# A deal's own change: every inserted or deleted deal, and updated deals whose credited fields changed.
DEALS = _marks(
    "alignment_mark_dirty_deals",
    """IF TG_OP = 'INSERT' THEN
        INSERT INTO alignment_dirtydeal (deal_id) SELECT n.id FROM alignment_new_rows n;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO alignment_dirtydeal (deal_id) SELECT o.id FROM alignment_old_rows o;
    ELSE
        INSERT INTO alignment_dirtydeal (deal_id)
        SELECT n.id FROM alignment_new_rows n JOIN alignment_old_rows o ON o.id = n.id
        WHERE (n.amount, n.created_at, n.closed_at, n.status, n.company_id, n.lead_id)
              IS DISTINCT FROM (o.amount, o.created_at, o.closed_at, o.status, o.company_id, o.lead_id);
    END IF;""",
)

# A deal contact added or removed: its deal (gone already when the deal itself was deleted: its id still).
LINKS = _cohorts._function(
    "alignment_mark_deals_of_deal_contacts",
    "INSERT INTO alignment_dirtydeal (deal_id) SELECT DISTINCT l.deal_id FROM ROWS l;",
)

# The deals a touchpoint can be credited on, as 0004 finds them for their days, now marked by id as well.
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

# A contact moving company: the deals of its old and new company take in or drop its touches.
CONTACT = [
    _marks(
        "alignment_mark_company_deals",
        """INSERT INTO alignment_dirtydeal (deal_id)
    SELECT d.id FROM sales_deal d WHERE d.company_id IN (OLD.company_id, NEW.company_id);""",
    ),
    """CREATE TRIGGER alignment_company_deals AFTER UPDATE ON marketing_contact FOR EACH ROW
    WHEN (OLD.company_id IS DISTINCT FROM NEW.company_id)
    EXECUTE FUNCTION alignment_mark_company_deals();""",
]

# A campaign's channel: the credits naming it carry the channel (a touch without one of its own).
CAMPAIGN = [
    _marks(
        "alignment_mark_campaign_deals",
        """INSERT INTO alignment_dirtydeal (deal_id)
    SELECT DISTINCT ac.deal_id FROM alignment_attributioncredit ac WHERE ac.campaign_id = NEW.id;""",
    ),
    """CREATE TRIGGER alignment_campaign_deals AFTER UPDATE ON marketing_campaign FOR EACH ROW
    WHEN (OLD.channel IS DISTINCT FROM NEW.channel)
    EXECUTE FUNCTION alignment_mark_campaign_deals();""",
]

# The deals of the days already dirty: the runs before this migration recomputed those by day.
BACKLOG = """
INSERT INTO alignment_dirtydeal (deal_id)
SELECT d.id FROM sales_deal d
WHERE (d.created_at AT TIME ZONE 'UTC')::date IN (SELECT day FROM alignment_dirtyday)
   OR (d.closed_at AT TIME ZONE 'UTC')::date IN (SELECT day FROM alignment_dirtyday);
"""

_deal_triggers, _deal_drops = _facts._triggers("sales_deal", "alignment_mark_dirty_deals")
_link_triggers, _link_drops = _facts._triggers("sales_dealcontact", "alignment_mark_deals_of_deal_contacts")

CREATE = [DEALS, *_deal_triggers, LINKS, *_link_triggers, TOUCHES, *CONTACT, *CAMPAIGN, BACKLOG]
REVERSE = [
    "DROP TRIGGER IF EXISTS alignment_campaign_deals ON marketing_campaign;",
    "DROP TRIGGER IF EXISTS alignment_company_deals ON marketing_contact;",
    *_deal_drops,
    *_link_drops,
    *[
        f"DROP FUNCTION IF EXISTS {f}();"
        for f in (
            "alignment_mark_campaign_deals",
            "alignment_mark_company_deals",
            "alignment_mark_dirty_deals",
            "alignment_mark_deals_of_deal_contacts",
        )
    ],
    _facts.DEALS_OF_TOUCHES,  # the touch function as it was
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
