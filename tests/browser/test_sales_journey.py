"""A rep accepts an MQL into a deal, drags it across two stages on the board, logs a call and closes it
lost for a pricing reason; another deal is won and its company shows as a customer."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from django_tenants.utils import schema_context

from tests.browser.conftest import alpha_url
from tests.conftest import PASSWORD, member

pytestmark = [pytest.mark.browser, pytest.mark.integration]

LEAD_EMAIL = "lena@journey-sales.example"


@pytest.fixture
def alpha_sales_scene(django_db_blocker):
    """An MQL waiting in the queue and an open deal in negotiation with another company. The journey
    writes through a real web process, so its rows are removed afterwards."""
    with django_db_blocker.unblock(), schema_context("alpha"):
        from accounts.models import User
        from marketing.services.contacts import company_create, contact_change_stage, contact_create
        from sales.models import Pipeline
        from sales.services.deals import deal_create, deal_move

        rep = User.objects.get(email=member("alpha", "sales").email)
        buyer = company_create(data={"name": "Journey Buyer Co", "domain": "journey-sales.example"})
        lead = contact_create(data={"email": LEAD_EMAIL, "first_name": "Lena", "company": buyer.pk})
        contact_change_stage(contact=lead, to_stage="mql")
        winner = company_create(data={"name": "Journey Winner Co", "domain": "journey-winner.example"})
        champion = contact_create(data={"email": "wim@journey-winner.example", "company": winner.pk})
        other = deal_create(
            data={
                "name": "Journey Winner deal",
                "amount": "18000",
                "company": winner.pk,
                "primary_contact": champion.pk,
            },
            actor=rep,
        )
        deal_move(deal=other, stage=Pipeline.objects.get(name="New business").stages.get(name="Negotiation"))
        ids = {"other": other.pk}
    connection.set_schema_to_public()
    yield ids
    with django_db_blocker.unblock(), schema_context("alpha"):
        from marketing.models import Company, Contact
        from sales.models import CustomerAccount, Deal

        companies = Company.objects.filter(name__in=["Journey Buyer Co", "Journey Winner Co"])
        Deal.objects.filter(company__in=companies).delete()
        CustomerAccount.objects.filter(company__in=companies).delete()
        Contact.objects.filter(company__in=companies).delete()
        companies.delete()
    connection.set_schema_to_public()


def _stored_outcome(deal_id: int) -> dict:
    """Read the deal back in a plain thread: Playwright's sync API keeps an event loop in this one, where
    Django refuses database calls."""
    from sales.models import Activity, Deal

    def read() -> dict:
        try:
            with schema_context("alpha"):
                deal = Deal.objects.select_related("loss_reason", "lead").get(pk=deal_id)
                return {
                    "path": list(deal.stage_changes.order_by("id").values_list("to_stage__name", flat=True)),
                    "closed": (deal.status, deal.loss_category, deal.loss_reason.name),
                    "calls": Activity.objects.filter(deal=deal, kind="call", done_at__isnull=False).count(),
                    "lead": (deal.lead.email, deal.lead.lifecycle_stage),
                }
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(read).result()


def test_rep_journey(alpha_sales_scene, web_server, browser_page, django_db_blocker):
    from playwright.sync_api import expect

    page = browser_page
    page.goto(alpha_url(web_server, "/login/"))
    page.fill("#id_username", member("alpha", "sales").email)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_contain_text("Welcome")

    # accept the MQL into a deal: the deal page opens
    page.goto(alpha_url(web_server, "/sales/leads/"))
    row = page.locator("[data-testid=lead-table] tr", has_text="Lena")
    row.locator("[data-testid=accept-deal]").click()
    expect(page.locator("[data-testid=deal-stage]")).to_have_text("Qualification")
    deal_id = int(page.url.rstrip("/").rsplit("/", 1)[1])

    # drag it across two stages on the board (HTML5 drag and drop, saved by board.js)
    page.goto(alpha_url(web_server, "/sales/board/"))
    card = f"[data-testid=deal-{deal_id}]"
    for stage in ("discovery", "demo"):
        with page.expect_response(lambda r: f"/sales/deals/{deal_id}/move/" in r.url) as moved:
            page.drag_and_drop(card, f"[data-testid=column-{stage}] [data-dropzone]")
        assert moved.value.status == 200, moved.value.text()
        expect(page.locator(f"[data-testid=column-{stage}] {card}")).to_be_visible()
    page.reload()
    expect(page.locator(f"[data-testid=column-demo] {card}")).to_be_visible()

    # log a call on the deal page
    page.click(f"{card} a")
    expect(page.locator("[data-testid=deal-stage]")).to_have_text("Demo")
    activity = page.locator("[data-testid=activity-form]")
    activity.locator("#id_kind").select_option("call")
    activity.locator("#id_subject").fill("Pricing call with Lena")
    activity.locator("#id_outcome").fill("Too expensive for this year")
    activity.locator("button[type=submit]").click()
    expect(page.locator(".timeline")).to_contain_text(["Pricing call with Lena"])

    # close it lost for a pricing reason
    page.click("text=Close lost…")
    lost = page.locator("[data-testid=lost-form]")
    lost.locator("#id_category").select_option("pricing")
    lost.locator("#id_reason").select_option(label="Pricing: Too expensive")
    lost.locator("#id_note").fill("Budget is half our price")
    lost.locator("button[type=submit]").click()
    expect(page.locator(".alert-error")).to_contain_text("Pricing · Too expensive")
    expect(page.locator("[data-testid=deal-stage]")).to_have_text("Lost")

    # the other deal is won and its company shows as a customer
    page.goto(alpha_url(web_server, f"/sales/deals/{alpha_sales_scene['other']}/"))
    page.click("[data-testid=close-won]")
    expect(page.locator("[data-testid=deal-stage]")).to_have_text("Won")
    page.goto(alpha_url(web_server, "/sales/customers/?q=Journey"))
    expect(page.locator("[data-testid=customers-table]")).to_contain_text("Journey Winner Co")
    expect(page.locator("[data-testid=customers-table]")).not_to_contain_text("Journey Buyer Co")

    # what the browser did is what the database holds: two moves recorded, one call, lost for pricing
    with django_db_blocker.unblock():
        stored = _stored_outcome(deal_id)
    assert stored == {
        "path": ["Qualification", "Discovery", "Demo", "Lost"],
        "closed": ("lost", "pricing", "Too expensive"),
        "calls": 1,
        "lead": (LEAD_EMAIL, "opportunity"),  # accepted as SQL, then an opportunity with its deal
    }
