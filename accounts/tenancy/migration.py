"""Migration executor for ``migrate_schemas``: tenants whose schema does not exist yet are skipped.

A workspace that is still waiting for its provisioning task has a Tenant row but no schema; the stock
executor would stop the whole run on it. The provisioning task migrates it when it gets there.
"""

from __future__ import annotations

from django.db import connection
from django_tenants.migration_executors import get_executor as stock_get_executor
from django_tenants.migration_executors.standard import StandardExecutor


def existing_schemas() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT nspname FROM pg_namespace")
        return {row[0] for row in cursor.fetchall()}


class ExistingSchemasExecutor(StandardExecutor):
    codename = "tandem"

    def run_migrations(self, tenants=None):
        tenants = list(tenants or [])
        present = existing_schemas()
        return super().run_migrations(tenants=[name for name in tenants if name in present])


def get_executor(codename=None):
    if codename in (None, "standard", "tandem"):
        return ExistingSchemasExecutor
    return stock_get_executor(codename)
