"""Task bases and the dispatcher, run eagerly in-process. The integration suite repeats the schema
checks in a real worker."""

from __future__ import annotations

import pytest
from django.conf import settings

from accounts.tasks import where_am_i
from accounts.tenancy.models import Domain, Tenant
from accounts.tenancy.tasks import dispatch_plan, dispatch_to_tenants, provision_tenant
from config.celery import WrongSchemaError, app, send_to_platform, send_to_tenant

pytestmark = pytest.mark.django_db


def test_tenant_task_runs_in_the_schema_it_was_sent_for(tenant_a, tenant_b):
    assert send_to_tenant(where_am_i, "alpha").get()["postgres"] == "alpha"
    assert send_to_tenant(where_am_i, "beta").get()["postgres"] == "beta"


def test_tenant_task_without_a_tenant_fails_instead_of_touching_public(tenant_a):
    with pytest.raises(WrongSchemaError, match="refused to run in the public schema"):
        where_am_i.apply_async(kwargs={"tenant_schema": None}, headers={"_schema_name": "public"}).get()
    with pytest.raises(WrongSchemaError, match="refused to run in the public schema"):
        where_am_i.apply_async(kwargs={"tenant_schema": "alpha"}, headers={"_schema_name": "public"}).get()
    with pytest.raises(WrongSchemaError):
        send_to_tenant(where_am_i, "public")


def test_tenant_task_with_mismatched_header_and_argument_fails(tenant_a, tenant_b):
    with pytest.raises(WrongSchemaError, match="sent for 'beta' but runs in 'alpha'"):
        where_am_i.apply_async(kwargs={"tenant_schema": "beta"}, headers={"_schema_name": "alpha"}).get()


def test_platform_task_refuses_a_tenant_schema(tenant_a):
    with pytest.raises(WrongSchemaError, match="must run in public"):
        provision_tenant.apply_async(
            kwargs={"tenant_id": tenant_a.pk}, headers={"_schema_name": "alpha"}
        ).get()


def test_dispatcher_reaches_every_ready_active_tenant_and_no_other(tenant_a, tenant_b):
    pending = Tenant(name="Pending", slug="pending-one")
    pending.save()
    inactive = Tenant(name="Inactive", slug="inactive-one", ready=True, is_active=False)
    inactive.save()
    Domain.objects.create(domain="pending-one.localhost", tenant=pending)
    result = send_to_platform(
        dispatch_to_tenants, kwargs={"task_name": "accounts.where_am_i", "period_seconds": 1}
    ).get()
    assert sorted(result) == ["alpha", "beta"]


def test_dispatch_plan_spreads_sends_and_expires_them():
    plan = dispatch_plan(["alpha", "beta", "gamma"], period_seconds=300)
    assert [schema for schema, _, _ in plan] == ["alpha", "beta", "gamma"]
    for _, countdown, expires in plan:
        assert 0 <= countdown <= 60
        assert expires == pytest.approx(countdown + 450)
    assert all(countdown <= 0.2 for _, countdown, _ in dispatch_plan(["a"] * 20, period_seconds=1))


def test_worker_settings_reuse_connections_and_cache_tenants():
    assert app.conf.get("CELERY_DB_REUSE_MAX") == settings.CELERY_DB_REUSE_MAX > 0
    assert settings.DATABASES["default"]["CONN_HEALTH_CHECKS"] is True
    assert int(app.conf.task_tenant_cache_seconds) > 0
    assert app.conf.worker_prefetch_multiplier == 1
    for name in ("tenancy.provision_tenant", "accounts.housekeeping", "accounts.send_invitation_email"):
        assert app.tasks[name].acks_late, name


def test_the_whole_schedule_goes_through_the_dispatcher_but_the_outbox_relay():
    app.loader.import_default_modules()  # what a worker does at start: every app's tasks module
    schedule = dict(app.conf.beat_schedule)
    # the relay is one platform task for every workspace (the outbox is in public), expiring in one period
    relay = schedule.pop("outbox-relay")
    assert relay["task"] == "tenancy.relay_outbox" and relay["task"] in app.tasks
    assert relay["options"]["expires"] == relay["schedule"]
    assert schedule
    for entry in schedule.values():
        assert entry["task"] == "tenancy.dispatch_to_tenants"
        assert entry["kwargs"]["task_name"] in app.tasks
