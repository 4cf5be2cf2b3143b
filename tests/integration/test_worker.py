"""A real Celery worker process: tasks run in the schema of the tenant they were sent for."""

from __future__ import annotations

import pytest

from accounts.tasks import where_am_i
from accounts.tenancy.models import Tenant
from accounts.tenancy.tasks import dispatch_to_tenants
from config.celery import WrongSchemaError, send_to_platform, send_to_tenant
from tests.conftest import PASSWORD
from tests.processes import real_broker

pytestmark = pytest.mark.integration


@pytest.fixture
def committed(django_db_blocker):
    """Database access outside a test transaction, so the worker sees what the test writes."""
    with django_db_blocker.unblock():
        yield


def test_task_sent_for_a_tenant_runs_in_its_schema_in_a_real_worker(celery_worker, queue_name, committed):
    with real_broker():
        for schema in ("alpha", "beta", "alpha"):
            result = send_to_tenant(where_am_i, schema, queue=queue_name).get(timeout=60)
            assert result == {"sent_for": schema, "connection": schema, "postgres": schema}


def test_task_without_a_tenant_fails_in_the_worker(celery_worker, queue_name, committed):
    with real_broker():
        result = where_am_i.apply_async(
            kwargs={"tenant_schema": None}, headers={"_schema_name": "public"}, queue=queue_name
        )
        with pytest.raises(WrongSchemaError, match="refused to run in the public schema"):
            result.get(timeout=60)
    assert result.state == "FAILURE"


def test_task_with_mismatched_tenant_fails_in_the_worker(celery_worker, queue_name, committed):
    with real_broker():
        result = where_am_i.apply_async(
            kwargs={"tenant_schema": "beta"}, headers={"_schema_name": "alpha"}, queue=queue_name
        )
        with pytest.raises(WrongSchemaError, match="sent for 'beta' but runs in 'alpha'"):
            result.get(timeout=60)


def test_dispatcher_in_the_worker_reaches_every_ready_tenant_and_no_other(
    celery_worker, queue_name, committed
):
    from celery.result import AsyncResult

    from config.celery import app

    extra = [
        Tenant(name="Not ready", slug="int-pending"),
        Tenant(name="Inactive", slug="int-inactive", ready=True, is_active=False),
    ]
    for tenant in extra:
        tenant.save()
    try:
        with real_broker():
            sent = send_to_platform(
                dispatch_to_tenants,
                kwargs={"task_name": "accounts.where_am_i", "period_seconds": 1},
                queue=queue_name,
            ).get(timeout=60)
            assert sorted(sent) == ["alpha", "beta"]
            for schema, task_id in sent.items():
                assert AsyncResult(task_id, app=app).get(timeout=60)["postgres"] == schema
    finally:
        Tenant.objects.filter(slug__in=[t.slug for t in extra]).delete()


@pytest.fixture
def third_tenant(committed):
    """A third workspace, provisioned like any other for this test only (the dispatcher test above counts
    exactly two), and dropped with its schema afterwards."""
    from django.db import connection

    from accounts.tenancy.services import tenant_create

    tenant = tenant_create(
        slug="int-gamma", name="Gamma Int", admin_email="gil@gamma.example", admin_password=PASSWORD
    )
    connection.set_schema_to_public()
    try:
        yield tenant.schema_name
    finally:
        connection.set_schema_to_public()
        Tenant.objects.filter(pk=tenant.pk).delete()
        with connection.cursor() as cursor:
            cursor.execute(f'DROP SCHEMA IF EXISTS "{tenant.schema_name}" CASCADE')


def test_the_metric_dispatcher_computes_each_tenant_in_its_own_schema(
    celery_worker, queue_name, committed, third_tenant
):
    import datetime as dt

    from celery.result import AsyncResult
    from django.db import connection
    from django_tenants.utils import schema_context

    from alignment.models import AttributionCredit, DefinitionVersion, DirtyDay, EngineRun, MetricValue
    from config.celery import app
    from sales.models import Deal
    from sales.services.deals import deal_create

    # given: in each workspace one deal that tells it apart, on a day and with an amount of its own
    facts = {
        "alpha": (dt.date(2025, 2, 3), 111),
        "beta": (dt.date(2025, 2, 4), 222),
        third_tenant: (dt.date(2025, 2, 5), 333),
    }
    made, versions = {}, {}
    for schema, (day, amount) in facts.items():
        with schema_context(schema):
            versions[schema] = list(DefinitionVersion.objects.values_list("pk", flat=True))
            deal = deal_create(data={"name": f"Metric {schema}", "amount": str(amount)})
            moment = dt.datetime.combine(day, dt.time(12), tzinfo=dt.UTC)
            Deal.objects.filter(pk=deal.pk).update(created_at=moment)
            made[schema] = deal.pk
    try:
        # when: the dispatcher fans the full recompute out, and the real worker runs it in each schema
        with real_broker():
            sent = send_to_platform(
                dispatch_to_tenants,
                # a period long enough for three runs one after another in the one-process worker:
                # a send expires 1.5 periods after it is due, and is due within a fifth of one
                kwargs={"task_name": "alignment.recompute_metrics", "period_seconds": 20},
                queue=queue_name,
            ).get(timeout=60)
            assert sorted(sent) == sorted(facts)
            for task_id in sent.values():
                assert AsyncResult(task_id, app=app).get(timeout=180)["values_written"] >= 1
        # then, read from PostgreSQL by schema-qualified names: each schema holds its own deal's value and
        # none of the others' days
        with connection.cursor() as cursor:
            for schema in facts:
                cursor.execute(
                    f"SELECT period_start, value FROM {schema}.alignment_metricvalue "  # noqa: S608 - our names
                    "WHERE metric = 'pipeline_created' AND granularity = 'day' AND dimension = '' "
                    "AND period_start = ANY(%s)",
                    [[day for day, _ in facts.values()]],
                )
                assert cursor.fetchall() == [(facts[schema][0], facts[schema][1])], schema
            # and nothing of the engine exists, or was written, in public
            cursor.execute(
                "SELECT count(*) FROM information_schema.tables "
                "WHERE table_schema = 'public' AND table_name LIKE 'alignment%%'"
            )
            assert cursor.fetchone()[0] == 0
            cursor.execute("SELECT to_regclass('public.alignment_metricvalue')")
            assert cursor.fetchone()[0] is None
    finally:
        for schema, pk in made.items():
            with schema_context(schema):
                Deal.objects.filter(pk=pk).delete()
                MetricValue.objects.all().delete()
                AttributionCredit.objects.all().delete()
                EngineRun.objects.all().delete()
                DefinitionVersion.objects.exclude(pk__in=versions[schema]).delete()
                DirtyDay.objects.all().delete()
        connection.set_schema_to_public()
