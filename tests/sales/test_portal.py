"""Sales pages: board with a flat query count, lead queue, deal detail; isolation and roles."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import schema_context

from marketing.models import Contact
from sales.models import Deal, LossReason, Pipeline
from tests.conftest import login
from tests.sales.test_api import seed

pytestmark = pytest.mark.django_db

PAGES = [
    "/sales/",
    "/sales/board/",
    "/sales/leads/",
    "/sales/deals/{deal}/",
    "/sales/activities/",
    "/sales/customers/",
]


def _queries(client, path) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(path)
    connection.set_schema_to_public()
    assert response.status_code == 200, (path, response.content[:300])
    return len(ctx.captured_queries)


def test_page_query_budgets_do_not_grow_with_deals(tenant_a):
    client = login("alpha", "sales")
    ids = seed("alpha", 5, "few")
    few = {path: _queries(client, path.format(**ids)) for path in PAGES}
    ids = seed("alpha", 45, "many")
    assert few == {path: _queries(client, path.format(**ids)) for path in PAGES}


def test_pages_are_isolated(tenant_a, tenant_b):
    alpha_ids = seed("alpha", 2, "alphacanary")
    seed("beta", 2, "betacanary")
    beta = login("beta", "sales")
    for path in ["/sales/board/", "/sales/leads/", "/sales/activities/", "/sales/customers/"]:
        assert b"alphacanary" not in beta.get(path).content
        connection.set_schema_to_public()
    assert beta.get(f"/sales/deals/{alpha_ids['deal'] + 10_000}/").status_code == 404


@pytest.mark.parametrize(("role", "can_move"), [("sales", True), ("marketing", False), ("leadership", False)])
def test_board_moves_by_role(tenant_a, role, can_move):
    ids = seed("alpha", 1, "roles")
    with schema_context("alpha"):
        demo = Pipeline.objects.get(name="New business").stages.get(name="Proposal").pk
    client = login("alpha", role)
    assert client.get("/sales/board/").status_code == 200
    connection.set_schema_to_public()
    response = client.post(
        f"/sales/deals/{ids['deal']}/move/", {"stage": demo}, HTTP_X_REQUESTED_WITH="fetch"
    )
    assert response.status_code == (200 if can_move else 403)
    with schema_context("alpha"):
        assert (Deal.objects.get(pk=ids["deal"]).stage_id == demo) == can_move


def test_accept_into_a_deal_and_close_lost_from_the_portal(tenant_a):
    seed("alpha", 1, "flow")
    with schema_context("alpha"):
        lead = Contact.objects.filter(lifecycle_stage="mql").first()
        reason = LossReason.objects.get(name="Too expensive")
    client = login("alpha", "sales")
    accepted = client.post("/sales/leads/", {"lead": lead.pk, "action": "accept", "open_deal": "1"})
    assert accepted.status_code == 302 and "/sales/deals/" in accepted["Location"]
    deal_url = accepted["Location"]
    connection.set_schema_to_public()
    missing = client.post(deal_url, {"action": "lost", "category": "pricing", "note": ""})
    assert missing.status_code == 400
    connection.set_schema_to_public()
    lost = client.post(
        deal_url, {"action": "lost", "category": "pricing", "reason": reason.pk, "note": "Budget"}
    )
    assert lost.status_code == 302
    with schema_context("alpha"):
        deal = Deal.objects.get(lead=lead)
        assert (deal.status, deal.loss_category) == ("lost", "pricing")


def test_a_rejection_reason_shows_on_the_contact_and_campaign_in_the_marketing_portal(tenant_a):
    from marketing.services.contacts import contact_change_stage
    from sales.models import RejectionReason
    from tests.marketing import factories

    with schema_context("alpha"):
        campaign = factories.campaign(name="Spring webinar")
        lead = factories.contact(first_name="Rita")
        Contact.objects.filter(pk=lead.pk).update(first_touch_campaign=campaign)
        contact_change_stage(contact=lead, to_stage="mql")
        reason = RejectionReason.objects.get(name="Student or job seeker")
    sales = login("alpha", "sales")
    assert (
        sales.post(
            "/sales/leads/",
            {"lead": lead.pk, "action": "reject", "reason": reason.pk, "note": "Writing a thesis"},
        ).status_code
        == 302
    )
    connection.set_schema_to_public()
    marketer = login("alpha", "marketing")
    contact_page = marketer.get(f"/marketing/contacts/{lead.pk}/").content.decode()
    assert "Student or job seeker: Writing a thesis" in contact_page
    connection.set_schema_to_public()
    campaign_page = marketer.get(f"/marketing/campaigns/{campaign.pk}/").content.decode()
    assert "Student or job seeker: Writing a thesis" in campaign_page


def test_my_activities_and_customers_pages(tenant_a):
    ids = seed("alpha", 2, "work")
    client = login("alpha", "sales")
    assert client.get("/sales/activities/").status_code == 200
    connection.set_schema_to_public()
    assert client.get("/sales/customers/?within=30").status_code == 200
    connection.set_schema_to_public()
    page = client.get("/sales/activities/").content.decode()
    assert "work call 0" in page and "work call 1" in page  # the seeded rep's open calls
    connection.set_schema_to_public()
    assert login("alpha", "marketing").post("/sales/activities/1/done/").status_code == 403
    assert ids["account"]


def test_every_column_gets_its_cards_however_big_the_deals_of_another(tenant_a, monkeypatch):
    from sales.services.deals import deal_create, deal_move
    from sales.views import board

    monkeypatch.setattr(board, "CARDS_PER_STAGE", 1)
    with schema_context("alpha"):
        for i in range(6):
            deal_create(data={"name": f"Whale {i}", "amount": str(100_000 + i)})
        small = deal_create(data={"name": "Minnow", "amount": "10"})
        deal_move(deal=small, stage=Pipeline.objects.get(name="New business").stages.get(name="Demo"))
    html = login("alpha", "sales").get("/sales/board/").content.decode()
    assert "Minnow" in html and "Whale 5" in html and "Whale 4" not in html
