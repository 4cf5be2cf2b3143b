"""Scorecard API: the score of a period with its components and trends, the records behind a component and
the checklists; alignment:read reads them, another workspace's key gets 401, bad parameters are 400s naming
them, and the query budget does not grow with rows."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import schema_context

from alignment import engine, objections
from alignment.models import ObjectionLog
from alignment.scorecard import COMPONENTS
from tests.alignment.helpers import at, deal
from tests.alignment.test_scorecard import computed_scene as _computed
from tests.conftest import BREAKS_RULE, BREAKS_SCHEMA, api_client, api_key_for, refused

pytestmark = pytest.mark.django_db

API = "/api/v1/scorecard/"
MARCH = "?period=month&start=2026-03-01"


def _get(client, path):
    response = client.get(path)
    connection.set_schema_to_public()
    return response


def _fields(response) -> set:
    return set(response.json()["error"]["fields"])


def test_the_score_of_a_period_with_its_components(tenant_a):
    _computed()
    client = api_client("alpha", api_key_for("alpha", ["alignment:read"]))
    body = _get(client, API + MARCH).json()
    assert (body["period"], body["period_start"], body["period_end"], body["to_date"]) == (
        "month",
        "2026-03-01",
        "2026-04-01",
        False,
    )
    assert Decimal(body["score"]).quantize(Decimal("0.01")) == Decimal("56.25")
    values = {c["key"]: c["value"] for c in body["components"]}
    assert values == {
        "sla": "0.708333",
        "acceptance": "0.750000",
        "loss_reasons": "0.500000",
        "feedback": "0.750000",
        "goals": "0.466667",
        "attribution": "0.200000",
    }
    sla = body["components"][0]
    assert sla["parts"] == [
        {"label": "Sales side", "value": "0.666667"},
        {"label": "Marketing side", "value": "0.750000"},
    ]
    assert (sla["weight"], sla["points"]) == ("1.00", "11.8")
    assert [p["period_start"] for p in body["trend"]][-2:] == ["2026-02-01", "2026-03-01"]
    assert body["trend"][-1]["value"] == body["score"] and body["trend"][0]["value"] is None


def test_the_records_behind_a_component_and_the_checklists(tenant_a):
    made = _computed()
    client = api_client("alpha", api_key_for("alpha", ["alignment:read"]))
    body = _get(client, f"{API}components/feedback/{MARCH}").json()
    assert (body["component"], body["total"], body["page"], body["pages"]) == ("feedback", 2, 1, 1)
    assert body["rows"][0] == {
        "cells": ["alphacanary no export", "product", 1, 0],
        "link": f"/alignment/objections/{made['export'].pk}/",
    }
    goals = _get(client, f"{API}components/goals/{MARCH}").json()
    by_name = {r["cells"][0]: r["cells"] for r in goals["rows"]}
    assert by_name["alphacanary win_rate"][2:5] == ["0.2", "0.5", "0.4"]  # actual, target, attainment
    assert by_name["alphacanary visits"][2] is None  # no data, not 0
    for component in COMPONENTS:
        assert _get(client, f"{API}components/{component.key}/{MARCH}").status_code == 200
    answers = _get(client, f"{API}checklists/").json()
    assert [a["key"] for a in answers["marketing"]] == [
        "audience", "awareness", "capture", "content", "channels", "monitoring",
    ]  # fmt: skip
    assert [a["key"] for a in answers["sales"]] == [
        "targets", "conversion", "satisfaction", "needs", "process", "follow_up",
    ]  # fmt: skip
    assert all(a["status"] in ("yes", "partly", "no", "no_data") and a["link"] for a in answers["sales"])


def test_bad_parameters_are_400s_naming_them(tenant_a):
    client = api_client("alpha", api_key_for("alpha", ["alignment:read"]))
    for query, field, status in (
        ("?period=year", "period", BREAKS_SCHEMA),
        ("?start=nope", "start", BREAKS_RULE),  # the schema's start is any text: a date or a month
        ("?colour=red", "colour", BREAKS_SCHEMA),
        ("?start=2150-01-01", "start", BREAKS_RULE),  # past the periods kept
    ):
        response = _get(client, API + query)
        assert refused(response, status) == {field}, query
    pages = {"x": BREAKS_SCHEMA, "1e3": BREAKS_SCHEMA, "²": BREAKS_SCHEMA, "": BREAKS_SCHEMA}
    pages |= {"0": BREAKS_RULE, "100001": BREAKS_RULE}  # whole numbers, outside the pages there are
    for page, status in pages.items():
        response = _get(client, f"{API}components/goals/?page={page}")
        assert refused(response, status) == {"page"}, page
    assert _get(client, f"{API}components/nothing/").status_code == 404


def test_reading_needs_alignment_read(tenant_a):
    for scopes, status in ((["alignment:read"], 200), (["marketing:read", "sales:read"], 403)):
        client = api_client("alpha", api_key_for("alpha", scopes))
        for path in (API, f"{API}checklists/", f"{API}components/sla/"):
            assert _get(client, path).status_code == status, (scopes, path)
    assert _get(api_client("alpha"), API).status_code == 401
    # nothing here writes
    client = api_client("alpha", api_key_for("alpha", ["alignment:write"]))
    assert client.post(API, {}, content_type="application/json").status_code == 405
    connection.set_schema_to_public()


def test_workspaces_never_see_each_other(tenant_a, tenant_b):
    _computed("alpha", "alphacanary")
    _computed("beta", "betacanary")
    alpha_key = api_key_for("alpha", ["alignment:read"])
    for path in (API, f"{API}checklists/", f"{API}components/feedback/"):
        assert _get(api_client("beta", alpha_key), path).status_code == 401
    beta = api_client("beta", api_key_for("beta", ["alignment:read"]))
    for component in COMPONENTS:
        text = _get(beta, f"{API}components/{component.key}/{MARCH}").content.decode()
        assert "alphacanary" not in text, component.key
    assert "betacanary no export" in _get(beta, f"{API}components/feedback/{MARCH}").content.decode()


def test_query_budgets_do_not_grow_with_rows(tenant_a):
    _computed()
    client = api_client("alpha", api_key_for("alpha", ["alignment:read"]))

    def queries(path) -> int:
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(path)
        connection.set_schema_to_public()
        assert response.status_code == 200, path
        return len(ctx.captured_queries)

    paths = [API + MARCH, f"{API}checklists/", *(f"{API}components/{c.key}/{MARCH}" for c in COMPONENTS)]
    queries(paths[0])  # the key's first use is recorded once
    few = [queries(p) for p in paths]
    with schema_context("alpha"):
        heard = objections.objection_save(actor=None, data={"name": "More", "category": "other"})
        for i in range(30):
            made = deal(100 + i, at(3, 1 + i % 27), closed=at(3, 2 + i % 26), status="lost")
            log = objections.objection_log(actor=None, objection=heard, deal=made)
            ObjectionLog.objects.filter(pk=log.pk).update(logged_at=at(3, 3))
        engine.run(full=False)
    assert [queries(p) for p in paths] == few
