from __future__ import annotations

from django.shortcuts import render

from config.charts import chart_config

from .. import reports
from ..models.campaigns import Channel
from .common import MarketingPage

CHANNEL_LABELS = dict(Channel.choices) | {"unattributed": "Unattributed"}


TOP_CHANNELS = 6
PALETTE = ["#4f46e5", "#0d9488", "#f59e0b", "#e11d48", "#8b5cf6", "#0ea5e9"]
OTHER_COLOUR, MQL_COLOUR = "#94a3b8", "#111827"


def weekly_chart(weekly: dict) -> dict | None:
    """Leads stacked by channel (the six biggest, the rest as "Other"), MQLs as one line on top."""
    weeks = weekly["weeks"]
    if not weeks:
        return None
    leads: dict[str, dict] = {}
    mqls = dict.fromkeys(weeks, 0)
    for (stage, channel), points in weekly["series"].items():
        if stage == "mql":
            for week, n in points.items():
                mqls[week] += n
        else:
            leads[channel] = points
    ranked = sorted(leads, key=lambda ch: -sum(leads[ch].values()))
    shown, rest = ranked[:TOP_CHANNELS], ranked[TOP_CHANNELS:]
    datasets = [
        {"label": CHANNEL_LABELS.get(ch, ch), "data": [leads[ch].get(w, 0) for w in weeks], "stack": "leads"}
        for ch in shown
    ]
    if rest:
        datasets.append(
            {
                "label": "Other channels",
                "stack": "leads",
                "data": [sum(leads[ch].get(w, 0) for ch in rest) for w in weeks],
            }
        )
    datasets.append({"label": "MQLs (all channels)", "type": "line", "data": [mqls[w] for w in weeks]})
    return chart_config("bar", [w.strftime("%d %b") for w in weeks], datasets, stacked=True)


class HomeView(MarketingPage):
    def get(self, request):
        campaigns = list(reports.campaign_performance().order_by("-spend", "-id")[:10])
        for campaign in campaigns:
            campaign.cost_per_lead = reports.cost_per_lead(campaign.spend, campaign.leads)
            campaign.spend_share = (
                int(min(100, campaign.spend * 100 / campaign.budget)) if campaign.budget else 0
            )
        context = {
            "totals": reports.month_totals(),
            "weekly_chart": weekly_chart(reports.leads_and_mqls_by_channel_week(weeks=12)),
            "campaigns": campaigns,
            "top_content": list(reports.top_content()),
            "can_write": self.can_write(),
        }
        return render(request, "marketing/dashboard.html", context)
