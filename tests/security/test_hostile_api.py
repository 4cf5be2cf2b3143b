"""Hostile values in every field of every API write operation, walked from the published schema: never a
5xx; a 400 (breaks the schema) or a 422 (fits it, breaks a rule) naming the field, as docs/api.md says.
Invalid UTF-8 in a JSON body, a form body and a query string is a 400 too.

Each operation starts from its body's own example (tests/test_contract.py holds that every body has one
that fits its schema) on a real object of the kind its path names, and one field at a time is replaced
by the raw JSON text of the hostile value: ``1e400`` and ``10**30`` are written as JSON numbers, which
Python reads as ``inf`` and as an integer beyond any column.
"""

from __future__ import annotations

import json
import re

import pytest
from django.db import connection, transaction

from accounts.roles import ALL_SCOPES
from tests.conftest import api_client, api_key_for
from tests.security.world import build_world

pytestmark = [pytest.mark.django_db, pytest.mark.once_per_ci]  # a minutes-long battery: CI runs it once

HOSTILE = {
    "NUL": json.dumps("a\x00b"),
    "100k chars": json.dumps("x" * 100_000),
    "10**30": "1" + "0" * 30,
    "1e400": "1e400",
    "-1e400": "-1e400",
    "NUL key": None,  # an object whose key holds a NUL, where the field takes an object
}
_PARAM = re.compile(r"\{(\w+)\}")


def _operations(schema: dict):
    for path, operations in schema["paths"].items():
        for method in ("post", "put", "patch"):
            operation = operations.get(method)
            if not operation:
                continue
            content = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if content:
                yield path, method, content["schema"]


def _component(schema: dict, node: dict) -> dict:
    ref = node.get("$ref")
    return schema["components"]["schemas"][ref.rsplit("/", 1)[1]] if ref else node


def _concrete(client, path: str) -> str | None:
    """``path`` with each {param} replaced by the id of a real row from the list before it."""
    while match := _PARAM.search(path):
        listing = client.get(path[: match.start()])
        if listing.status_code != 200:
            return None
        body = listing.json()
        rows = body.get("results", body) if isinstance(body, dict) else body
        if not rows or not isinstance(rows, list):
            return None
        path = path[: match.start()] + str(rows[0]["id"]) + path[match.end() :]
    return path


def _named(response, field: str) -> bool:
    fields = response.json()["error"]["fields"]
    return any(key == field or key.startswith((f"{field}.", f"{field}[")) for key in fields)


def _send(client, method: str, path: str, body: str):
    with transaction.atomic():
        response = getattr(client, method)(path, body, content_type="application/json")
        transaction.set_rollback(True)
    connection.set_schema_to_public()
    return response


def test_every_api_write_refuses_hostile_values_naming_the_field(tenant_a):
    # given one of each object, a key with every scope and the published schema
    build_world()
    client = api_client("alpha", api_key_for("alpha", list(ALL_SCOPES)))
    client.raise_request_exception = False
    schema = client.get("/api/schema/?format=json").json()
    operations = list(_operations(schema))
    assert len(operations) > 40
    problems, sent, reached = [], 0, set()
    for template, method, body_schema in operations:
        component = _component(schema, body_schema)
        properties = component.get("properties", {})
        path = _concrete(client, template)
        if path is None or not properties:
            continue
        reached.add((template, method))
        example = dict(component.get("example") or {})
        baseline = _send(client, method, path, json.dumps(example))
        refused = baseline.status_code in (400, 422)
        refused_anyway = set(baseline.json()["error"]["fields"]) if refused else set()
        for field, field_schema in properties.items():
            if field_schema.get("readOnly"):
                continue
            for label, literal in HOSTILE.items():
                if literal is None:
                    if _component(schema, field_schema).get("type") != "object":
                        continue
                    literal = json.dumps({"k\x00": 1})
                others = json.dumps({k: v for k, v in example.items() if k != field})
                body = others[:-1] + ("," if len(others) > 2 else "") + f'"{field}": {literal}' + "}"
                # when the field carries the hostile value
                response = _send(client, method, path, body)
                sent += 1
                where = (method.upper(), template, field, label, response.status_code)
                # then never a 5xx; a refusal is a 400 or 422 that names the field, unless it is refused
                # for what the example itself is refused for (an id in the example that names nothing)
                if response.status_code >= 500:
                    problems.append((*where, "server error"))
                elif response.status_code in (400, 422) and not _named(response, field):
                    fields = set(response.json()["error"]["fields"])
                    if not fields or not fields <= refused_anyway:
                        problems.append((*where, f"names {sorted(fields)}"))
                elif response.status_code not in (200, 201, 202, 204, 400, 404, 409, 413, 422):
                    problems.append((*where, "unexpected status"))
    assert problems == []
    assert len(reached) > 30 and sent > 1000


def test_batch_items_refuse_hostile_values_naming_the_field(tenant_a):
    """A batch (``{"items": [{...}]}``) answers per item (207). Its items are free-form in the schema and take
    the fields of the single create next to it (``/contacts/batch/`` -> ``/contacts/``); each of those gets
    the hostile values inside one item, which is refused naming the field, never a 5xx."""
    build_world()
    client = api_client("alpha", api_key_for("alpha", list(ALL_SCOPES)))
    client.raise_request_exception = False
    schema = client.get("/api/schema/?format=json").json()
    creates = {template: body for template, method, body in _operations(schema) if method == "post"}
    batches = [template for template in creates if template.endswith("/batch/")]
    assert len(batches) >= 3
    problems, sent = [], 0
    for template in batches:
        single = _component(schema, creates[template.removesuffix("batch/")])
        example = single.get("example") or {}
        for field, field_schema in single.get("properties", {}).items():
            if field_schema.get("readOnly"):
                continue
            for label, literal in HOSTILE.items():
                if literal is None:
                    continue
                item = json.dumps({k: v for k, v in example.items() if k != field})
                item = item[:-1] + ("," if len(item) > 2 else "") + f'"{field}": {literal}' + "}"
                response = _send(client, "post", template, '{"items": [' + item + "]}")
                sent += 1
                where = (template, field, label, response.status_code)
                if response.status_code >= 500:
                    problems.append((*where, "server error"))
                elif response.status_code in (200, 207):
                    result = response.json()["results"][0]
                    if result["status"] != "error":
                        problems.append((*where, f"accepted: {result['status']}"))
                    elif field not in result["errors"]:
                        problems.append((*where, f"names {sorted(result['errors'])}"))
                elif response.status_code in (400, 422):
                    # refused whole, naming the item's field; a non-finite number (1e400) is refused by
                    # the batch's JSON check before the items are read, which can only name the item
                    named = _named(response, f"items.0.{field}") or (
                        label.endswith("1e400") and _named(response, "items.0")
                    )
                    if not named:
                        problems.append((*where, f"names {sorted(response.json()['error']['fields'])}"))
                else:
                    problems.append((*where, "unexpected status"))
    assert problems == []
    assert sent > 100


def test_invalid_utf8_is_a_400_in_json_bodies_and_query_strings(tenant_a):
    client = api_client("alpha", api_key_for("alpha", list(ALL_SCOPES)))
    schema = client.get("/api/schema/?format=json").json()
    for template, method, _ in _operations(schema):
        path = _PARAM.sub("1", template)
        response = _send(client, method, path, b'{"name": "\xff\xfe"}')
        assert response.status_code == 400, (method, template, response.content[:200])
        assert response.json()["error"]["code"] in ("invalid", "bad_request", "parse_error")
    for path, operations in schema["paths"].items():
        if "get" in operations and "{" not in path:
            response = client.get(path, QUERY_STRING="search=%FF%FE&ordering=%C0")
            assert response.status_code < 500, path
