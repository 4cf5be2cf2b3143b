"""A row deleted by another request after this one looked it up, before its change locked it.

Found by the contract run with two workers: one deleted a contact while the other moved it to another
lifecycle stage, and the move's locked read raised DoesNotExist (a 500). Such a row is gone: the API and the
portal answer the same 404 as for a missing id, and nothing else changes.
"""

from __future__ import annotations

import pytest
from django_tenants.utils import schema_context

from accounts.roles import ALL_SCOPES
from marketing.models import Contact, StageTransition
from marketing.services import contacts
from tests.conftest import api_client, api_key_for, login
from tests.marketing import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def deleted_meanwhile(tenant_a, monkeypatch):
    """A contact that another request deletes just as the stage change starts."""
    with schema_context("alpha"):
        contact = factories.contact(first_name="Racing")
    original = contacts.contact_change_stage

    def racing(*, contact, **kwargs):
        Contact.objects.filter(pk=contact.pk).delete()  # the other request wins
        return original(contact=contact, **kwargs)

    monkeypatch.setattr(contacts, "contact_change_stage", racing)
    return contact.pk


def test_the_api_answers_404_for_a_row_deleted_before_its_change(deleted_meanwhile):
    client = api_client("alpha", api_key_for("alpha", list(ALL_SCOPES)))
    response = client.post(
        f"/api/v1/contacts/{deleted_meanwhile}/stage/",
        {"to_stage": "subscriber"},
        content_type="application/json",
    )
    assert response.status_code == 404, response.content
    assert response.json()["error"]["code"] == "not_found"
    with schema_context("alpha"):
        assert not StageTransition.objects.filter(
            contact_id=deleted_meanwhile, to_stage="subscriber"
        ).exists()


def test_the_portal_answers_404_for_a_row_deleted_before_its_change(deleted_meanwhile):
    client = login("alpha", "marketing")
    response = client.post(f"/marketing/contacts/{deleted_meanwhile}/stage/", {"to_stage": "subscriber"})
    assert response.status_code == 404
