"""The audit log in the portal (admins): browse with filters, and export the filtered entries as CSV."""

from __future__ import annotations

import csv
import datetime as dt

from django.core.paginator import Paginator
from django.http import StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone

from .models import AuditEntry
from .portal import PortalView, search_text
from .roles import Area
from .selectors import audit_list

PAGE_SIZE = 50
EXPORT_COLUMNS = (
    "id", "at", "source", "actor_kind", "actor_id", "actor_label", "action", "method", "path", "status",
    "object_type", "object_id", "changed_fields", "count", "request_id",
)  # fmt: skip
AT, FIELDS = EXPORT_COLUMNS.index("at"), EXPORT_COLUMNS.index("changed_fields")


def _date(value: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _filters(request) -> dict:
    source = request.GET.get("source", "")
    return {
        "search": search_text(request, limit=200),
        "source": source if source in AuditEntry.Source.values else "",
        "since": _date(request.GET.get("since", "")),
        "until": _date(request.GET.get("until", "")),
    }


class AuditLogView(PortalView):
    """Every write of the workspace, newest first: who, what, which object, which fields, when."""

    area = Area.ADMIN

    def get(self, request):
        filters = _filters(request)
        page = Paginator(audit_list(**filters), PAGE_SIZE).get_page(request.GET.get("page"))
        query = request.GET.copy()
        query.pop("page", None)
        context = {
            "page": page,
            "filters": filters,
            "sources": AuditEntry.Source.choices,
            "query": query.urlencode(),
        }
        return render(request, "accounts/settings_audit.html", context)


class _Echo:
    def write(self, value: str) -> str:
        return value


class AuditExportView(PortalView):
    """The filtered log as CSV, streamed in id order (a server-side cursor, 2,000 rows a fetch)."""

    area = Area.ADMIN

    def get(self, request):
        rows = audit_list(**_filters(request)).order_by("id").values_list(*EXPORT_COLUMNS)
        writer = csv.writer(_Echo())

        def lines():
            yield writer.writerow(EXPORT_COLUMNS)
            for row in rows.iterator(chunk_size=2000):
                values = list(row)
                values[AT] = values[AT].isoformat()
                values[FIELDS] = " ".join(values[FIELDS])
                yield writer.writerow(values)

        stamp = timezone.now().strftime("%Y%m%d-%H%M")
        response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{request.tenant.slug}-audit-{stamp}.csv"'
        response["Cache-Control"] = "private, no-store"
        return response
