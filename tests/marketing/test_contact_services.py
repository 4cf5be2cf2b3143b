"""Companies, contacts and lifecycle transitions: field errors, nothing partial, transitions once."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from marketing.models import Company, Contact, StageTransition
from marketing.services.contacts import (
    company_create,
    contact_change_stage,
    contact_create,
    contact_update,
    contact_upsert,
)
from tests.marketing import factories

pytestmark = pytest.mark.django_db


def test_contact_create_records_the_first_stage(alpha):
    contact = contact_create(
        data={"email": "Ann@Example.COM", "first_name": "Ann", "interests": ["AI", " ai "]}
    )
    assert contact.email == "ann@example.com"
    assert contact.interests == ["ai"]
    assert list(contact.transitions.values_list("from_stage", "to_stage")) == [("", "lead")]


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"email": "not-an-email"}, "email"),
        ({"email": "x@example.com", "first_name": "a\x00b"}, "first_name"),
        ({"email": "x@example.com", "job_title": "x" * 500}, "job_title"),
        ({"email": "x@example.com", "seniority": "emperor"}, "seniority"),
        ({"email": "x@example.com", "company": 999999}, "company"),
        ({"email": "x@example.com", "favourite_colour": "blue"}, "favourite_colour"),
        ({"email": "x@example.com", "interests": "a" * 60}, "interests"),
        ({"email": "x@example.com", "consent_marketing": "yes"}, "consent_marketing"),
        ({"email": ""}, "email"),
    ],
)
def test_contact_create_refuses_bad_input_and_stores_nothing(alpha, data, field):
    with pytest.raises(ValidationError) as info:
        contact_create(data=data)
    assert field in info.value.message_dict
    assert Contact.objects.count() == 0 and StageTransition.objects.count() == 0


def test_email_is_unique_ignoring_case(alpha):
    contact_create(data={"email": "dup@example.com"})
    with pytest.raises(ValidationError) as info:
        contact_create(data={"email": "DUP@example.com"})
    assert info.value.message_dict["email"] == ["A contact with this email address already exists."]


def test_upsert_twice_updates_one_contact(alpha):
    first, created = contact_upsert(data={"email": "up@example.com", "first_name": "Up"})
    second, created_again = contact_upsert(data={"email": "UP@example.com", "last_name": "Date"})
    assert created and not created_again and first.pk == second.pk
    assert (second.first_name, second.last_name) == ("Up", "Date")
    assert Contact.objects.count() == 1


def test_stage_change_is_recorded_once_and_locked(alpha):
    contact = factories.contact()
    t1 = contact_change_stage(contact=contact, to_stage="mql", rule="test", rule_version=3, reason="score")
    again = contact_change_stage(contact=contact, to_stage="mql")
    assert again is None
    contact.refresh_from_db()
    assert contact.lifecycle_stage == "mql" and contact.mql_at == t1.at
    assert list(contact.transitions.values_list("from_stage", "to_stage", "rule_version")) == [
        ("", "lead", None),
        ("lead", "mql", 3),
    ]
    with pytest.raises(ValidationError):
        contact_change_stage(contact=contact, to_stage="king")


def test_update_cannot_change_the_stage_behind_the_history(alpha):
    contact = factories.contact()
    with pytest.raises(ValidationError) as info:
        contact_update(contact=contact, data={"lifecycle_stage": "customer"})
    assert "lifecycle_stage" in info.value.message_dict


def test_company_domain_is_normalised_and_unique(alpha):
    company = company_create(data={"name": "Acme", "domain": "https://www.Acme.com/about"})
    assert company.domain == "acme.com"
    with pytest.raises(ValidationError) as info:
        company_create(data={"name": "Acme 2", "domain": "ACME.com"})
    assert "domain" in info.value.message_dict
    with pytest.raises(ValidationError) as info:
        company_create(data={"name": "", "size_band": "huge"})
    assert {"name", "size_band"} <= set(info.value.message_dict)
    assert Company.objects.count() == 1
