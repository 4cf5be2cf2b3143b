"""An admin answers a person's access request and then their erasure request: downloads everything held
about the contact as JSON from the contact's page, types a wrong address (refused, nothing erased), then the
right one, and lands on the contact list with the confirmation; the person is gone."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from django_tenants.utils import schema_context

from tests.browser.conftest import alpha_url
from tests.conftest import PASSWORD, member

pytestmark = [pytest.mark.browser, pytest.mark.integration]

EMAIL = "petra.privacy@journey-privacy.example"


@pytest.fixture
def person_to_erase(django_db_blocker):
    with django_db_blocker.unblock(), schema_context("alpha"):
        from marketing.services.contacts import contact_create
        from marketing.services.touchpoints import touchpoint_create

        person = contact_create(data={"email": EMAIL, "first_name": "Petra", "last_name": "Privatova"})
        touchpoint_create(
            data={"kind": "page_visit", "contact_id": person.pk, "url": "https://x.test/pricing"}
        )
    connection.set_schema_to_public()
    yield person.pk
    with django_db_blocker.unblock(), schema_context("alpha"):
        from marketing.models import Contact

        Contact.objects.filter(email=EMAIL).delete()  # only if the journey failed before the erasure
    connection.set_schema_to_public()


def test_admin_exports_then_erases_a_contact(person_to_erase, web_server, browser_page, django_db_blocker):
    from playwright.sync_api import expect

    page = browser_page
    page.goto(alpha_url(web_server, "/login/"))
    page.fill("#id_username", member("alpha", "admin").email)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_contain_text("Welcome")

    page.goto(alpha_url(web_server, f"/marketing/contacts/{person_to_erase}/"))
    box = page.locator("[data-testid=personal-data]")
    with page.expect_download() as download:
        box.get_by_text("Download as JSON").click()
    assert download.value.suggested_filename == f"alpha-contact-{person_to_erase}-personal-data.json"
    exported = json.loads(download.value.path().read_text(encoding="utf-8"))
    assert exported["contact"][0]["email"] == EMAIL
    assert exported["touchpoints"][0]["url"] == "https://x.test/pricing"

    box.get_by_text("Erase…").click()
    expect(page.locator("h1")).to_contain_text("Erase Petra Privatova")
    expect(page.locator("[data-testid=erase-parts]")).to_contain_text("Touchpoints")
    form = page.locator("[data-testid=erase-form]")
    form.locator("#id_email").fill("someone@journey-privacy.example")
    form.locator("button[type=submit]").click()
    expect(page.locator("[data-testid=erase-form]")).to_contain_text(
        "This is not the contact's e-mail address."
    )

    page.locator("[data-testid=erase-form] #id_email").fill(EMAIL.upper())
    page.locator("[data-testid=erase-form] button[type=submit]").click()
    expect(page.locator("h1")).to_contain_text("Contacts")
    expect(page.locator("body")).to_contain_text(f"Contact #{person_to_erase} was erased")
    expect(page.locator("body")).not_to_contain_text("Privatova")

    # Checked from a plain thread: Playwright's event loop in this one refuses Django's blocking calls.
    with ThreadPoolExecutor(max_workers=1) as pool:
        assert pool.submit(_left_of, person_to_erase, django_db_blocker).result() == (0, 0)


def _left_of(pk: int, django_db_blocker) -> tuple[int, int]:
    """The contact rows, and the touchpoints still carrying the address she visited (kept, emptied)."""
    with django_db_blocker.unblock(), schema_context("alpha"):
        from marketing.models import Contact, Touchpoint

        left = (
            Contact.objects.filter(pk=pk).count(),
            Touchpoint.objects.filter(url="https://x.test/pricing").count(),
        )
    connection.close()
    return left
