"""A marketer creates a campaign with a budget, adds a cost line and a send, builds a segment and sees
its count, and imports contacts with one bad row and sees the error report."""

from __future__ import annotations

import pytest
from django.db import connection
from django_tenants.utils import schema_context

from tests.browser.conftest import alpha_url
from tests.conftest import PASSWORD, member

pytestmark = [pytest.mark.browser, pytest.mark.integration]


@pytest.fixture
def clean_alpha_marketing(django_db_blocker):
    """Three German contacts to segment; the journey writes through a real web process, so what it
    wrote is removed afterwards."""
    with django_db_blocker.unblock(), schema_context("alpha"):
        from marketing.services.contacts import contact_create

        for index in range(3):
            contact_create(data={"email": f"de{index}@journey-import.example", "country": "Germany"})
    connection.set_schema_to_public()
    yield
    with django_db_blocker.unblock(), schema_context("alpha"):
        from marketing.models import Campaign, Contact, ImportJob, Segment

        Campaign.objects.filter(name="Journey webinar").delete()
        Segment.objects.filter(name="Journey Germans").delete()
        Contact.objects.filter(email__endswith="@journey-import.example").delete()
        ImportJob.objects.filter(original_name="journey.csv").delete()
    connection.set_schema_to_public()


def test_marketer_journey(clean_alpha_marketing, web_server, browser_page, tmp_path):
    from playwright.sync_api import expect

    page = browser_page
    page.goto(alpha_url(web_server, "/login/"))
    page.fill("#id_username", member("alpha", "marketing").email)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_contain_text("Welcome")

    # a campaign with a budget
    page.goto(alpha_url(web_server, "/marketing/campaigns/new/"))
    page.fill("#id_name", "Journey webinar")
    page.select_option("#id_channel", "webinar")
    page.fill("#id_start_date", "2026-03-01")
    page.fill("#id_end_date", "2026-03-31")
    page.fill("#id_budget", "5000")
    page.click("form.form button[type=submit]")
    expect(page.locator("h1")).to_contain_text("Journey webinar")

    # a cost line and a send
    cost_form = page.locator("[data-testid=cost-form]")
    cost_form.locator("#id_date").fill("2026-03-02")
    cost_form.locator("#id_amount").fill("1250.50")
    cost_form.locator("#id_note").fill("Speaker fee")
    cost_form.locator("button[type=submit]").click()
    expect(page.locator("[data-testid=costs-table]")).to_contain_text("Speaker fee")
    expect(page.locator("[data-testid=campaign-spend]")).to_contain_text("1,250.50")
    send_form = page.locator("[data-testid=send-form]")
    send_form.locator("#id_name").fill("Invitation email")
    send_form.locator("#id_sent_at").fill("2026-03-03T09:00")
    send_form.locator("button[type=submit]").click()
    expect(page.locator("[data-testid=sends-table]")).to_contain_text("Invitation email")

    # a segment, with its live count (three German contacts were made by the fixture)
    page.goto(alpha_url(web_server, "/marketing/segments/new/"))
    page.fill("#id_name", "Journey Germans")
    page.click("[data-testid=add-condition]")
    row = page.locator("[data-testid=segment-row]").first
    row.locator("select").first.select_option("country")
    row = page.locator("[data-testid=segment-row]").first
    row.locator(".segment-value input").fill("germany")
    expect(page.locator("[data-testid=segment-count]")).to_have_text("3 contacts", timeout=10_000)
    page.click("#segment-form > .form-actions button[type=submit]")
    expect(page.locator("[data-testid=segment-size]")).to_have_text("3")

    # import contacts with one bad row, and see the error report
    csv_path = tmp_path / "journey.csv"
    csv_path.write_text(
        "Email,First Name,Last Name,Country/Region\n"
        "ada@journey-import.example,Ada,Lovelace,United Kingdom\n"
        "not-an-email,Bad,Row,France\n"
        "grace@journey-import.example,Grace,Hopper,United States\n",
        encoding="utf-8",
    )
    page.goto(alpha_url(web_server, "/marketing/imports/"))
    page.select_option("#id_kind", "contacts")
    page.set_input_files("#id_file", str(csv_path))
    page.click("[data-testid=import-form] button[type=submit]")
    expect(page.locator("[data-testid=import-status]")).to_have_text("Done", timeout=60_000)
    expect(page.locator("[data-testid=import-created]")).to_have_text("2")
    expect(page.locator("[data-testid=import-errors]")).to_have_text("1")
    error_table = page.locator("[data-testid=import-error-table]")
    expect(error_table).to_contain_text("Email")
    expect(error_table.locator("tbody tr").first.locator("td").first).to_have_text("3")
    with page.expect_download() as download:
        page.click("[data-testid=error-report]")
    report = download.value.path().read_text(encoding="utf-8-sig").splitlines()
    assert report[0].lower().startswith("row,")
    assert any(line.startswith("3,Email,") for line in report[1:]), report
