"""Sales API: isolation, roles (marketing reads, sales writes), query budgets, actions and bad input."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import schema_context

from accounts.models import User
from marketing.services.contacts import contact_change_stage
from sales.models import Deal, LossReason, Pipeline, RejectionReason, Team
from sales.services.activities import activity_create
from sales.services.customers import customer_account_for, subscription_create
from sales.services.deals import deal_create, deal_move
from sales.services.quotas import quota_set
from tests.conftest import BREAKS_RULE, BREAKS_SCHEMA, api_client, api_key_for, login, refused
from tests.marketing import factories

pytestmark = pytest.mark.django_db


def seed(slug: str, n: int, tag: str) -> dict:
    with schema_context(slug):
        rep = User.objects.filter(roles__contains=["sales"]).first()
        pipeline = Pipeline.objects.get(name="New business")
        company = factories.company(name=f"{tag} Co")
        account = customer_account_for(company=company)
        team, _ = Team.objects.get_or_create(name="Team")
        for i in range(n):
            contact = factories.contact(first_name=f"{tag}{i}", company=company)
            deal = deal_create(
                data={
                    "name": f"{tag} deal {i}",
                    "amount": "100",
                    "company": company.pk,
                    "primary_contact": contact.pk,
                    "source_campaign": factories.campaign().pk,
                },
                actor=rep,
            )
            deal_move(deal=deal, stage=pipeline.stages.get(name="Demo"))
            activity_create(data={"kind": "call", "subject": f"{tag} call {i}", "deal": deal.pk}, actor=rep)
            activity_create(
                data={
                    "kind": "email",
                    "subject": f"{tag} sent a case study {i}",
                    "deal": deal.pk,
                    "content": factories.content(title=f"{tag} case {i}").pk,
                    "done_at": "2026-01-02T10:00:00Z",
                },
                actor=rep,
            )
            subscription_create(
                account=account, data={"plan": f"{tag} plan {i}", "mrr": "10", "start_date": "2026-01-01"}
            )
            customer_account_for(company=factories.company(name=f"{tag} customer {i}"))
            lead = factories.contact(first_name=f"{tag}lead{i}")
            contact_change_stage(contact=lead, to_stage="mql")
            quota_set(
                owner=User.objects.create_user(
                    email=f"{tag}{i}@q.example", full_name=f"{tag} rep {i}", roles=["sales"]
                ),
                period="month",
                period_start="2026-01-01",
                metric="revenue_won",
                target="100",
            )
        quota_set(team=team, period="month", period_start="2026-01-01", metric="deals_won", target="3")
        return {"deal": deal.pk, "account": account.pk, "team": team.pk}


LISTS = [
    "/api/v1/pipelines/",
    "/api/v1/deals/",
    "/api/v1/activities/",
    "/api/v1/customers/",
    "/api/v1/customers/{account}/subscriptions/",
    "/api/v1/quotas/",
    "/api/v1/subscription-events/",
    "/api/v1/subscription-events/?account={account}&kind=new",
    "/api/v1/leads/",
]


def _count(client, url) -> tuple[int, dict]:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    connection.set_schema_to_public()
    assert response.status_code == 200, (url, response.content[:300])
    return len(ctx.captured_queries), response.json()


def test_list_query_budgets_are_equal_at_5_and_50_rows(tenant_a):
    client = api_client("alpha", api_key_for("alpha", ["sales:read"]))
    client.get("/api/v1/me/")
    ids = seed("alpha", 5, "few")
    few = {}
    for path in LISTS:
        few[path], body = _count(client, path.format(**ids))
        assert body["results"], path
    ids = seed("alpha", 45, "many")
    assert few == {path: _count(client, path.format(**ids))[0] for path in LISTS}


def test_lists_are_isolated_between_tenants(tenant_a, tenant_b):
    from sales.models import Quota, SubscriptionEvent

    alpha_ids = seed("alpha", 3, "alphacanary")  # more rows than beta, so counts tell the two apart
    beta_ids = seed("beta", 1, "betacanary")
    with schema_context("beta"):
        counts = {  # lists whose rows carry no text: beta sees exactly its own number of rows
            "/api/v1/pipelines/": Pipeline.objects.count(),
            "/api/v1/quotas/": Quota.objects.count(),
            "/api/v1/subscription-events/": SubscriptionEvent.objects.count(),
            "/api/v1/subscription-events/?account={account}&kind=new": SubscriptionEvent.objects.filter(
                subscription__account=beta_ids["account"], kind="new"
            ).count(),
        }
    beta = api_client("beta", api_key_for("beta", ["sales:read"]))
    alpha_key = api_key_for("alpha", ["sales:read"])
    for path in LISTS:
        response = beta.get(path.format(**beta_ids))
        assert response.status_code == 200, path
        body = response.content.decode()
        assert "alphacanary" not in body, path
        if path in counts:
            assert len(response.json()["results"]) == counts[path], path
        else:
            assert "betacanary" in body, path
        assert api_client("beta", alpha_key).get(path.format(**alpha_ids)).status_code == 401, path
    assert beta.get(f"/api/v1/deals/{alpha_ids['deal'] + 10_000}/").status_code == 404


@pytest.mark.parametrize(
    ("role", "write"), [("sales", 201), ("admin", 201), ("marketing", 403), ("leadership", 403)]
)
def test_marketing_and_leadership_read_sales_but_cannot_change_it(tenant_a, role, write):
    ids = seed("alpha", 1, "roles")
    client = login("alpha", role)
    for path in LISTS:
        assert client.get(path.format(**ids)).status_code == 200, path
        connection.set_schema_to_public()
    response = client.post(
        "/api/v1/deals/", {"name": f"By {role}", "amount": "1"}, content_type="application/json"
    )
    assert response.status_code == write
    connection.set_schema_to_public()
    with schema_context("alpha"):
        proposal = Pipeline.objects.get(name="New business").stages.get(name="Proposal").pk
    move = client.post(
        f"/api/v1/deals/{ids['deal']}/move/", {"stage": proposal}, content_type="application/json"
    )
    assert move.status_code == (200 if write == 201 else 403)
    with schema_context("alpha"):
        assert (Deal.objects.get(pk=ids["deal"]).stage_id == proposal) == (write == 201)


def test_deal_actions_and_refusals(tenant_a):
    client = api_client("alpha", api_key_for("alpha", ["sales:write"]))
    with schema_context("alpha"):
        pipeline = Pipeline.objects.get(name="New business")
        upsell_stage = Pipeline.objects.get(name="Upsell").stages.first().pk
        demo = pipeline.stages.get(name="Demo").pk
        reason = LossReason.objects.get(name="Too expensive").pk
    deal = client.post(
        "/api/v1/deals/", {"name": "API deal", "amount": "2500"}, content_type="application/json"
    ).json()
    for payload, field in [
        ({"name": "x", "amount": "-1"}, "amount"),
        ({"name": "x", "expected_close_date": "2001-01-01"}, "expected_close_date"),
    ]:
        bad = client.post("/api/v1/deals/", payload, content_type="application/json")
        assert field in refused(bad, BREAKS_RULE)  # a negative amount as text; a close date long past
    wrong = client.post(
        f"/api/v1/deals/{deal['id']}/move/", {"stage": upsell_stage}, content_type="application/json"
    )
    assert wrong.status_code == 422 and "stage" in wrong.json()["error"]["fields"]
    moved = client.post(
        f"/api/v1/deals/{deal['id']}/move/", {"stage": demo, "version": 1}, content_type="application/json"
    )
    assert moved.status_code == 200 and moved.json()["stage_name"] == "Demo" and moved.json()["version"] == 2
    stale = client.post(
        f"/api/v1/deals/{deal['id']}/move/", {"stage": demo, "version": 1}, content_type="application/json"
    )
    assert stale.status_code == 409 and "version" in stale.json()["error"]["fields"]
    no_reason = client.post(
        f"/api/v1/deals/{deal['id']}/lost/", {"category": "pricing"}, content_type="application/json"
    )
    assert no_reason.status_code == 400 and {"reason", "note"} <= set(no_reason.json()["error"]["fields"])
    lost = client.post(
        f"/api/v1/deals/{deal['id']}/lost/",
        {"category": "pricing", "reason": reason, "note": "Too pricey"},
        content_type="application/json",
    )
    assert lost.status_code == 200 and lost.json()["status"] == "lost"
    with schema_context("alpha"):
        assert Deal.objects.get(pk=deal["id"]).stage_changes.count() == 3


def test_lead_queue_accept_and_reject_through_the_api(tenant_a):
    client = api_client("alpha", api_key_for("alpha", ["sales:write"]))
    with schema_context("alpha"):
        a, b = factories.contact(), factories.contact()
        for lead in (a, b):
            contact_change_stage(contact=lead, to_stage="mql")
        reason = RejectionReason.objects.get(name="No budget").pk
    queue = client.get("/api/v1/leads/").json()["results"]
    assert [row["id"] for row in queue] == [a.pk, b.pk]
    accepted = client.post(
        f"/api/v1/leads/{a.pk}/accept/",
        {"open_deal": True, "deal": {"name": "From MQL"}},
        content_type="application/json",
    )
    assert accepted.status_code == 200 and accepted.json()["deal"]
    again = client.post(f"/api/v1/leads/{a.pk}/accept/", {}, content_type="application/json")
    assert again.status_code == 422  # no longer waiting in the queue
    rejected = client.post(
        f"/api/v1/leads/{b.pk}/reject/",
        {"reason": reason, "note": "Next year"},
        content_type="application/json",
    )
    assert rejected.status_code == 200 and rejected.json()["decision"] == "rejected"
    assert client.get("/api/v1/leads/").json()["results"] == []
    bad = client.post(f"/api/v1/leads/{b.pk}/reject/", {"reason": 999999}, content_type="application/json")
    assert bad.status_code == 422


def test_a_lead_is_assigned_to_a_rep_or_a_team_and_a_missing_team_is_named(tenant_a):
    client = api_client("alpha", api_key_for("alpha", ["sales:write"]))
    with schema_context("alpha"):
        lead = factories.contact()
        contact_change_stage(contact=lead, to_stage="mql")
        rep = User.objects.get(email="sara@alpha.example")
        team = Team.objects.create(name="Inbound")
        team.members.add(rep)
    # a team id that names nothing is a field error, not a 404 for the lead in the path
    assert refused(
        client.post(f"/api/v1/leads/{lead.pk}/assign/", {"team": 999999}, content_type="application/json"),
        BREAKS_RULE,
    ) == {"team"}
    assigned = client.post(
        f"/api/v1/leads/{lead.pk}/assign/", {"team": team.pk}, content_type="application/json"
    )
    assert assigned.status_code == 200, assigned.content
    with schema_context("alpha"):
        lead.refresh_from_db()
        assert lead.owner_id == rep.pk
    # a lead that is not in this workspace is the same 404 as a missing one
    missing = client.post("/api/v1/leads/999999/assign/", {"team": team.pk}, content_type="application/json")
    assert missing.status_code == 404


def test_subscription_events_list_with_filters_and_bad_input(tenant_a):
    client = api_client("alpha", api_key_for("alpha", ["sales:write"]))
    with schema_context("alpha"):
        account = customer_account_for(company=factories.company(name="Evented"))
        other = customer_account_for(company=factories.company(name="Other"))
        subscription_create(account=other, data={"plan": "Other", "mrr": "50", "start_date": "2026-01-01"})
    created = client.post(
        f"/api/v1/customers/{account.pk}/subscriptions/",
        {"plan": "Team", "mrr": "100", "start_date": "2026-01-01", "renewal_date": "2027-01-01"},
        content_type="application/json",
    ).json()
    for body in ({"action": "change_mrr", "mrr": "150"}, {"action": "churn", "reason": "Budget cut"}):
        assert (
            client.post(
                f"/api/v1/subscriptions/{created['id']}/change/", body, content_type="application/json"
            ).status_code
            == 200
        )
    events = client.get(f"/api/v1/subscription-events/?account={account.pk}&ordering=at").json()["results"]
    assert [(e["kind"], e["mrr_before"], e["mrr_after"]) for e in events] == [
        ("new", "0.00", "100.00"),
        ("expansion", "100.00", "150.00"),
        ("churn", "150.00", "0.00"),
    ]
    assert events[2]["churn_reason"] == "Budget cut" and {e["account"] for e in events} == {account.pk}
    churns = client.get("/api/v1/subscription-events/?kind=churn").json()["results"]
    assert [e["subscription"] for e in churns] == [created["id"]]
    assert client.get("/api/v1/subscription-events/?since=2999-01-01").json()["results"] == []
    for query, field in [("kind=upgrade", "kind"), ("since=yesterday", "since"), ("account=x", "account")]:
        bad = client.get(f"/api/v1/subscription-events/?{query}")
        assert field in refused(bad, BREAKS_SCHEMA), query


def test_quotas_answer_actual_and_attainment(tenant_a):
    from django.utils import timezone

    from sales.services.deals import deal_close_won

    client = api_client("alpha", api_key_for("alpha", ["sales:write"]))
    with schema_context("alpha"):
        rep = User.objects.filter(roles__contains=["sales"]).first()
        deal_close_won(deal=deal_create(data={"name": "Won", "amount": "2500"}, actor=rep))
    month = timezone.now().date().replace(day=1).isoformat()
    created = client.post(
        "/api/v1/quotas/",
        {
            "owner": rep.pk,
            "period": "month",
            "period_start": month,
            "metric": "revenue_won",
            "target": "10000",
        },
        content_type="application/json",
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["actual"], body["attainment"]) == ("2500.00", "0.2500")
    listed = client.get("/api/v1/quotas/").json()["results"]
    assert [(q["id"], q["actual"]) for q in listed] == [(body["id"], "2500.00")]


def test_an_activity_can_share_marketing_content(tenant_a):
    from marketing.models import ContentAsset

    client = api_client("alpha", api_key_for("alpha", ["sales:write"]))
    ids = seed("alpha", 1, "share")
    with schema_context("alpha"):
        asset = factories.content(title="Pricing one-pager")
    shared = client.post(
        "/api/v1/activities/",
        {"kind": "email", "subject": "Sent pricing", "deal": ids["deal"], "content": asset.pk},
        content_type="application/json",
    )
    assert shared.status_code == 201 and shared.json()["content"] == asset.pk
    unknown = client.post(
        "/api/v1/activities/",
        {"kind": "email", "subject": "x", "deal": ids["deal"], "content": asset.pk + 1000},
        content_type="application/json",
    )
    assert unknown.status_code == 422 and "content" in unknown.json()["error"]["fields"]
    with schema_context("alpha"):
        assert ContentAsset.objects.get(pk=asset.pk).share_count == 1  # the refused one did not count
    page = login("alpha", "sales").get(f"/sales/deals/{ids['deal']}/").content.decode()
    assert "Pricing one-pager" in page and "Sent pricing" in page
