"""Sales reads; selectors own select_related and prefetch so lists never N+1."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Count, Prefetch, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce

from accounts.models import User
from marketing.models import Contact

from .models import (
    Activity,
    CustomerAccount,
    Deal,
    DealContact,
    Pipeline,
    Quota,
    Stage,
    Subscription,
    SubscriptionEvent,
    Team,
)
from .reports import quota_attainment


def pipeline_list(*, active_only: bool = True) -> QuerySet[Pipeline]:
    qs = Pipeline.objects.prefetch_related(Prefetch("stages", queryset=Stage.objects.order_by("position")))
    return qs.filter(is_active=True) if active_only else qs


def team_list() -> QuerySet[Team]:
    """Teams with their members (ids in order, one query for all teams)."""
    return Team.objects.prefetch_related(Prefetch("members", queryset=User.objects.order_by("id")))


def deal_list(
    *,
    search: str = "",
    pipeline: int | None = None,
    stage: int | None = None,
    status: str = "",
    owner: int | None = None,
    source_campaign: int | None = None,
) -> QuerySet[Deal]:
    qs = Deal.objects.select_related(
        "stage", "pipeline", "company", "owner", "source_campaign"
    ).prefetch_related(Prefetch("deal_contacts", queryset=DealContact.objects.filter(is_primary=True)))
    if search:
        qs = qs.filter(Q(name__icontains=search) | Q(company__name__icontains=search))
    if pipeline is not None:
        qs = qs.filter(pipeline_id=pipeline)
    if stage is not None:
        qs = qs.filter(stage_id=stage)
    if status:
        qs = qs.filter(status=status)
    if owner is not None:
        qs = qs.filter(owner_id=owner)
    if source_campaign is not None:
        qs = qs.filter(source_campaign_id=source_campaign)
    return qs


def activity_list(
    *, owner: int | None = None, deal: int | None = None, contact: int | None = None, open_only: bool = False
) -> QuerySet[Activity]:
    qs = Activity.objects.select_related("deal", "contact", "owner")
    if owner is not None:
        qs = qs.filter(owner_id=owner)
    if deal is not None:
        qs = qs.filter(deal_id=deal)
    if contact is not None:
        qs = qs.filter(contact_id=contact)
    if open_only:
        qs = qs.filter(done_at__isnull=True)
    return qs


def customer_list(*, search: str = "", with_mrr: bool = False) -> QuerySet[CustomerAccount]:
    """Customer accounts; ``with_mrr`` adds live MRR and the number of live subscriptions (one query)."""
    qs = CustomerAccount.objects.select_related("company")
    if search:
        qs = qs.filter(company__name__icontains=search)
    if with_mrr:
        live = Q(subscriptions__status=Subscription.Status.ACTIVE)
        qs = qs.annotate(
            mrr=Coalesce(Sum("subscriptions__mrr", filter=live), Value(Decimal("0"))),
            live_subscriptions=Count("subscriptions", filter=live),
        )
    return qs


def subscription_list(*, account: int | None = None, status: str = "") -> QuerySet[Subscription]:
    qs = Subscription.objects.select_related("account__company")
    if account is not None:
        qs = qs.filter(account_id=account)
    if status:
        qs = qs.filter(status=status)
    return qs


def subscription_event_list(
    *,
    account: int | None = None,
    subscription: int | None = None,
    kind: str = "",
    since=None,
    before=None,
) -> QuerySet[SubscriptionEvent]:
    """MRR changes, filtered by customer, subscription, kind and day range [since, before)."""
    qs = SubscriptionEvent.objects.select_related("subscription")
    if account is not None:
        qs = qs.filter(subscription__account_id=account)
    if subscription is not None:
        qs = qs.filter(subscription_id=subscription)
    if kind:
        qs = qs.filter(kind=kind)
    if since is not None:
        qs = qs.filter(at__date__gte=since)
    if before is not None:
        qs = qs.filter(at__date__lt=before)
    return qs


def quota_list() -> QuerySet[Quota]:
    """Quotas with their actual and attainment (one query, see reports.quota_attainment)."""
    return quota_attainment(Quota.objects.select_related("owner", "team"))


def lead_queue() -> QuerySet[Contact]:
    from .services.leads import lead_queue as queue

    return queue()
