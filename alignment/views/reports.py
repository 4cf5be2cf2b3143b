"""The joint reports in the leadership portal: the joint funnel report, attribution models side by side, and
lead quality with the send-to-lead lag. Each page reads the stored values through ``alignment.reports``;
every chart has a table view and every table a CSV download with the same filters
(``?<filters>&format=csv&table=<key>``)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import path, reverse

from accounts.portal import PortalView
from accounts.roles import Area
from config.charts import chart_config
from marketing.exports import export_response
from marketing.models import Campaign, Segment
from sales.models import Team

from .. import reports
from ..models import PageVisit
from ..reports import NA, Report, Table
from ..reports.base import grouped_notes
from ..services import page_visit_record

PAGES = {
    "joint": ("alignment:reports", "Joint report"),
    "attribution": ("alignment:report_attribution", "Attribution"),
    "lead_quality": ("alignment:report_lead_quality", "Lead quality"),
}
GRANULARITY_LABELS = {"week": "Week", "month": "Month", "quarter": "Quarter"}
BY_LABELS = {"campaign": "Campaign", "channel": "Channel", "segment": "Segment"}


def _cell(text: str, *, num: bool = False, cls: str = "", title: str = "") -> dict:
    # Every key the table template reads: a key missing from a dict costs the template a failed lookup
    # and a dir() of the dict, which on a report of a few hundred cells was most of its rendering time.
    return {"text": text, "num": num, "cls": cls, "title": title}


def display(value: Any, unit: str, grain: str = "month") -> dict:
    """One cell as shown: 'no data' for a NULL (never 0), a dash for what the engine does not store."""
    if value is NA:
        return _cell("—", cls="muted", title="Not stored for this view")
    if value is None:
        return _cell("no data", cls="muted nodata")
    if isinstance(value, str):
        return _cell(value)
    if isinstance(value, dt.datetime):
        return _cell(f"{value:%d %b %Y %H:%M}")
    if isinstance(value, dt.date):
        return _cell(reports.period_label(value, grain) if unit == "period" else f"{value:%d %b %Y}")
    number = Decimal(value)
    whole = number == number.to_integral_value()
    if unit == "ratio":
        text = f"{number * 100:,.1f}%"
    elif unit == "points":
        text = f"{number * 100:+.1f} pts"
    elif unit == "relative":
        text = f"{number:.2f}×"
    elif unit in ("count", "currency"):
        text = f"{number:,.0f}" if abs(number) >= 100 or whole else f"{number:,.2f}"
    elif unit in ("days", "hours", "months", "index"):
        text = f"{number:,.1f}"
    else:
        text = f"{number:,.2f}"
    return _cell(text, num=True)


def chart_number(value: Any, unit: str = "") -> float | None:
    if value is None or value is NA or isinstance(value, str):
        return None
    number = float(value)
    return round(number * 100, 2) if unit == "ratio" else round(number, 2)


def display_table(table: Table, filters: reports.Filters, page: str) -> dict:
    numeric = {c.key for c in table.columns if c.unit not in ("text", "period", "datetime")}
    stored = [c for c in table.columns if c.key in numeric and not c.note]
    return {
        "unavailable": bool(numeric) and not stored,  # nothing in it is stored for this view: say why instead
        "key": table.key,
        "title": table.title,
        "note": table.note,
        "empty": table.empty,
        "notes": grouped_notes(table.columns),
        "columns": [{"label": c.label, "num": c.key in numeric, "note": c.note} for c in table.columns],
        "rows": [
            [
                {**display(row.get(c.key), c.unit, table.granularity), "num": c.key in numeric}
                for c in table.columns
            ]
            for row in table.rows
        ],
        "csv_url": f"{reverse(PAGES[page][0])}?{filters.query(format='csv', table=table.key)}",
        "testid": f"table-{table.key}",
    }


def card(
    report: Report, key: str, chart: dict | None = None, label: str = "", *, open_table: bool = False
) -> dict:
    """A table with its CSV download and, when it has one, its chart: the table is then the chart's table
    view, folded unless ``open_table``."""
    table = report.tables[key]
    return {
        "table": display_table(table, report.filters, report.kind),
        "chart": chart,
        "chart_id": f"chart-{key}",
        "label": label or table.title,
        "open": open_table,
    }


def dataset(label: str, values: list, *, percent: bool = False) -> dict:
    return {
        "label": f"{label} (%)" if percent else label,
        "data": [chart_number(v, "ratio" if percent else "") for v in values],
    }


def line_chart(table: Table, keys: list[str], *, percent: bool = False) -> dict | None:
    """A line per stored column over the periods of ``table`` (columns the engine does not store left out)."""
    columns = [c for c in table.columns if c.key in keys and not c.note]
    datasets = [dataset(c.label, [r.get(c.key) for r in table.rows], percent=percent) for c in columns]
    if not table.rows or all(v is None for d in datasets for v in d["data"]):
        return None
    labels = [display(r.get("period"), "period", table.granularity)["text"] for r in table.rows]
    return chart_config("line", labels, datasets)


def bar_chart(labels: list[str], datasets: list[dict], *, stacked: bool = False) -> dict | None:
    if not labels or all(v is None for d in datasets for v in d["data"]):
        return None
    return chart_config("bar", labels, datasets, stacked=stacked)


# --- Charts per report -------------------------------------------------------------------------------


def joint_cards(report: Report) -> dict:
    t = report.tables
    funnel = [r for r in t["funnel"].rows if r["count"] is not NA]
    funnel_chart = bar_chart(
        [r["step"] for r in funnel], [dataset("In the range", [r["count"] for r in funnel])]
    )
    rates = [c.key for c in t["conversion_trend"].columns if c.unit == "ratio"]
    pipeline = t["pipeline"]
    rows = pipeline.rows[:-1]  # without the whole-range row
    money = [c for c in pipeline.columns if c.unit == "currency" and not c.note]
    pipeline_chart = bar_chart(
        [display(r["period"], "period", pipeline.granularity)["text"] for r in rows],
        [dataset(c.label, [r[c.key] for r in rows]) for c in money],
    )
    cohorts = t["cohorts"]
    cohort_chart = bar_chart(
        [display(r["period"], "period")["text"] for r in cohorts.rows],
        [
            dataset(c.label, [r[c.key] for r in cohorts.rows])
            for c in cohorts.columns
            if c.key in ("cac", "ltv")
        ],
    )
    attainment = t["attainment"]
    attainment_chart = bar_chart(
        [f"{r['who']} · {r['metric']}" for r in attainment.rows],
        [dataset("Attainment", [r["attainment"] for r in attainment.rows], percent=True)],
    )
    retention = ["net_revenue_retention", "gross_revenue_churn", "expansion_rate", "logo_churn"]
    return {
        "funnel": card(report, "funnel", funnel_chart, "Funnel volumes in the range"),
        "funnel_trend": card(report, "funnel_trend"),
        "conversion_trend": card(
            report, "conversion_trend", line_chart(t["conversion_trend"], rates, percent=True)
        ),
        "pipeline": card(report, "pipeline", pipeline_chart),
        "velocity": card(report, "velocity", line_chart(t["velocity"], ["pipeline_velocity"])),
        "economics": card(
            report, "economics", line_chart(t["economics"], retention, percent=True), "Retention per period"
        ),
        "cohorts": card(report, "cohorts", cohort_chart),
        "campaign_horizon": card(report, "campaign_horizon"),
        "attainment": card(report, "attainment", attainment_chart),
    }


def attribution_cards(report: Report) -> dict:
    comparison = report.tables["comparison"]
    percent = report.filters.option("measure") == "campaign_roi"
    top = sorted(
        comparison.rows,
        key=lambda r: -max((abs(chart_number(r[m]) or 0) for m in reports.MODELS), default=0),
    )[:12]
    comparison_chart = bar_chart(
        [r["name"] for r in top],
        [dataset(label, [r[m] for r in top], percent=percent) for m, label in reports.MODELS.items()],
    )
    return {
        "reconciliation": card(report, "reconciliation"),  # one total under every model: a table reads best
        "comparison": card(report, "comparison", comparison_chart),
        "detail": card(report, "detail"),
    }


def lead_quality_cards(report: Report) -> dict:
    t = report.tables
    scored = [r for r in t["quality"].rows[1:] if r["lead_quality_index"] not in (None, NA)]
    best = sorted(scored, key=lambda r: -r["lead_quality_index"])[:20]
    quality_chart = bar_chart(
        [r["name"] for r in best],
        [dataset("Lead quality index (100 = average)", [r["lead_quality_index"] for r in best])],
    )
    curve = t["send_curve"]
    curve_chart = (
        chart_config(
            "line",
            [str(r["day"]) for r in curve.rows],
            [dataset("Share of the send's leads", [r["share"] for r in curve.rows], percent=True)],
        )
        if curve.rows
        else None
    )
    return {
        "quality": card(report, "quality", quality_chart, open_table=True),
        "quality_trend": card(report, "quality_trend"),
        "send_lag": card(report, "send_lag"),
        "lag_by_channel": card(report, "lag_by_channel"),
        "send_curve": card(report, "send_curve", curve_chart, "Cumulative share of the send's leads by day"),
    }


CARDS = {"joint": joint_cards, "attribution": attribution_cards, "lead_quality": lead_quality_cards}


# --- Pages -------------------------------------------------------------------------------------------


def filter_choices(report: str) -> list[tuple[str, list[tuple[str, str]]]]:
    """The one "filter by" select, grouped by dimension: one query per id dimension the report offers."""
    dims = reports.SPECS[report].dimensions
    groups = [("Channels", [(f"channel:{v}", label) for v, label in reports.CHANNELS.items()])]
    if "campaign" in dims:
        groups.append(
            (
                "Campaigns",
                [
                    (f"campaign:{pk}", name)
                    for pk, name in Campaign.objects.order_by("name", "id").values_list("pk", "name")
                ],
            )
        )
    if "segment" in dims:
        groups.append(
            ("Segments", [(f"segment:{pk}", name) for pk, name in Segment.objects.values_list("pk", "name")])
        )
    if "team" in dims:
        groups.append(
            ("Teams", [(f"team:{pk}", name) for pk, name in Team.objects.values_list("pk", "name")])
        )
    return groups


class ReportPage(PortalView):
    """Parse the filters (a 400 naming each bad one), build the report, then render it or one table as CSV."""

    area = Area.ALIGNMENT
    report = ""
    template = ""

    def get(self, request):
        try:
            filters = reports.parse_filters(request.GET, report=self.report)
        except ValidationError as exc:
            return self.page(request, None, errors=exc.message_dict, status=400)
        fmt = request.GET.get("format", "")
        if fmt not in ("", "html", "csv"):
            return self.page(request, filters, errors={"format": ["Choose html or csv."]}, status=400)
        report = reports.build(self.report, filters)
        if fmt == "csv":
            return self.csv(request, report)
        page_visit_record(user=request.user, page=PageVisit.Page.REPORTS)
        return self.page(request, filters, report)

    def csv(self, request, report: Report) -> HttpResponse:
        key = request.GET.get("table", "")
        if key not in report.tables:
            choices = ", ".join(report.tables)
            return self.page(
                request, report.filters, errors={"table": [f"Choose one of: {choices}."]}, status=400
            )
        header, rows = report.tables[key].csv()
        f = report.filters
        name = f"{request.tenant.slug}-{self.report.replace('_', '-')}-{key}-{f.start}-{f.end}"
        return export_response(name, header, rows)

    def page(self, request, filters, report: Report | None = None, *, errors=None, status: int = 200):
        spec = reports.SPECS[self.report]
        source = filters.params() if filters is not None else request.GET
        current = ""
        for name in reports.FILTER_DIMENSIONS:
            if source.get(name):
                current = f"{name}:{source.get(name)}"
        context = {
            "report": report,
            "filters": filters,
            "errors": errors or {},
            "form": {
                "granularity": source.get("granularity", "month"),
                "start": source.get("start", ""),
                "end": source.get("end", ""),
                "filter": current or request.GET.get("filter", ""),
                **{name: source.get(name) or choices[0] for name, choices in spec.choices.items()},
            },
            "granularities": [(g, GRANULARITY_LABELS[g]) for g in spec.granularities],
            "filter_choices": filter_choices(self.report),
            "cards": CARDS[self.report](report) if report is not None else {},
            "tabs": self.tabs(filters),
            "page_kind": self.report,
            "page_title": PAGES[self.report][1],
            "models": list(reports.MODELS.items()),
            "can_write": self.can_write(),
        }
        if report is not None:
            context["switches"] = {
                name: [
                    {
                        "value": value,
                        "label": labels.get(value, value),
                        "url": "?" + report.filters.query(**{name: value}),
                        "active": value == report.filters.option(name),
                    }
                    for value in (labels if set(labels) == set(spec.choices[name]) else spec.choices[name])
                ]
                for name, labels in (
                    ("by", BY_LABELS),
                    ("model", reports.MODELS),
                    ("measure", reports.MEASURES),
                )
                if name in spec.choices
            }
            context["headline"] = [
                {**h, "display": display(h["value"], h["unit"])} for h in report.extra.get("headline", [])
            ]
        return render(request, self.template, context, status=status)

    def tabs(self, filters) -> list[dict]:
        """Links to the three reports, keeping the period (and the granularity where it exists)."""
        result = []
        for kind, (url_name, label) in PAGES.items():
            params = ""
            if filters is not None:
                keep = {"start": filters.start.isoformat(), "end": filters.end.isoformat()}
                if filters.granularity in reports.SPECS[kind].granularities:
                    keep["granularity"] = filters.granularity
                params = "?" + "&".join(f"{k}={v}" for k, v in keep.items())
            result.append({"label": label, "url": reverse(url_name) + params, "active": kind == self.report})
        return result


class JointReportView(ReportPage):
    report = "joint"
    template = "alignment/reports/joint.html"


class AttributionReportView(ReportPage):
    report = "attribution"
    template = "alignment/reports/attribution.html"


class LeadQualityReportView(ReportPage):
    report = "lead_quality"
    template = "alignment/reports/lead_quality.html"


urlpatterns = [
    path("reports/", JointReportView.as_view(), name="reports"),
    path("reports/attribution/", AttributionReportView.as_view(), name="report_attribution"),
    path("reports/lead-quality/", LeadQualityReportView.as_view(), name="report_lead_quality"),
]
