"""Customer accounts and subscriptions. Every MRR change is an event: new, expansion, contraction,
churn or renewal, so retention figures are sums over events."""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from config.validation import clean_into
from marketing.models import Company
from marketing.services.campaigns import parse_day, parse_money

from ..models import CustomerAccount, Subscription, SubscriptionEvent


@transaction.atomic
def customer_account_for(*, company: Company, since=None, first_deal=None) -> CustomerAccount:
    """The company's customer account (made on its first win), and the company marked a customer."""
    account, _ = CustomerAccount.objects.get_or_create(
        company=company, defaults={"since": since or timezone.now(), "first_deal": first_deal}
    )
    Company.objects.filter(pk=company.pk).update(is_customer=True)
    return account


@transaction.atomic
def subscription_create(*, account: CustomerAccount, data: dict, at=None, deal=None) -> Subscription:
    errors: dict[str, list[str]] = {}
    subscription = Subscription(
        account=account, plan=(data.get("plan") or "").strip() if isinstance(data.get("plan"), str) else ""
    )
    subscription.mrr = parse_money(data.get("mrr"), "mrr", errors) or Decimal("0")
    subscription.start_date = parse_day(data.get("start_date"), "start_date", errors)
    subscription.renewal_date = parse_day(data.get("renewal_date"), "renewal_date", errors, required=False)
    if (
        subscription.start_date
        and subscription.renewal_date
        and subscription.renewal_date <= subscription.start_date
    ):
        errors["renewal_date"] = ["The renewal date must be after the start date."]
    clean_into(subscription, errors)
    if errors:
        raise ValidationError(errors)
    subscription.save()
    SubscriptionEvent.objects.create(
        subscription=subscription,
        kind=SubscriptionEvent.Kind.NEW,
        at=at or timezone.now(),
        mrr_before=Decimal("0"),
        mrr_after=subscription.mrr,
        deal=deal,
    )
    return subscription


def _locked(subscription: Subscription) -> Subscription:
    locked = Subscription.objects.select_for_update().get(pk=subscription.pk)
    if locked.status != Subscription.Status.ACTIVE:
        raise ValidationError({"subscription": ["This subscription has ended."]})
    return locked


@transaction.atomic
def subscription_change_mrr(*, subscription: Subscription, mrr, at=None, deal=None) -> SubscriptionEvent:
    """An upsell or cross-sell (expansion) or a downgrade (contraction)."""
    errors: dict[str, list[str]] = {}
    amount = parse_money(mrr, "mrr", errors)
    if errors:
        raise ValidationError(errors)
    locked = _locked(subscription)
    if amount == locked.mrr:
        raise ValidationError({"mrr": ["The amount is unchanged."]})
    if amount == 0:
        raise ValidationError({"mrr": ["To end a subscription, record its churn with a reason."]})
    kind = SubscriptionEvent.Kind.EXPANSION if amount > locked.mrr else SubscriptionEvent.Kind.CONTRACTION
    event = SubscriptionEvent.objects.create(
        subscription=locked,
        kind=kind,
        at=at or timezone.now(),
        mrr_before=locked.mrr,
        mrr_after=amount,
        deal=deal,
    )
    locked.mrr = amount
    locked.save(update_fields=["mrr"])
    return event


@transaction.atomic
def subscription_churn(*, subscription: Subscription, reason: str, at=None) -> SubscriptionEvent:
    if not isinstance(reason, str) or not reason.strip() or "\x00" in reason or len(reason) > 200:
        raise ValidationError({"reason": ["Say why the customer left (at most 200 characters)."]})
    locked = _locked(subscription)
    event = SubscriptionEvent.objects.create(
        subscription=locked,
        kind=SubscriptionEvent.Kind.CHURN,
        at=at or timezone.now(),
        mrr_before=locked.mrr,
        mrr_after=Decimal("0"),
        churn_reason=reason.strip(),
    )
    locked.status, locked.mrr = Subscription.Status.CANCELLED, Decimal("0")
    locked.save(update_fields=["status", "mrr"])
    return event


@transaction.atomic
def subscription_renew(*, subscription: Subscription, renewal_date, at=None) -> SubscriptionEvent:
    errors: dict[str, list[str]] = {}
    day = parse_day(renewal_date, "renewal_date", errors)
    locked = _locked(subscription)
    if day and locked.renewal_date and day <= locked.renewal_date:
        errors["renewal_date"] = ["The new renewal date must be after the current one."]
    if errors:
        raise ValidationError(errors)
    event = SubscriptionEvent.objects.create(
        subscription=locked,
        kind=SubscriptionEvent.Kind.RENEWAL,
        at=at or timezone.now(),
        mrr_before=locked.mrr,
        mrr_after=locked.mrr,
    )
    locked.renewal_date = day
    locked.save(update_fields=["renewal_date"])
    return event
