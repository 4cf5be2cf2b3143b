"""Batch upserts of contacts (by e-mail) and companies (by domain, then name): one result per item in order,
a bad item named without stopping the others (207), the 1,000-item limit, scopes and isolation."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django_tenants.utils import schema_context

from marketing.models import Company, Contact
from tests.conftest import api_client, api_key_for
from tests.marketing import factories

pytestmark = pytest.mark.django_db


def _post(client, path: str, body):
    response = client.post(path, json.dumps(body), content_type="application/json")
    connection.set_schema_to_public()
    return response


def test_contacts_are_upserted_by_email_with_a_result_per_item(tenant_a):
    with schema_context("alpha"):
        existing = factories.contact(email="known@example.com", first_name="Old")
    client = api_client("alpha", api_key_for("alpha", ["marketing:write"]))
    items = [
        {"email": "new@example.com", "first_name": "New"},
        {"email": "KNOWN@example.com", "first_name": "Renamed"},
        {"email": "not-an-address"},
        {"email": "new@example.com", "last_name": "Again"},  # the first item's contact, updated
    ]
    # an item that is not an object breaks the published schema: the whole batch is a 400, nothing written
    shapeless = _post(client, "/api/v1/contacts/batch/", {"items": [*items, "not an object"]})
    assert shapeless.status_code == 400 and set(shapeless.json()["error"]["fields"]) == {"items.4"}
    with schema_context("alpha"):
        assert not Contact.objects.filter(email="new@example.com").exists()
    response = _post(client, "/api/v1/contacts/batch/", {"items": items})
    assert response.status_code == 207
    body = response.json()
    assert (body["created"], body["updated"], body["errors"]) == (1, 2, 1)
    statuses = [(r["index"], r["status"]) for r in body["results"]]
    assert statuses == [(0, "created"), (1, "updated"), (2, "error"), (3, "updated")]
    assert set(body["results"][2]["errors"]) == {"email"}
    assert body["results"][1]["id"] == existing.pk
    with schema_context("alpha"):
        assert Contact.objects.get(pk=existing.pk).first_name == "Renamed"
        fresh = Contact.objects.get(email="new@example.com")
        assert (fresh.first_name, fresh.last_name, fresh.source) == ("New", "Again", "api")
    clean = _post(client, "/api/v1/contacts/batch/", {"items": [{"email": "third@example.com"}]})
    assert clean.status_code == 200 and clean.json()["created"] == 1


def test_companies_are_upserted_by_domain_then_name(tenant_a):
    with schema_context("alpha"):
        by_domain = factories.company(name="Acme", domain="acme.com")
        by_name = factories.company(name="Globex", domain="")
    client = api_client("alpha", api_key_for("alpha", ["marketing:write"]))
    items = [
        {"name": "ACME Inc", "domain": "WWW.ACME.COM"},
        {"name": "globex", "industry": "Energy"},
        {"name": "Initech", "domain": "initech.com"},
        {"domain": "nameless.com"},
        {"name": "Acme", "domain": "acme-two.com"},  # another Acme: a new company, not the first
    ]
    body = _post(client, "/api/v1/companies/batch/", {"items": items}).json()
    assert [r["status"] for r in body["results"]] == ["updated", "updated", "created", "error", "created"]
    assert set(body["results"][3]["errors"]) == {"name"}
    with schema_context("alpha"):
        assert Company.objects.get(pk=by_domain.pk).name == "ACME Inc"
        assert Company.objects.get(pk=by_name.pk).industry == "Energy"
        assert Company.objects.filter(name="Acme", domain="acme-two.com").exists()


def test_the_batch_limits_scopes_and_isolation(tenant_a, tenant_b):
    writer = api_client("alpha", api_key_for("alpha", ["marketing:write"]))
    too_many = _post(
        writer, "/api/v1/contacts/batch/", {"items": [{"email": f"x{i}@e.com"} for i in range(1001)]}
    )
    assert too_many.status_code == 400 and set(too_many.json()["error"]["fields"]) == {"items"}
    for body in ({}, {"items": []}, {"items": "nope"}, []):
        response = _post(writer, "/api/v1/contacts/batch/", body)
        assert response.status_code == 400, body
    reader = api_client("alpha", api_key_for("alpha", ["marketing:read"]))
    assert _post(reader, "/api/v1/contacts/batch/", {"items": [{"email": "r@e.com"}]}).status_code == 403
    foreign = api_client("beta", api_key_for("alpha", ["marketing:write"]))
    assert _post(foreign, "/api/v1/companies/batch/", {"items": [{"name": "X"}]}).status_code == 401
    beta = api_client("beta", api_key_for("beta", ["marketing:write"]))
    assert _post(beta, "/api/v1/contacts/batch/", {"items": [{"email": "beta@e.com"}]}).status_code == 200
    with schema_context("alpha"):
        assert not Contact.objects.filter(email="beta@e.com").exists()
