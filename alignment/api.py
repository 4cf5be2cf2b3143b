"""Alignment API: the metric registry, stored metric values, attribution credits and rollups, the versioned
definitions and the rate-limited recompute. Reads need alignment:read; changing definitions and asking
for a recompute need alignment:write.

Values are read from what the engine stored, never computed on request: every list names the definition
version its rows were computed with (the reporting version unless ``?definition=<id>``).
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import DecimalField, F, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Cast, Coalesce, NullIf
from django.urls import path
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from accounts.api_base import TenantAPIView, TenantListAPIView
from accounts.models import acting_user
from accounts.roles import Area
from config.api import error_body, query_choice, query_date, query_int
from config.validation import is_id

from . import registry
from . import serializers as s
from .models import AttributionCredit, AttributionModel, DefinitionVersion, MetricValue, RecomputeRequest
from .services import (
    RECOMPUTE_INTERVAL,
    current_definition,
    definition_update,
    recompute_request,
    reporting_definition,
)

# The metrics stored per attribution model that the rollups read.
ATTRIBUTED_METRICS = ("attributed_pipeline", "attributed_opportunities", "attributed_revenue")
METRIC_KEYS = tuple(registry.REGISTRY)
TOTAL = "total"  # ?dimension=total: the whole-workspace rows (stored with an empty dimension)
DIMENSIONS = registry.DIMENSIONS
EARLIEST, LATEST = dt.date(1970, 1, 1), dt.date(2100, 12, 31)
MAX_RANGE_DAYS = 1830  # about five years of periods per request


class AlignmentList(TenantListAPIView):
    scope_area = Area.ALIGNMENT


class AlignmentAction(TenantAPIView):
    scope_area = Area.ALIGNMENT


def _definition(request) -> DefinitionVersion:
    """``?definition=<id>`` or the version the reports show; an unknown id is a 400 naming it."""
    pk = query_int(request, "definition")
    if pk is None:
        return reporting_definition()
    version = DefinitionVersion.objects.filter(pk=pk).first()
    if version is None:
        raise ValidationError({"definition": ["No definition version with this id."]})
    return version


def _date_range(request, since: str, until: str, *, required: bool = False) -> tuple[dt.date | None, ...]:
    """Two ISO dates bounding a range (both inclusive): each within 1970-2100, in order, at most
    ``MAX_RANGE_DAYS`` apart."""
    start, end = query_date(request, since), query_date(request, until)
    errors: dict[str, list[str]] = {}
    for name, day in ((since, start), (until, end)):
        if day is None and required:
            errors[name] = ["This parameter is required."]
        elif day is not None and not EARLIEST <= day <= LATEST:
            errors[name] = [f"Give a date from {EARLIEST} to {LATEST}."]
    if not errors and start and end:
        if end < start:
            errors[until] = [f"Give a date on or after '{since}'."]
        elif (end - start).days > MAX_RANGE_DAYS:
            errors[until] = [f"The range may span at most {MAX_RANGE_DAYS} days."]
    if errors:
        raise ValidationError(errors)
    return start, end


class _Params:
    """Reads query parameters and collects every error, so one 400 names every bad parameter at once."""

    def __init__(self, request):
        self.request = request
        self.errors: dict[str, list] = {}

    def read(self, parse, *args, **kwargs):
        try:
            return parse(self.request, *args, **kwargs)
        except ValidationError as exc:
            self.errors.update(exc.detail)
            return None

    def fail(self, name: str, message: str) -> None:
        self.errors[name] = [message]

    def check(self) -> None:
        if self.errors:
            raise ValidationError(self.errors)


DEFINITION_PARAM = OpenApiParameter(
    "definition", int, description="A definition version id; default: the version the reports show"
)


@extend_schema(summary="The metric registry: what every metric means and how it is stored")
class MetricListView(AlignmentAction):
    """Every registered metric, in registry order. Static (no paging): the registry is part of the code."""

    @extend_schema(responses=s.MetricListOut)
    def get(self, request):
        return Response(s.MetricListOut({"results": list(registry.REGISTRY.values())}).data)


@extend_schema(
    summary="Stored metric values (flat rows), oldest period first",
    parameters=[
        OpenApiParameter("metric", str, required=True, enum=list(METRIC_KEYS)),
        OpenApiParameter("granularity", str, enum=list(registry.GRANULARITIES)),
        OpenApiParameter("from", OpenApiTypes.DATE, description="Periods starting on or after this day"),
        OpenApiParameter("to", OpenApiTypes.DATE, description="Periods starting on or before this day"),
        OpenApiParameter(
            "dimension",
            str,
            enum=[TOTAL, *DIMENSIONS],
            description="'total' for the whole workspace; default: every dimension",
        ),
        OpenApiParameter("dimension_value", str, description="Needs a dimension other than 'total'"),
        OpenApiParameter("model", str, enum=AttributionModel.values, description="Attribution model"),
        DEFINITION_PARAM,
    ],
)
class MetricValueListView(AlignmentList):
    serializer_class = s.MetricValueOut
    allowed_params = (
        "metric",
        "granularity",
        "from",
        "to",
        "dimension",
        "dimension_value",
        "model",
        "definition",
    )
    default_ordering = ("period_start", "id")
    ordering_fields = {"period": ("period_start", "id"), "-period": ("-period_start", "-id")}

    def get_queryset(self) -> QuerySet:
        p = _Params(self.request)
        if not self.request.query_params.get("metric"):
            p.fail("metric", "This parameter is required.")
        metric = p.read(query_choice, "metric", METRIC_KEYS)
        granularity = p.read(query_choice, "granularity", registry.GRANULARITIES)
        dimension = p.read(query_choice, "dimension", (TOTAL, *DIMENSIONS))
        dimension_value = self.request.query_params.get("dimension_value", "")
        if dimension_value and dimension in ("", TOTAL):
            p.fail("dimension_value", "Give a dimension (other than 'total') with it.")
        elif len(dimension_value) > 100:
            p.fail("dimension_value", "At most 100 characters.")
        model = p.read(query_choice, "model", AttributionModel.values)
        start, end = p.read(_date_range, "from", "to") or (None, None)
        definition = p.read(_definition)
        p.check()
        rows = MetricValue.objects.filter(metric=metric, definition=definition)
        if granularity:
            rows = rows.filter(granularity=granularity)
        if dimension:
            rows = rows.filter(dimension="" if dimension == TOTAL else dimension)
        if dimension_value:
            rows = rows.filter(dimension_value=dimension_value)
        if model:
            rows = rows.filter(model=model)
        if start:
            rows = rows.filter(period_start__gte=start)
        if end:
            rows = rows.filter(period_start__lte=end)
        return rows.values(
            "id",
            "metric",
            "granularity",
            "period_start",
            "dimension",
            "dimension_value",
            "model",
            "definition",
            "value",
            "numerator",
            "denominator",
            "computed_at",
        )


@extend_schema(
    summary="Attribution credits: each touch's share of a deal per model",
    parameters=[
        OpenApiParameter("deal", int),
        OpenApiParameter("model", str, enum=AttributionModel.values),
        OpenApiParameter("campaign", int),
        OpenApiParameter(
            "created_since", OpenApiTypes.DATE, description="Deals created on or after this day"
        ),
        OpenApiParameter(
            "created_until", OpenApiTypes.DATE, description="Deals created on or before this day"
        ),
        DEFINITION_PARAM,
    ],
)
class AttributionCreditListView(AlignmentList):
    serializer_class = s.AttributionCreditOut
    allowed_params = ("deal", "model", "campaign", "created_since", "created_until", "definition")
    default_ordering = ("-deal_created_at", "-id")
    ordering_fields = {"created": ("deal_created_at", "id"), "-created": ("-deal_created_at", "-id")}

    def get_queryset(self) -> QuerySet:
        p = _Params(self.request)
        deal, campaign = p.read(query_int, "deal"), p.read(query_int, "campaign")
        model = p.read(query_choice, "model", AttributionModel.values)
        start, end = p.read(_date_range, "created_since", "created_until") or (None, None)
        definition = p.read(_definition)
        p.check()
        rows = AttributionCredit.objects.filter(definition=definition)
        if deal is not None:
            rows = rows.filter(deal_id=deal)
        if campaign is not None:
            rows = rows.filter(campaign_id=campaign)
        if model:
            rows = rows.filter(model=model)
        if start:
            rows = rows.filter(deal_created_at__gte=dt.datetime.combine(start, dt.time(), dt.UTC))
        if end:
            rows = rows.filter(
                deal_created_at__lt=dt.datetime.combine(end + dt.timedelta(1), dt.time(), dt.UTC)
            )
        return rows.values(
            "id",
            "deal",
            "touchpoint",
            "model",
            "definition",
            "weight",
            "credit",
            "campaign",
            "channel",
            "deal_created_at",
            "deal_won_at",
            deal_name=F("deal__name"),
            touchpoint_kind=F("touchpoint__kind"),
            touched_at=F("touchpoint__occurred_at"),
            campaign_name=F("campaign__name"),
        )


def _sum(field: str, metric: str) -> Sum:
    return Sum(field, filter=Q(metric=metric))


@extend_schema(
    summary="Attributed pipeline and revenue, cost per opportunity and ROI per model and campaign or channel",
    description=(
        "Read from the stored values of the periods of one granularity whose start lies in [from, to]. "
        "Pipeline and revenue are sums; cost per opportunity and ROI are Σ numerator / Σ denominator."
    ),
    parameters=[
        OpenApiParameter(
            "from", OpenApiTypes.DATE, required=True, description="First period start (inclusive)"
        ),
        OpenApiParameter("to", OpenApiTypes.DATE, required=True, description="Last period start (inclusive)"),
        OpenApiParameter("by", str, enum=["campaign", "channel"], description="Default: campaign"),
        OpenApiParameter("granularity", str, enum=["month", "quarter"], description="Default: month"),
        OpenApiParameter("model", str, enum=AttributionModel.values, description="Default: every model"),
        DEFINITION_PARAM,
    ],
)
class AttributionRollupListView(AlignmentList):
    serializer_class = s.AttributionRollupOut
    allowed_params = ("from", "to", "by", "granularity", "model", "definition")
    default_ordering = ("model", "dimension_value")

    def get_queryset(self) -> QuerySet:
        p = _Params(self.request)
        start, end = p.read(_date_range, "from", "to", required=True) or (None, None)
        by = p.read(query_choice, "by", ("campaign", "channel")) or "campaign"
        granularity = p.read(query_choice, "granularity", ("month", "quarter")) or "month"
        model = p.read(query_choice, "model", AttributionModel.values)
        self.definition = p.read(_definition)
        p.check()
        rows = MetricValue.objects.filter(
            definition=self.definition,
            metric__in=ATTRIBUTED_METRICS,
            granularity=granularity,
            dimension=by,
            period_start__gte=start,
            period_start__lte=end,
        ).exclude(model="")
        if model:
            rows = rows.filter(model=model)
        # Spend over the whole range, whichever periods have attributed revenue: the stored per-period
        # ratios exist only for periods with spend, so summing theirs would drop revenue that came later.
        money = DecimalField(max_digits=30, decimal_places=6)
        spend = Subquery(
            MetricValue.objects.filter(
                definition=self.definition,
                metric="marketing_spend",
                granularity=granularity,
                dimension=by,
                dimension_value=OuterRef("dimension_value"),
                model="",
                period_start__gte=start,
                period_start__lte=end,
            )
            .values("dimension_value")
            .annotate(total=Sum("value"))
            .values("total"),
            output_field=money,
        )
        zero = Value(0, money)
        totals = rows.values("model", "dimension", "dimension_value").annotate(
            attributed_pipeline=_sum("value", "attributed_pipeline"),
            attributed_opportunities=_sum("value", "attributed_opportunities"),
            attributed_revenue=_sum("value", "attributed_revenue"),
            spend=spend,
        )
        return totals.annotate(
            cost_per_opportunity=F("spend") / NullIf(Cast(F("attributed_opportunities"), money), zero),
            campaign_roi=(Coalesce(Cast(F("attributed_revenue"), money), zero) - F("spend"))
            / NullIf(F("spend"), zero),
        )

    def list(self, request, *args, **kwargs):
        from marketing.models import Campaign

        page = self.paginate_queryset(self.get_queryset())
        ids = {int(row["dimension_value"]) for row in page if is_id(row["dimension_value"])}
        names = dict(Campaign.objects.filter(pk__in=ids).values_list("pk", "name")) if ids else {}
        for row in page:
            row["definition"] = self.definition.pk
            value = row["dimension_value"]
            row["campaign_name"] = (
                names.get(int(value)) if row["dimension"] == "campaign" and is_id(value) else None
            )
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


DEFINITION_CHANGED = {
    201: OpenApiResponse(s.DefinitionOut, description="Changed: the new version"),
    200: OpenApiResponse(s.DefinitionOut, description="Nothing changed: the current version"),
}


class DefinitionView(AlignmentList):
    """The definition versions, newest first (the first row of the first page is the one in force);
    POST or PATCH changes settings, which stores a new version and queues a full recompute under it."""

    serializer_class = s.DefinitionOut
    input_serializer = s.DefinitionIn
    http_method_names = ["get", "post", "patch", "head", "options"]
    default_ordering = ("-id",)

    def get_queryset(self) -> QuerySet:
        return DefinitionVersion.objects.select_related("created_by")

    def get_serializer_context(self) -> dict:
        context = super().get_serializer_context()
        if self.request.method == "GET":
            context["current_id"] = current_definition().pk
            context["reporting_id"] = reporting_definition().pk
        return context

    @extend_schema(summary="The definition versions, newest first")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request=s.DefinitionIn,
        responses=DEFINITION_CHANGED,
        summary="Change definition settings (a new version; nothing is stored when nothing changes)",
    )
    def post(self, request, *args, **kwargs):
        data = s.DefinitionIn(data=request.data)
        data.is_valid(raise_exception=True)
        # not current_definition(): a refused change must not store the first (default) version either
        before = DefinitionVersion.objects.order_by("-id").values_list("pk", flat=True).first()
        version = definition_update(actor=acting_user(request), data=dict(data.validated_data))
        version = DefinitionVersion.objects.select_related("created_by").get(pk=version.pk)
        body = s.DefinitionOut(
            version, context={"current_id": version.pk, "reporting_id": reporting_definition().pk}
        ).data
        return Response(body, status=status.HTTP_200_OK if version.pk == before else status.HTTP_201_CREATED)

    @extend_schema(
        request=s.DefinitionIn,
        responses=DEFINITION_CHANGED,
        summary="Change definition settings (same as POST)",
    )
    def patch(self, request, *args, **kwargs):
        return self.post(request, *args, **kwargs)


class RecomputeView(AlignmentAction):
    @extend_schema(
        request=None,
        responses={
            202: s.RecomputeOut,
            429: OpenApiResponse(description="Asked too recently; Retry-After says when to ask again"),
        },
        summary="Ask for a full recompute of every metric (at most once per workspace every ten minutes)",
    )
    def post(self, request):
        try:
            recompute = recompute_request(actor=acting_user(request))
        except DjangoValidationError as exc:
            message = " ".join(exc.message_dict.get("non_field_errors", exc.messages))
            last = RecomputeRequest.objects.order_by("-requested_at").values_list("requested_at", flat=True)
            wait = RECOMPUTE_INTERVAL.total_seconds()
            if last:
                wait = (last[0] + RECOMPUTE_INTERVAL - timezone.now()).total_seconds()
            return Response(
                error_body(429, "throttled", message),
                status=status.HTTP_429_TOO_MANY_REQUESTS,
                headers={"Retry-After": str(max(1, int(wait) + 1))},
            )
        return Response(s.RecomputeOut(recompute).data, status=status.HTTP_202_ACCEPTED)


urlpatterns = [
    path("metrics/", MetricListView.as_view(), name="api-metric-list"),
    path("metrics/recompute/", RecomputeView.as_view(), name="api-metric-recompute"),
    path("metric-values/", MetricValueListView.as_view(), name="api-metric-value-list"),
    path("attribution/credits/", AttributionCreditListView.as_view(), name="api-attribution-credit-list"),
    path("attribution/rollups/", AttributionRollupListView.as_view(), name="api-attribution-rollup-list"),
    path("definitions/", DefinitionView.as_view(), name="api-definition-list"),
]
