"""Sign up a workspace, wait until it is ready, log in, invite a user, create an API key."""

from __future__ import annotations

import os
import re
import uuid

import pytest
from django.db import connection
from django_tenants.utils import schema_exists

from accounts.tenancy.models import Tenant

pytestmark = [pytest.mark.browser, pytest.mark.integration]


@pytest.fixture
def journey_slug(django_db_blocker):
    slug = f"journey-{uuid.uuid4().hex[:6]}"
    yield slug
    with django_db_blocker.unblock():
        connection.set_schema_to_public()
        tenant = Tenant.objects.filter(slug=slug).first()
        if tenant is not None:
            tenant.delete(force_drop=True)
        assert not schema_exists(slug.replace("-", "_"))


def test_signup_to_api_key(journey_slug, web_server, browser_page):
    from playwright.sync_api import expect

    page = browser_page
    password = "journey-passphrase-42"
    # sign up on the public site
    page.goto(f"{web_server}/signup/")
    page.fill("#id_company_name", "Journey Inc")
    page.fill("#id_slug", journey_slug)
    page.fill("#id_admin_name", "Jo Journey")
    page.fill("#id_admin_email", "jo@journey.example")
    page.fill("#id_admin_password", password)
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_contain_text("Journey Inc")
    # the status page turns into a link once a real worker has provisioned the workspace
    link = page.locator("[data-testid=workspace-link]")
    expect(link).to_be_visible(timeout=90_000)
    link.click()
    page.wait_for_url(re.compile(rf"^http://{journey_slug}\.localhost:\d+/login/"))
    # log in
    page.fill("#id_username", "jo@journey.example")
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_contain_text("Welcome, Jo")
    expect(page.locator("[data-nav-section=admin]")).to_be_visible()
    # invite a user
    page.click("text=Users")
    page.fill("#id_email", "pat@journey.example")
    page.check("input[name=roles][value=sales]")
    page.click("#invite button[type=submit]")
    expect(page.locator(".alert")).to_contain_text("Invitation sent to pat@journey.example")
    expect(page.locator("[data-testid=invitations-table]")).to_contain_text("pat@journey.example")
    # create an API key and see its prefix in the list
    page.click("text=API keys")
    page.fill("#id_name", "Journey partner")
    page.check("input[name=scopes][value='marketing:read']")
    page.click("#new-key button[type=submit]")
    secret = page.locator("#new-key-secret").inner_text().strip()
    prefix = secret[: len("tdm_") + 8]
    assert re.fullmatch(r"tdm_[0-9a-f]{8}", prefix)
    expect(page.locator("[data-testid=api-keys-table]")).to_contain_text(prefix)
    expect(page.locator("[data-testid=api-keys-table]")).to_contain_text("Journey partner")
    if os.environ.get("TANDEM_SCREENSHOTS"):
        page.screenshot(path=os.environ["TANDEM_SCREENSHOTS"] + "/api-keys.png", full_page=True)
