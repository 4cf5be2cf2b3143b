"""Writes that do not add facts but regroup them: a contact's first-touch campaign or company changing, a
campaign's channel changing, a rep joining or leaving a team. Each marks the days of the facts it regroups,
so the incremental run follows it (segment membership is still reconciled by the nightly full run)."""

from django.db import migrations

CONTACT = """
CREATE OR REPLACE FUNCTION alignment_mark_contact_regrouped() RETURNS trigger LANGUAGE plpgsql
SET TimeZone = 'UTC'
AS $fn$
BEGIN
    -- the funnel by campaign and channel follows the contact's first-touch campaign
    INSERT INTO alignment_dirtyday (day)
    SELECT DISTINCT t.at::date FROM marketing_stagetransition t WHERE t.contact_id = NEW.id;
    -- the attribution of its old and new company's deals takes in or drops its touches
    INSERT INTO alignment_dirtyday (day)
    SELECT DISTINCT x.day FROM sales_deal d
    CROSS JOIN LATERAL (VALUES (d.created_at::date), (d.closed_at::date)) AS x(day)
    WHERE d.company_id IN (OLD.company_id, NEW.company_id) AND x.day IS NOT NULL;
    RETURN NULL;
END
$fn$;
CREATE TRIGGER alignment_contact_regrouped AFTER UPDATE ON marketing_contact FOR EACH ROW
WHEN (OLD.first_touch_campaign_id IS DISTINCT FROM NEW.first_touch_campaign_id
      OR OLD.company_id IS DISTINCT FROM NEW.company_id)
EXECUTE FUNCTION alignment_mark_contact_regrouped();
"""

CAMPAIGN = """
CREATE OR REPLACE FUNCTION alignment_mark_campaign_regrouped() RETURNS trigger LANGUAGE plpgsql
SET TimeZone = 'UTC'
AS $fn$
BEGIN
    INSERT INTO alignment_dirtyday (day)
    SELECT DISTINCT day FROM (
        SELECT k.date AS day FROM marketing_costline k WHERE k.campaign_id = NEW.id
        UNION SELECT t.at::date FROM marketing_stagetransition t
              JOIN marketing_contact c ON c.id = t.contact_id WHERE c.first_touch_campaign_id = NEW.id
        UNION SELECT tp.occurred_at::date FROM marketing_touchpoint tp WHERE tp.campaign_id = NEW.id
        UNION SELECT s.sent_at::date FROM marketing_campaignsend s WHERE s.campaign_id = NEW.id
        UNION SELECT d.decided_at::date FROM sales_leaddecision d WHERE d.campaign_id = NEW.id
        UNION SELECT x.day FROM sales_deal dl
              CROSS JOIN LATERAL (VALUES (dl.created_at::date), (dl.closed_at::date)) AS x(day)
              WHERE dl.source_campaign_id = NEW.id
        UNION SELECT x.day FROM alignment_attributioncredit ac
              CROSS JOIN LATERAL (VALUES (ac.deal_created_at::date), (ac.deal_won_at::date)) AS x(day)
              WHERE ac.campaign_id = NEW.id
    ) days WHERE day IS NOT NULL;
    RETURN NULL;
END
$fn$;
CREATE TRIGGER alignment_campaign_regrouped AFTER UPDATE ON marketing_campaign FOR EACH ROW
WHEN (OLD.channel IS DISTINCT FROM NEW.channel)
EXECUTE FUNCTION alignment_mark_campaign_regrouped();
"""

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
        UNION SELECT x.day FROM sales_deal dl
              CROSS JOIN LATERAL (VALUES (dl.created_at::date), (dl.closed_at::date)) AS x(day)
              WHERE dl.owner_id = rep
    ) days WHERE day IS NOT NULL;
    RETURN NULL;
END
$fn$;
CREATE TRIGGER alignment_team_regrouped AFTER INSERT OR UPDATE OR DELETE ON sales_team_members FOR EACH ROW
EXECUTE FUNCTION alignment_mark_team_regrouped();
"""

DROP = """
DROP TRIGGER IF EXISTS alignment_contact_regrouped ON marketing_contact;
DROP TRIGGER IF EXISTS alignment_campaign_regrouped ON marketing_campaign;
DROP TRIGGER IF EXISTS alignment_team_regrouped ON sales_team_members;
DROP FUNCTION IF EXISTS alignment_mark_contact_regrouped();
DROP FUNCTION IF EXISTS alignment_mark_campaign_regrouped();
DROP FUNCTION IF EXISTS alignment_mark_team_regrouped();
"""


class Migration(migrations.Migration):
    dependencies = [("alignment", "0004_more_fact_triggers")]

    operations = [migrations.RunSQL([CONTACT, CAMPAIGN, TEAM], DROP)]
