"""Two engine runs for one workspace at the same moment: one computes and the other steps aside (or they
follow each other), and every value and credit is stored once (a second copy would break its unique
constraint, which the runs would report as an error).

No django_db mark: the facts must be committed so that the two runs' own connections see them; everything
made here is deleted at the end.
"""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection, connections, transaction
from django_tenants.utils import schema_context

from alignment import engine
from alignment.models import AttributionCredit, DefinitionVersion, DirtyDay, EngineRun, MetricValue
from marketing.models import Campaign, Company, Contact
from marketing.services.campaigns import cost_line_add
from marketing.services.contacts import contact_change_stage
from marketing.services.touchpoints import touchpoint_create
from sales.models import Deal
from sales.services.deals import deal_close_won, deal_create
from tests.marketing import factories


def at(month: int, day: int) -> dt.datetime:
    return dt.datetime(2026, month, day, 12, tzinfo=dt.UTC)


def facts(made: dict, month: int) -> None:
    """A campaign's lead with a touch, a won deal sourced by it and the campaign's spend, in ``month``."""
    with transaction.atomic():
        campaign = factories.campaign(channel="email")
        company = factories.company()
        contact = factories.contact(company=company.pk)
        touchpoint_create(
            data={
                "kind": "page_visit",
                "contact_id": contact.pk,
                "campaign_id": campaign.pk,
                "occurred_at": at(month, 2).isoformat(),
            }
        )
        contact_change_stage(contact=contact, to_stage="mql", at=at(month, 3))
        deal = deal_create(data={"name": "Race deal", "amount": "1200", "source_campaign": campaign.pk})
        deal_close_won(deal=deal, at=at(month, 20))
        cost_line_add(campaign=campaign, data={"date": at(month, 5).date().isoformat(), "amount": "300"})
    made.setdefault("campaigns", []).append(campaign.pk)
    made.setdefault("companies", []).append(company.pk)
    made.setdefault("contacts", []).append(contact.pk)
    made.setdefault("deals", []).append(deal.pk)


def run_together(django_db_blocker, *, full: bool) -> tuple[list, list]:
    """Two runs on two connections, released at the same moment."""
    barrier = threading.Barrier(2)
    results, errors = [], []

    def run():
        try:
            with django_db_blocker.unblock(), schema_context("alpha"):
                barrier.wait(timeout=10)
                results.append(engine.run(full=full))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results, errors


@pytest.mark.parametrize("full", [True, False], ids=["full", "incremental"])
def test_two_simultaneous_runs_store_each_value_once(tenant_a, django_db_blocker, full):
    made: dict = {}
    with django_db_blocker.unblock(), schema_context("alpha"):
        versions = set(DefinitionVersion.objects.values_list("pk", flat=True))
        runs = set(EngineRun.objects.values_list("pk", flat=True))
    try:
        # given: committed facts; for incremental runs, computed once, then new facts on other days
        with django_db_blocker.unblock(), schema_context("alpha"):
            facts(made, month=3)
            if not full:
                engine.run(full=True)
                facts(made, month=5)
                assert DirtyDay.objects.exists()
        # when
        results, errors = run_together(django_db_blocker, full=full)
        # then
        assert errors == [] and len(results) == 2
        ran = sorted((r for r in results if r is not None and r.pk is not None), key=lambda r: r.started_at)
        assert ran and ran[0].values_written > 0  # one of them computed
        if len(ran) == 2:  # the other began only once the first had committed, and found nothing to do
            assert ran[1].started_at >= ran[0].finished_at and ran[1].values_written == 0
        with django_db_blocker.unblock(), schema_context("alpha"):
            assert MetricValue.objects.filter(model="first_touch").exists()  # credits were rolled up too
            assert not DirtyDay.objects.exists()  # every mark was taken, once
            assert engine.run(full=True).values_written == 0  # what they stored is the full result
    finally:
        with django_db_blocker.unblock(), schema_context("alpha"):
            MetricValue.objects.all().delete()
            AttributionCredit.objects.all().delete()
            EngineRun.objects.exclude(pk__in=runs).delete()
            DefinitionVersion.objects.exclude(pk__in=versions).delete()
            Deal.objects.filter(pk__in=made.get("deals", [])).delete()
            Contact.objects.filter(pk__in=made.get("contacts", [])).delete()
            Company.objects.filter(pk__in=made.get("companies", [])).delete()
            Campaign.objects.filter(pk__in=made.get("campaigns", [])).delete()
            DirtyDay.objects.all().delete()
        connection.set_schema_to_public()
