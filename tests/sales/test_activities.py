"""Activities: linked to a deal or contact, overdue first in "my activities", first touch of an MQL."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.models import User
from marketing.services.contacts import contact_change_stage
from sales.models import Activity
from sales.reports import first_sales_touch, my_activities
from sales.services.activities import activity_complete, activity_create
from sales.services.deals import deal_create
from tests.marketing import factories

pytestmark = pytest.mark.django_db


def test_activity_needs_a_subject_and_valid_times(alpha):
    for data, field in [
        ({"kind": "call", "subject": "x"}, "deal"),
        ({"kind": "telegram", "subject": "x", "contact": factories.contact().pk}, "kind"),
        ({"kind": "call", "subject": "x", "deal": 999999}, "deal"),
        (
            {
                "kind": "call",
                "subject": "x",
                "contact": factories.contact().pk,
                "done_at": "2999-01-01T00:00:00Z",
            },
            "done_at",
        ),
        ({"kind": "call", "subject": "x", "contact": factories.contact().pk, "due_at": "soon"}, "due_at"),
    ]:
        with pytest.raises(ValidationError) as info:
            activity_create(data=data)
        assert field in info.value.message_dict, data
    assert Activity.objects.count() == 0


def test_my_activities_lists_overdue_first(alpha):
    rep = User.objects.get(email="sara@alpha.example")
    contact = factories.contact()
    now = timezone.now()
    later = activity_create(
        data={
            "kind": "call",
            "subject": "Later",
            "contact": contact.pk,
            "due_at": now + dt.timedelta(days=2),
        },
        actor=rep,
    )
    overdue = activity_create(
        data={
            "kind": "demo",
            "subject": "Overdue",
            "contact": contact.pk,
            "due_at": now - dt.timedelta(days=1),
        },
        actor=rep,
    )
    undated = activity_create(data={"kind": "email", "subject": "Undated", "contact": contact.pk}, actor=rep)
    done = activity_create(data={"kind": "call", "subject": "Done", "contact": contact.pk}, actor=rep)
    activity_complete(activity=done, outcome="Left a message")
    assert list(my_activities(rep)) == [overdue, later, undated]


def test_first_sales_touch_of_an_mql(alpha):
    lead = factories.contact()
    contact_change_stage(contact=lead, to_stage="mql", at=timezone.now() - dt.timedelta(hours=5))
    assert first_sales_touch(lead.pk) is None
    deal = deal_create(data={"name": "Touch", "primary_contact": lead.pk})
    call = activity_create(
        data={
            "kind": "call",
            "subject": "Intro",
            "deal": deal.pk,
            "done_at": timezone.now() - dt.timedelta(hours=2),
        }
    )
    assert call.contact_id == lead.pk  # taken from the deal's primary contact
    assert first_sales_touch(lead.pk) == call.done_at
