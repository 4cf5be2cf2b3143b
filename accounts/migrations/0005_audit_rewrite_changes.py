from django.db import migrations

# The erasure of a contact's personal data (accounts.personal_data) replaces their identifiers in the
# entries' lists of changes too, so the one rewrite the trigger allows now covers actor_label and changes;
# every other column, and every DELETE or TRUNCATE, is still refused.
ALLOW_LABEL_AND_CHANGES = """
CREATE OR REPLACE FUNCTION tandem_audit_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND current_setting('tandem.audit_rewrite', true) = 'on'
       AND (to_jsonb(NEW) - 'actor_label' - 'changes') = (to_jsonb(OLD) - 'actor_label' - 'changes') THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'the audit log cannot be changed (%)', TG_OP USING ERRCODE = 'insufficient_privilege';
END
$$;
"""
ALLOW_LABEL = """
CREATE OR REPLACE FUNCTION tandem_audit_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND current_setting('tandem.audit_rewrite', true) = 'on'
       AND (to_jsonb(NEW) - 'actor_label') = (to_jsonb(OLD) - 'actor_label') THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'the audit log cannot be changed (%)', TG_OP USING ERRCODE = 'insufficient_privilege';
END
$$;
"""


class Migration(migrations.Migration):
    dependencies = [("accounts", "0004_audit")]

    operations = [migrations.RunSQL(ALLOW_LABEL_AND_CHANGES, ALLOW_LABEL)]
