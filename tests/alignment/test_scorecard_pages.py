"""The scorecard in the portal: the score of a period with its components, trends and points, the two
checklists with their evidence links, a drill-down page per component; every role reads them, bad periods
are 400s naming the field, workspaces never see each other's records, query budgets do not grow with rows;
and the leadership home shows the score."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import schema_context

from alignment import engine, objections
from alignment.models import MetricValue, ObjectionLog, PageVisit, SlaClock
from alignment.reports.filters import period_of, shift, today
from alignment.scorecard import COMPONENTS, PAGE_SIZE
from alignment.services import reporting_definition
from tests.alignment.helpers import at, deal
from tests.alignment.test_scorecard import computed_scene as _computed
from tests.conftest import client_for, login, user_in
from tests.marketing import factories

pytestmark = pytest.mark.django_db

PAGE = "/alignment/scorecard/"
MARCH = "?period=month&start=2026-03-01"


def _get(client, path):
    response = client.get(path)
    connection.set_schema_to_public()
    return response


def test_the_page_shows_the_score_its_components_and_the_checklists(tenant_a):
    _computed()
    client = login("alpha", "leadership")
    html = _get(client, PAGE + MARCH).content.decode()
    assert 'data-testid="score">56.3<' in html
    shown = {
        "sla": "70.8%",
        "acceptance": "75.0%",
        "loss_reasons": "50.0%",
        "feedback": "75.0%",
        "goals": "46.7%",
        "attribution": "20.0%",
    }
    for key, text in shown.items():
        assert f'data-testid="value-{key}">{text}<' in html, key
    assert 'data-testid="points-feedback">12.5<' in html
    assert 'Sales side: <span class="">66.7%</span>' in html and "Marketing side" in html
    for key in shown:  # each component links to its records for the same period
        assert f'href="/alignment/scorecard/{key}/?period=month&amp;start=2026-03-01"' in html
    for key in ("audience", "awareness", "capture", "content", "channels", "monitoring"):
        assert f'data-testid="answer-{key}"' in html and f'data-testid="evidence-{key}"' in html
    for key in ("targets", "conversion", "satisfaction", "needs", "process", "follow_up"):
        assert f'data-testid="answer-{key}"' in html
    with schema_context("alpha"):
        visit = PageVisit.objects.get(page="scorecard")
        assert (visit.user.email, visit.visits) == ("leo@alpha.example", 1)
    # a quarter, and a period with nothing stored: "no data", never 0
    quarter = _get(client, PAGE + "?period=quarter&start=2026-02-10").content.decode()
    assert "Q1 2026" in quarter and 'data-testid="value-goals">30.0%<' in quarter
    empty = _get(client, PAGE + "?period=month&start=2025-06-01").content.decode()
    assert 'data-testid="score">no data<' in empty and 'data-testid="value-sla">no data<' in empty


def test_each_drill_down_page_lists_the_records_behind_its_component(tenant_a):
    made = _computed()
    client = login("alpha", "sales")
    feedback = _get(client, f"{PAGE}feedback/{MARCH}").content.decode()
    assert 'data-testid="drill-value">75.0%<' in feedback
    assert f'<a href="/alignment/objections/{made["export"].pk}/">alphacanary no export</a>' in feedback
    losses = _get(client, f"{PAGE}loss_reasons/{MARCH}").content.decode()
    assert "alphacanary other 2" in losses and "alphacanary lost 0" not in losses
    assert 'data-testid="drill-total">2 in all<' in losses
    sla = _get(client, f"{PAGE}sla/{MARCH}").content.decode()
    assert "Sales side: <strong>66.7%</strong>" in sla and 'data-testid="drill-total">2 in all<' in sla
    for component in COMPONENTS:
        assert _get(client, f"{PAGE}{component.key}/{MARCH}").status_code == 200, component.key
    nothing = _get(client, f"{PAGE}feedback/?period=month&start=2025-06-01").content.decode()
    assert 'data-testid="drill-empty"' in nothing


def test_bad_periods_and_pages_are_400s_naming_the_field(tenant_a):
    client = login("alpha", "marketing")
    for query, field in (("?period=year", "period"), ("?start=2026-13-45", "start"),
                         ("?start=1800-01-01", "start")):  # fmt: skip
        response = _get(client, PAGE + query)
        assert response.status_code == 400 and f"<strong>{field}</strong>" in response.content.decode()
        drill = _get(client, f"{PAGE}goals/{query}")
        assert drill.status_code == 400 and f"<strong>{field}</strong>" in drill.content.decode()
    for page in ("0", "abc", "-1", "99999999999", "²", ""):
        response = _get(client, f"{PAGE}goals/?page={page}")
        assert response.status_code == 400 and "<strong>page</strong>" in response.content.decode()
    assert _get(client, f"{PAGE}nothing/").status_code == 404


@pytest.mark.parametrize("role", ["admin", "marketing", "sales", "leadership"])
def test_every_role_reads_the_scorecard(tenant_a, role):
    client = login("alpha", role)
    assert _get(client, PAGE).status_code == 200
    assert _get(client, f"{PAGE}sla/").status_code == 200
    assert client.post(PAGE).status_code == 405  # nothing here writes
    connection.set_schema_to_public()


def test_anonymous_visitors_are_sent_to_the_login_page(tenant_a):
    for path in (PAGE, f"{PAGE}feedback/"):
        response = _get(client_for("alpha"), path)
        assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_the_pages_are_isolated_between_workspaces(tenant_a, tenant_b):
    _computed("alpha", "alphacanary")
    _computed("beta", "betacanary")
    beta = login("beta", "leadership")
    pages = [PAGE + MARCH, *(f"{PAGE}{c.key}/{MARCH}" for c in COMPONENTS)]
    for path in pages:
        html = _get(beta, path).content.decode()
        assert "alphacanary" not in html, path
    assert "betacanary no export" in _get(beta, f"{PAGE}feedback/{MARCH}").content.decode()
    alpha = login("alpha", "leadership")
    for path in pages:
        assert "betacanary" not in _get(alpha, path).content.decode(), path
    # the score of each comes from its own schema: a change in beta leaves alpha's as it was
    before = _get(alpha, PAGE + MARCH).content.decode().count("75.0%")
    with schema_context("beta"):
        heard = objections.objection_save(actor=None, data={"name": "betacanary late", "category": "other"})
        objections.objection_log(actor=None, objection=heard, deal=deal(10, at(3, 9)))
        ObjectionLog.objects.filter(objection=heard).update(logged_at=at(3, 9))
        engine.run(full=False)
    assert _get(alpha, PAGE + MARCH).content.decode().count("75.0%") == before


def test_query_budgets_do_not_grow_with_rows(tenant_a):
    _computed()
    client = login("alpha", "leadership")

    def queries(path) -> int:
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(path)
        connection.set_schema_to_public()
        assert response.status_code == 200, path
        return len(ctx.captured_queries)

    paths = [PAGE + MARCH, *(f"{PAGE}{c.key}/{MARCH}" for c in COMPONENTS), "/alignment/"]
    few = [queries(p) for p in paths]
    with schema_context("alpha"):
        sara = user_in("alpha", "sales")
        dear = objections.objection_save(actor=None, data={"name": "More", "category": "other"})
        for i in range(PAGE_SIZE + 5):
            made = deal(100 + i, at(3, 1 + i % 27), closed=at(3, 2 + i % 26), status="lost")
            log = objections.objection_log(actor=None, objection=dear, deal=made)
            ObjectionLog.objects.filter(pk=log.pk).update(logged_at=at(3, 3))
            SlaClock.objects.create(
                contact=factories.contact(), mql_at=at(3, 1 + i % 27), owner=sara, first_touch_hours=4,
                decision_hours=8, at_risk_share=Decimal("0.75"), escalate_after_hours=8,
                first_touch_breached_at=at(3, 28),
            )  # fmt: skip
        engine.run(full=False)
    assert [queries(p) for p in paths] == few


def test_the_leadership_home_shows_this_months_score_and_the_last(tenant_a):
    this = period_of(today(), "month")
    with schema_context("alpha"):
        definition = reporting_definition()
        for start, score in ((this, "61.5"), (shift(this, "month", -1), "48.25")):
            MetricValue.objects.create(
                metric="alignment_score", granularity="month", period_start=start, definition=definition,
                value=Decimal(score),
            )  # fmt: skip
    html = _get(login("alpha", "leadership"), "/alignment/").content.decode()
    assert 'data-testid="score-this">61.5<' in html and 'data-testid="score-last">48.2<' in html
    assert 'data-testid="open-scorecard"' in html
