"""Workspace job locks: one run of a job per workspace, never blocking the same job elsewhere."""

from __future__ import annotations

import pytest
from django.db import connections, transaction
from django_tenants.utils import schema_context

from accounts.locks import try_workspace_lock


def test_a_job_lock_is_per_workspace_and_per_job(tenant_a, tenant_b, django_db_blocker, settings):
    import psycopg

    dsn = connections["default"].get_connection_params()
    with django_db_blocker.unblock(), schema_context("alpha"), transaction.atomic():
        cursor = connections["default"].cursor()
        assert try_workspace_lock(cursor, "marketing.rescore")
        # a second connection: same job in the same schema waits; in another schema or another job it runs
        with psycopg.connect(**dsn, autocommit=True) as other:

            def takes(schema: str, job: str) -> bool:
                with other.transaction():
                    other.execute(f'SET LOCAL search_path TO "{schema}"')
                    return try_workspace_lock(other.cursor(), job)

            assert not takes("alpha", "marketing.rescore")
            assert takes("beta", "marketing.rescore")
            assert takes("alpha", "alignment.engine")
    with pytest.raises(KeyError):
        try_workspace_lock(None, "unknown.job")
