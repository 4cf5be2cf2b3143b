"""The objections API: the taxonomy, logs, answers, threads and the gap report through alignment scopes;
400s naming the field; isolation between workspaces; list budgets that do not grow with rows."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import schema_context

from alignment import objections
from alignment.models import Objection, ObjectionLog
from tests.alignment.helpers import deal
from tests.conftest import api_client, api_key_for
from tests.marketing import factories

pytestmark = pytest.mark.django_db

API = "/api/v1/objections/"


def call(client, method, path, data=None):
    response = getattr(client, method)(path, data, content_type="application/json")
    connection.set_schema_to_public()
    return response


def fields(response) -> set[str]:
    return set(response.json()["error"]["fields"])


def test_the_loop_through_the_api(tenant_a):
    client = api_client("alpha", api_key_for("alpha", ["alignment:write"]))
    with schema_context("alpha"):
        opportunity = deal(500, dt.datetime(2026, 6, 1, tzinfo=dt.UTC))
        asset = factories.content(title="Battlecard")
        stage = opportunity.stage.name
    created = call(client, "post", API, {"name": "Too expensive", "category": "pricing"})
    assert created.status_code == 201, created.content
    pk = created.json()["id"]
    assert fields(call(client, "post", API, {"name": "too expensive", "category": "pricing"})) == {"name"}
    assert fields(call(client, "post", API, {"name": "Late", "category": "timing"})) == {"category"}
    logged = call(client, "post", f"{API}logs/", {"objection": pk, "deal": opportunity.pk, "note": "Budget"})
    assert logged.status_code == 201 and logged.json()["stage"] == stage
    assert fields(call(client, "post", f"{API}logs/", {"objection": pk})) == {"deal"}
    assert fields(call(client, "post", f"{API}logs/", {"objection": 99999, "deal": 99999})) == {
        "objection",
        "deal",
    }
    answer = call(client, "post", f"{API}{pk}/answers/", {"content": asset.pk})
    assert answer.status_code == 201
    assert fields(call(client, "post", f"{API}{pk}/answers/", {"content": asset.pk})) == {"content"}
    assert call(client, "post", f"{API}{pk}/comments/", {"body": "Live"}).status_code == 201
    assert [c["body"] for c in call(client, "get", f"{API}{pk}/comments/").json()["results"]] == ["Live"]
    gaps = call(client, "get", f"{API}gaps/").json()
    assert gaps["backlog"] == [] and gaps["covered"][0]["name"] == "Too expensive"
    assert call(client, "delete", f"{API}{pk}/answers/{answer.json()['id']}/").status_code == 204
    assert call(client, "get", f"{API}gaps/").json()["backlog"][0]["frequency"] == 1
    assert call(client, "delete", f"{API}{pk}/").status_code == 204  # retired, its logs kept
    with schema_context("alpha"):
        assert not Objection.objects.get(pk=pk).is_active and ObjectionLog.objects.count() == 1


def test_reading_needs_read_and_writing_needs_write(tenant_a):
    reader = api_client("alpha", api_key_for("alpha", ["alignment:read"]))
    for path in ("", "logs/", "gaps/"):
        assert call(reader, "get", f"{API}{path}").status_code == 200, path
    assert call(reader, "post", API, {"name": "No", "category": "other"}).status_code == 403
    other_area = api_client("alpha", api_key_for("alpha", ["sales:write"]))
    assert call(other_area, "get", API).status_code == 403
    with schema_context("alpha"):
        assert not Objection.objects.exists()


def test_the_objections_api_is_isolated_between_workspaces(tenant_a, tenant_b):
    with schema_context("alpha"):
        for i in range(3):
            objection = objections.objection_save(
                actor=None, data={"name": f"alphacanary {i}", "category": "other"}
            )
    with schema_context("beta"):
        objections.objection_save(actor=None, data={"name": "betacanary", "category": "other"})
        assert not Objection.objects.filter(pk=objection.pk).exists()
    beta = api_client("beta", api_key_for("beta", ["alignment:write"]))
    body = call(beta, "get", API).content.decode()
    assert "betacanary" in body and "alphacanary" not in body
    for method, path, data in [
        ("get", f"{API}{objection.pk}/", None),
        ("patch", f"{API}{objection.pk}/", {"name": "stolen"}),
        ("get", f"{API}{objection.pk}/comments/", None),
        ("post", f"{API}{objection.pk}/comments/", {"body": "hi"}),
        ("post", f"{API}{objection.pk}/answers/", {"content": 1}),
    ]:
        assert call(beta, method, path, data).status_code == 404, (method, path)
    assert fields(call(beta, "post", f"{API}logs/", {"objection": objection.pk, "contact": 1})) >= {
        "objection"
    }
    alpha_key = api_key_for("alpha", ["alignment:read"])
    assert call(api_client("beta", alpha_key), "get", API).status_code == 401
    with schema_context("alpha"):
        assert Objection.objects.get(pk=objection.pk).name == "alphacanary 2"


def test_list_budgets_do_not_grow_with_rows(tenant_a):
    client = api_client("alpha", api_key_for("alpha", ["alignment:read"]))
    client.get("/api/v1/me/")
    connection.set_schema_to_public()
    with schema_context("alpha"):
        first = objections.objection_save(actor=None, data={"name": "First", "category": "other"})
        lead = factories.contact()
        objections.objection_log(actor=None, objection=first, contact=lead)
        objections.comment_add(actor=None, objection=first, body="One")

    def queries(path) -> int:
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(path)
        connection.set_schema_to_public()
        assert response.status_code == 200
        return len(ctx.captured_queries)

    paths = [API, f"{API}logs/", f"{API}{first.pk}/comments/", f"{API}gaps/"]
    few = [queries(p) for p in paths]
    with schema_context("alpha"):
        for i in range(15):
            other = objections.objection_save(actor=None, data={"name": f"Other {i}", "category": "other"})
            objections.objection_log(actor=None, objection=other, contact=lead)
            objections.comment_add(actor=None, objection=first, body=str(i))
    assert [queries(p) for p in paths] == few
