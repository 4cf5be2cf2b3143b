"""The scheduled joint report: a compact digest of the headline metrics for the last complete week or month,
built from the stored values (never recomputed here), as a text + HTML email with the same table as a PDF.

Periods are UTC calendar periods, like the engine's buckets: a week is an ISO week (Monday to Sunday), a
month a calendar month. A NULL value is "no data", never 0.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass
from decimal import Decimal
from xml.sax.saxutils import escape

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import connection
from django.template.loader import render_to_string
from django.utils import timezone

from . import registry
from .models import DefinitionVersion, MetricValue, ReportSchedule
from .reports.filters import period_of, shift

WEEKLY, MONTHLY = ReportSchedule.Frequency.WEEKLY, ReportSchedule.Frequency.MONTHLY
GRAIN = {WEEKLY: registry.WEEK, MONTHLY: registry.MONTH}

# The digest, in reading order: the funnel, the deals, the money. Keys the registry lacks (or does not
# store at the report's granularity) are left out.
HEADLINE_KEYS = (
    "leads",
    "mqls",
    "sals",
    "sqls",
    "opportunities",
    "mql_acceptance_rate",
    "deals_won",
    "win_rate",
    "revenue_won",
    "pipeline_created",
    "marketing_sourced_pipeline",
    "pipeline_velocity",
    "marketing_spend",
    "cac",
    "net_revenue_retention",
)
NO_DATA = "no data"
REPORT_PATH = "/alignment/reports/"


@dataclass(frozen=True)
class Period:
    start: dt.date
    end: dt.date  # exclusive
    label: str


@dataclass(frozen=True)
class Row:
    key: str
    label: str
    current: str
    previous: str
    change: str
    trend: str  # better | worse | same | "" (not comparable)


@dataclass(frozen=True)
class Report:
    workspace: str
    slug: str
    frequency: str
    period: Period
    previous: Period
    definition: DefinitionVersion
    rows: list[Row]
    link: str
    generated_at: dt.datetime

    @property
    def title(self) -> str:
        kind = "Weekly" if self.frequency == WEEKLY else "Monthly"
        return f"{kind} joint report"


def utc_today(now: dt.datetime | None = None) -> dt.date:
    return (now or timezone.now()).astimezone(dt.UTC).date()


def _day(day: dt.date) -> str:
    return f"{day.day} {day:%b}"


def _period(frequency: str, start: dt.date) -> Period:
    grain = GRAIN[frequency]
    end = shift(start, grain, 1)
    if frequency == WEEKLY:
        last = end - dt.timedelta(days=1)
        week = start.isocalendar()
        return Period(start, end, f"Week {week.week}, {week.year} ({_day(start)} – {_day(last)} {last.year})")
    return Period(start, end, f"{start:%B %Y}")


def period_containing(frequency: str, day: dt.date) -> Period:
    return _period(frequency, period_of(day, GRAIN[frequency]))


def last_complete_period(frequency: str, today: dt.date) -> Period:
    """The period before the one ``today`` is in: last ISO week, or last calendar month."""
    if frequency not in GRAIN:
        raise ValueError(f"Unknown report frequency {frequency!r}")
    return previous_period(frequency, period_containing(frequency, today))


def previous_period(frequency: str, period: Period) -> Period:
    return _period(frequency, shift(period.start, GRAIN[frequency], -1))


def headline_metrics(frequency: str) -> list[registry.Metric]:
    grain = GRAIN[frequency]
    metrics = (registry.REGISTRY.get(key) for key in HEADLINE_KEYS)
    return [m for m in metrics if m is not None and grain in m.periods and not m.needs]


# --- formatting (shared by the text, HTML and PDF versions, so all three show the same figures) -----------


def format_value(unit: str, value: Decimal | None) -> str:
    if value is None:
        return NO_DATA
    if unit == "count":
        return f"{value:,.0f}"
    if unit == "currency":
        return f"{value:,.0f}"
    if unit == "ratio":
        return f"{value * 100:,.1f}%"
    suffix = {"days": " d", "hours": " h", "months": " mo"}.get(unit, "")
    return f"{value:,.1f}{suffix}"


def format_change(
    metric: registry.Metric, current: Decimal | None, previous: Decimal | None
) -> tuple[str, str]:
    """The change from the previous period and whether it is better or worse for this metric."""
    if current is None or previous is None:
        return "–", ""
    diff = current - previous
    if metric.unit == "ratio":
        diff = (diff * 100).quantize(Decimal("0.1"))  # percentage points, as shown
        if diff == 0:
            return "no change", "same"
        text = f"{diff:+,.1f} pts"
    else:
        shown = format_value(metric.unit, abs(diff))
        if shown == format_value(metric.unit, Decimal(0)):
            return "no change", "same"
        text = f"{'+' if diff > 0 else '-'}{shown}"
        if previous != 0:
            text += f" ({diff / abs(previous) * 100:+,.1f}%)"
    return text, "better" if (diff > 0) == (metric.better == registry.UP) else "worse"


# --- building ----------------------------------------------------------------------------------------


def _workspace() -> tuple[str, str, str]:
    """(name, slug, primary host) of the workspace the connection is in: one query on ``public``."""
    from accounts.tenancy.links import workspace_host
    from accounts.tenancy.models import Domain, Tenant

    domain = (
        Domain.objects.filter(tenant__schema_name=connection.schema_name, is_primary=True)
        .select_related("tenant")
        .first()
    )
    if domain is not None:
        return domain.tenant.name, domain.tenant.slug, domain.domain
    tenant = Tenant.objects.get(schema_name=connection.schema_name)
    return tenant.name, tenant.slug, workspace_host(tenant.slug)


def link_on(host: str, path: str) -> str:
    """An absolute link to ``path`` on the workspace's ``host`` (as ``_workspace`` gives it)."""
    port = settings.TANDEM_URL_PORT
    return f"{settings.TANDEM_URL_SCHEME}://{host}{f':{port}' if port else ''}{path}"


def report_link(host: str) -> str:
    return link_on(host, REPORT_PATH)


def build_report(*, frequency: str, today: dt.date | None = None) -> Report:
    """The digest for the last complete period before ``today`` (UTC) and the one before it, under the
    reporting definition. The values are one query whatever the data."""
    from .services import reporting_definition

    today = today or utc_today()
    period = last_complete_period(frequency, today)
    previous = previous_period(frequency, period)
    definition = reporting_definition()
    metrics = headline_metrics(frequency)
    stored = MetricValue.objects.filter(
        definition=definition,
        granularity=GRAIN[frequency],
        dimension="",
        dimension_value="",
        model="",
        metric__in=[m.key for m in metrics],
        period_start__in=[period.start, previous.start],
    ).values_list("metric", "period_start", "value")
    values = {(metric, start): value for metric, start, value in stored}
    rows = []
    for metric in metrics:
        current = values.get((metric.key, period.start))
        before = values.get((metric.key, previous.start))
        change, trend = format_change(metric, current, before)
        rows.append(
            Row(
                key=metric.key,
                label=metric.label,
                current=format_value(metric.unit, current),
                previous=format_value(metric.unit, before),
                change=change,
                trend=trend,
            )
        )
    name, slug, host = _workspace()
    return Report(
        workspace=name,
        slug=slug,
        frequency=frequency,
        period=period,
        previous=previous,
        definition=definition,
        rows=rows,
        link=report_link(host),
        generated_at=timezone.now(),
    )


# --- rendering ---------------------------------------------------------------------------------------


def _footnote(report: Report) -> str:
    created = report.definition.created_at
    return (
        f"Figures under definitions v{report.definition.pk} (from {_day(created)} {created.year}). "
        f'Periods are UTC; "{NO_DATA}" means nothing was recorded, which is not the same as zero. '
        f"Generated {report.generated_at:%Y-%m-%d %H:%M} UTC."
    )


def render_pdf(report: Report) -> bytes:
    """The same table as the email, as an A4 PDF (reportlab's standard fonts: no files to ship)."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    styles = getSampleStyleSheet()
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=18 * mm,
        bottomMargin=18 * mm,
        title=f"{report.title}: {report.period.label}",
        author="Tandem",
    )
    data = [["Metric", "This period", "Previous period", "Change"]]
    data += [[row.label, row.current, row.previous, row.change] for row in report.rows]
    table = Table(data, colWidths=[62 * mm, 34 * mm, 34 * mm, 44 * mm], repeatRows=1)
    style = [
        ("FONT", (0, 0), (-1, 0), "Helvetica-Bold", 9),
        ("FONT", (0, 1), (-1, -1), "Helvetica", 9),
        ("ALIGN", (1, 0), (-1, -1), "RIGHT"),
        ("LINEBELOW", (0, 0), (-1, 0), 0.8, colors.HexColor("#334155")),
        ("LINEBELOW", (0, 1), (-1, -1), 0.25, colors.HexColor("#cbd5e1")),
        ("TOPPADDING", (0, 0), (-1, -1), 4),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
    ]
    for index, row in enumerate(report.rows, start=1):
        if row.current == NO_DATA:
            style.append(("TEXTCOLOR", (1, index), (1, index), colors.HexColor("#64748b")))
        if row.trend in ("better", "worse"):
            color = "#15803d" if row.trend == "better" else "#b91c1c"
            style.append(("TEXTCOLOR", (3, index), (3, index), colors.HexColor(color)))
    table.setStyle(TableStyle(style))
    small = styles["Normal"].clone("small", fontSize=8, leading=11, textColor=colors.HexColor("#475569"))
    story = [
        Paragraph(escape(f"{report.workspace} · {report.title}"), styles["Title"]),
        Paragraph(escape(f"{report.period.label}, compared with {report.previous.label}"), styles["Normal"]),
        Spacer(1, 6 * mm),
        table,
        Spacer(1, 6 * mm),
        Paragraph(escape(_footnote(report)), small),
        Paragraph(escape(f"Full joint report: {report.link}"), small),
    ]
    doc.build(story)
    return buffer.getvalue()


def report_message(report: Report, *, to: list[str], preview: bool = False) -> EmailMultiAlternatives:
    """The email: plain text, an HTML alternative and the PDF attached."""
    context = {"report": report, "preview": preview, "no_data": NO_DATA}
    subject = " ".join(render_to_string("alignment/email/report_subject.txt", context).split())
    message = EmailMultiAlternatives(
        subject=subject[:200],
        body=render_to_string("alignment/email/report.txt", context),
        from_email=None,
        to=to,
    )
    message.attach_alternative(render_to_string("alignment/email/report.html", context), "text/html")
    message.attach(
        f"tandem-{report.slug}-{report.frequency}-{report.period.start.isoformat()}.pdf",
        render_pdf(report),
        "application/pdf",
    )
    return message
