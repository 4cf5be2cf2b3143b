"""Streaming CSV export of any list, in constant memory, safe to open in a spreadsheet.

``stream_csv`` turns any iterable of rows (a QuerySet's ``values_list(...).iterator(chunk_size=2000)``
above all) into chunks of bytes of about 2,000 rows each; ``export_response`` wraps them in a streaming
HTTP response. Every cell goes through ``safe_cell``: text that a spreadsheet would run as a formula
(beginning with = + - @, a tab or a carriage return) is prefixed with a single quote (OWASP's advice
on CSV injection). The column sets below name their columns as the import does, so an export imports
again unchanged.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from django.utils import timezone
from django.utils.http import content_disposition_header

from .models import Campaign, Company, Contact, Touchpoint

CHUNK_ROWS = 2000
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
BOM = "\ufeff"  # lets Excel read the file as UTF-8

Export = tuple[list[str], Iterator[Sequence[Any]]]


def safe_cell(value: Any) -> str:
    """The text of one cell: dates as ISO 8601 (times in the current time zone, to the second),
    decimals without exponent, lists joined with ", ", booleans as true/false, None as empty, and
    text that could run as a formula prefixed with a single quote. Numbers are never prefixed: -12.50
    is a number, not a formula."""
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return format(value, "f") if isinstance(value, Decimal) else str(value)
    text = _text(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        moment = timezone.localtime(value) if timezone.is_aware(value) else value
        return moment.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | tuple | set | frozenset):
        return ", ".join(_text(item) for item in value)
    return str(value)


def stream_csv(rows: Iterable[Sequence[Any]], header: Sequence[str]) -> Iterator[bytes]:
    """UTF-8 CSV (with a BOM): the header first, then one chunk per ``CHUNK_ROWS`` rows. Only one
    chunk is held at a time, so memory does not grow with the number of rows."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")

    def flush() -> bytes:
        data = buffer.getvalue().encode("utf-8")
        buffer.seek(0)
        buffer.truncate(0)
        return data

    buffer.write(BOM)
    writer.writerow([safe_cell(name) for name in header])
    yield flush()
    pending = 0
    for row in rows:
        writer.writerow([safe_cell(value) for value in row])
        pending += 1
        if pending == CHUNK_ROWS:
            yield flush()
            pending = 0
    if pending:
        yield flush()


_UNSAFE_FILENAME = re.compile(r"[^\w.\- ]+")


def safe_filename(filename: str, *, extension: str = ".csv") -> str:
    """A file name without path, quotes or control characters, ending in ``extension``."""
    name = str(filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = _UNSAFE_FILENAME.sub("-", name).strip(" .-")[:100] or "export"
    return name if name.lower().endswith(extension) else name + extension


def export_response(
    filename: str, header: Sequence[str], rows: Iterable[Sequence[Any]]
) -> StreamingHttpResponse:
    """A download of ``rows`` as CSV, streamed as it is produced."""
    response = StreamingHttpResponse(stream_csv(rows, header), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = content_disposition_header(True, safe_filename(filename))
    response["Cache-Control"] = "private, no-store"  # personal data: not for shared caches
    return response


# --- Column sets -----------------------------------------------------------------------------------
# (header, rows) per list; the rows come from one query through a server-side cursor, related names
# included, so the export costs the same few queries whatever its length.


def _export(queryset: QuerySet, columns: Sequence[tuple[str, str]]) -> Export:
    header = [name for name, _ in columns]
    rows = queryset.values_list(*(path for _, path in columns)).iterator(chunk_size=CHUNK_ROWS)
    return header, rows


CONTACT_COLUMNS = (
    ("email", "email"), ("first_name", "first_name"), ("last_name", "last_name"), ("phone", "phone"),
    ("job_title", "job_title"), ("seniority", "seniority"), ("company", "company__name"),
    ("country", "country"), ("region", "region"), ("lifecycle_stage", "lifecycle_stage"),
    ("score", "score"), ("consent_marketing", "consent_marketing"), ("unsubscribed", "unsubscribed"),
    ("interests", "interests"), ("owner", "owner__email"), ("first_touch_source", "first_touch_source"),
    ("last_touch_source", "last_touch_source"), ("source", "source"), ("created_at", "created_at"),
)  # fmt: skip
COMPANY_COLUMNS = (
    ("name", "name"), ("domain", "domain"), ("industry", "industry"), ("size_band", "size_band"),
    ("country", "country"), ("region", "region"), ("annual_revenue_band", "annual_revenue_band"),
    ("is_customer", "is_customer"), ("created_at", "created_at"),
)  # fmt: skip
CAMPAIGN_COLUMNS = (
    ("id", "pk"), ("name", "name"), ("channel", "channel"), ("objective", "objective"), ("status", "status"),
    ("start_date", "start_date"), ("end_date", "end_date"), ("utm_campaign", "utm_campaign"),
    ("budget", "budget"), ("spend", "export_spend"), ("owner", "owner__email"), ("created_at", "created_at"),
)  # fmt: skip
TOUCHPOINT_COLUMNS = (
    ("occurred_at", "occurred_at"), ("kind", "kind"), ("email", "contact__email"),
    ("anonymous_id", "anonymous_id"), ("campaign_id", "campaign_id"), ("campaign", "campaign__name"),
    ("channel", "channel"), ("utm_source", "utm_source"), ("utm_medium", "utm_medium"),
    ("utm_campaign", "utm_campaign"), ("utm_term", "utm_term"), ("utm_content", "utm_content"),
    ("referrer", "referrer"), ("url", "url"), ("external_id", "external_id"),
)  # fmt: skip


def contacts_export(queryset: QuerySet[Contact]) -> Export:
    return _export(queryset, CONTACT_COLUMNS)


def companies_export(queryset: QuerySet[Company]) -> Export:
    return _export(queryset, COMPANY_COLUMNS)


def campaigns_export(queryset: QuerySet[Campaign]) -> Export:
    """Campaigns with their total spend so far (a subquery, so filters on the list do not multiply it)."""
    from .reports import _spend_subquery

    return _export(queryset.annotate(export_spend=_spend_subquery()), CAMPAIGN_COLUMNS)


def touchpoints_export(queryset: QuerySet[Touchpoint]) -> Export:
    return _export(queryset, TOUCHPOINT_COLUMNS)
