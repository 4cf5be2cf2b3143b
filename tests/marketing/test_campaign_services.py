"""Campaigns, cost lines and sends: bad input answers with field errors and stores nothing."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from marketing.models import Campaign, CampaignSend, CostLine
from marketing.services.campaigns import campaign_create, campaign_update, cost_line_add, send_add
from tests.marketing import factories

pytestmark = pytest.mark.django_db


GOOD = {"name": "Spring newsletter", "channel": "email", "start_date": "2026-03-01", "budget": "1500.00"}


def test_campaign_create(alpha):
    campaign = campaign_create(data={**GOOD, "end_date": "2026-03-31", "utm_campaign": "spring-26"})
    assert campaign.budget == Decimal("1500.00") and campaign.end_date == dt.date(2026, 3, 31)


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"end_date": "2026-02-01"}, "end_date", "cannot be before the start date"),
        ({"budget": "-5"}, "budget", "cannot be negative"),
        ({"budget": "abc"}, "budget", "Enter a number"),
        ({"budget": "1.234"}, "budget", "two decimal places"),
        ({"budget": "1e30"}, "budget", "too large"),
        ({"budget": "NaN"}, "budget", "finite"),
        ({"channel": "carrier_pigeon"}, "channel", "not a valid choice"),
        ({"status": "exploded"}, "status", "not a valid choice"),
        ({"start_date": "2026-13-45"}, "start_date", "valid date"),
        ({"start_date": ""}, "start_date", "required"),
        ({"name": "x\x00y"}, "name", "NUL"),
        ({"name": "x" * 300}, "name", "at most 200"),
        ({"name": ""}, "name", "blank"),
        ({"target_segments": [999]}, "target_segments", "existing segment"),
        ({"owner": 99999}, "owner", "Unknown"),
        ({"colour": "red"}, "colour", "Unknown field"),
    ],
)
def test_campaign_create_refuses_bad_input(alpha, change, field, message):
    with pytest.raises(ValidationError) as info:
        campaign_create(data={**GOOD, **change})
    assert field in info.value.message_dict
    assert message.lower() in " ".join(info.value.message_dict[field]).lower()
    assert Campaign.objects.count() == 0


def test_utm_code_is_unique_ignoring_case(alpha):
    campaign_create(data={**GOOD, "utm_campaign": "Spring"})
    with pytest.raises(ValidationError) as info:
        campaign_create(data={**GOOD, "utm_campaign": "spring"})
    assert "utm_campaign" in info.value.message_dict


def test_campaign_update_keeps_stored_values_on_error(alpha):
    campaign = campaign_create(data=GOOD)
    with pytest.raises(ValidationError):
        campaign_update(campaign=campaign, data={"budget": "-1", "name": "Renamed"})
    stored = Campaign.objects.get(pk=campaign.pk)
    assert stored.budget == Decimal("1500.00") and stored.name == "Spring newsletter"


def test_cost_lines_and_sends(alpha):
    campaign = factories.campaign()
    line = cost_line_add(campaign=campaign, data={"date": "2026-01-05", "amount": "250.50", "note": "Ads"})
    assert line.amount == Decimal("250.50")
    for bad, field in [
        ({"date": "2026-01-05", "amount": "-1"}, "amount"),
        ({"amount": "10"}, "date"),
        ({"date": "x", "amount": "1"}, "date"),
    ]:
        with pytest.raises(ValidationError) as info:
            cost_line_add(campaign=campaign, data=bad)
        assert field in info.value.message_dict
    assert CostLine.objects.count() == 1
    send = send_add(
        campaign=campaign, data={"name": "Issue #1", "sent_at": "2026-01-06T09:00:00Z", "audience_size": 1200}
    )
    assert send.sent_at.isoformat() == "2026-01-06T09:00:00+00:00"
    with pytest.raises(ValidationError) as info:
        send_add(campaign=campaign, data={"name": "Bad", "sent_at": "yesterday", "audience_size": -3})
    assert {"sent_at", "audience_size"} <= set(info.value.message_dict)
    assert CampaignSend.objects.count() == 1


def test_content_and_segment_services_refuse_bad_input(alpha):
    from marketing.models import ContentAsset, Segment
    from marketing.services.content import content_create
    from marketing.services.segments import segment_create

    bad_content = [
        ({"title": "t", "kind": "scroll", "funnel_stage": "awareness", "url": "https://x.example"}, "kind"),
        ({"title": "t", "kind": "blog_post", "funnel_stage": "awareness"}, "url"),
        ({"title": "t", "kind": "blog_post", "funnel_stage": "awareness", "url": "not a url"}, "url"),
        (
            {"title": "t\x00", "kind": "blog_post", "funnel_stage": "awareness", "url": "https://x.example"},
            "title",
        ),
        (
            {
                "title": "t",
                "kind": "blog_post",
                "funnel_stage": "awareness",
                "url": "https://x.example",
                "campaigns": [424242],
            },
            "campaigns",
        ),
    ]
    for data, field in bad_content:
        with pytest.raises(ValidationError) as info:
            content_create(data=data)
        assert field in info.value.message_dict, data
    bad_segments = [
        (
            {"name": "s", "definition": {"match": "all", "conditions": [{"field": "shoe", "op": "eq"}]}},
            "definition",
        ),
        (
            {
                "name": "s",
                "definition": {
                    "match": "all",
                    "conditions": [{"field": "country", "op": "gt", "value": "x"}],
                },
            },
            "definition",
        ),
        ({"name": "", "definition": {"match": "all", "conditions": []}}, "name"),
        ({"name": "s", "kind": "magic"}, "kind"),
    ]
    for data, field in bad_segments:
        with pytest.raises(ValidationError) as info:
            segment_create(data=data)
        assert field in info.value.message_dict, data
    assert ContentAsset.objects.count() == 0 and Segment.objects.count() == 0
