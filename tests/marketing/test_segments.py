"""Segments: one SQL query, counts that match a hand-computed expectation, errors that name the path."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import schema_context

from marketing.segments import segment_count, segment_queryset
from marketing.services.touchpoints import touchpoints_record
from tests.marketing import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(tenant_a):
    """Six contacts whose memberships are worked out by hand in each test."""
    with schema_context("alpha"):
        big = factories.company(size_band="1001-5000", industry="Software")
        small = factories.company(size_band="1-10", industry="Retail")
        newsletter = factories.campaign(utm_campaign="news")
        other = factories.campaign(utm_campaign="other")
        p = {
            "ann": factories.contact(
                email="ann@x.example",
                country="Germany",
                company=big,
                seniority="director",
                interests=["ai", "crm"],
                consent_marketing=True,
            ),
            "bob": factories.contact(
                email="bob@x.example", country="germany", company=small, seniority="entry"
            ),
            "cat": factories.contact(
                email="cat@x.example",
                country="France",
                company=big,
                seniority="vp",
                interests=["crm"],
                stage="mql",
            ),
            "dan": factories.contact(email="dan@x.example", country="France", seniority="c_level"),
            "eve": factories.contact(email="eve@x.example", country="Spain", company=small, interests=["ai"]),
            "fay": factories.contact(email="fay@x.example", country="", stage="customer"),
        }
        now = timezone.now()
        touchpoints_record(
            items=[
                # ann clicked the newsletter twice recently, bob once long ago, cat clicked another campaign
                {
                    "kind": "email_click",
                    "contact_id": p["ann"].pk,
                    "campaign_id": newsletter.pk,
                    "occurred_at": (now - dt.timedelta(days=2)).isoformat(),
                },
                {
                    "kind": "email_click",
                    "contact_id": p["ann"].pk,
                    "campaign_id": newsletter.pk,
                    "occurred_at": (now - dt.timedelta(days=5)).isoformat(),
                },
                {
                    "kind": "email_click",
                    "contact_id": p["bob"].pk,
                    "campaign_id": newsletter.pk,
                    "occurred_at": (now - dt.timedelta(days=60)).isoformat(),
                },
                {
                    "kind": "email_click",
                    "contact_id": p["cat"].pk,
                    "campaign_id": other.pk,
                    "occurred_at": (now - dt.timedelta(days=1)).isoformat(),
                },
                {
                    "kind": "page_visit",
                    "contact_id": p["dan"].pk,
                    "occurred_at": (now - dt.timedelta(days=3)).isoformat(),
                },
            ]
        )
        yield p, newsletter


def names(definition) -> set[str]:
    return {email.split("@")[0] for email in segment_queryset(definition).values_list("email", flat=True)}


def cond(field, op, value=None):
    return {"field": field, "op": op, "value": value}


def test_simple_conditions(people):
    assert names({"match": "all", "conditions": [cond("country", "eq", "GERMANY")]}) == {"ann", "bob"}
    assert names({"match": "all", "conditions": [cond("company.size_band", "in", ["1001-5000"])]}) == {
        "ann",
        "cat",
    }
    assert names({"match": "all", "conditions": [cond("interests", "has", "AI")]}) == {"ann", "eve"}
    assert names({"match": "all", "conditions": [cond("country", "is_empty")]}) == {"fay"}
    assert names({"match": "all", "conditions": [cond("lifecycle_stage", "neq", "lead")]}) == {"cat", "fay"}
    assert names({"match": "all", "conditions": [cond("consent_marketing", "is_true")]}) == {"ann"}


def test_and_or_groups(people):
    definition = {
        "match": "any",
        "conditions": [
            {
                "match": "all",
                "conditions": [cond("country", "eq", "germany"), cond("company.industry", "eq", "software")],
            },
            {
                "match": "all",
                "conditions": [cond("country", "eq", "france"), cond("seniority", "in", ["vp", "c_level"])],
            },
        ],
    }
    # (Germany AND Software) OR (France AND VP/C-level): ann; cat, dan
    assert names(definition) == {"ann", "cat", "dan"}
    assert segment_count(definition) == 3


def test_engagement_conditions(people):
    _, newsletter = people
    clicked = cond(
        "touchpoint", "exists", {"kind": "email_click", "campaign": newsletter.pk, "within_days": 30}
    )
    assert names({"match": "all", "conditions": [clicked]}) == {"ann"}  # bob's click is 60 days old
    ever = cond("touchpoint", "exists", {"kind": "email_click", "campaign": newsletter.pk})
    assert names({"match": "all", "conditions": [ever]}) == {"ann", "bob"}
    twice = cond("touchpoint", "at_least", {"kind": "email_click", "count": 2})
    assert names({"match": "all", "conditions": [twice]}) == {"ann"}
    silent = cond("touchpoint", "not_exists", {"within_days": 30})
    assert names({"match": "all", "conditions": [silent]}) == {"bob", "eve", "fay"}
    mixed = {
        "match": "all",
        "conditions": [
            cond("company.size_band", "eq", "1001-5000"),
            {"match": "any", "conditions": [clicked, cond("lifecycle_stage", "eq", "mql")]},
        ],
    }
    assert names(mixed) == {"ann", "cat"}


def test_count_is_one_query(people):
    definition = {
        "match": "all",
        "conditions": [
            cond("country", "in", ["germany", "france"]),
            cond("touchpoint", "exists", {"kind": "email_click", "within_days": 30}),
        ],
    }
    with CaptureQueriesContext(connection) as ctx:
        assert segment_count(definition) == 2  # ann, cat
    assert len(ctx.captured_queries) == 1


@pytest.mark.parametrize(
    ("definition", "path"),
    [
        ({"match": "all", "conditions": [cond("shoe_size", "eq", "42")]}, "conditions.0.field"),
        ({"match": "all", "conditions": [cond("country", "gt", "x")]}, "conditions.0.op"),
        ({"match": "all", "conditions": [cond("seniority", "eq", "pope")]}, "conditions.0.value"),
        ({"match": "most", "conditions": []}, "match"),
        (
            {"match": "all", "conditions": [{"match": "any", "conditions": [cond("score", "gt", "lots")]}]},
            "conditions.0.conditions.0.value",
        ),
        (
            {"match": "all", "conditions": [cond("touchpoint", "exists", {"kind": "smoke_signal"})]},
            "conditions.0.value.kind",
        ),
        ({"match": "all", "conditions": [cond("country", "eq", "a\x00b")]}, "conditions.0.value"),
        ({"match": "all", "conditions": [cond("created_at", "within_days", 0)]}, "conditions.0.value"),
        ({"match": "all", "conditions": "country=de"}, "conditions"),
    ],
)
def test_bad_definitions_name_the_path(people, definition, path):
    with pytest.raises(ValidationError) as info:
        segment_count(definition)
    assert info.value.message_dict["definition"][0].startswith(path + ":")


def test_adding_members_counts_only_the_new_ones(alpha):
    from marketing.models import SegmentMember
    from marketing.services.segments import segment_add_members, segment_create

    a, b, c = (factories.contact() for _ in range(3))
    static = segment_create(data={"name": "Hand-picked", "kind": "static"})
    assert segment_add_members(segment=static, contact_ids=[a.pk, b.pk]) == 2
    assert segment_add_members(segment=static, contact_ids=[b.pk, c.pk, c.pk]) == 1  # b was already on it
    assert SegmentMember.objects.filter(segment=static).count() == 3


def test_a_rule_segment_without_a_definition_matches_everyone_everywhere(tenant_a):
    from django.db import connection

    from marketing.models import Contact, Segment
    from tests.conftest import api_client, api_key_for, login

    client = api_client("alpha", api_key_for("alpha", ["marketing:write"]))
    created = client.post(
        "/api/v1/segments/", {"name": "Everyone", "kind": "rule"}, content_type="application/json"
    )
    assert created.status_code == 201, created.content
    with schema_context("alpha"):
        segment = Segment.objects.get(name="Everyone")
        everyone = Contact.objects.count()
    portal = login("alpha", "marketing")
    assert portal.get(f"/marketing/segments/{segment.pk}/").status_code == 200
    connection.set_schema_to_public()
    listed = portal.get(f"/marketing/contacts/?segment={segment.pk}")
    assert listed.status_code == 200 and listed.context["page"].paginator.count == everyone
