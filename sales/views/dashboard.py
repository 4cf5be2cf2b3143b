from __future__ import annotations

from django.shortcuts import render
from django.utils import timezone

from config.charts import chart_config

from .. import reports
from .common import SalesPage


class DashboardView(SalesPage):
    """This quarter: won revenue against quota, win rate, deal size, cycle length and the forecast."""

    def get(self, request):
        start, end = reports.quarter_bounds(timezone.now().date())
        closed = reports.closed_summary(start=start, end=end)
        quota = reports.revenue_quota(start=start, end=end)
        forecast = reports.forecast_by_category(start=start, end=end)
        months = reports.weighted_pipeline_by_month()[:6]
        context = {
            "start": start,
            "end": end,
            "closed": closed,
            "quota": quota,
            "attainment": int(closed["revenue"] * 100 / quota) if quota else None,
            "forecast_chart": chart_config(
                "bar",
                ["Won", "Commit", "Best case", "Pipeline"],
                [
                    {
                        "label": "This quarter",
                        "data": [float(forecast[k]) for k in ("won", "commit", "best_case", "pipeline")],
                        "backgroundColor": ["#0d9488", "#4f46e5", "#8b5cf6", "#94a3b8"],
                    }
                ],
            ),
            "pipeline_chart": chart_config(
                "bar",
                [m["month"].strftime("%b %Y") if m["month"] else "No date" for m in months],
                [
                    {
                        "label": "Open amount",
                        "data": [float(m["total"] or 0) for m in months],
                        "backgroundColor": "#cbd5e1",
                    },
                    {
                        "label": "Weighted",
                        "data": [float(m["weighted"] or 0) for m in months],
                        "backgroundColor": "#4f46e5",
                    },
                ],
            )
            if months
            else None,
        }
        return render(request, "sales/dashboard.html", context)
