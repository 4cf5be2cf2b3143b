"""Marketing portal pages: isolation, roles and query budgets that do not grow with rows."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import schema_context

from marketing.models import Campaign, Contact, CostLine, Segment
from tests.conftest import login
from tests.marketing.test_api import seed

pytestmark = pytest.mark.django_db

LIST_PAGES = [
    "/marketing/",
    "/marketing/campaigns/",
    "/marketing/campaigns/{campaign}/",
    "/marketing/contacts/",
    "/marketing/contacts/{contact}/",
    "/marketing/companies/",
    "/marketing/content/",
    "/marketing/segments/",
    "/marketing/segments/{segment}/",
    "/marketing/forms/",
    "/marketing/forms/{form}/",
    "/marketing/imports/",
    "/marketing/scoring/",
    "/marketing/export/contacts.csv",
    "/marketing/export/campaigns.csv",
]
WRITE_PAGES = ["/marketing/imports/"]
DETAIL_PAGES = [
    "/marketing/campaigns/{campaign}/",
    "/marketing/campaigns/{campaign}/edit/",
    "/marketing/contacts/{contact}/",
    "/marketing/contacts/{contact}/edit/",
    "/marketing/segments/{segment}/",
    "/marketing/segments/{segment}/edit/",
    "/marketing/forms/{form}/",
    "/marketing/forms/{form}/edit/",
    "/marketing/imports/{imports}/",
]


def _queries(client, path) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(path)
        if response.streaming:
            b"".join(response.streaming_content)  # exports run their queries while streaming
    connection.set_schema_to_public()
    assert response.status_code == 200, response.content[:500] if not response.streaming else path
    return len(ctx.captured_queries)


def test_page_query_budgets_are_equal_at_5_and_50_rows(tenant_a):
    """Every list page, measured at 5 rows and again at 50 (one seeding for all of them)."""
    client = login("alpha", "marketing")
    ids = seed("alpha", 5, "few")
    few = {path: _queries(client, path.format(**ids)) for path in LIST_PAGES}
    ids = seed("alpha", 45, "many")
    many = {path: _queries(client, path.format(**ids)) for path in LIST_PAGES}
    assert few == many


def test_pages_are_isolated_between_tenants(tenant_a, tenant_b):
    alpha_ids = seed("alpha", 2, "alphacanary")
    beta_ids = seed("beta", 2, "betacanary")
    beta = login("beta", "marketing")
    for path in LIST_PAGES:
        own = beta.get(path.format(**beta_ids))
        assert own.status_code == 200 and b"alphacanary" not in _body(own), path
        connection.set_schema_to_public()
        foreign = beta.get(path.format(**alpha_ids))
        assert b"alphacanary" not in _body(foreign), path
        connection.set_schema_to_public()


def _body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_foreign_ids_are_404(tenant_a, tenant_b):
    alpha_ids = seed("alpha", 1, "alphaonly")
    missing = {key: value + 10_000 for key, value in alpha_ids.items()} | {"imports": 10_000}
    beta = login("beta", "admin")
    for path in DETAIL_PAGES:
        assert beta.get(path.format(**missing)).status_code == 404, path
        connection.set_schema_to_public()


@pytest.mark.parametrize(
    ("role", "read", "write"),
    [("marketing", 200, 302), ("admin", 200, 302), ("sales", 200, 403), ("leadership", 200, 403)],
)
def test_sales_and_leadership_read_but_cannot_change(tenant_a, role, read, write):
    ids = seed("alpha", 1, "roles")
    client = login("alpha", role)
    for path in [p.format(**ids) for p in LIST_PAGES if p not in WRITE_PAGES]:
        assert client.get(path).status_code == read, path
    connection.set_schema_to_public()
    for path in WRITE_PAGES:  # the import wizard changes data, so only writers see it
        assert client.get(path).status_code == (200 if write == 302 else 403), path
    connection.set_schema_to_public()
    create = client.post(
        "/marketing/campaigns/new/",
        {
            "name": "By " + role,
            "channel": "email",
            "objective": "awareness",
            "status": "planned",
            "start_date": "2026-04-01",
            "budget": "100",
        },
    )
    assert create.status_code == write
    connection.set_schema_to_public()
    cost = client.post(
        f"/marketing/campaigns/{ids['campaign']}/costs/", {"date": "2026-04-02", "amount": "5"}
    )
    assert cost.status_code == write
    with schema_context("alpha"):
        assert Campaign.objects.filter(name="By " + role).exists() == (write == 302)
        assert CostLine.objects.filter(date="2026-04-02").exists() == (write == 302)
    if write == 403:
        connection.set_schema_to_public()
        assert client.get("/marketing/campaigns/new/").status_code == 403


def test_campaign_form_errors_name_the_field_and_store_nothing(tenant_a):
    client = login("alpha", "marketing")
    response = client.post(
        "/marketing/campaigns/new/",
        {
            "name": "Bad",
            "channel": "email",
            "objective": "awareness",
            "status": "planned",
            "start_date": "2026-05-10",
            "end_date": "2026-05-01",
            "budget": "-3",
        },
    )
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert "end_date" in errors and "budget" in errors
    with schema_context("alpha"):
        assert not Campaign.objects.exists()


def test_contact_stage_change_from_the_portal(tenant_a):
    ids = seed("alpha", 1, "stage")
    client = login("alpha", "marketing")
    response = client.post(
        f"/marketing/contacts/{ids['contact']}/stage/", {"to_stage": "mql", "reason": "call"}
    )
    assert response.status_code == 302
    with schema_context("alpha"):
        contact = Contact.objects.get(pk=ids["contact"])
        assert contact.lifecycle_stage == "mql"
        assert contact.transitions.filter(to_stage="mql", reason="call").count() == 1


def test_segment_builder_saves_and_counts(tenant_a):
    seed("alpha", 3, "builder")
    client = login("alpha", "marketing")
    definition = (
        '{"match": "all", "conditions": [{"field": "first_name", "op": "starts_with", "value": "builder"}]}'
    )
    count = client.post("/marketing/segments/count/", {"definition": definition})
    assert count.content.decode().strip() == "3 contacts"
    bad = client.post(
        "/marketing/segments/count/", {"definition": '{"match": "all", "conditions": [{"field": "x"}]}'}
    )
    assert b"conditions.0.field" in bad.content
    connection.set_schema_to_public()
    saved = client.post(
        "/marketing/segments/new/", {"name": "Builders", "kind": "rule", "definition": definition}
    )
    assert saved.status_code == 302
    with schema_context("alpha"):
        assert Segment.objects.get(name="Builders").last_count == 3


def test_static_list_is_filled_by_hand_and_from_a_csv(tenant_a):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from marketing.services.segments import segment_create
    from tests.marketing import factories

    with schema_context("alpha"):
        for name in ("ann", "bob", "cat"):
            factories.contact(email=f"{name}@list.example")
        segment = segment_create(data={"name": "Dinner guests", "kind": "static"})
    client = login("alpha", "marketing")
    by_hand = client.post(
        f"/marketing/segments/{segment.pk}/members/",
        {"emails": "ANN@list.example, nobody@x.example"},
        follow=True,
    )
    assert b"1 contact added" in by_hand.content and b"nobody@x.example" in by_hand.content
    connection.set_schema_to_public()
    upload = SimpleUploadedFile(
        "guests.csv", b"First Name,Email\nBob,bob@list.example\nCat,cat@list.example\n"
    )
    from_file = client.post(f"/marketing/segments/{segment.pk}/members/", {"file": upload}, follow=True)
    assert b"2 contacts added" in from_file.content
    with schema_context("alpha"):
        segment.refresh_from_db()
        assert segment.last_count == 3
    connection.set_schema_to_public()
    assert (
        login("alpha", "sales")
        .post(f"/marketing/segments/{segment.pk}/members/", {"emails": "ann@list.example"})
        .status_code
        == 403
    )


def test_scoring_page_adds_rules_and_versions_the_mql_rule(tenant_a):
    from marketing.models import MqlRule, ScoringRule

    client = login("alpha", "marketing")
    assert client.get("/marketing/scoring/").status_code == 200
    connection.set_schema_to_public()
    fit = client.post(
        "/marketing/scoring/",
        {
            "action": "fit",
            "name": "Directors",
            "field": "seniority",
            "op": "in",
            "value": "director, vp",
            "points": "20",
        },
    )
    assert fit.status_code == 302
    connection.set_schema_to_public()
    bad = client.post(
        "/marketing/scoring/",
        {"action": "fit", "name": "Bad", "field": "country", "op": "gt", "value": "x", "points": "5"},
    )
    assert bad.status_code == 400 and "condition.op" in str(bad.context["fit_form"].errors)
    connection.set_schema_to_public()
    mql = client.post("/marketing/scoring/", {"action": "mql", "score_threshold": "75", "note": "stricter"})
    assert mql.status_code == 302
    with schema_context("alpha"):
        assert ScoringRule.objects.get(name="Directors").condition["value"] == ["director", "vp"]
        assert MqlRule.objects.order_by("-version").first().score_threshold == 75
    connection.set_schema_to_public()
    assert (
        login("alpha", "sales")
        .post("/marketing/scoring/", {"action": "mql", "score_threshold": "1"})
        .status_code
        == 403
    )
