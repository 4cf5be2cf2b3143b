"""The workspace URLconf plus two routes for ``bench/web_bench.py``; only the benchmark's settings
(``bench.settings_ping``) use it:

- ``/bench/ping``: a trivial view (two bytes, no query), the tenant-resolution benchmark's;
- ``/bench/deals``: the partner-API benchmark's floor, the same fields as ``GET /api/v1/deals/`` (a page of
  50, newest first, keyset on the id) read with one ``.values()`` query and rendered by the standard
  library's C JSON encoder; no DRF, no authentication, no scopes, no limits.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

from django.http import HttpResponse
from django.urls import path

from config.urls_tenants import urlpatterns as workspace_urls

PAGE = 50
DEAL_FIELDS = (
    "id", "name", "company", "amount", "pipeline", "stage", "deal_type", "owner", "expected_close_date",
    "source_campaign", "lead", "forecast_category", "probability_override", "status", "closed_at",
    "loss_category", "loss_reason", "loss_note", "stage_entered_at", "version", "created_at", "updated_at",
)  # fmt: skip


def ping(request):
    return HttpResponse(b"ok", content_type="text/plain")


def _plain(value):
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    raise TypeError(type(value).__name__)


def deals(request):
    from django.db.models import F, OuterRef, Subquery

    from sales.models import Deal, DealContact

    after = request.GET.get("after")
    rows = Deal.objects.order_by("-id")
    if after:
        rows = rows.filter(id__lt=int(after))
    primary = DealContact.objects.filter(deal=OuterRef("pk"), is_primary=True).values("contact_id")[:1]
    page = list(
        rows.values(
            *DEAL_FIELDS,
            company_name=F("company__name"),
            stage_name=F("stage__name"),
            primary_contact=Subquery(primary),
        )[: PAGE + 1]
    )
    more = len(page) > PAGE
    page = page[:PAGE]
    body = {"next": f"/bench/deals?after={page[-1]['id']}" if more else None, "results": page}
    return HttpResponse(json.dumps(body, default=_plain), content_type="application/json")


urlpatterns = [path("bench/ping", ping), path("bench/deals", deals), *workspace_urls]
