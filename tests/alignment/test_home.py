"""The leadership home gathers what needs attention: goals at risk or off track, open SLA breaches and the
top of the objection backlog; isolated between workspaces, with a query budget that does not grow."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import schema_context

from alignment import objections
from alignment.models import Goal, SlaClock
from tests.conftest import login, user_in
from tests.marketing import factories

pytestmark = pytest.mark.django_db

HOME = "/alignment/"


def _seed(slug: str, tag: str, n: int = 1) -> None:
    with schema_context(slug):
        sara = user_in(slug, "sales")
        for i in range(n):
            for status in ("on_track", "at_risk", "off_track"):
                Goal.objects.create(
                    name=f"{tag} {status} {i}", metric="leads", period="quarter",
                    period_start=dt.date(2026, 10, 1), target=100, status=status,
                )  # fmt: skip
            SlaClock.objects.create(
                contact=factories.contact(), owner=sara,
                mql_at=dt.datetime(2026, 10, 5 + i % 20, tzinfo=dt.UTC),
                first_touch_hours=4, decision_hours=8, at_risk_share=Decimal("0.75"), escalate_after_hours=8,
                first_touch_breached_at=dt.datetime(2026, 10, 6, tzinfo=dt.UTC), escalation_level=1,
            )  # fmt: skip
            heard = objections.objection_save(
                actor=None, data={"name": f"{tag} objection {i}", "category": "other"}
            )
            objections.objection_log(actor=None, objection=heard, contact=factories.contact())


def _get(client, path=HOME):
    response = client.get(path)
    connection.set_schema_to_public()
    return response


def test_the_home_shows_what_needs_attention(tenant_a, tenant_b):
    _seed("alpha", "alphacanary")
    _seed("beta", "betacanary")
    html = _get(login("alpha", "leadership")).content.decode()
    assert "alphacanary at_risk 0" in html and "alphacanary off_track 0" in html
    assert "alphacanary on_track 0" not in html  # on track needs no attention
    assert 'data-testid="breach-count">1 open' in html and "alphacanary objection 0" in html
    assert "betacanary" not in html


def test_the_home_query_budget_does_not_grow(tenant_a):
    client = login("alpha", "leadership")

    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert _get(client).status_code == 200
        return len(ctx.captured_queries)

    _seed("alpha", "few")
    queries()  # the first read stores the workspace's first (default) definition version
    few = queries()
    _seed("alpha", "many", n=12)
    assert queries() == few


def test_a_breach_without_an_owner_shows_on_the_home_and_the_sla_page(tenant_a):
    """A filter argument that fails to resolve raises in Django templates: an MQL with no owner (a contact
    nobody owns) once turned both pages into a 500."""
    with schema_context("alpha"):
        SlaClock.objects.create(
            contact=factories.contact(), owner=None, mql_at=dt.datetime(2026, 10, 5, tzinfo=dt.UTC),
            first_touch_hours=4, decision_hours=8, at_risk_share=Decimal("0.75"), escalate_after_hours=8,
            first_touch_breached_at=dt.datetime(2026, 10, 6, tzinfo=dt.UTC), escalation_level=1,
        )  # fmt: skip
    client = login("alpha", "leadership")
    home = _get(client)
    assert home.status_code == 200 and "no owner" in home.content.decode()
    assert _get(client, "/alignment/sla/?month=2026-10").status_code == 200
