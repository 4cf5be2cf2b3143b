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
    "/sales/quotas/?period=month&start=2026-01-01",
    "/sales/quotas/",
    "/sales/deals/new/",
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
    for path in [
        "/sales/board/",
        "/sales/leads/",
        "/sales/activities/",
        "/sales/customers/",
        "/sales/quotas/?period=month&start=2026-01-01",
        f"/sales/deals/{seed('beta', 1, 'betacanarydeal')['deal']}/",
    ]:
        response = beta.get(path)
        connection.set_schema_to_public()
        assert response.status_code == 200, path
        assert b"alphacanary" not in response.content, path
        assert b"betacanary" in response.content, path  # the page does show beta's own rows
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
    from sales.models import Activity

    seed("alpha", 2, "work")
    client = login("alpha", "sales")
    page = client.get("/sales/activities/").content.decode()
    assert "work call 0" in page and "work call 1" in page  # the seeded rep's open calls
    connection.set_schema_to_public()
    customers = client.get("/sales/customers/?within=30")
    assert customers.status_code == 200 and "work Co" in customers.content.decode()
    connection.set_schema_to_public()
    with schema_context("alpha"):
        call = Activity.objects.get(subject="work call 0")
    assert login("alpha", "marketing").post(f"/sales/activities/{call.pk}/done/").status_code == 403
    connection.set_schema_to_public()
    with schema_context("alpha"):
        assert Activity.objects.get(pk=call.pk).done_at is None
    assert login("alpha", "sales").post(f"/sales/activities/{call.pk}/done/").status_code == 302
    with schema_context("alpha"):
        assert Activity.objects.get(pk=call.pk).done_at is not None


def test_expansion_candidates_show_each_accounts_mrr_once(tenant_a):
    import datetime as dt

    from django.utils import timezone

    from sales.services.customers import customer_account_for, subscription_create, subscription_renew
    from tests.marketing import factories

    long_ago = timezone.now() - dt.timedelta(days=300)
    with schema_context("alpha"):
        account = customer_account_for(company=factories.company(name="Quiet Account"))
        team = subscription_create(
            account=account, data={"plan": "Team", "mrr": "100", "start_date": "2025-01-01"}, at=long_ago
        )
        subscription_create(
            account=account, data={"plan": "Add-on", "mrr": "50", "start_date": "2025-01-01"}, at=long_ago
        )
        # a second event on one plan must not count its MRR twice
        subscription_renew(subscription=team, renewal_date="2027-01-01", at=long_ago + dt.timedelta(days=30))
    response = login("alpha", "sales").get("/sales/customers/")
    candidates = response.context["candidates"]
    assert [(c["account__company__name"], c["mrr"]) for c in candidates] == [("Quiet Account", 150)]


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


def test_quotas_page_sets_shows_and_removes_a_quota(tenant_a):
    from django.utils import timezone

    from accounts.models import User
    from sales.models import Quota
    from sales.services.deals import deal_close_won, deal_create

    with schema_context("alpha"):
        rep = User.objects.filter(roles__contains=["sales"]).first()
        deal_close_won(deal=deal_create(data={"name": "Won", "amount": "3000"}, actor=rep))
    month = timezone.now().date().replace(day=1).isoformat()
    client = login("alpha", "sales")
    url = f"/sales/quotas/?period=month&start={month}"
    assert "No quotas for" in client.get(url).content.decode()
    connection.set_schema_to_public()
    bad = client.post(
        "/sales/quotas/",
        {
            "period": "month",
            "start": month,
            "assignee": f"rep:{rep.pk}",
            "metric": "revenue_won",
            "target": "-1",
        },
    )
    assert bad.status_code == 400 and "target" in bad.context["form"].errors
    connection.set_schema_to_public()
    foreign = client.post(
        "/sales/quotas/",
        {"period": "month", "start": month, "assignee": "rep:999999", "metric": "revenue_won", "target": "1"},
    )
    assert foreign.status_code == 400 and "assignee" in foreign.context["form"].errors
    connection.set_schema_to_public()
    saved = client.post(
        "/sales/quotas/",
        {
            "period": "month",
            "start": month,
            "assignee": f"rep:{rep.pk}",
            "metric": "revenue_won",
            "target": "12000",
        },
    )
    assert saved.status_code == 302 and saved["Location"].endswith(f"?period=month&start={month}")
    connection.set_schema_to_public()
    page = client.get(url).content.decode()
    assert "12,000" in page and "25%" in page  # 3,000 won of 12,000
    connection.set_schema_to_public()
    with schema_context("alpha"):
        quota = Quota.objects.get(owner=rep, period="month")
    for role in ("marketing", "leadership"):  # they read sales figures; only sales sets quotas
        reader = login("alpha", role)
        read_only = reader.get(url)
        assert read_only.status_code == 200 and 'data-testid="quota-form"' not in read_only.content.decode()
        connection.set_schema_to_public()
        assert reader.post(f"/sales/quotas/{quota.pk}/delete/").status_code == 403
        connection.set_schema_to_public()
        refused = reader.post("/sales/quotas/", {"period": "month", "start": month, "target": "1"})
        assert refused.status_code == 403
        connection.set_schema_to_public()
    assert client.post(f"/sales/quotas/{quota.pk}/delete/").status_code == 302
    with schema_context("alpha"):
        assert not Quota.objects.filter(pk=quota.pk).exists()


def test_open_a_deal_and_edit_its_forecast_from_the_portal(tenant_a):
    from tests.marketing import factories

    with schema_context("alpha"):
        company = factories.company(name="Portal Co")
        factories.contact(email="buyer@portal.example", company=company)
    client = login("alpha", "sales")
    assert client.get("/sales/deals/new/").status_code == 200
    connection.set_schema_to_public()
    base = {"name": "Portal deal", "pipeline": "", "deal_type": "new_business", "amount": "4200"}
    with schema_context("alpha"):
        base["pipeline"] = Pipeline.objects.get(name="New business").pk
    for changes, field in [
        ({"amount": "-3"}, "amount"),
        ({"contact_email": "nobody@portal.example"}, "contact_email"),
        ({"expected_close_date": "2001-01-01"}, "expected_close_date"),
        ({"name": ""}, "name"),
    ]:
        response = client.post("/sales/deals/new/", {**base, "forecast_category": "pipeline", **changes})
        connection.set_schema_to_public()
        assert response.status_code == 400 and field in response.context["form"].errors, field
    with schema_context("alpha"):
        assert not Deal.objects.filter(name="Portal deal").exists()
    created = client.post(
        "/sales/deals/new/",
        {**base, "forecast_category": "pipeline", "contact_email": "BUYER@portal.example"},
    )
    assert created.status_code == 302
    connection.set_schema_to_public()
    with schema_context("alpha"):
        deal = Deal.objects.get(name="Portal deal")
        assert deal.company.name == "Portal Co" and deal.contacts.get().email == "buyer@portal.example"
    edit = {"action": "edit", "name": "Portal deal", "amount": "5000", "forecast_category": "commit"}
    refused = client.post(f"/sales/deals/{deal.pk}/", {**edit, "probability_override": "140"})
    assert refused.status_code == 400 and "probability_override" in refused.context["edit_form"].errors
    connection.set_schema_to_public()
    assert client.post(f"/sales/deals/{deal.pk}/", edit).status_code == 302
    connection.set_schema_to_public()
    with schema_context("alpha"):
        deal.refresh_from_db()
        assert (deal.amount, deal.forecast_category) == (5000, "commit")
    assert login("alpha", "leadership").post(f"/sales/deals/{deal.pk}/", edit).status_code == 403


def test_a_malformed_or_foreign_posted_id_is_a_404_not_a_500(tenant_a):
    from marketing.services.contacts import contact_change_stage
    from tests.marketing import factories

    with schema_context("alpha"):
        lead = factories.contact()
        contact_change_stage(contact=lead, to_stage="mql")
    sales, marketer = login("alpha", "sales"), login("alpha", "marketing")
    for value in ("abc", "1e3", "9" * 30, "-1", "999999"):
        assert sales.post("/sales/leads/", {"lead": value, "action": "accept"}).status_code == 404, value
        connection.set_schema_to_public()
        assign_team = {"lead": lead.pk, "action": "assign", "team": value}
        assert sales.post("/sales/leads/", assign_team).status_code == 404, value
        connection.set_schema_to_public()
        # a bad rep is a message on the queue, and the lead stays unassigned
        assert (
            sales.post("/sales/leads/", {"lead": lead.pk, "action": "assign", "rep": value}).status_code
            == 302
        )
        connection.set_schema_to_public()
        assert marketer.post("/marketing/scoring/", {"rule": value, "action": "delete"}).status_code == 404, (
            value
        )
        connection.set_schema_to_public()
    assert sales.post("/sales/leads/", {"lead": "", "action": "accept"}).status_code == 404
    with schema_context("alpha"):
        lead.refresh_from_db()
        assert lead.owner_id is None and lead.lifecycle_stage == "mql"
