"""API shell: key auth first (401 vs 403), scopes, one error body, cursor pagination, schema, docs."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import schema_context

from accounts.services import user_create
from tests.conftest import BREAKS_RULE, BREAKS_SCHEMA, api_client, api_key_for, client_for, login, refused

pytestmark = pytest.mark.django_db


def test_no_credentials_is_401_with_the_error_body(tenant_a):
    response = api_client("alpha").get("/api/v1/users/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    assert response.json() == {
        "error": {
            "status": 401,
            "code": "not_authenticated",
            "message": "Authentication credentials were not provided.",
            "fields": {},
        }
    }


@pytest.mark.parametrize("header", ["Bearer", "Bearer a b", "Bearer tdm_nope", "Bearer \u00e9\u00e9"])
def test_malformed_or_unknown_keys_are_401(tenant_a, header):
    response = client_for("alpha").get("/api/v1/users/", HTTP_AUTHORIZATION=header)
    assert response.status_code == 401
    assert response.json()["error"]["status"] == 401


def test_valid_key_without_the_scope_is_403(tenant_a):
    key = api_key_for("alpha", ["marketing:write"])
    response = api_client("alpha", key).get("/api/v1/users/")
    assert response.status_code == 403
    assert response.json()["error"]["message"] == "This operation needs the 'admin:read' scope."
    read_only = api_key_for("alpha", ["admin:read"], name="ro")
    write = api_client("alpha", read_only).post(
        "/api/v1/invitations/", {"email": "a@b.example", "roles": ["sales"]}, content_type="application/json"
    )
    assert write.status_code == 403


@pytest.mark.parametrize(
    ("role", "path", "status"),
    [
        ("admin", "/api/v1/users/", 200),
        ("marketing", "/api/v1/users/", 403),
        ("sales", "/api/v1/users/", 403),
        ("leadership", "/api/v1/users/", 403),
        ("sales", "/api/v1/me/", 200),
    ],
)
def test_portal_session_reaches_the_api_by_role(tenant_a, role, path, status):
    assert login("alpha", role).get(path).status_code == status


def test_session_api_writes_need_csrf(tenant_a):
    client = login("alpha", "admin")
    client.handler.enforce_csrf_checks = True
    response = client.post(
        "/api/v1/invitations/",
        {"email": "a@alpha.example", "roles": ["sales"]},
        content_type="application/json",
    )
    assert response.status_code == 403
    assert "CSRF" in response.json()["error"]["message"]


@pytest.mark.parametrize(
    ("payload", "fields", "status"),
    [
        ({"email": "nope", "roles": ["sales"]}, {"email"}, BREAKS_SCHEMA),
        ({"email": "a@alpha.example", "roles": ["wizard"]}, {"roles.0"}, BREAKS_SCHEMA),
        ({"email": "a@alpha.example", "roles": []}, {"roles"}, BREAKS_SCHEMA),
        (
            {"email": "a\x00b@alpha.example", "roles": ["sales"]},
            {"email"},
            BREAKS_RULE,
        ),  # NUL: PostgreSQL's rule
        ({"email": "a" * 300 + "@alpha.example", "roles": ["sales"]}, {"email"}, BREAKS_SCHEMA),
        ({}, {"email", "roles"}, BREAKS_SCHEMA),
        ({"email": ["x"], "roles": "sales"}, {"email", "roles"}, BREAKS_SCHEMA),
    ],
)
def test_bad_input_is_400_with_field_errors(tenant_a, payload, fields, status):
    key = api_key_for("alpha", ["admin:write"])
    response = api_client("alpha", key).post("/api/v1/invitations/", payload, content_type="application/json")
    assert fields <= refused(response, status), response.json()


def test_service_level_errors_use_the_same_shape(tenant_a):
    key = api_key_for("alpha", ["admin:write"])
    response = api_client("alpha", key).post(
        "/api/v1/invitations/",
        {"email": "mark@alpha.example", "roles": ["sales"]},
        content_type="application/json",
    )
    assert response.status_code == 422  # fits the schema; a rule says no
    assert response.json()["error"]["fields"]["email"] == [
        "This person is already a member of the workspace."
    ]


def test_unknown_query_parameter_is_400_naming_it(tenant_a):
    key = api_key_for("alpha", ["admin:read"])
    response = api_client("alpha", key).get("/api/v1/users/?sort=email&role=sales")
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"sort"}


def test_unknown_api_route_is_a_json_404(tenant_a):
    key = api_key_for("alpha", ["admin:read"])
    response = api_client("alpha", key).get("/api/v1/nothing-here/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_users_list_is_cursor_paginated(tenant_a):
    with schema_context("alpha"):
        for index in range(7):
            user_create(email=f"page{index}@alpha.example", full_name=f"Page {index}", roles=["sales"])
    key = api_key_for("alpha", ["admin:read"])
    client = api_client("alpha", key)
    seen, url = [], "/api/v1/users/?limit=3"
    while url:
        body = client.get(url).json()
        assert "count" not in body and len(body["results"]) <= 3
        seen += [user["email"] for user in body["results"]]
        url = body["next"].replace("http://alpha.localhost", "") if body["next"] else None
    assert len(seen) == len(set(seen)) == 11  # 4 members + 7 new


def _count_queries(client, path) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(path).status_code == 200
    connection.set_schema_to_public()
    return len(ctx.captured_queries)


def test_users_list_api_query_budget_does_not_grow_with_rows(tenant_a):
    key = api_key_for("alpha", ["admin:read"])
    client = api_client("alpha", key)
    client.get("/api/v1/me/")  # last_used is written at most once a minute; take that write out of the count
    with schema_context("alpha"):
        for index in range(5):
            user_create(email=f"few{index}@alpha.example", full_name=f"Few {index}", roles=["sales"])
    few = _count_queries(client, "/api/v1/users/")
    with schema_context("alpha"):
        for index in range(45):
            user_create(email=f"many{index}@alpha.example", full_name=f"Many {index}", roles=["sales"])
    many = _count_queries(client, "/api/v1/users/")
    # SET search_path (once per request), key lookup by prefix, the rate-limit count, the page of users
    # (cursor: no COUNT)
    assert few == many == 4


def test_openapi_schema_and_offline_docs(tenant_a):
    schema = client_for("alpha").get("/api/schema/?format=json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert {"/api/v1/users/", "/api/v1/invitations/", "/api/v1/api-keys/", "/api/v1/me/"} <= set(paths)
    docs = client_for("alpha").get("/api/docs/")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in html
    # every script and stylesheet comes from this host: no absolute or protocol-relative URL
    assert re.findall(r"""(?:src|href)=["'](?:https?:)?//""", html) == []


def test_healthz_reports_database_and_broker(tenant_a):
    for host in ("alpha", None):
        body = client_for(host).get("/healthz").json()
        assert body["status"] == "ok"
        assert body["checks"]["database"]["ok"] and body["checks"]["broker"]["ok"]


def test_openapi_schema_validates_without_warnings():
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    result = subprocess.run(
        [sys.executable, "manage.py", "spectacular", "--validate", "--fail-on-warn", "--file", "/dev/null"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
        env={**__import__("os").environ, "DJANGO_SETTINGS_MODULE": "config.settings.test"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
