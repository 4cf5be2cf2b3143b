"""Marketing reads. Selectors own select_related / prefetch / annotate, so lists never N+1."""

from __future__ import annotations

from django.db.models import Count, DecimalField, Prefetch, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce

from .models import (
    Campaign,
    CampaignSend,
    Company,
    Contact,
    ContentAsset,
    CostLine,
    MqlRule,
    ScoringRule,
    Segment,
    StageTransition,
    Touchpoint,
)
from .segments import compile_definition

ZERO = Value(0, output_field=DecimalField(max_digits=14, decimal_places=2))


def company_list(*, search: str = "", industry: str = "", size_band: str = "") -> QuerySet[Company]:
    qs = Company.objects.annotate(contact_count=Count("contacts"))
    if search:
        qs = qs.filter(Q(name__icontains=search) | Q(domain__icontains=search))
    if industry:
        qs = qs.filter(industry__iexact=industry)
    if size_band:
        qs = qs.filter(size_band=size_band)
    return qs


def contact_list(
    *, search: str = "", stage: str = "", company: int | None = None, segment: Segment | None = None,
    min_score: int | None = None, source: str = "",
) -> QuerySet[Contact]:  # fmt: skip
    qs = Contact.objects.select_related("company", "first_touch_campaign", "last_touch_campaign")
    if search:
        qs = qs.filter(
            Q(email__icontains=search) | Q(first_name__icontains=search) | Q(last_name__icontains=search)
            | Q(company__name__icontains=search)
        )  # fmt: skip
    if stage:
        qs = qs.filter(lifecycle_stage=stage)
    if company is not None:
        qs = qs.filter(company_id=company)
    if min_score is not None:
        qs = qs.filter(score__gte=min_score)
    if source:
        qs = qs.filter(source=source)
    if segment is not None:
        qs = qs.filter(segment_filter(segment))
    return qs


def segment_filter(segment: Segment) -> Q:
    if segment.kind == Segment.Kind.STATIC:
        return Q(segment_memberships__segment=segment)
    return compile_definition(segment.definition)


def segment_members(segment: Segment) -> QuerySet[Contact]:
    return contact_list(segment=segment)


def contact_transitions(contact: Contact) -> QuerySet[StageTransition]:
    return contact.transitions.select_related("by_user").order_by("at", "id")


def contact_timeline(contact: Contact, *, limit: int = 200) -> dict:
    return {
        "touchpoints": list(
            contact.touchpoints.select_related("campaign", "content").order_by("-occurred_at", "-id")[:limit]
        ),
        "transitions": list(contact_transitions(contact)),
    }


def campaign_list(
    *, search: str = "", channel: str = "", status: str = "", objective: str = ""
) -> QuerySet[Campaign]:
    qs = (
        Campaign.objects.select_related("owner")
        .annotate(
            spend=Coalesce(Sum("costs__amount"), ZERO),
        )
        .prefetch_related(Prefetch("target_segments", queryset=Segment.objects.only("id", "name")))
    )
    if search:
        qs = qs.filter(Q(name__icontains=search) | Q(utm_campaign__icontains=search))
    if channel:
        qs = qs.filter(channel=channel)
    if status:
        qs = qs.filter(status=status)
    if objective:
        qs = qs.filter(objective=objective)
    return qs


def campaign_costs(campaign: Campaign) -> QuerySet[CostLine]:
    return campaign.costs.select_related("created_by")


def campaign_sends(campaign: Campaign) -> QuerySet[CampaignSend]:
    return campaign.sends.annotate(touch_count=Count("touchpoints"))


def content_list(
    *, search: str = "", kind: str = "", stage: str = "", tag: str = "", campaign: int | None = None
):
    qs = ContentAsset.objects.select_related("created_by").prefetch_related(
        Prefetch("campaigns", queryset=Campaign.objects.only("id", "name"))
    )
    if search:
        qs = qs.filter(Q(title__icontains=search) | Q(description__icontains=search))
    if kind:
        qs = qs.filter(kind=kind)
    if stage:
        qs = qs.filter(funnel_stage=stage)
    if tag:
        qs = qs.filter(tags__contains=[tag.lower()])
    if campaign is not None:
        qs = qs.filter(campaigns__id=campaign)
    return qs


def touchpoint_list(
    *, contact: int | None = None, campaign: int | None = None, kind: str = "", since=None, until=None
) -> QuerySet[Touchpoint]:
    qs = Touchpoint.objects.all()
    if contact is not None:
        qs = qs.filter(contact_id=contact)
    if campaign is not None:
        qs = qs.filter(campaign_id=campaign)
    if kind:
        qs = qs.filter(kind=kind)
    if since is not None:
        qs = qs.filter(occurred_at__gte=since)
    if until is not None:
        qs = qs.filter(occurred_at__lt=until)
    return qs


def segment_list(*, search: str = "") -> QuerySet[Segment]:
    qs = Segment.objects.select_related("created_by")
    if search:
        qs = qs.filter(name__icontains=search)
    return qs


def scoring_rule_list() -> QuerySet[ScoringRule]:
    return ScoringRule.objects.all()


def mql_rule_history() -> QuerySet[MqlRule]:
    return MqlRule.objects.select_related("created_by").order_by("-version")
