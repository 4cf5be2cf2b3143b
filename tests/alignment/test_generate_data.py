"""The benchmark data generator (``manage.py generate_data``): a provisioned workspace with deterministic
counts and content, the invariants of the product's own writes, idempotent reruns, refusal to mix data and
clear errors for bad arguments; and the recent batch the metric benchmark adds."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django_tenants.utils import schema_context

from accounts.tenancy.models import Domain, Tenant
from alignment.management.commands import generate_data as gen

pytestmark = pytest.mark.django_db

AS_OF = "2026-03-02"
END = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)

# Each query counts the rows that break one invariant of the data the product itself writes.
INVARIANTS = {
    "a contact's stage is its last transition's": """
        SELECT count(*) FROM marketing_contact c
        JOIN LATERAL (SELECT to_stage, at FROM marketing_stagetransition t WHERE t.contact_id = c.id
                      ORDER BY at DESC, id DESC LIMIT 1) l ON TRUE
        WHERE l.to_stage <> c.lifecycle_stage OR l.at <> c.lifecycle_changed_at""",
    "a contact without history is a subscriber": """
        SELECT count(*) FROM marketing_contact c WHERE lifecycle_stage <> 'subscriber'
        AND NOT EXISTS (SELECT 1 FROM marketing_stagetransition t WHERE t.contact_id = c.id)""",
    "each transition starts where the last one ended": """
        SELECT count(*) FROM (SELECT from_stage, lag(to_stage) OVER (PARTITION BY contact_id ORDER BY at, id)
            AS prev
                              FROM marketing_stagetransition) x
        WHERE COALESCE(prev, CASE WHEN from_stage = 'subscriber' THEN 'subscriber' ELSE '' END)
              <> from_stage""",
    "first and last touch are the first and last touchpoints": """
        SELECT count(*) FROM marketing_contact c
        JOIN LATERAL (SELECT campaign_id, occurred_at FROM marketing_touchpoint t WHERE t.contact_id = c.id
                      ORDER BY occurred_at, id LIMIT 1) f ON TRUE
        JOIN LATERAL (SELECT campaign_id, occurred_at FROM marketing_touchpoint t WHERE t.contact_id = c.id
                      ORDER BY occurred_at DESC, id DESC LIMIT 1) l ON TRUE
        WHERE f.campaign_id IS DISTINCT FROM c.first_touch_campaign_id OR f.occurred_at <> c.first_touch_at
           OR l.campaign_id IS DISTINCT FROM c.last_touch_campaign_id OR l.occurred_at <> c.last_touch_at""",
    "a touchpoint's campaign runs then, on its channel; its send went out before": """
        SELECT count(*) FROM marketing_touchpoint t JOIN marketing_campaign c ON c.id = t.campaign_id
        LEFT JOIN marketing_campaignsend s ON s.id = t.send_id
        WHERE t.occurred_at::date < c.start_date OR t.occurred_at::date > c.end_date OR t.channel <> c.channel
           OR s.sent_at > t.occurred_at OR s.campaign_id <> t.campaign_id""",
    "a decision is the contact's SQL or back-to-lead transition": """
        SELECT count(*) FROM sales_leaddecision d WHERE NOT EXISTS (
            SELECT 1 FROM marketing_stagetransition t WHERE t.contact_id = d.contact_id AND t.at =
                d.decided_at
            AND t.to_stage = CASE d.decision WHEN 'accepted' THEN 'sql' ELSE 'lead' END)
        OR (d.decision = 'rejected') <> (d.reason_id IS NOT NULL)""",
    "a deal is in a stage of its pipeline that matches its status, closed iff won or lost": """
        SELECT count(*) FROM sales_deal d JOIN sales_stage s ON s.id = d.stage_id
        WHERE s.kind <> d.status OR s.pipeline_id <> d.pipeline_id OR (d.status = 'open') <> (d.closed_at IS
            NULL)
           OR (d.status = 'lost') <> (d.loss_reason_id IS NOT NULL)""",
    "a deal's last stage change is its stage, entered then": """
        SELECT count(*) FROM sales_deal d
        LEFT JOIN LATERAL (SELECT to_stage_id, at FROM sales_dealstagechange c WHERE c.deal_id = d.id
                           ORDER BY at DESC, id DESC LIMIT 1) l ON TRUE
        WHERE l.to_stage_id IS DISTINCT FROM d.stage_id OR l.at <> d.stage_entered_at""",
    "every contact of a won deal is a customer": """
        SELECT count(*) FROM sales_deal d JOIN sales_dealcontact dc ON dc.deal_id = d.id
        JOIN marketing_contact c ON c.id = dc.contact_id
        WHERE d.status = 'won' AND c.lifecycle_stage <> 'customer'""",
    "a deal has one primary contact, created before it": """
        SELECT count(*) FROM sales_deal d
        WHERE (SELECT count(*) FROM sales_dealcontact dc WHERE dc.deal_id = d.id AND dc.is_primary) <> 1
           OR EXISTS (SELECT 1 FROM sales_dealcontact dc JOIN marketing_contact c ON c.id = dc.contact_id
                      WHERE dc.deal_id = d.id AND c.created_at > d.created_at)""",
    "subscription events chain their MRR and end at the subscription's": """
        SELECT count(*) FROM (
            SELECT e.subscription_id, e.mrr_before, e.mrr_after, s.mrr,
                   lag(e.mrr_after) OVER w AS prev, lead(e.id) OVER w AS next
            FROM sales_subscriptionevent e JOIN sales_subscription s ON s.id = e.subscription_id
            WINDOW w AS (PARTITION BY e.subscription_id ORDER BY e.at, e.id)) x
        WHERE (prev IS NOT NULL AND prev <> mrr_before) OR (next IS NULL AND mrr_after <> mrr)""",
    "nothing is dated after the end of the history": """
        SELECT (SELECT count(*) FROM marketing_touchpoint WHERE occurred_at >= %(end)s)
             + (SELECT count(*) FROM marketing_stagetransition WHERE at >= %(end)s)
             + (SELECT count(*) FROM sales_deal WHERE created_at >= %(end)s OR closed_at >= %(end)s)
             + (SELECT count(*) FROM marketing_costline WHERE date >= %(end)s::date)
             + (SELECT count(*) FROM sales_leaddecision WHERE decided_at >= %(end)s)
             + (SELECT count(*) FROM sales_activity WHERE done_at >= %(end)s)
             + (SELECT count(*) FROM sales_subscriptionevent WHERE at >= %(end)s)""",
}

# What must come out the same on every run: ids the generator assigns, and the facts' content.
FINGERPRINT = {
    "contacts": "SELECT md5(string_agg(concat_ws('|', id, email, lifecycle_stage, created_at, company_id, "
    "first_touch_campaign_id, mql_at), ',' ORDER BY id)) FROM marketing_contact",
    "transitions": "SELECT md5(string_agg(concat_ws('|', contact_id, from_stage, to_stage, at, by_rule), ',' "
    "ORDER BY contact_id, at, to_stage)) FROM marketing_stagetransition",
    "touchpoints": "SELECT md5(string_agg(concat_ws('|', contact_id, anonymous_id, campaign_id, kind, "
    "occurred_at, "
    "send_id, content_id), ',' ORDER BY occurred_at, contact_id, anonymous_id, kind, campaign_id)) "
    "FROM marketing_touchpoint",
    "deals": "SELECT md5(string_agg(concat_ws('|', id, status, amount, created_at, closed_at, stage_id, "
    "owner_id, "
    "source_campaign_id, lead_id, loss_reason_id), ',' ORDER BY id)) FROM sales_deal",
    "costs": "SELECT md5(string_agg(concat_ws('|', campaign_id, date, amount), ',' "
    "ORDER BY campaign_id, date)) "
    "FROM marketing_costline",
    "events": "SELECT md5(string_agg(concat_ws('|', subscription_id, kind, at, mrr_before, mrr_after), ',' "
    "ORDER BY subscription_id, at, kind)) FROM sales_subscriptionevent",
}


def _rows(sql: str) -> int | str:
    with connection.cursor() as cursor:
        cursor.execute(sql, {"end": END})
        return cursor.fetchone()[0]


def _fingerprint(schema: str) -> dict:
    with schema_context(schema):
        return {name: _rows(sql) for name, sql in FINGERPRINT.items()} | gen.counts(schema)


def _broken(schema: str) -> dict:
    with schema_context(schema):
        return {name: n for name, sql in INVARIANTS.items() if (n := _rows(sql))}


@pytest.mark.once_per_ci  # half a minute of generating; the same PostgreSQL code on either server
def test_a_generated_workspace_is_provisioned_deterministic_and_consistent(capsys):
    # when
    call_command("generate_data", tenant="gen-one", scale=0.01, seed=7, as_of=AS_OF, tenants=1)

    # then: provisioned like any workspace, on <slug>.localhost, with the parameters on its schema
    tenant = Tenant.objects.get(slug="gen-one")
    assert tenant.ready and Domain.objects.filter(tenant=tenant, domain="gen-one.localhost").exists()
    assert gen.schema_marker("gen_one") == "tandem generate_data scale=0.01 seed=7"
    # the same counts on every machine: each choice is a hash of (row number, seed, salt)
    assert gen.counts("gen_one") == {
        "campaigns": 15,
        "cost lines": 1_575,
        "sends": 732,
        "companies": 200,
        "contacts": 1_000,
        "touchpoints": 9_959,
        "transitions": 774,
        "lead decisions": 111,
        "deals": 184,
        "deal stage changes": 752,
        "activities": 814,
        "customers": 31,
        "subscriptions": 32,
        "subscription events": 42,
    }
    with schema_context("gen_one"):
        from marketing.models import Campaign, Touchpoint
        from sales.models import Deal

        assert set(Campaign.objects.values_list("channel", flat=True)) == set(gen.Channel.values)
        assert set(Deal.objects.values_list("status", flat=True)) == {"open", "won", "lost"}
        assert Deal.objects.values("pipeline").distinct().count() == 3
        assert Touchpoint.objects.filter(send__isnull=False).exists()
        assert Touchpoint.objects.filter(contact__isnull=True).exists()
    assert _broken("gen_one") == {}
    # the small extra workspace of --tenants, at the tiny scale
    assert gen.counts("gen_one1")["contacts"] == round(100_000 * gen.TINY_SCALE)
    assert _broken("gen_one1") == {}

    # when: the same command again does nothing; another seed on a filled workspace is refused
    before = _fingerprint("gen_one")
    capsys.readouterr()
    call_command("generate_data", tenant="gen-one", scale=0.01, seed=7, as_of=AS_OF)
    assert "already generated" in capsys.readouterr().out
    with pytest.raises(CommandError, match="already holds data"):
        call_command("generate_data", tenant="gen-one", scale=0.01, seed=8, as_of=AS_OF)
    assert _fingerprint("gen_one") == before

    # then: generating again from scratch yields the very same rows
    start, end = gen.history_window(dt.date.fromisoformat(AS_OF))
    spec = gen.Spec(scale=0.01, seed=7, start=start, end=end, slug="gen-one")
    with transaction.atomic():
        with schema_context("gen_one"), connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no pending checks may block the truncate
            cursor.execute(
                "TRUNCATE marketing_campaign, marketing_company, marketing_contact, marketing_contentasset, "
                "marketing_segment, sales_deal, sales_customeraccount, sales_quota, sales_activity CASCADE"
            )
        gen.generate(schema="gen_one", spec=spec)
        assert _fingerprint("gen_one") == before
        transaction.set_rollback(True)


@pytest.mark.once_per_ci
def test_a_batch_adds_recent_facts_through_the_same_code():
    call_command("generate_data", tenant="gen-batch", scale=0.01, seed=3, as_of=AS_OF)
    before = gen.counts("gen_batch")
    now = END + dt.timedelta(hours=12)
    with schema_context("gen_batch"):
        from alignment.models import DirtyDay
        from marketing.models import Contact, Touchpoint
        from sales.models import Deal

        last_contact, last_deal = Contact.objects.order_by("-id")[0].pk, Deal.objects.order_by("-id")[0].pk
        last_touch = Touchpoint.objects.order_by("-id")[0].pk
        DirtyDay.objects.all().delete()
        gen.generate_batch(fraction=0.002, seed=3, days=3, stream=1, now=now, slug="gen-batch")
        dirty = set(DirtyDay.objects.values_list("day", flat=True))
    after = gen.counts("gen_batch")
    assert after["contacts"] - before["contacts"] == 200
    assert after["touchpoints"] > before["touchpoints"] and after["transitions"] > before["transitions"]
    assert after["deals"] > before["deals"] and after["cost lines"] > before["cost lines"]
    assert after["campaigns"] == before["campaigns"] and after["companies"] == before["companies"]
    # the new facts are dated in the batch's three days, and the days they touch are marked dirty
    window = (now - dt.timedelta(days=3), now)
    with schema_context("gen_batch"):
        assert not Contact.objects.filter(pk__gt=last_contact).exclude(created_at__range=window).exists()
        assert not Touchpoint.objects.filter(pk__gt=last_touch).exclude(occurred_at__range=window).exists()
        assert not Deal.objects.filter(pk__gt=last_deal).exclude(created_at__range=window).exists()
    assert {day for day in dirty if day >= window[0].date()}
    assert _broken("gen_batch").keys() <= {"nothing is dated after the end of the history"}


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"scale": 0}, "--scale must be above 0"),
        ({"scale": -1}, "--scale must be above 0"),
        ({"scale": 1000}, "--scale must be above 0 and at most 50"),
        ({"seed": -3}, "--seed must be between"),
        ({"tenants": -1}, "--tenants must be between"),
        ({"as_of": "yesterday"}, "--as-of must be a date"),
        ({"tenant": "public"}, "--tenant: 'public'"),
        ({"tenant": "x"}, "--tenant: 'x'"),
        ({"tenant": "bad_slug"}, "--tenant: 'bad_slug'"),
        ({"tenant": "a" * 32, "tenants": 1}, "--tenant: '" + "a" * 32 + "1'"),
    ],
)
def test_bad_arguments_are_refused_with_a_clear_error_and_create_nothing(options, message):
    before = Tenant.objects.count()
    arguments = {"tenant": "gen-bad", "scale": 0.01, **options}
    with pytest.raises(CommandError, match=message.replace("[", r"\[")):
        call_command("generate_data", **arguments)
    assert Tenant.objects.count() == before
