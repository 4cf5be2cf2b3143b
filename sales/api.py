"""Sales API: pipelines, deals (with move and close actions), activities, customers, subscriptions,
quotas, the lead queue and the sales set-up (follow-up clock, pipelines and stages, loss and rejection
reasons, teams). Scoped to sales:read / sales:write; marketing reads, sales writes."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import OuterRef, Subquery, Value
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.response import Response

from accounts.api_base import (
    TenantAPIView,
    TenantListAPIView,
    TenantServiceDetailAPIView,
    TenantServiceListCreateAPIView,
)
from accounts.models import User, acting_user
from accounts.roles import Area
from config.api import query_choice, query_date, query_int
from config.flat import FlatList
from marketing.models import Contact

from . import selectors
from . import serializers as s
from .models import (
    CustomerAccount,
    Deal,
    DealContact,
    LossReason,
    Pipeline,
    RejectionReason,
    SalesSettings,
    Stage,
    Subscription,
    SubscriptionEvent,
    Team,
)
from .services import activities as activity_services
from .services import customers as customer_services
from .services import deals as deal_services
from .services import leads as lead_services
from .services import setup as setup_services
from .services.quotas import quota_set


class SalesList(TenantListAPIView):
    scope_area = Area.SALES


class SalesListCreate(TenantServiceListCreateAPIView):
    scope_area = Area.SALES


class SalesDetail(TenantServiceDetailAPIView):
    scope_area = Area.SALES


class SalesAction(TenantAPIView):
    scope_area = Area.SALES


@extend_schema(
    parameters=[OpenApiParameter("include_inactive", bool, description="Default: active pipelines only")]
)
@extend_schema_view(
    get=extend_schema(summary="Pipelines with their stages, in order"),
    post=extend_schema(summary="Add a pipeline (with a first open stage, won and lost)"),
)
class PipelineListView(SalesListCreate):
    serializer_class = s.PipelineOut
    input_serializer = s.PipelineCreateIn
    allowed_params = ("include_inactive",)
    default_ordering = ("position", "id")

    def get_queryset(self):
        if self.request.method != "GET":
            return selectors.pipeline_list(active_only=False)
        return selectors.pipeline_list(
            active_only=self.request.query_params.get("include_inactive") != "true"
        )

    def create_object(self, data, request):
        return setup_services.pipeline_create(name=data["name"])


@extend_schema_view(
    get=extend_schema(summary="A pipeline with its stages"),
    patch=extend_schema(summary="Rename a pipeline, make it the default, or (de)activate it"),
)
class PipelineDetailView(SalesDetail):
    serializer_class = s.PipelineOut
    input_serializer = s.PipelineIn
    http_method_names = ["get", "patch", "head", "options"]

    def get_queryset(self):
        return selectors.pipeline_list(active_only=False)

    def update_object(self, obj, data, request):
        setup_services.pipeline_update(
            pipeline=obj,
            name=data.get("name", obj.name),
            is_active=data.get("is_active", obj.is_active),
            is_default=data.get("is_default", obj.is_default),
        )


class PipelineStageCreateView(SalesAction):
    @extend_schema(
        request=s.StageIn,
        responses={201: s.StageDetailOut},
        summary="Add an open stage after the pipeline's last open one",
    )
    def post(self, request, pk: int):
        pipeline = get_object_or_404(Pipeline, pk=pk)
        data = s.StageIn(data=request.data)
        data.is_valid(raise_exception=True)
        stage = setup_services.stage_create(pipeline=pipeline, data=dict(data.validated_data))
        return Response(s.StageDetailOut(Stage.objects.get(pk=stage.pk)).data, status=status.HTTP_201_CREATED)


@extend_schema_view(
    get=extend_schema(summary="A stage"),
    patch=extend_schema(summary="Rename a stage or change its probability or expected days"),
    delete=extend_schema(summary="Remove an open stage no deal is in or has passed through"),
)
class StageDetailView(SalesDetail):
    serializer_class = s.StageDetailOut
    input_serializer = s.StageIn

    def get_queryset(self):
        return Stage.objects.select_related("pipeline")

    def update_object(self, obj, data, request):
        setup_services.stage_update(stage=obj, data=data)

    def delete_object(self, obj, request):
        setup_services.stage_delete(stage=obj)


class StageMoveView(SalesAction):
    @extend_schema(
        request=s.StageMoveIn,
        responses=s.PipelineOut,
        summary="Move an open stage up or down among the open ones; answers its pipeline in the new order",
    )
    def post(self, request, pk: int):
        stage = get_object_or_404(Stage.objects.select_related("pipeline"), pk=pk)
        data = s.StageMoveIn(data=request.data)
        data.is_valid(raise_exception=True)
        setup_services.stage_move(stage=stage, direction=data.validated_data["direction"])
        pipeline = selectors.pipeline_list(active_only=False).get(pk=stage.pipeline_id)
        return Response(s.PipelineOut(pipeline).data)


class SalesSettingsView(SalesAction):
    @extend_schema(responses=s.SalesSettingsOut, summary="The sales settings (the MQL follow-up clock)")
    def get(self, request):
        row = SalesSettings.objects.filter(pk=1).first() or SalesSettings()
        return Response(s.SalesSettingsOut(row).data)

    @extend_schema(
        request=s.SalesSettingsIn, responses=s.SalesSettingsOut, summary="Change the sales settings"
    )
    def patch(self, request):
        data = s.SalesSettingsIn(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        if "follow_up_hours" in data.validated_data:
            setup_services.sales_settings_update(follow_up_hours=data.validated_data["follow_up_hours"])
        return self.get(request)


@extend_schema_view(
    get=extend_schema(summary="Loss reasons (retired ones too), by category and name"),
    post=extend_schema(summary="Add a loss reason under a category"),
)
class LossReasonListView(SalesListCreate):
    serializer_class = s.LossReasonOut
    input_serializer = s.LossReasonIn
    default_ordering = ("category", "name", "id")

    def get_queryset(self):
        return LossReason.objects.all()

    def create_object(self, data, request):
        return setup_services.loss_reason_create(category=data["category"], name=data["name"])


class _ReasonDetail(SalesDetail):
    input_serializer = s.ReasonActiveIn
    http_method_names = ["get", "patch", "head", "options"]

    def update_object(self, obj, data, request):
        if "is_active" in data:
            setup_services.reason_set_active(reason=obj, active=data["is_active"])


@extend_schema_view(
    get=extend_schema(summary="A loss reason"),
    patch=extend_schema(summary="Retire a loss reason or bring it back"),
)
class LossReasonDetailView(_ReasonDetail):
    serializer_class = s.LossReasonOut

    def get_queryset(self):
        return LossReason.objects.all()


@extend_schema_view(
    get=extend_schema(summary="Reasons to reject an MQL (retired ones too), by name"),
    post=extend_schema(summary="Add a rejection reason"),
)
class RejectionReasonListView(SalesListCreate):
    serializer_class = s.RejectionReasonOut
    input_serializer = s.RejectionReasonIn
    default_ordering = ("name", "id")

    def get_queryset(self):
        return RejectionReason.objects.all()

    def create_object(self, data, request):
        return setup_services.rejection_reason_create(name=data["name"])


@extend_schema_view(
    get=extend_schema(summary="A rejection reason"),
    patch=extend_schema(summary="Retire a rejection reason or bring it back"),
)
class RejectionReasonDetailView(_ReasonDetail):
    serializer_class = s.RejectionReasonOut

    def get_queryset(self):
        return RejectionReason.objects.all()


@extend_schema_view(
    get=extend_schema(summary="Sales teams with their members, by name"),
    post=extend_schema(summary="Add a sales team"),
)
class TeamListView(SalesListCreate):
    serializer_class = s.TeamOut
    input_serializer = s.TeamIn
    default_ordering = ("name", "id")

    def get_queryset(self):
        return selectors.team_list()

    def create_object(self, data, request):
        return setup_services.team_create(name=data["name"])


MAX_ID = 2**63 - 1  # a bigint; a larger id names no row


@extend_schema_view(
    get=extend_schema(summary="A sales team with its members"),
    patch=extend_schema(summary="Replace a team's members"),
    delete=extend_schema(summary="Remove a sales team"),
)
class TeamDetailView(SalesDetail):
    serializer_class = s.TeamOut
    input_serializer = s.TeamMembersIn

    def get_queryset(self):
        return selectors.team_list()

    def update_object(self, obj, data, request):
        from rest_framework.exceptions import ValidationError

        if "members" not in data:
            return
        wanted = set(data["members"])
        found = list(User.objects.filter(pk__in=[pk for pk in wanted if pk <= MAX_ID], is_active=True))
        missing = sorted(wanted - {user.pk for user in found})
        if missing:
            raise ValidationError({"members": [f"No active user with id {missing[0]}."]})
        setup_services.team_set_members(team=obj, members=found)

    def delete_object(self, obj, request):
        setup_services.team_delete(team=obj)


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
    # partners page through every deal: the page is read flat (config.flat), the primary contact in the query
    flat = FlatList(
        s.DealOut,
        primary_contact=Subquery(
            DealContact.objects.filter(deal_id=OuterRef("pk"), is_primary=True).values("contact_id")[:1]
        ),
    )
    input_serializer = s.DealIn
    allowed_params = ("search", "pipeline", "stage", "status", "owner", "source_campaign")
    ordering_fields = {
        "created": ("created_at", "id"),
        "-created": ("-created_at", "-id"),
        "amount": ("amount", "id"),
        "-amount": ("-amount", "-id"),
        # a cursor cannot hold "no date": deals without one sort as if due on the last day of 9999
        "close": ("close_key", "id"),
        "-close": ("-close_key", "-id"),
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
        ).annotate(close_key=Coalesce("expected_close_date", Value(dt.date.max)))

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
        lead = self.lead(pk)
        team = None
        if "team" in data.validated_data:
            # an id in the body that names no team is a field error, not a 404 for the lead in the path
            team = Team.objects.filter(pk=data.validated_data["team"]).first()
            if team is None:
                raise DjangoValidationError({"team": ["No team with this id."]})
        lead_services.lead_assign(contact=lead, rep=data.validated_data.get("rep"), team=team)
        return Response(s.LeadOut(Contact.objects.get(pk=pk)).data)
