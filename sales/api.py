"""Sales API: pipelines, deals (with move and close actions), activities, customers, subscriptions,
quotas and the lead queue. Scoped to sales:read / sales:write; marketing reads, sales writes."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response

from accounts.api_base import (
    TenantAPIView,
    TenantListAPIView,
    TenantServiceDetailAPIView,
    TenantServiceListCreateAPIView,
)
from accounts.models import User
from accounts.roles import Area
from config.api import query_choice, query_date, query_int
from marketing.models import Contact

from . import selectors
from . import serializers as s
from .models import CustomerAccount, Deal, RejectionReason, Subscription, SubscriptionEvent, Team
from .services import activities as activity_services
from .services import customers as customer_services
from .services import deals as deal_services
from .services import leads as lead_services
from .services.quotas import quota_set


def acting_user(request) -> User | None:
    return request.user if isinstance(request.user, User) else None


class SalesList(TenantListAPIView):
    scope_area = Area.SALES


class SalesListCreate(TenantServiceListCreateAPIView):
    scope_area = Area.SALES


class SalesDetail(TenantServiceDetailAPIView):
    scope_area = Area.SALES


class SalesAction(TenantAPIView):
    scope_area = Area.SALES


class PipelineListView(SalesList):
    serializer_class = s.PipelineOut
    default_ordering = ("position", "id")

    def get_queryset(self):
        return selectors.pipeline_list()


@extend_schema(
    parameters=[
        OpenApiParameter("search", str),
        OpenApiParameter("pipeline", int),
        OpenApiParameter("stage", int),
        OpenApiParameter("status", str, enum=Deal.Status.values),
        OpenApiParameter("owner", int),
        OpenApiParameter("source_campaign", int),
    ]
)
class DealListView(SalesListCreate):
    serializer_class = s.DealOut
    input_serializer = s.DealIn
    allowed_params = ("search", "pipeline", "stage", "status", "owner", "source_campaign")
    ordering_fields = {
        "created": ("created_at", "id"),
        "-created": ("-created_at", "-id"),
        "amount": ("amount", "id"),
        "-amount": ("-amount", "-id"),
        "close": ("expected_close_date", "id"),
        "-close": ("-expected_close_date", "-id"),
    }

    def get_queryset(self):
        r = self.request
        return selectors.deal_list(
            search=r.query_params.get("search", "")[:200],
            pipeline=query_int(r, "pipeline"),
            stage=query_int(r, "stage"),
            status=query_choice(r, "status", Deal.Status.values),
            owner=query_int(r, "owner"),
            source_campaign=query_int(r, "source_campaign"),
        )

    def create_object(self, data, request):
        return deal_services.deal_create(data=data, actor=acting_user(request))


class DealDetailView(SalesDetail):
    serializer_class = s.DealOut
    input_serializer = s.DealIn

    def get_queryset(self):
        return selectors.deal_list()

    def update_object(self, obj, data, request):
        deal_services.deal_update(deal=obj, data=data, actor=acting_user(request))

    def delete_object(self, obj, request):
        obj.delete()


class DealMoveView(SalesAction):
    @extend_schema(request=s.DealMoveIn, responses=s.DealOut, summary="Move a deal to another open stage")
    def post(self, request, pk: int):
        deal = get_object_or_404(Deal, pk=pk)
        data = s.DealMoveIn(data=request.data)
        data.is_valid(raise_exception=True)
        deal_services.deal_move(
            deal=deal,
            stage=data.validated_data["stage"],
            actor=acting_user(request),
            expected_version=data.validated_data.get("version"),
        )
        return Response(s.DealOut(selectors.deal_list().get(pk=pk)).data)


class DealWonView(SalesAction):
    @extend_schema(request=s.DealWonIn, responses=s.DealOut, summary="Close a deal as won")
    def post(self, request, pk: int):
        deal = get_object_or_404(Deal, pk=pk)
        data = s.DealWonIn(data=request.data)
        data.is_valid(raise_exception=True)
        deal_services.deal_close_won(
            deal=deal, actor=acting_user(request), expected_version=data.validated_data.get("version")
        )
        return Response(s.DealOut(selectors.deal_list().get(pk=pk)).data)


class DealLostView(SalesAction):
    @extend_schema(request=s.DealLostIn, responses=s.DealOut, summary="Close a deal as lost, with its reason")
    def post(self, request, pk: int):
        deal = get_object_or_404(Deal, pk=pk)
        data = s.DealLostIn(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        deal_services.deal_close_lost(
            deal=deal,
            category=v["category"],
            reason=v["reason"],
            note=v["note"],
            actor=acting_user(request),
            expected_version=v.get("version"),
        )
        return Response(s.DealOut(selectors.deal_list().get(pk=pk)).data)


@extend_schema(
    parameters=[
        OpenApiParameter("owner", int),
        OpenApiParameter("deal", int),
        OpenApiParameter("contact", int),
        OpenApiParameter("open", bool),
    ]
)
class ActivityListView(SalesListCreate):
    serializer_class = s.ActivityOut
    input_serializer = s.ActivityIn
    allowed_params = ("owner", "deal", "contact", "open")

    def get_queryset(self):
        r = self.request
        return selectors.activity_list(
            owner=query_int(r, "owner"),
            deal=query_int(r, "deal"),
            contact=query_int(r, "contact"),
            open_only=r.query_params.get("open") in ("1", "true"),
        )

    def create_object(self, data, request):
        return activity_services.activity_create(data=data, actor=acting_user(request))


class ActivityDetailView(SalesDetail):
    serializer_class = s.ActivityOut
    input_serializer = s.ActivityIn

    def get_queryset(self):
        return selectors.activity_list()

    def update_object(self, obj, data, request):
        activity_services.activity_update(activity=obj, data=data)

    def delete_object(self, obj, request):
        obj.delete()


class CustomerListView(SalesList):
    serializer_class = s.CustomerOut
    allowed_params = ("search",)

    def get_queryset(self):
        return selectors.customer_list(search=self.request.query_params.get("search", "")[:200])


class SubscriptionListView(SalesListCreate):
    """A customer's subscriptions; POST adds one (a "new" MRR event)."""

    serializer_class = s.SubscriptionOut
    input_serializer = s.SubscriptionIn

    def account(self) -> CustomerAccount:
        return get_object_or_404(CustomerAccount, pk=self.kwargs["pk"])

    def get_queryset(self):
        return selectors.subscription_list(account=self.account().pk)

    def create_object(self, data, request):
        return customer_services.subscription_create(account=self.account(), data=data)


class SubscriptionChangeView(SalesAction):
    @extend_schema(
        request=s.SubscriptionChangeIn,
        responses=s.SubscriptionOut,
        summary="Change MRR (expansion or contraction), churn with a reason, or renew",
    )
    def post(self, request, pk: int):
        from rest_framework.exceptions import ValidationError

        subscription = get_object_or_404(Subscription, pk=pk)
        data = s.SubscriptionChangeIn(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        needs = {"change_mrr": "mrr", "churn": "reason", "renew": "renewal_date"}[v["action"]]
        if needs not in v:
            raise ValidationError({needs: ["This field is required for this action."]})
        if v["action"] == "change_mrr":
            customer_services.subscription_change_mrr(subscription=subscription, mrr=v["mrr"])
        elif v["action"] == "churn":
            customer_services.subscription_churn(subscription=subscription, reason=v["reason"])
        else:
            customer_services.subscription_renew(subscription=subscription, renewal_date=v["renewal_date"])
        return Response(s.SubscriptionOut(Subscription.objects.get(pk=pk)).data)


@extend_schema(
    parameters=[
        OpenApiParameter("account", int, description="Customer account id"),
        OpenApiParameter("subscription", int),
        OpenApiParameter("kind", str, enum=SubscriptionEvent.Kind.values),
        OpenApiParameter("since", OpenApiTypes.DATE, description="Events on or after this day"),
        OpenApiParameter("before", OpenApiTypes.DATE, description="Events before this day"),
    ]
)
class SubscriptionEventListView(SalesList):
    """MRR changes (new, expansion, contraction, churn, renewal): the facts behind retention."""

    serializer_class = s.SubscriptionEventOut
    allowed_params = ("account", "subscription", "kind", "since", "before")
    default_ordering = ("-at", "-id")
    ordering_fields = {"at": ("at", "id"), "-at": ("-at", "-id")}

    def get_queryset(self):
        r = self.request
        return selectors.subscription_event_list(
            account=query_int(r, "account"),
            subscription=query_int(r, "subscription"),
            kind=query_choice(r, "kind", SubscriptionEvent.Kind.values),
            since=query_date(r, "since"),
            before=query_date(r, "before"),
        )


class QuotaListView(SalesListCreate):
    serializer_class = s.QuotaOut
    input_serializer = s.QuotaIn
    default_ordering = ("-period_start", "-id")

    def get_queryset(self):
        return selectors.quota_list()

    def create_object(self, data, request):
        from rest_framework.exceptions import ValidationError

        owner = User.objects.filter(pk=data.pop("owner", None) or 0).first()
        team = Team.objects.filter(pk=data.pop("team", None) or 0).first()
        if owner is None and team is None:
            raise ValidationError({"owner": ["Give an existing rep or team."]})
        return quota_set(owner=owner, team=team, **data)


class LeadQueueView(SalesList):
    """MQLs waiting for sales, oldest first."""

    serializer_class = s.LeadOut
    default_ordering = ("mql_at", "id")

    def get_queryset(self):
        return selectors.lead_queue()


class _LeadAction(SalesAction):
    def lead(self, pk: int) -> Contact:
        return get_object_or_404(Contact, pk=pk)


class LeadAcceptView(_LeadAction):
    @extend_schema(request=s.LeadAcceptIn, responses={200: s.LeadDecisionOut}, summary="Accept an MQL")
    def post(self, request, pk: int):
        data = s.LeadAcceptIn(data=request.data)
        data.is_valid(raise_exception=True)
        decision, deal = lead_services.lead_accept(
            contact=self.lead(pk),
            actor=acting_user(request),
            open_deal=data.validated_data["open_deal"],
            deal_data=dict(data.validated_data.get("deal") or {}),
        )
        body = s.LeadDecisionOut(decision).data
        body["deal"] = deal.pk if deal else None
        return Response(body)


class LeadRejectView(_LeadAction):
    @extend_schema(
        request=s.LeadRejectIn, responses=s.LeadDecisionOut, summary="Reject an MQL back to marketing"
    )
    def post(self, request, pk: int):
        data = s.LeadRejectIn(data=request.data)
        data.is_valid(raise_exception=True)
        reason = RejectionReason.objects.filter(pk=data.validated_data["reason"], is_active=True).first()
        decision = lead_services.lead_reject(
            contact=self.lead(pk),
            reason=reason.pk if reason else 0,
            note=data.validated_data.get("note", ""),
            actor=acting_user(request),
        )
        return Response(s.LeadDecisionOut(decision).data)


class LeadAssignView(_LeadAction):
    @extend_schema(request=s.LeadAssignIn, responses=s.LeadOut, summary="Assign an MQL to a rep or a team")
    def post(self, request, pk: int):
        data = s.LeadAssignIn(data=request.data)
        data.is_valid(raise_exception=True)
        team = (
            get_object_or_404(Team, pk=data.validated_data["team"]) if "team" in data.validated_data else None
        )
        lead = self.lead(pk)
        lead_services.lead_assign(contact=lead, rep=data.validated_data.get("rep"), team=team)
        return Response(s.LeadOut(Contact.objects.get(pk=pk)).data)
