"""Idempotency keys on POST and PATCH: the first answer is replayed to the same caller for 24 hours with one
effect; the same key with another body or route is a 422 naming the header; a refused request frees its key;
another caller's key is another key; an expired record starts over. Concurrent duplicates through a real web
process are in tests/integration/test_idempotency_live.py."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.db import connection
from django_tenants.utils import schema_context

from accounts.models import IdempotencyRecord
from marketing.models import Contact
from tests.conftest import api_client, api_key_for

pytestmark = pytest.mark.django_db

CONTACTS = "/api/v1/contacts/"


def _send(client, method: str, path: str, body: dict, key: str | None = "k-1"):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key is not None else {}
    response = getattr(client, method)(path, json.dumps(body), content_type="application/json", **headers)
    connection.set_schema_to_public()
    return response


def _contacts(email: str) -> int:
    with schema_context("alpha"):
        return Contact.objects.filter(email=email).count()


def test_a_repeated_post_is_answered_once_and_replayed(tenant_a):
    client = api_client("alpha", api_key_for("alpha", ["marketing:write"]))
    first = _send(client, "post", CONTACTS, {"email": "once@example.com", "first_name": "Una"})
    again = _send(client, "post", CONTACTS, {"email": "once@example.com", "first_name": "Una"})
    assert first.status_code == again.status_code == 201
    assert again.content == first.content and again["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert again["Content-Type"] == first["Content-Type"] == "application/json"
    assert "X-RateLimit-Remaining" in again  # a replay is a counted call like any other
    assert _contacts("once@example.com") == 1
    # without a key, the same body is a second request (here refused: the e-mail is taken)
    assert _send(client, "post", CONTACTS, {"email": "once@example.com"}, key=None).status_code == 409


def test_the_same_key_with_another_body_or_route_is_a_422_naming_the_header(tenant_a):
    client = api_client("alpha", api_key_for("alpha", ["marketing:write"]))
    assert _send(client, "post", CONTACTS, {"email": "first@example.com"}).status_code == 201
    other_body = _send(client, "post", CONTACTS, {"email": "second@example.com"})
    assert other_body.status_code == 422
    assert set(other_body.json()["error"]["fields"]) == {"Idempotency-Key"}
    other_route = _send(client, "post", "/api/v1/companies/", {"name": "First Ltd"})
    assert other_route.status_code == 422
    assert _contacts("second@example.com") == 0


def test_patch_is_idempotent_too(tenant_a):
    client = api_client("alpha", api_key_for("alpha", ["marketing:write"]))
    created = _send(client, "post", CONTACTS, {"email": "patch@example.com"}, key=None).json()
    path = f"{CONTACTS}{created['id']}/"
    first = _send(client, "patch", path, {"first_name": "Pat"}, key="p-1")
    with schema_context("alpha"):
        Contact.objects.filter(pk=created["id"]).update(first_name="Changed since")
    replay = _send(client, "patch", path, {"first_name": "Pat"}, key="p-1")
    assert replay.status_code == 200 and replay.content == first.content
    with schema_context("alpha"):  # the replay changed nothing
        assert Contact.objects.get(pk=created["id"]).first_name == "Changed since"


def test_a_refused_request_frees_its_key(tenant_a):
    client = api_client("alpha", api_key_for("alpha", ["marketing:write"]))
    refused = _send(client, "post", CONTACTS, {"email": "not an address"}, key="fix-me")
    assert refused.status_code == 400
    fixed = _send(client, "post", CONTACTS, {"email": "fixed@example.com"}, key="fix-me")
    assert fixed.status_code == 201 and _contacts("fixed@example.com") == 1


def test_keys_are_per_caller(tenant_a):
    one = api_client("alpha", api_key_for("alpha", ["marketing:write"], name="one"))
    two = api_client("alpha", api_key_for("alpha", ["marketing:write"], name="two"))
    assert _send(one, "post", CONTACTS, {"email": "a@example.com"}, key="shared").status_code == 201
    theirs = _send(two, "post", CONTACTS, {"email": "b@example.com"}, key="shared")
    assert theirs.status_code == 201 and "Idempotent-Replayed" not in theirs
    assert _contacts("a@example.com") == _contacts("b@example.com") == 1


def test_a_record_past_24_hours_starts_over(tenant_a):
    client = api_client("alpha", api_key_for("alpha", ["marketing:write"]))
    assert _send(client, "post", CONTACTS, {"email": "old@example.com"}, key="old").status_code == 201
    with schema_context("alpha"):
        IdempotencyRecord.objects.update(created=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    again = _send(client, "post", CONTACTS, {"email": "old@example.com"}, key="old")
    assert again.status_code == 409 and "Idempotent-Replayed" not in again  # run again: the e-mail is taken
    with schema_context("alpha"):
        from accounts.idempotency import prune

        IdempotencyRecord.objects.update(created=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
        assert prune() == 1 and not IdempotencyRecord.objects.exists()


def test_a_bad_key_is_a_400_naming_the_header(tenant_a):
    client = api_client("alpha", api_key_for("alpha", ["marketing:write"]))
    for key in ("x" * 256, "", "tab\there"):
        response = _send(client, "post", CONTACTS, {"email": "k@example.com"}, key=key)
        assert response.status_code == 400 and set(response.json()["error"]["fields"]) == {"Idempotency-Key"}
    assert _contacts("k@example.com") == 0


def test_reads_ignore_the_header(tenant_a):
    client = api_client("alpha", api_key_for("alpha", ["marketing:read"]))
    response = client.get(CONTACTS, HTTP_IDEMPOTENCY_KEY="read")
    connection.set_schema_to_public()
    assert response.status_code == 200 and "Idempotent-Replayed" not in response
    with schema_context("alpha"):
        assert not IdempotencyRecord.objects.exists()


def test_a_form_upload_with_a_key_is_run_once_and_replayed(tenant_a, media):
    """A multipart import: its fields and file make the fingerprint (its raw bytes differ between sends, and
    the schema check has read them); this was a 500 before."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from marketing.models import ImportJob

    client = api_client("alpha", api_key_for("alpha", ["marketing:write"]))

    def upload(content: bytes, key: str = "import-1"):
        csv = SimpleUploadedFile("people.csv", content, content_type="text/csv")
        response = client.post(
            "/api/v1/imports/", {"kind": "contacts", "file": csv}, HTTP_IDEMPOTENCY_KEY=key
        )
        connection.set_schema_to_public()
        return response

    rows = b"email,first_name\nada@example.com,Ada\n"
    first = upload(rows)
    assert first.status_code == 201, first.content[:300]
    again = upload(rows)
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    other_file = upload(b"email,first_name\ngrace@example.com,Grace\n")
    assert other_file.status_code == 422 and set(other_file.json()["error"]["fields"]) == {"Idempotency-Key"}
    with schema_context("alpha"):
        assert ImportJob.objects.count() == 1


def test_a_method_the_path_does_not_take_is_a_405_whatever_the_key(tenant_a):
    client = api_client("alpha", api_key_for("alpha", ["marketing:write"]))
    assert _send(client, "post", CONTACTS, {"email": "m@example.com"}, key="m-1").status_code == 201
    assert _send(client, "patch", CONTACTS, {"email": "m@example.com"}, key="m-1").status_code == 405
