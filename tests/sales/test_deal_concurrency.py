"""Two people moving one deal at the same moment: the row lock keeps its history consistent.

No django_db mark: the deal must be committed so that two other connections can see and lock it.
"""

from __future__ import annotations

import threading

from django.db import connection
from django_tenants.utils import schema_context

from sales.models import Deal, Pipeline
from sales.services.deals import deal_create, deal_move


def test_two_simultaneous_moves_leave_a_consistent_history(tenant_a, django_db_blocker):
    """Two connections move the same deal at the same moment; the row lock serialises them."""
    with django_db_blocker.unblock(), schema_context("alpha"):
        deal = deal_create(data={"name": "Race", "amount": "1"})
        pipeline = Pipeline.objects.get(name="New business")
        targets = [pipeline.stages.get(name="Demo").pk, pipeline.stages.get(name="Proposal").pk]
    barrier = threading.Barrier(2)
    errors = []

    def move(target):
        from django.db import connections

        try:
            with django_db_blocker.unblock(), schema_context("alpha"):
                barrier.wait(timeout=10)
                deal_move(deal=Deal(pk=deal.pk), stage=target)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=move, args=(t,)) for t in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    try:
        assert errors == []
        with django_db_blocker.unblock(), schema_context("alpha"):
            final = Deal.objects.get(pk=deal.pk)
            changes = list(final.stage_changes.order_by("id").values_list("from_stage_id", "to_stage_id"))
            assert len(changes) == 3 and final.version == 3
            for (_, previous_to), (current_from, _) in zip(changes, changes[1:], strict=False):
                assert current_from == previous_to  # each move starts where the last one ended
            assert final.stage_id == changes[-1][1]
    finally:
        with django_db_blocker.unblock(), schema_context("alpha"):
            Deal.objects.filter(pk=deal.pk).delete()
        connection.set_schema_to_public()
