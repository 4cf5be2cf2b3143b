"""A leadership user opens the joint report from the alignment overview, filters it by channel, switches
attribution models on the attribution page and downloads a table as CSV, whose content is checked."""

from __future__ import annotations

import csv
import io

import pytest
from django.db import connection
from django_tenants.utils import schema_context

from tests.alignment.test_reports import seed
from tests.browser.conftest import alpha_url
from tests.conftest import PASSWORD, member

pytestmark = [pytest.mark.browser, pytest.mark.integration]


@pytest.fixture
def alpha_report_scene(django_db_blocker):
    """Stored values as the engine would have written them (committed: a real web process reads them), and
    everything this scene added removed afterwards."""
    from alignment.models import DefinitionVersion, EngineRun, MetricValue
    from marketing.models import Campaign

    models = (MetricValue, EngineRun, Campaign, DefinitionVersion)
    with django_db_blocker.unblock(), schema_context("alpha"):
        before = {
            model: model.objects.order_by("-pk").values_list("pk", flat=True).first() or 0 for model in models
        }
        seed("alpha")
    connection.set_schema_to_public()
    yield
    with django_db_blocker.unblock(), schema_context("alpha"):
        for model in models:  # newest first: values, runs and campaigns (with their sends) before versions
            model.objects.filter(pk__gt=before[model]).delete()
    connection.set_schema_to_public()


def test_leadership_journey(alpha_report_scene, web_server, browser_page, tmp_path):
    from playwright.sync_api import expect

    page = browser_page
    page.goto(alpha_url(web_server, "/login/"))
    page.fill("#id_username", member("alpha", "leadership").email)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_contain_text("Welcome")

    # the alignment overview links to the joint report
    page.goto(alpha_url(web_server, "/alignment/"))
    page.click("[data-testid=open-joint-report]")
    expect(page.locator("h1")).to_have_text("Joint funnel report")
    expect(page.locator("[data-testid=definition-version]")).to_contain_text("Definitions v")

    # January to March for the whole workspace: 330 leads (100 + 120 + 110)
    filters = page.locator("[data-testid=report-filters]")
    filters.locator("#f-start").fill("2026-01-01")
    filters.locator("#f-end").fill("2026-03-31")
    filters.locator("[data-testid=apply-filters]").click()
    funnel = page.locator("[data-testid=table-funnel] tr", has_text="Leads")
    expect(funnel.first.locator("td").nth(2)).to_have_text("330")  # the count cell (step, metric, count)

    # filtered by the email channel: 7 leads a month by email, and "no data" where nothing is stored by it
    filters.locator("[data-testid=filter-select]").select_option("channel:email")
    filters.locator("[data-testid=apply-filters]").click()
    expect(page.locator("[data-testid=filter-label]")).to_have_text("Email / newsletter")
    assert "filter=channel%3Aemail" in page.url
    leads = page.locator("[data-testid=table-funnel] tr", has_text="Leads").first
    expect(leads.locator("td").nth(2)).to_have_text("21")
    expect(page.locator("[data-testid=table-funnel] tr", has_text="MQLs").first).to_contain_text("no data")
    # the funnel chart's table view opens in place
    expect(page.locator("canvas[data-chart=chart-funnel]")).to_be_visible()
    expect(page.locator("[data-testid=table-funnel]")).to_be_hidden()
    page.locator("[data-testid=table-view-funnel] summary").click()
    expect(page.locator("[data-testid=table-funnel]")).to_be_visible()

    # the attribution page keeps the period; switch models with the tabs
    page.click("nav.tabs >> text=Attribution")
    expect(page.locator("h1")).to_have_text("Attribution models side by side")
    assert "start=2026-01-01" in page.url
    page.click("[data-testid=model-tab-w_shaped]")
    detail = page.locator("[data-testid=card-detail]")
    expect(detail.locator(".card-title")).to_contain_text("W-shaped")
    row = detail.locator("tr", has_text="alphacanary campaign 0")
    expect(row).to_contain_text("7,500")  # W-shaped: 2,500 a month over three months
    page.click("[data-testid=model-tab-first_touch]")
    expect(detail.locator(".card-title")).to_contain_text("First touch")
    expect(detail.locator("tr", has_text="alphacanary campaign 0")).to_contain_text("1,500")

    # download the model's table as CSV: the same filters and model, raw numbers
    with page.expect_download() as download:
        page.click("[data-testid=csv-detail]")
    path = tmp_path / download.value.suggested_filename
    download.value.save_as(path)
    assert path.name.startswith("alpha-attribution-detail-2026-01-01")
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    header = rows[0]
    assert header[:3] == ["Campaign", "Channel", "Spend (currency)"]
    by_name = {r[0]: dict(zip(header, r, strict=True)) for r in rows[1:]}
    first = by_name["alphacanary campaign 0"]
    assert (first["Channel"], first["Spend (currency)"], first["Attributed revenue (currency)"]) == (
        "Email / newsletter",
        "3000",
        "1500",
    )
    assert first["ROI (ratio)"] == "-0.5"  # first touch: (1,500 - 3,000) / 3,000
    assert by_name["alphacanary campaign 1"]["Attributed revenue (currency)"] == "3000"
