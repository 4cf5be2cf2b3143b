"""The published schema enforced at the door (config.contract): 400 when a request breaks the schema,
422 when it fits but a rule says no, 409 when it conflicts with stored data. The integration suite runs
schemathesis over every operation (tests/integration/test_api_contract.py); these pin the split."""

from __future__ import annotations

import pytest
from django_tenants.utils import schema_context

from tests.conftest import api_client, api_key_for, login

pytestmark = pytest.mark.django_db


def _error(response, status: int) -> dict:
    assert response.status_code == status, response.content[:400]
    body = response.json()["error"]
    assert body["status"] == status
    assert body["code"] == {400: "invalid", 409: "conflict", 422: "unprocessable"}[status]
    return body["fields"]


@pytest.fixture
def writer(tenant_a):
    return api_client("alpha", api_key_for("alpha", ["marketing:write", "alignment:write", "sales:write"]))


def test_a_body_that_breaks_the_schema_is_a_400_naming_each_field(writer):
    response = writer.post("/api/v1/companies/", {"name": 0, "size": "big"}, content_type="application/json")
    assert _error(response, 400) == {"name": ["Give a string."], "size": ["Unknown field."]}
    response = writer.post(
        "/api/v1/objections/", {"category": "nope", "is_active": 1}, content_type="application/json"
    )
    fields = _error(response, 400)
    assert fields["name"] == ["This field is required."] and fields["is_active"] == ["Give true or false."]
    assert fields["category"][0].startswith("Choose one of: ")
    with schema_context("alpha"):
        from marketing.models import Company

        assert not Company.objects.exists()


def test_query_parameters_are_typed_and_given_once(writer):
    assert _error(writer.get("/api/v1/contacts/?limit=5&limit=6"), 400) == {
        "limit": ["Give this parameter once."]
    }
    assert _error(writer.get("/api/v1/contacts/?limit=0"), 400) == {"limit": ["Give a number of at least 1."]}
    assert _error(writer.get("/api/v1/contacts/?limit=201"), 400) == {
        "limit": ["Give a number of at most 200."]
    }
    assert _error(writer.get("/api/v1/touchpoints/?contact=x"), 400) == {"contact": ["Give a whole number."]}
    assert _error(writer.get("/api/v1/activities/?open=maybe"), 400) == {"open": ["Give true or false."]}
    assert writer.get("/api/v1/contacts/?limit=200").status_code == 200


def test_a_request_that_fits_the_schema_but_breaks_a_rule_is_a_422(writer):
    response = writer.post("/api/v1/objections/logs/", {"objection": 999999}, content_type="application/json")
    assert "deal" in _error(response, 422) or "objection" in _error(response, 422)
    # a NUL character fits the schema's string; PostgreSQL refuses it, so it is named, never a 500
    assert _error(writer.get("/api/v1/contacts/?search=a%00b"), 422) == {
        "search": ["A parameter cannot contain NUL characters."]
    }


def test_a_duplicate_is_a_409(writer):
    assert (
        writer.post(
            "/api/v1/contacts/", {"email": "d@example.com"}, content_type="application/json"
        ).status_code
        == 201
    )
    response = writer.post("/api/v1/contacts/", {"email": "D@example.com"}, content_type="application/json")
    assert _error(response, 409) == {"email": ["A contact with this email address already exists."]}


def test_a_list_sent_where_one_object_goes_points_to_the_batch(writer):
    response = writer.post("/api/v1/touchpoints/", [{"kind": "page_visit"}], content_type="application/json")
    assert _error(response, 400) == {
        "non_field_errors": ["Give one object here; send a list of them to /api/v1/touchpoints/batch/."]
    }


def test_decimals_are_taken_as_numbers_or_strings(writer):
    for amount in (2500, "2500.50"):
        response = writer.post(
            "/api/v1/deals/", {"name": f"Deal {amount}", "amount": amount}, content_type="application/json"
        )
        assert response.status_code == 201, response.content[:300]
    assert _error(
        writer.post("/api/v1/deals/", {"name": "x", "amount": True}, content_type="application/json"), 400
    )


def test_the_served_schema_closes_request_bodies_and_keeps_filters_on_lists(tenant_a):
    schema = api_client("alpha").get("/api/schema/?format=json").json()
    for name, component in schema["components"]["schemas"].items():
        if name.endswith("Request") and "properties" in component:
            assert component["additionalProperties"] is False, name
    for path, operations in schema["paths"].items():
        for method in ("post", "patch", "put"):
            parameters = operations.get(method, {}).get("parameters", [])
            assert not [p for p in parameters if p["in"] == "query"], (method, path)
        for method, operation in operations.items():
            if method in ("get", "post", "patch", "put", "delete"):
                assert {"400", "401", "403", "404", "414", "422", "429"} <= set(operation["responses"]), (
                    method,
                    path,
                )


def test_ordering_and_the_idempotency_key_are_documented_and_checked(writer):
    schema = api_client("alpha").get("/api/schema/?format=json").json()
    contacts = schema["paths"]["/api/v1/contacts/"]
    ordering = [p for p in contacts["get"]["parameters"] if p["name"] == "ordering"]
    assert ordering and "-created" in ordering[0]["schema"]["enum"]
    assert [p["in"] for p in contacts["post"]["parameters"] if p["name"] == "Idempotency-Key"] == ["header"]
    assert _error(writer.get("/api/v1/contacts/?ordering=shoe_size"), 400)["ordering"][0].startswith(
        "Choose one"
    )
    response = writer.post(
        "/api/v1/contacts/",
        {"email": "k@example.com"},
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="é",
    )
    assert _error(response, 400) == {"Idempotency-Key": ["This value is not in the expected format."]}


def test_every_body_in_the_schema_has_an_example_that_fits_it(tenant_a):
    from jsonschema import Draft202012Validator

    from config.contract import FORMATS, _json_schema

    schema = api_client("alpha").get("/api/schema/?format=json").json()
    components = schema["components"]["schemas"]
    converted = _json_schema(components)
    objects = [name for name, component in components.items() if component.get("type") == "object"]
    assert len(objects) > 150
    for name in objects:
        root = {"$ref": f"#/components/schemas/{name}", "components": {"schemas": converted}}
        assert Draft202012Validator(root, format_checker=FORMATS).is_valid(components[name].get("example")), (
            name
        )
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            for status, answer in operation.get("responses", {}).items():
                if status in ("400", "401", "403", "404", "409", "413", "422", "429"):
                    example = answer["content"]["application/json"]["example"]
                    assert example["error"]["status"] == int(status), (method, path, status)


# Bodies whose JSON a service stores as given (an engagement rule keeps its condition unread): a NUL in a key
# or a value reached PostgreSQL's jsonb, which refuses \u0000.
ENGAGEMENT = {"name": "r", "kind": "engagement", "touch_kind": "page_visit", "points": 5, "window_days": 30}
NUL_BODIES = [
    ("/api/v1/scoring-rules/", {**ENGAGEMENT, "condition": {"k\x00": 1}}, "condition"),
    ("/api/v1/scoring-rules/", {**ENGAGEMENT, "condition": {"k": ["a", {"b": "c\x00"}]}}, "condition"),
]


@pytest.mark.parametrize(("path", "body", "field"), NUL_BODIES)
def test_a_nul_anywhere_in_json_is_named_never_a_500(writer, path, body, field):
    """PostgreSQL's jsonb refuses \\u0000 in keys and values alike (a 500 schemathesis found)."""
    response = writer.post(path, body, content_type="application/json")
    assert field in _error(response, 422), response.content[:300]


def test_a_body_over_the_limit_is_a_413_in_the_api_and_the_portal(writer, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = writer.post("/api/v1/companies/", {"name": "x" * 2000}, content_type="application/json")
    assert response.status_code == 413 and response.json()["error"]["code"] == "too_large"
    with_key = writer.post(
        "/api/v1/companies/",
        {"name": "x" * 2000},
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="big",
    )
    assert with_key.status_code == 413
    page = login("alpha", "marketing").post(
        "/marketing/contacts/new/", {"email": "a@example.com", "notes": "x" * 2000}
    )
    assert page.status_code == 413 and b"Request too large" in page.content
    with schema_context("alpha"):
        from marketing.models import Company, Contact

        assert not Company.objects.exists() and not Contact.objects.filter(email="a@example.com").exists()
