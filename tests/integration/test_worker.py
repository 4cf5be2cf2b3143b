"""A real Celery worker process: tasks run in the schema of the tenant they were sent for."""

from __future__ import annotations

import pytest

from accounts.tasks import where_am_i
from accounts.tenancy.models import Tenant
from accounts.tenancy.tasks import dispatch_to_tenants
from config.celery import WrongSchemaError, send_to_platform, send_to_tenant
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


def test_the_metric_dispatcher_computes_each_tenant_in_its_own_schema(celery_worker, queue_name, committed):
    from celery.result import AsyncResult
    from django.db import connection
    from django_tenants.utils import schema_context

    from alignment.models import MetricValue
    from config.celery import app
    from sales.services.deals import deal_create

    made = {}
    for schema, amount in (("alpha", "111"), ("beta", "222")):
        with schema_context(schema):
            made[schema] = deal_create(data={"name": f"Metric {schema}", "amount": amount}).pk
    try:
        with real_broker():
            sent = send_to_platform(
                dispatch_to_tenants,
                kwargs={"task_name": "alignment.recompute_metrics", "period_seconds": 1},
                queue=queue_name,
            ).get(timeout=60)
            assert sorted(sent) == ["alpha", "beta"]
            for task_id in sent.values():
                assert (
                    AsyncResult(task_id, app=app).get(timeout=120)["values_written"] >= 1
                )  # at least the new deal's day
        from django.db.models import Sum

        from sales.models import Deal

        for schema in ("alpha", "beta"):
            with schema_context(schema):
                deal = Deal.objects.get(pk=made[schema])
                expected = Deal.objects.filter(created_at__date=deal.created_at.date()).aggregate(
                    s=Sum("amount")
                )
                stored = MetricValue.objects.get(
                    metric="pipeline_created",
                    granularity="day",
                    dimension="",
                    period_start=deal.created_at.date(),
                )
                assert stored.value == expected["s"], schema  # each schema's own deals, computed in it
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM information_schema.tables "
                "WHERE table_schema = 'public' AND table_name LIKE 'alignment_%%'"
            )
            assert cursor.fetchone()[0] == 0  # nothing of the engine exists, or was written, in public
    finally:
        from sales.models import Deal

        for schema, pk in made.items():
            with schema_context(schema):
                Deal.objects.filter(pk=pk).delete()
                MetricValue.objects.all().delete()
        connection.set_schema_to_public()
