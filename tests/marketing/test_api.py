"""Marketing API: every list endpoint is isolated per tenant, role-checked and on a flat query budget."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import schema_context

from marketing.models import ImportJob
from marketing.services.campaigns import cost_line_add, send_add
from marketing.services.content import content_create
from marketing.services.forms import form_create, form_submit
from marketing.services.scoring import scoring_rule_create
from marketing.services.segments import segment_create
from marketing.services.touchpoints import touchpoints_record
from tests.conftest import BREAKS_RULE, BREAKS_SCHEMA, api_client, api_key_for, login, refused
from tests.marketing import factories

pytestmark = pytest.mark.django_db


def seed(slug: str, n: int, tag: str) -> dict:
    """n rows of every marketing resource in one tenant, each pointing at related rows."""
    with schema_context(slug):
        company = factories.company(name=f"{tag} Co")
        campaign = factories.campaign(name=f"{tag} campaign")
        segment = segment_create(data={"name": f"{tag} segment", "kind": "static"})
        lead_form = form_create(data={"name": f"{tag} form", "campaign": campaign.pk})
        for i in range(n):
            person = factories.contact(first_name=f"{tag}{i}", company=company)
            other_campaign = factories.campaign(name=f"{tag} c{i}")
            cost_line_add(campaign=campaign, data={"date": "2026-01-02", "amount": "10", "note": f"{tag}{i}"})
            send_add(campaign=campaign, data={"name": f"{tag} send {i}", "sent_at": "2026-01-03T00:00:00Z"})
            content_create(
                data={
                    "title": f"{tag} asset {i}",
                    "kind": "whitepaper",
                    "funnel_stage": "awareness",
                    "url": "https://example.com/x",
                    "campaigns": [campaign.pk, other_campaign.pk],
                }
            )
            touchpoints_record(
                items=[{"kind": "page_visit", "contact_id": person.pk, "campaign_id": campaign.pk}]
            )
            scoring_rule_create(
                data={
                    "name": f"{tag} rule {i}",
                    "kind": "engagement",
                    "touch_kind": "page_visit",
                    "points": 1,
                }
            )
            segment_create(data={"name": f"{tag} seg {i}", "definition": {"match": "all", "conditions": []}})
            factories.company(name=f"{tag} extra {i}")
            form_submit(key=lead_form.key, data={"email": f"{tag}{i}@form.example"}, meta={"ip": "10.0.0.1"})
            ImportJob.objects.create(
                kind="contacts",
                file=f"imports/{tag}{i}.csv",
                original_name=f"{tag}{i}.csv",
                errors=[{"row": 2, "field": "Email", "message": f"{tag} bad"}],
            )
        return {
            "campaign": campaign.pk,
            "contact": person.pk,
            "segment": segment.pk,
            "company": company.pk,
            "form": lead_form.pk,
        }


LISTS = [
    "/api/v1/companies/",
    "/api/v1/contacts/",
    "/api/v1/campaigns/",
    "/api/v1/campaigns/{campaign}/costs/",
    "/api/v1/campaigns/{campaign}/sends/",
    "/api/v1/content/",
    "/api/v1/touchpoints/",
    "/api/v1/segments/",
    "/api/v1/scoring-rules/",
    "/api/v1/mql-rule/",
    "/api/v1/contacts/{contact}/transitions/",
    "/api/v1/contacts/{contact}/touchpoints/",
    "/api/v1/forms/",
    "/api/v1/forms/{form}/submissions/",
    "/api/v1/imports/",
]


def _count(client, url) -> tuple[int, dict]:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    connection.set_schema_to_public()
    assert response.status_code == 200, response.content[:300]
    return len(ctx.captured_queries), response.json()


def test_list_query_budgets_are_equal_at_5_and_50_rows(tenant_a):
    """Every list endpoint, measured at 5 rows and again at 50 (one seeding for all of them)."""
    key = api_key_for("alpha", ["marketing:read"])
    client = api_client("alpha", key)
    client.get("/api/v1/me/")  # the once-a-minute last_used write is not part of the budget
    ids = seed("alpha", 5, "few")
    few = {}
    for path in LISTS:
        few[path], body = _count(client, path.format(**ids))
        assert body["results"], f"{path}: the list must not be empty"
    ids = seed("alpha", 45, "many")
    many = {path: _count(client, path.format(**ids))[0] for path in LISTS}
    assert few == many


def test_lists_are_isolated_between_tenants(tenant_a, tenant_b):
    from marketing.models import Campaign, Contact, LeadForm

    with schema_context("alpha"):  # alpha's ids run past beta's, so they name rows beta does not have
        for i in range(6):
            form_create(data={"name": f"padding {i}", "campaign": factories.campaign().pk})
            factories.contact()
    alpha_ids = seed("alpha", 2, "alphacanary")
    seed("beta", 2, "betacanary")
    with schema_context("beta"):
        assert not Campaign.objects.filter(pk=alpha_ids["campaign"]).exists()
        assert not Contact.objects.filter(pk=alpha_ids["contact"]).exists()
        assert not LeadForm.objects.filter(pk=alpha_ids["form"]).exists()
    beta = api_client("beta", api_key_for("beta", ["marketing:read"]))
    alpha_key = api_key_for("alpha", ["marketing:read"])
    for path in LISTS:
        response = beta.get(path.format(**alpha_ids))
        # an alpha object id on beta's host is the same 404 as a missing one; beta's own lists answer
        assert response.status_code == (404 if "{" in path else 200), path
        assert "alphacanary" not in response.content.decode(), path
        assert api_client("beta", alpha_key).get(path.format(**alpha_ids)).status_code == 401, path


@pytest.mark.parametrize(
    ("role", "read", "write"),
    [("admin", 200, 201), ("marketing", 200, 201), ("sales", 200, 403), ("leadership", 200, 403)],
)
def test_roles_read_and_write(tenant_a, role, read, write):
    client = login("alpha", role)
    assert client.get("/api/v1/campaigns/").status_code == read
    response = client.post(
        "/api/v1/campaigns/",
        {"name": "x", "channel": "email", "start_date": "2026-01-01"},
        content_type="application/json",
        HTTP_X_CSRFTOKEN="",
    )
    assert response.status_code == write


def test_keys_need_the_marketing_scope(tenant_a):
    assert (
        api_client("alpha", api_key_for("alpha", ["sales:write"])).get("/api/v1/contacts/").status_code == 403
    )
    reader = api_client("alpha", api_key_for("alpha", ["marketing:read"]))
    assert (
        reader.post(
            "/api/v1/contacts/", {"email": "a@b.example"}, content_type="application/json"
        ).status_code
        == 403
    )


@pytest.mark.parametrize(
    ("path", "payload", "field", "status"),
    [
        (
            "/api/v1/campaigns/",
            {"name": "x", "channel": "email", "start_date": "2026-02-01", "end_date": "2026-01-01"},
            "end_date",
            BREAKS_RULE,  # before the start
        ),
        (
            "/api/v1/campaigns/",
            {"name": "x", "channel": "email", "start_date": "2026-02-01", "budget": "-1"},
            "budget",
            BREAKS_RULE,  # below 0, written as text
        ),
        (
            "/api/v1/campaigns/",
            {"name": "x", "channel": "telegraph", "start_date": "2026-02-01"},
            "channel",
            BREAKS_SCHEMA,
        ),
        ("/api/v1/contacts/", {"email": "nope"}, "email", BREAKS_SCHEMA),
        ("/api/v1/contacts/", {"email": "a@b.example", "first_name": "a\x00"}, "first_name", BREAKS_RULE),
        ("/api/v1/contacts/", {"email": "a@b.example", "job_title": "x" * 1000}, "job_title", BREAKS_SCHEMA),
        (
            "/api/v1/segments/",
            {"name": "s", "definition": {"match": "all", "conditions": [{"field": "x", "op": "eq"}]}},
            "definition",
            BREAKS_RULE,
        ),
        (
            "/api/v1/segments/count/",
            {
                "definition": {
                    "match": "all",
                    "conditions": [{"field": "country", "op": "teleports", "value": 1}],
                }
            },
            "definition",
            BREAKS_RULE,
        ),
        (
            "/api/v1/content/",
            {"title": "t", "kind": "whitepaper", "funnel_stage": "awareness"},
            "url",
            BREAKS_RULE,
        ),  # a URL or a file
        ("/api/v1/touchpoints/", {"kind": "page_visit"}, "contact_id", BREAKS_RULE),  # a contact or an e-mail
        ("/api/v1/mql-rule/", {"score_threshold": -4}, "score_threshold", BREAKS_SCHEMA),
    ],
)
def test_bad_input_is_400_naming_the_field_and_stores_nothing(tenant_a, path, payload, field, status):
    client = api_client("alpha", api_key_for("alpha", ["marketing:write"]))
    response = client.post(path, payload, content_type="application/json")
    assert field in refused(response, status), response.json()
    with schema_context("alpha"):
        from marketing.models import Campaign, Contact, ContentAsset, Segment, Touchpoint

        assert [m.objects.count() for m in (Campaign, Contact, ContentAsset, Segment, Touchpoint)] == [
            0,
            0,
            0,
            0,
            0,
        ]


def test_touchpoint_batch_reports_per_item(tenant_a):
    client = api_client("alpha", api_key_for("alpha", ["marketing:write"]))
    response = client.post(
        "/api/v1/touchpoints/batch/",
        {
            "items": [
                {"kind": "page_visit", "email": "batch@x.example", "external_id": "b-1"},
                {"kind": "nope", "email": "batch@x.example"},
            ]
        },
        content_type="application/json",
    )
    assert response.status_code == 207
    body = response.json()
    assert (body["created"], body["errors"]) == (1, 1)
    assert body["results"][1]["errors"]["kind"]
    too_many = client.post(
        "/api/v1/touchpoints/batch/",
        {"items": [{"kind": "page_visit"}] * 1001},
        content_type="application/json",
    )
    assert too_many.status_code == 400 and "items" in too_many.json()["error"]["fields"]


def test_contact_stage_change_and_history(tenant_a):
    client = api_client("alpha", api_key_for("alpha", ["marketing:write"]))
    contact = client.post(
        "/api/v1/contacts/", {"email": "stage@x.example"}, content_type="application/json"
    ).json()
    moved = client.post(
        f"/api/v1/contacts/{contact['id']}/stage/",
        {"to_stage": "mql", "reason": "webinar"},
        content_type="application/json",
    )
    assert moved.status_code == 200 and moved.json()["lifecycle_stage"] == "mql"
    history = client.get(f"/api/v1/contacts/{contact['id']}/transitions/").json()["results"]
    assert [(t["from_stage"], t["to_stage"]) for t in history] == [("", "lead"), ("lead", "mql")]
    bad = client.post(
        f"/api/v1/contacts/{contact['id']}/stage/", {"to_stage": "wizard"}, content_type="application/json"
    )
    assert bad.status_code == 400 and "to_stage" in bad.json()["error"]["fields"]


def test_segment_count_and_members(tenant_a):
    seed("alpha", 3, "seg")
    client = api_client("alpha", api_key_for("alpha", ["marketing:write"]))
    count = client.post(
        "/api/v1/segments/count/",
        {
            "definition": {
                "match": "all",
                "conditions": [{"field": "first_name", "op": "starts_with", "value": "seg"}],
            }
        },
        content_type="application/json",
    )
    assert count.json() == {"count": 3}
    static = client.post(
        "/api/v1/segments/", {"name": "VIPs", "kind": "static"}, content_type="application/json"
    )
    contacts = client.get("/api/v1/contacts/?search=seg").json()["results"]
    added = client.post(
        f"/api/v1/segments/{static.json()['id']}/members/",
        {"contact_ids": [c["id"] for c in contacts[:2]]},
        content_type="application/json",
    )
    assert added.json()["last_count"] == 2
    members = client.get(f"/api/v1/segments/{static.json()['id']}/members/").json()["results"]
    assert len(members) == 2


def test_unknown_filters_and_orderings_are_400(tenant_a):
    client = api_client("alpha", api_key_for("alpha", ["marketing:read"]))
    assert "colour" in client.get("/api/v1/contacts/?colour=red").json()["error"]["fields"]
    assert "ordering" in client.get("/api/v1/contacts/?ordering=password").json()["error"]["fields"]
    assert "lifecycle_stage" in client.get("/api/v1/contacts/?lifecycle_stage=boss").json()["error"]["fields"]
    assert "company" in client.get("/api/v1/contacts/?company=abc").json()["error"]["fields"]
    assert client.get("/api/v1/contacts/?ordering=-score").status_code == 200


CREATABLE = {
    "/api/v1/companies/": {"name": "Role Co"},
    "/api/v1/contacts/": {"email": "role@x.example"},
    "/api/v1/campaigns/": {"name": "Role", "channel": "email", "start_date": "2026-01-01"},
    "/api/v1/content/": {
        "title": "Role",
        "kind": "blog_post",
        "funnel_stage": "awareness",
        "url": "https://x.example",
    },
    "/api/v1/touchpoints/": {"kind": "page_visit", "anonymous_id": "role"},
    "/api/v1/segments/": {"name": "Role segment"},
    "/api/v1/scoring-rules/": {"name": "Role", "kind": "engagement", "touch_kind": "page_visit", "points": 1},
    "/api/v1/forms/": {"name": "Role form"},
}


@pytest.mark.parametrize("role", ["sales", "leadership", "marketing"])
def test_every_list_reads_for_all_roles_and_writes_for_marketing_only(tenant_a, role):
    ids = seed("alpha", 1, "roles")
    client = login("alpha", role)
    for path in LISTS:
        assert client.get(path.format(**ids)).status_code == 200, path
        connection.set_schema_to_public()
    for path, payload in CREATABLE.items():
        response = client.post(path, payload, content_type="application/json")
        assert response.status_code == (201 if role == "marketing" else 403), (path, response.content[:300])
        connection.set_schema_to_public()


def test_a_list_sent_to_the_single_touchpoint_endpoint_is_a_400(tenant_a):
    client = api_client("alpha", api_key_for("alpha", ["marketing:write"]))
    response = client.post("/api/v1/touchpoints/", [{"kind": "page_visit"}], content_type="application/json")
    assert response.status_code == 400
    assert "batch" in response.json()["error"]["fields"]["non_field_errors"][0]
