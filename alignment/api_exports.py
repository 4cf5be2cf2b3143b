"""Bulk exports of the large collections for partners: ``GET /api/v1/exports/<collection>.<csv|ndjson>``,
streamed straight from PostgreSQL's ``COPY ... TO STDOUT`` in the chunks it sends, so memory stays flat
and the cost stays close to COPY itself whatever the number of rows.

- CSV is RFC 4180 with a header row, values as PostgreSQL writes them (ISO 8601 times in UTC, plain
  decimals). It is meant for programs: the portal's CSV downloads are the ones made safe for spreadsheets.
- The rows COPY sends are passed on in blocks of 256 KB.
- NDJSON is one JSON object per line (``row_to_json``), copied with a delimiter and quote that JSON text
  never holds raw (control characters), so each line is the object as PostgreSQL wrote it.
- ``since`` and ``until`` (ISO dates or moments) bound each collection's own time column; rows come in id
  order (metric values: in their key order).

The collection's area decides the scope: contacts, companies, touchpoints and lifecycle history need
``marketing:read``, deals and stage history ``sales:read``, metric values ``alignment:read``. Only this
workspace's schema is read.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import connection
from django.http import Http404, StreamingHttpResponse
from django.urls import path
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.http import content_disposition_header
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.exceptions import ValidationError

from accounts.api_base import TenantAPIView
from accounts.roles import Area


@dataclass(frozen=True)
class Collection:
    area: str
    table: str
    columns: tuple[str, ...]
    time: str  # the column ``since`` and ``until`` bound
    order: str = "id"
    where: str = "TRUE"


COLLECTIONS = {
    "contacts": Collection(
        Area.MARKETING,
        "marketing_contact",
        (
            "id", "email", "first_name", "last_name", "phone", "job_title", "seniority", "company_id",
            "country", "region", "lifecycle_stage", "lifecycle_changed_at", "mql_at", "fit_score",
            "engagement_score", "score", "source", "owner_id", "first_touch_campaign_id", "first_touch_at",
            "last_touch_campaign_id", "last_touch_at", "consent_marketing", "unsubscribed", "created_at",
            "updated_at",
        ),
        "created_at",
    ),
    "companies": Collection(
        Area.MARKETING,
        "marketing_company",
        ("id", "name", "domain", "industry", "size_band", "country", "region", "annual_revenue_band",
         "is_customer", "created_at", "updated_at"),
        "created_at",
    ),
    "touchpoints": Collection(
        Area.MARKETING,
        "marketing_touchpoint",
        (
            "id", "contact_id", "anonymous_id", "kind", "campaign_id", "content_id", "send_id", "channel",
            "utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content", "referrer", "url",
            "occurred_at", "external_id", "created_at",
        ),
        "occurred_at",
    ),
    "deals": Collection(
        Area.SALES,
        "sales_deal",
        (
            "id", "name", "amount", "pipeline_id", "stage_id", "status", "deal_type", "owner_id",
            "company_id", "lead_id", "source_campaign_id", "expected_close_date", "forecast_category",
            "probability_override", "closed_at", "loss_category", "loss_reason_id", "created_at",
            "updated_at",
        ),
        "created_at",
    ),
    "stage-history": Collection(
        Area.SALES,
        "sales_dealstagechange",
        ("id", "deal_id", "from_stage_id", "to_stage_id", "at", "by_id"),
        "at",
    ),
    "lifecycle-history": Collection(
        Area.MARKETING,
        "marketing_stagetransition",
        ("id", "contact_id", "from_stage", "to_stage", "at", "by_user_id", "by_rule", "rule_version"),
        "at",
    ),
    "metric-values": Collection(
        Area.ALIGNMENT,
        "alignment_metricvalue",
        (
            "metric", "granularity", "period_start", "dimension", "dimension_value", "model", "value",
            "numerator", "denominator", "definition_id", "computed_at",
        ),
        "period_start",
        order="definition_id, metric, granularity, period_start, dimension, dimension_value, model",
    ),
}  # fmt: skip
BUFFER = 256 * 1024  # bytes handed to the web server at a time
FORMATS = {"csv": "text/csv; charset=utf-8", "ndjson": "application/x-ndjson"}
# NDJSON through COPY's CSV format: JSON text never holds these control characters raw, so no line is
# ever quoted or split.
NDJSON_OPTIONS = "FORMAT csv, DELIMITER E'\\x1f', QUOTE E'\\x1e'"


def copy_sql(collection: Collection, fmt: str) -> str:
    columns = ", ".join(collection.columns)
    select = (
        f"SELECT {columns} FROM {collection.table} "  # noqa: S608 - constants of this module
        f"WHERE ({collection.where}) AND (%(since)s::timestamptz IS NULL OR {collection.time} >= %(since)s) "
        f"AND (%(until)s::timestamptz IS NULL OR {collection.time} < %(until)s) ORDER BY {collection.order}"
    )
    if fmt == "csv":
        return f"COPY ({select}) TO STDOUT WITH (FORMAT csv, HEADER true)"
    return f"COPY (SELECT row_to_json(x) FROM ({select}) x) TO STDOUT WITH ({NDJSON_OPTIONS})"  # noqa: S608


def stream(sql: str, params: dict, tenant):
    """The chunks COPY sends, as it sends them (one COPY: no transaction is held open longer). The body is
    read after the view returned: the workspace's schema is set again first, whatever ran in between."""
    connection.set_tenant(tenant)
    with connection.cursor() as cursor:
        raw = cursor.cursor  # psycopg's own: Django's wrapper has no copy()
        query = raw.mogrify(sql, params)
        with raw.copy(query) as copy:
            buffer = bytearray()
            for chunk in copy:  # COPY sends about a row a message: a million small writes without this
                buffer += chunk
                if len(buffer) >= BUFFER:
                    yield bytes(buffer)
                    buffer.clear()
            if buffer:
                yield bytes(buffer)


def _moment(value: str | None, name: str) -> dt.datetime | None:
    if value in (None, ""):
        return None
    moment = parse_datetime(value) if "T" in value or " " in value else None
    if moment is None:
        try:
            day = dt.date.fromisoformat(value)
        except ValueError:
            raise ValidationError({name: ["Give a date (YYYY-MM-DD) or a moment in ISO 8601."]}) from None
        moment = dt.datetime.combine(day, dt.time(), dt.UTC)
    if timezone.is_naive(moment):
        moment = moment.replace(tzinfo=dt.UTC)
    if not dt.datetime(1900, 1, 1, tzinfo=dt.UTC) <= moment <= dt.datetime(2200, 1, 1, tzinfo=dt.UTC):
        raise ValidationError({name: ["Give a moment from 1900 to 2200."]})
    return moment


DATE_OR_MOMENT = {"anyOf": [{"type": "string", "format": "date"}, {"type": "string", "format": "date-time"}]}


@extend_schema(
    parameters=[
        OpenApiParameter("collection", str, OpenApiParameter.PATH, enum=list(COLLECTIONS)),
        OpenApiParameter("fmt", str, OpenApiParameter.PATH, enum=list(FORMATS), description="csv or ndjson"),
        OpenApiParameter("since", DATE_OR_MOMENT, description="From this moment or date (inclusive)"),
        OpenApiParameter("until", DATE_OR_MOMENT, description="Before this moment or date"),
    ],
    responses={
        (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="CSV with a header row"),
        (200, "application/x-ndjson"): OpenApiResponse(OpenApiTypes.STR, description="One object per line"),
    },
    summary="Export a whole collection, streamed (CSV or NDJSON)",
)
class ExportView(TenantAPIView):
    """Reading needs the scope of the collection's area (``scope_area`` is set per request from it)."""

    scope_area = Area.MARKETING
    allowed_params = ("since", "until")

    def initial(self, request, *args, **kwargs):
        collection = COLLECTIONS.get(kwargs.get("collection", ""))
        if collection is not None:
            self.scope_area = collection.area
        super().initial(request, *args, **kwargs)  # the key first: another workspace's is a 401 on any path
        if collection is None or kwargs.get("fmt") not in FORMATS:
            raise Http404

    def get(self, request, collection: str, fmt: str):
        params = {
            "since": _moment(request.query_params.get("since"), "since"),
            "until": _moment(request.query_params.get("until"), "until"),
        }
        sql = copy_sql(COLLECTIONS[collection], fmt)
        response = StreamingHttpResponse(stream(sql, params, connection.tenant), content_type=FORMATS[fmt])
        name = f"{connection.schema_name}-{collection}-{timezone.now():%Y%m%d-%H%M%S}.{fmt}"
        response["Content-Disposition"] = content_disposition_header(as_attachment=True, filename=name)
        response["Cache-Control"] = "no-store"
        return response


urlpatterns = [path("exports/<slug:collection>.<slug:fmt>", ExportView.as_view(), name="api-export")]
