"""Aggregates for the marketing dashboard and campaign pages: SQL GROUP BYs, never rows in Python.

These are live queries over indexed facts; the metric engine (alignment) stores the same numbers per
period once it exists.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db.models import Count, DecimalField, F, IntegerField, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce, TruncWeek
from django.utils import timezone

from .models import Campaign, Contact, ContentAsset, CostLine, LifecycleStage, StageTransition, Touchpoint

MONEY = DecimalField(max_digits=14, decimal_places=2)


def leads_and_mqls_by_channel_week(*, weeks: int = 12, now=None) -> dict:
    """Leads and MQLs entering per week, split by the channel of the contact's first-touch campaign."""
    now = now or timezone.now()
    since = (now - dt.timedelta(weeks=weeks)).replace(hour=0, minute=0, second=0, microsecond=0)
    rows = (
        StageTransition.objects.filter(at__gte=since, to_stage__in=[LifecycleStage.LEAD, LifecycleStage.MQL])
        .annotate(week=TruncWeek("at"), channel=Coalesce("contact__first_touch_campaign__channel", Value("")))
        .values("week", "channel", "to_stage")
        .annotate(n=Count("id"))
        .order_by("week")
    )
    week_keys = sorted({row["week"].date() for row in rows})
    series: dict[tuple[str, str], dict] = {}
    for row in rows:
        key = (row["to_stage"], row["channel"] or "unattributed")
        series.setdefault(key, {})[row["week"].date()] = row["n"]
    return {"weeks": week_keys, "series": series}


def _spend_subquery(since=None):
    costs = CostLine.objects.filter(campaign=OuterRef("pk"))
    if since is not None:
        costs = costs.filter(date__gte=since)
    return Coalesce(
        Subquery(
            costs.values("campaign").annotate(total=Sum("amount")).values("total")[:1], output_field=MONEY
        ),
        Value(Decimal("0"), output_field=MONEY),
    )


def _count_subquery(qs):
    return Coalesce(Subquery(qs.values("n")[:1], output_field=IntegerField()), Value(0))


def campaign_performance():
    """Campaigns with spend, leads (first touch), MQLs among them, touchpoints and cost per lead."""
    leads = Contact.objects.filter(first_touch_campaign=OuterRef("pk")).values("first_touch_campaign")
    return Campaign.objects.annotate(
        spend=_spend_subquery(),
        leads=_count_subquery(leads.annotate(n=Count("id"))),
        mqls=_count_subquery(leads.filter(mql_at__isnull=False).annotate(n=Count("id"))),
        touches=_count_subquery(
            Touchpoint.objects.filter(campaign=OuterRef("pk")).values("campaign").annotate(n=Count("id"))
        ),
    )


def cost_per_lead(spend: Decimal, leads: int) -> Decimal | None:
    return (spend / leads).quantize(Decimal("0.01")) if leads else None


def month_totals(now=None) -> dict:
    now = now or timezone.now()
    start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    entries = StageTransition.objects.filter(at__gte=start).aggregate(
        leads=Count("id", filter=Q(to_stage=LifecycleStage.LEAD)),
        mqls=Count("id", filter=Q(to_stage=LifecycleStage.MQL)),
    )
    budget = Campaign.objects.filter(
        Q(end_date__isnull=True) | Q(end_date__gte=start.date()), start_date__lte=now.date()
    ).aggregate(total=Coalesce(Sum("budget"), Value(Decimal("0"), output_field=MONEY)))["total"]
    spend = CostLine.objects.filter(date__gte=start.date()).aggregate(
        total=Coalesce(Sum("amount"), Value(Decimal("0"), output_field=MONEY))
    )["total"]
    return {**entries, "spend": spend, "budget": budget, "since": start.date()}


def top_content(limit: int = 5):
    uses = F("view_count") + F("download_count") + F("share_count")
    return ContentAsset.objects.annotate(uses=uses).order_by("-uses", "-id")[:limit]


def campaign_touches_by_week(campaign: Campaign, weeks: int = 26):
    since = timezone.now() - dt.timedelta(weeks=weeks)
    return list(
        Touchpoint.objects.filter(campaign=campaign, occurred_at__gte=since)
        .annotate(week=TruncWeek("occurred_at"))
        .values("week")
        .annotate(touches=Count("id"), leads=Count("contact", distinct=True))
        .order_by("week")
    )


def campaign_summary(campaign: Campaign) -> dict:
    row = campaign_performance().filter(pk=campaign.pk).values("spend", "leads", "mqls", "touches").get()
    row["cost_per_lead"] = cost_per_lead(row["spend"], row["leads"])
    row["budget_left"] = campaign.budget - row["spend"]
    return row


def campaign_rejections(campaign: Campaign, limit: int = 20):
    """Leads of this campaign (first touch) that sales sent back, with the reason sales gave.

    Sales records a rejection as a stage transition with the rule "lead-rejected", so marketing reads it
    from its own facts and never imports the sales app."""
    return list(
        StageTransition.objects.filter(by_rule="lead-rejected", contact__first_touch_campaign=campaign)
        .select_related("contact", "by_user")
        .order_by("-at", "-id")[:limit]
    )
