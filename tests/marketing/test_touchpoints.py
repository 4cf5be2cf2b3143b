"""Touchpoints: single and batch, per-item results, dedupe by external id, first and last touch."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from marketing.models import Contact, Touchpoint
from marketing.services.touchpoints import contact_identify, touchpoint_create, touchpoints_record
from tests.marketing import factories

pytestmark = pytest.mark.django_db


def test_batch_reports_each_item_and_stores_the_good_ones(alpha):
    campaign = factories.campaign(utm_campaign="Launch-26", channel="paid_social")
    contact = factories.contact()
    results = touchpoints_record(
        items=[
            {"kind": "page_visit", "contact_id": contact.pk, "occurred_at": "2026-02-01T10:00:00Z"},
            {
                "kind": "ad_click",
                "email": "new@lead.example",
                "utm_campaign": "launch-26",
                "occurred_at": "2026-02-02T10:00:00Z",
                "external_id": "ev-1",
            },
            {"kind": "teleport", "contact_id": contact.pk},
            {"kind": "page_visit"},
            {"kind": "page_visit", "contact_id": 999999},
            {"kind": "page_visit", "anonymous_id": "anon-1", "occurred_at": "2999-01-01T00:00:00Z"},
            {"kind": "page_visit", "anonymous_id": "anon-1", "url": "x" * 3000},
            "not an object",
        ]
    )
    assert [r["status"] for r in results] == ["created", "created"] + ["error"] * 6
    assert set(results[2]["errors"]) == {"kind"}
    assert set(results[3]["errors"]) == {"contact_id"}
    assert set(results[4]["errors"]) == {"contact_id"}
    assert set(results[5]["errors"]) == {"occurred_at"}
    assert set(results[6]["errors"]) == {"url"}
    ad = Touchpoint.objects.get(pk=results[1]["id"])
    assert ad.campaign_id == campaign.pk and ad.channel == "paid_social"
    new = Contact.objects.get(email="new@lead.example")
    assert new.source == "api" and new.first_touch_campaign_id == campaign.pk
    assert Touchpoint.objects.count() == 2
    # the same external id again is a duplicate, not a second row
    again = touchpoints_record(
        items=[{"kind": "ad_click", "email": "new@lead.example", "external_id": "ev-1"}]
    )
    assert again[0] == {"index": 0, "status": "duplicate", "id": ad.pk}
    assert Touchpoint.objects.count() == 2


def test_first_and_last_touch_follow_the_history(alpha):
    first = factories.campaign(utm_campaign="first")
    last = factories.campaign(utm_campaign="last")
    contact = factories.contact()
    touchpoints_record(
        items=[
            {
                "kind": "email_click",
                "contact_id": contact.pk,
                "utm_campaign": "last",
                "utm_source": "newsletter",
                "occurred_at": "2026-03-01T00:00:00Z",
            },
            {
                "kind": "page_visit",
                "contact_id": contact.pk,
                "utm_campaign": "first",
                "utm_source": "google",
                "referrer": "https://google.com/",
                "occurred_at": "2026-01-01T00:00:00Z",
            },
        ]
    )
    contact.refresh_from_db()
    assert (contact.first_touch_campaign_id, contact.first_touch_source) == (first.pk, "google")
    assert contact.first_touch_referrer == "https://google.com/"
    assert (contact.last_touch_campaign_id, contact.last_touch_source) == (last.pk, "newsletter")
    assert contact.last_touch_at == dt.datetime(2026, 3, 1, tzinfo=dt.UTC)


def test_batch_limits(alpha):
    with pytest.raises(ValidationError):
        touchpoints_record(items=[])
    with pytest.raises(ValidationError):
        touchpoints_record(items=[{"kind": "page_visit", "anonymous_id": "a"}] * 1001)


def test_batch_query_count_does_not_grow_with_items(alpha):
    contacts = [factories.contact() for _ in range(50)]

    def run(n):
        items = [{"kind": "page_visit", "contact_id": c.pk} for c in contacts[:n]]
        with CaptureQueriesContext(connection) as ctx:
            touchpoints_record(items=items)
        return len(ctx.captured_queries)

    assert run(5) == run(50)


def test_anonymous_visitor_is_merged_into_the_contact(alpha):
    touchpoint_create(
        data={"kind": "page_visit", "anonymous_id": "cookie-9", "occurred_at": "2026-01-01T00:00:00Z"}
    )
    contact = factories.contact()
    assert contact_identify(anonymous_id="cookie-9", contact=contact) == 1
    contact.refresh_from_db()
    assert contact.first_touch_at == dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def test_a_moment_with_any_iso_offset_is_stored_in_utc(alpha):
    """ISO 8601 takes offsets up to 23:59, PostgreSQL up to 15:59: "-19:03" was a 500 (schemathesis)."""
    person = factories.contact()
    touch = touchpoint_create(
        data={"kind": "page_visit", "contact_id": person.pk, "occurred_at": "2026-03-01T05:07:01-19:03"}
    )
    touch.refresh_from_db()
    assert touch.occurred_at == dt.datetime(2026, 3, 2, 0, 10, 1, tzinfo=dt.UTC)
