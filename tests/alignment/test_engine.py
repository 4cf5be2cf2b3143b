"""The metric engine: hand-computed values on a small fixture, empty periods as no data, reruns that change
nothing, incremental runs equal to a full recompute, dirty-day triggers and the one-run-at-a-time lock."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django_tenants.utils import schema_context

from accounts.locks import try_workspace_lock
from alignment import engine, registry
from alignment.models import DirtyDay, MetricValue
from marketing.models import Contact, CostLine, StageTransition
from sales.models import Deal, LossReason
from sales.services.deals import deal_create
from tests.alignment.helpers import at, snapshot, value
from tests.marketing import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def facts(alpha):
    """Campaign A (email) and B (paid social); four contacts with dated stage entries; four closed deals."""
    a = factories.campaign(name="A", channel="email")
    b = factories.campaign(name="B", channel="paid_social")
    history = {
        a: [("lead", at(3, 5)), ("mql", at(3, 10)), ("sql", at(4, 2))],
        b: [("mql", at(4, 3)), ("sql", at(4, 10))],
        None: [("lead", at(4, 15))],
    }
    rows = []
    for campaign, entries in history.items():
        contact = factories.contact()
        Contact.objects.filter(pk=contact.pk).update(first_touch_campaign=campaign)
        rows += [StageTransition(contact=contact, to_stage=stage, at=moment) for stage, moment in entries]
    second_a = factories.contact()
    Contact.objects.filter(pk=second_a.pk).update(first_touch_campaign=a)
    rows += [
        StageTransition(contact=second_a, to_stage="lead", at=at(3, 20)),
        StageTransition(contact=second_a, to_stage="mql", at=at(3, 25)),
    ]
    StageTransition.objects.filter(contact__in=Contact.objects.all()).delete()  # only the dated history
    StageTransition.objects.bulk_create(rows)
    deals = {}
    for name, amount, status, created, closed, campaign in [
        ("d1", "1000", "won", at(3, 1), at(4, 5), a),
        ("d2", "3000", "won", at(3, 15), at(4, 20), b),
        ("d3", "2000", "lost", at(4, 1), at(4, 25), a),
        ("d4", "500", "won", at(4, 2), at(5, 2), None),
    ]:
        deal = deal_create(data={"name": name, "amount": amount})
        lost = (
            {"loss_category": "pricing", "loss_reason": LossReason.objects.first()}
            if status == "lost"
            else {}
        )
        Deal.objects.filter(pk=deal.pk).update(
            status=status, created_at=created, closed_at=closed, source_campaign=campaign, **lost
        )
        deals[name] = deal
    CostLine.objects.bulk_create(
        [
            CostLine(campaign=a, date=dt.date(2026, 3, 31), amount=Decimal("300")),
            CostLine(campaign=b, date=dt.date(2026, 4, 1), amount=Decimal("700")),
        ]
    )
    return {"a": a, "b": b, **deals}


def test_hand_computed_month_values(facts):
    engine.run(full=True)
    a = facts["a"].pk
    # March: leads c1 (A) + c2 (A) = 2; MQLs c1, c2 = 2 (both A, channel email); SQLs none -> rate 0 / 2 = 0
    assert (value("leads", 3), value("mqls", 3), value("sqls", 3)) == (2, 2, 0)
    assert value("mqls", 3, "campaign", a) == 2 and value("mqls", 3, "channel", "email") == 2
    assert value("mql_to_sql_rate", 3) == 0
    # April: leads c4 (no campaign) = 1; MQLs c3 (B) = 1; SQLs c1 (A) + c3 (B) = 2 -> rate 2 / 1 = 2
    assert (value("leads", 4), value("mqls", 4), value("sqls", 4)) == (1, 1, 2)
    assert value("leads", 4, "campaign", engine.NONE) == 1
    assert value("mql_to_sql_rate", 4) == 2
    # April, channel email: one SQL and no MQL -> no data, never a division by zero
    assert value("mql_to_sql_rate", 4, "channel", "email") is None
    # May has no stage entries at all: nothing stored, shown as no data
    assert value("mql_to_sql_rate", 5) is None
    # Deals closed in April: d1 won 1000, d2 won 3000, d3 lost -> win rate 2/3, revenue 4000, average 2000
    assert value("win_rate", 4).quantize(Decimal("0.0001")) == Decimal("0.6667")
    assert (value("deals_won", 4), value("revenue_won", 4), value("average_deal_size", 4)) == (2, 4000, 2000)
    # by campaign: A closed d1 (won) and d3 (lost) -> 1/2; B closed d2 (won) -> 1
    assert value("win_rate", 4, "campaign", a) == Decimal("0.5")
    assert value("win_rate", 4, "campaign", facts["b"].pk) == 1
    # May: d4 won 500 -> win rate 1, average 500
    assert (value("win_rate", 5), value("average_deal_size", 5)) == (1, 500)
    # Pipeline created by creation month: March d1 1000 + d2 3000; April d3 2000 + d4 500
    assert (value("pipeline_created", 3), value("pipeline_created", 4)) == (4000, 2500)
    # Spend by cost-line date: March 300 (A, email), April 700 (B, paid social)
    assert (value("marketing_spend", 3), value("marketing_spend", 4, "channel", "paid_social")) == (300, 700)
    # every stored value names the definition version it used
    assert set(MetricValue.objects.values_list("definition", flat=True)) == {engine.current_definition().pk}


def test_quarter_and_week_buckets(facts):
    engine.run(full=True)
    q2 = MetricValue.objects.get(
        metric="sqls", granularity="quarter", period_start=dt.date(2026, 4, 1), dimension=""
    )
    assert q2.value == 2
    q1 = MetricValue.objects.get(
        metric="leads", granularity="quarter", period_start=dt.date(2026, 1, 1), dimension=""
    )
    assert q1.value == 2
    # 10 March 2026 is a Tuesday: its week starts on Monday 9 March
    week = MetricValue.objects.get(
        metric="mqls", granularity="week", period_start=dt.date(2026, 3, 9), dimension=""
    )
    assert week.value == 1


def test_a_rerun_changes_nothing(facts):
    engine.run(full=True)
    before = {v.pk: (v.value, v.computed_at) for v in MetricValue.objects.all()}
    again = engine.run(full=True)
    assert again.values_written == 0
    assert {v.pk: (v.value, v.computed_at) for v in MetricValue.objects.all()} == before


def test_incremental_equals_a_full_recompute_after_writes(facts):
    engine.run(full=True)
    DirtyDay.objects.all().delete()
    # given: writes in several periods, including a deletion and an edit
    contact = factories.contact()
    StageTransition.objects.create(contact=contact, to_stage="mql", at=at(5, 9))
    StageTransition.objects.filter(to_stage="lead", at=at(4, 15)).delete()
    Deal.objects.filter(pk=facts["d2"].pk).update(amount=Decimal("5000"))
    CostLine.objects.create(campaign=facts["b"], date=dt.date(2026, 6, 3), amount=Decimal("50"))
    assert DirtyDay.objects.exists()
    # when
    run = engine.run()
    incremental = snapshot()
    engine.run(full=True)
    # then
    assert run.days > 0 and not DirtyDay.objects.exists()
    assert incremental == snapshot()
    assert value("leads", 4) == 0  # April still has other stage entries; its only lead is gone
    assert value("leads", 4, "campaign", engine.NONE) is None  # that group is gone: its stale value too
    assert value("revenue_won", 4) == 6000
    assert value("mqls", 5) == 1 and value("marketing_spend", 6) == 50


def test_a_quiet_refresh_is_one_query_and_any_mark_or_new_definition_makes_it_run(facts):
    from django.test.utils import CaptureQueriesContext

    from alignment.models import DefinitionVersion, DirtyDeal, EngineRun

    engine.run(full=True)
    DirtyDay.objects.all().delete()
    DirtyDeal.objects.all().delete()
    with CaptureQueriesContext(connection) as queries:
        quiet = engine.run()
    assert len(queries) == 1 and quiet.pk is None and quiet.values_written == 0
    # a marked day, a marked deal, or definitions not yet fully computed each take the full path
    StageTransition.objects.create(contact=factories.contact(), to_stage="mql", at=at(5, 9))
    assert DirtyDay.objects.exists() and engine.run().days > 0
    DirtyDeal.objects.create(deal_id=facts["d2"].pk)
    assert not engine._quiet()
    engine.run()
    assert engine._quiet()
    DefinitionVersion.objects.create()
    assert not engine._quiet()
    assert engine.run().kind == EngineRun.Kind.FULL


def test_the_quiet_check_is_one_statement_without_a_health_check_or_a_search_path(alpha, monkeypatch):
    """The every-45-seconds refresh of a quiet workspace: one round trip, the statement qualified by the
    workspace's schema, not a health check, a SET search_path and the statement (three)."""
    from django.test.utils import CaptureQueriesContext

    from alignment.models import DirtyDeal

    DirtyDay.objects.all().delete()
    DirtyDeal.objects.all().delete()
    checks = []
    usable = connection.is_usable
    monkeypatch.setattr(connection, "is_usable", lambda: checks.append(1) or usable())
    connection.set_schema_to_public()  # as a worker is between two tasks
    connection.set_schema("alpha")
    connection.health_check_done = False  # as the task's start leaves it (config.celery)
    with CaptureQueriesContext(connection) as queries:
        assert engine._quiet()
    assert [q["sql"].count('"alpha".alignment_dirty') for q in queries] == [2]
    assert checks == []
    DirtyDeal.objects.create(deal_id=1)
    assert not engine._quiet()


def test_the_quiet_check_connects_again_when_its_connection_died(alpha, monkeypatch, caplog):
    """A database restart between two tasks: the statement finds the connection dead, closes it, and
    answers over a new one (what the health check it skips would have done)."""
    from django.db import connections

    spare = connections.create_connection("default")
    spare.set_schema("alpha")
    with spare.cursor() as cursor:  # committed: a mark the dead connection's successor must see
        cursor.execute("INSERT INTO alignment_dirtydeal (deal_id) VALUES (-1) RETURNING id")
        mark = cursor.fetchone()[0]
    dead_pid = spare.connection.info.backend_pid
    with connection.cursor() as cursor:  # the server ends that session, as a restart does
        cursor.execute("SELECT pg_terminate_backend(%s, 5000)", [dead_pid])
        assert cursor.fetchone()[0]
    monkeypatch.setattr(engine, "connection", spare)
    try:
        assert engine._quiet() is False  # the database's answer: it sees the mark
        assert spare.connection.info.backend_pid != dead_pid
    finally:
        with spare.cursor() as cursor:
            cursor.execute("DELETE FROM alignment_dirtydeal WHERE id = %s", [mark])
        spare.close()
    assert "connection was lost" in caplog.text


def test_a_workspace_whose_newest_definitions_were_never_computed_is_marked_by_the_migration(facts):
    from importlib import import_module

    from alignment.models import DefinitionVersion, DirtyDeal, EngineRun

    pending = import_module("alignment.migrations.0016_definition_marks").PENDING
    engine.run(full=True)
    DirtyDeal.objects.all().delete()
    with connection.cursor() as cursor:
        cursor.execute(pending)  # computed: nothing to mark
        assert engine._quiet()
        DefinitionVersion.objects.create(cohort_window_days=30)
        assert not engine._quiet()  # the trigger marked its day
        DirtyDay.objects.all().delete()  # as a version made before the trigger existed
        assert engine._quiet()
        cursor.execute(pending)
    assert not engine._quiet()
    assert engine.run().kind == EngineRun.Kind.FULL and engine._quiet()


def test_triggers_mark_the_days_a_write_touches(alpha):
    DirtyDay.objects.all().delete()
    deal = deal_create(data={"name": "Marked", "amount": "1"})
    Deal.objects.filter(pk=deal.pk).update(closed_at=at(2, 14), status="won")
    days = set(DirtyDay.objects.values_list("day", flat=True))
    assert dt.date(2026, 2, 14) in days and deal.created_at.date() in days


def test_the_engine_never_runs_in_public_or_twice_at_once(alpha, django_db_blocker):
    import threading

    connection.set_schema_to_public()
    with pytest.raises(RuntimeError):
        engine.run(full=True)
    connection.set_tenant(alpha)
    # another connection holds the workspace's lock: this run steps aside
    held, release = threading.Event(), threading.Event()

    def hold():
        from django.db import connections, transaction

        with django_db_blocker.unblock(), schema_context("alpha"):
            with transaction.atomic(), connections["default"].cursor() as cursor:
                assert try_workspace_lock(cursor, "alignment.engine")
                held.set()
                release.wait(10)
            connections.close_all()

    thread = threading.Thread(target=hold)
    thread.start()
    assert held.wait(10)
    try:
        assert engine.run(full=True) is None
    finally:
        release.set()
        thread.join(10)
    # once the lock is released, the same run goes ahead
    assert engine.run(full=True).pk is not None


def test_the_registry_describes_every_metric_once(facts):
    assert len(registry._METRICS) == len(registry.REGISTRY)  # no key registered twice
    for metric in registry.REGISTRY.values():
        assert metric.unit in {"count", "ratio", "currency", "days", "hours", "months", "index"}, metric.key
        assert metric.better in {"up", "down"} and set(metric.owners) <= {"marketing", "sales"}
        assert set(metric.periods) <= set(registry.GRANULARITIES) and metric.periods
        assert set(metric.dimensions) <= set(registry.DIMENSIONS)
    # every computed metric is registered with exactly the dimensions the engine breaks it down by, and
    # every registered metric is computed unless it waits for a later module's facts
    computed: dict[str, set] = {}
    for comp in engine.COMPUTATIONS:
        for key in comp.keys:
            computed.setdefault(key, set()).update(comp.dimensions)
    for key, metric in registry.REGISTRY.items():
        if metric.needs:
            assert key not in computed, key
        else:
            assert computed.get(key) == set(metric.dimensions), key
    # and values are stored only for the granularities and dimensions a metric is registered for
    engine.run(full=True)
    stored = set(MetricValue.objects.values_list("metric", "granularity", "dimension").distinct())
    assert stored and all(grain in registry.REGISTRY[key].periods for key, grain, _ in stored)
    assert all(dim in ("", *registry.REGISTRY[key].dimensions) for key, _, dim in stored)


def test_a_statement_reading_stored_values_declares_them():
    """Values are stored once per granularity batch; a computation reading a stored metric has the batch
    stored first only for the metrics it declares (``reads``), so every metric its SQL names is declared,
    and only computations that read stored values declare any."""
    import re

    for comp in engine.COMPUTATIONS:
        for grain in registry.GRANULARITIES:
            keys = [k for k in comp.keys if grain in registry.REGISTRY[k].periods]
            if not keys:
                continue
            sql = comp.sql(grain, keys)
            named = set(re.findall(r"metric = '(\w+)'", sql))
            for listed in re.findall(r"metric IN \(([^)]*)\)", sql):
                named |= set(re.findall(r"'(\w+)'", listed))
            if "alignment_metricvalue" in sql:
                assert named and named <= set(comp.reads), (comp.name, named - set(comp.reads))
            else:
                assert not comp.reads, comp.name
            assert set(comp.reads) <= set(registry.REGISTRY), comp.name


def test_the_recompute_command_takes_a_ready_workspace_slug(tenant_a):
    from io import StringIO

    from django.core.management import CommandError, call_command

    for wrong in ("public", "nope"):
        with pytest.raises(CommandError, match="No ready workspace"):
            call_command("recompute_metrics", tenant=wrong)
    out = StringIO()
    call_command("recompute_metrics", tenant="ALPHA", stdout=out)  # slugs are lower case; input may not be
    assert "values written under definitions v" in out.getvalue()
    connection.set_schema_to_public()
