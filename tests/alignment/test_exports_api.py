"""Streamed exports: CSV and NDJSON of each collection straight from COPY, exact text whatever it holds,
bounded by since/until, the scope of the collection's area, 400s and 404s naming what is wrong, one
statement whatever the number of rows, and the workspace's own rows even when the body is read after the
connection moved to another schema."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import schema_context

from alignment.api_exports import COLLECTIONS
from marketing.models import Contact
from tests.conftest import api_client, api_key_for
from tests.marketing import factories

pytestmark = pytest.mark.django_db

TRICKY = 'Zoë "Q", the\nsecond line \\ back\tslash, ☃'


def _body(client, path) -> tuple[int, bytes, object]:
    response = client.get(path)
    connection.set_schema_to_public()  # as the end of any request does; the body is read after it
    content = b"".join(response.streaming_content) if response.streaming else response.content
    return response.status_code, content, response


def test_contacts_as_csv_and_ndjson(tenant_a):
    with schema_context("alpha"):
        first = factories.contact(email="one@example.com", first_name=TRICKY)
        second = factories.contact(email="two@example.com", first_name="Plain")
    client = api_client("alpha", api_key_for("alpha", ["marketing:read"]))
    status, content, response = _body(client, "/api/v1/exports/contacts.csv")
    assert status == 200 and response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="alpha-contacts-')
    rows = list(csv.DictReader(io.StringIO(content.decode())))
    assert list(rows[0]) == list(COLLECTIONS["contacts"].columns)
    assert [(r["id"], r["email"], r["first_name"]) for r in rows] == [
        (str(first.pk), "one@example.com", TRICKY),
        (str(second.pk), "two@example.com", "Plain"),
    ]
    status, content, response = _body(client, "/api/v1/exports/contacts.ndjson")
    assert status == 200 and response["Content-Type"] == "application/x-ndjson"
    lines = content.decode().splitlines()
    objects = [json.loads(line) for line in lines]
    assert [(o["id"], o["first_name"], o["lifecycle_stage"]) for o in objects] == [
        (first.pk, TRICKY, "lead"),
        (second.pk, "Plain", "lead"),
    ]
    assert len(lines) == 2 and content.endswith(b"\n")


def test_since_and_until_bound_the_collections_own_time(tenant_a):
    from marketing.models import Touchpoint

    with schema_context("alpha"):
        person = factories.contact()
        for day in (1, 10, 20):
            Touchpoint.objects.create(
                contact=person, kind="page_visit", occurred_at=dt.datetime(2026, 3, day, 12, tzinfo=dt.UTC)
            )
    client = api_client("alpha", api_key_for("alpha", ["marketing:read"]))
    _, content, _ = _body(client, "/api/v1/exports/touchpoints.ndjson?since=2026-03-05&until=2026-03-20")
    assert [json.loads(line)["occurred_at"][:10] for line in content.decode().splitlines()] == ["2026-03-10"]
    _, content, _ = _body(client, "/api/v1/exports/touchpoints.ndjson?since=2026-03-10T12:00:00Z")
    assert len(content.decode().splitlines()) == 2


def test_each_collection_needs_its_areas_scope(tenant_a):
    marketing = api_client("alpha", api_key_for("alpha", ["marketing:read"]))
    sales = api_client("alpha", api_key_for("alpha", ["sales:read"]))
    alignment = api_client("alpha", api_key_for("alpha", ["alignment:read"]))
    for name, collection in COLLECTIONS.items():
        for client, area in ((marketing, "marketing"), (sales, "sales"), (alignment, "alignment")):
            status, _, _ = _body(client, f"/api/v1/exports/{name}.csv")
            assert status == (200 if collection.area == area else 403), (name, area)
    assert _body(api_client("alpha"), "/api/v1/exports/contacts.csv")[0] == 401


def test_bad_requests_name_what_is_wrong(tenant_a):
    client = api_client("alpha", api_key_for("alpha", ["marketing:read"]))
    assert _body(client, "/api/v1/exports/secrets.csv")[0] == 404
    assert _body(client, "/api/v1/exports/contacts.xml")[0] == 404
    bad = [("since=yesterday", "since"), ("until=2026-02-30", "until"), ("colour=red", "colour"),
           ("since=0001-01-01", "since")]  # fmt: skip
    for query, field in bad:
        status, content, _ = _body(client, f"/api/v1/exports/contacts.csv?{query}")
        expected = 422 if query == "since=0001-01-01" else 400  # a real date, outside the range we keep
        assert status == expected and set(json.loads(content)["error"]["fields"]) == {field}, query


def test_exports_are_isolated_between_workspaces(tenant_a, tenant_b):
    with schema_context("alpha"):
        factories.contact(email="alphacanary@example.com")
    with schema_context("beta"):
        factories.contact(email="betacanary@example.com")
    alpha_key = api_key_for("alpha", ["marketing:read"])
    assert _body(api_client("beta", alpha_key), "/api/v1/exports/contacts.csv")[0] == 401
    _, content, _ = _body(
        api_client("beta", api_key_for("beta", ["marketing:read"])), "/api/v1/exports/contacts.csv"
    )
    assert b"betacanary" in content and b"alphacanary" not in content
    _, content, _ = _body(api_client("alpha", alpha_key), "/api/v1/exports/contacts.ndjson")
    assert b"alphacanary" in content and b"betacanary" not in content


def test_one_statement_whatever_the_rows(tenant_a):
    client = api_client("alpha", api_key_for("alpha", ["marketing:read"]))
    _body(client, "/api/v1/me/")  # the key's first use is recorded once

    def queries() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as ctx:
            _, content, _ = _body(client, "/api/v1/exports/contacts.ndjson")
        return len(ctx.captured_queries), len(content.splitlines())

    with schema_context("alpha"):
        factories.contact()
    few, rows = queries()
    with schema_context("alpha"):
        Contact.objects.bulk_create(Contact(email=f"bulk{i}@example.com") for i in range(300))
    many, more_rows = queries()
    assert few == many and (rows, more_rows) == (1, 301)
