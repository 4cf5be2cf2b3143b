"""Subscriptions and retention: figures for a hand-made fixture match values computed by hand."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from sales.models import Subscription, SubscriptionEvent
from sales.reports import retention
from sales.services.customers import (
    customer_account_for,
    subscription_change_mrr,
    subscription_churn,
    subscription_create,
    subscription_renew,
)
from tests.marketing import factories

pytestmark = pytest.mark.django_db


def at(month: int, day: int = 1) -> dt.datetime:
    return dt.datetime(2026, month, day, 12, tzinfo=dt.UTC)


def test_retention_matches_a_hand_computed_quarter(alpha):
    a, b, c, d = (customer_account_for(company=factories.company()) for _ in range(4))
    # live before Q2 (1 April): A 1000 + 500 on two plans, B 2000, C 800 -> start MRR 4300, 3 customers
    a1 = subscription_create(
        account=a, data={"plan": "Pro", "mrr": "1000", "start_date": "2026-01-10"}, at=at(1, 10)
    )
    a2 = subscription_create(
        account=a, data={"plan": "Add-on", "mrr": "500", "start_date": "2026-02-01"}, at=at(2)
    )
    b1 = subscription_create(
        account=b, data={"plan": "Team", "mrr": "2000", "start_date": "2026-01-05"}, at=at(1, 5)
    )
    c1 = subscription_create(
        account=c, data={"plan": "Starter", "mrr": "800", "start_date": "2026-03-01"}, at=at(3)
    )
    subscription_change_mrr(subscription=b1, mrr="2500", at=at(3, 15))  # before the period: part of start MRR
    # inside Q2: A expands 1000 -> 1300 (+300); B contracts 2500 -> 2100 (-400); C churns (-800);
    # A's add-on churns (-500); D is new (900, not in the denominator)
    subscription_change_mrr(subscription=a1, mrr="1300", at=at(4, 10))
    subscription_change_mrr(subscription=b1, mrr="2100", at=at(5, 2))
    subscription_churn(subscription=c1, reason="Moved to a competitor", at=at(5, 20))
    subscription_churn(subscription=a2, reason="Did not use it", at=at(6, 1))
    subscription_create(
        account=d, data={"plan": "Pro", "mrr": "900", "start_date": "2026-04-15"}, at=at(4, 15)
    )
    # after the period: ignored
    subscription_change_mrr(subscription=a1, mrr="5000", at=at(7, 2))

    figures = retention(start=at(4, 1).replace(hour=0), end=at(7, 1).replace(hour=0))
    # start MRR = 1000 + 500 + 2500 + 800 = 4800
    assert figures["start_mrr"] == Decimal("4800.00")
    assert figures["expansion"] == Decimal("300.00")
    assert figures["contraction"] == Decimal("400.00")
    assert figures["churned"] == Decimal("1300.00")  # 800 + 500
    assert figures["new_mrr"] == Decimal("900.00")
    # NRR = (4800 + 300 - 400 - 1300) / 4800 = 3400 / 4800
    assert figures["net_revenue_retention"] == Decimal("0.7083")
    # gross revenue churn = (1300 + 400) / 4800; expansion rate = 300 / 4800
    assert figures["gross_revenue_churn"] == Decimal("0.3542")
    assert figures["expansion_rate"] == Decimal("0.0625")
    # logos: A, B, C live at the start; C lost (A still has Pro) -> 1 / 3
    assert (figures["customers_at_start"], figures["customers_lost"]) == (3, 1)
    assert figures["logo_churn"] == Decimal("0.3333")


def test_subscription_rules(alpha):
    account = customer_account_for(company=factories.company())
    for data, field in [
        ({"plan": "P", "mrr": "-1", "start_date": "2026-01-01"}, "mrr"),
        ({"plan": "", "mrr": "10", "start_date": "2026-01-01"}, "plan"),
        (
            {"plan": "P", "mrr": "10", "start_date": "2026-02-01", "renewal_date": "2026-01-01"},
            "renewal_date",
        ),
    ]:
        with pytest.raises(ValidationError) as info:
            subscription_create(account=account, data=data)
        assert field in info.value.message_dict
    assert Subscription.objects.count() == 0
    sub = subscription_create(
        account=account,
        data={"plan": "P", "mrr": "100", "start_date": "2026-01-01", "renewal_date": "2027-01-01"},
    )
    with pytest.raises(ValidationError):
        subscription_change_mrr(subscription=sub, mrr="100")
    with pytest.raises(ValidationError):
        subscription_churn(subscription=sub, reason="")
    subscription_renew(subscription=sub, renewal_date="2028-01-01")
    subscription_churn(subscription=sub, reason="Budget cut")
    with pytest.raises(ValidationError, match="ended"):
        subscription_change_mrr(subscription=sub, mrr="200")
    assert list(SubscriptionEvent.objects.values_list("kind", flat=True)) == ["new", "renewal", "churn"]
