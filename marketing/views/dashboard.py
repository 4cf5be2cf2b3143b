from __future__ import annotations

from django.shortcuts import render

from .. import reports
from ..models.campaigns import Channel
from .common import MarketingPage, chart_config

CHANNEL_LABELS = dict(Channel.choices) | {"unattributed": "Unattributed"}


class HomeView(MarketingPage):
    def get(self, request):
        weekly = reports.leads_and_mqls_by_channel_week(weeks=12)
        labels = [week.strftime("%d %b") for week in weekly["weeks"]]
        datasets = [
            {
                "label": f"{'MQLs' if stage == 'mql' else 'Leads'} · {CHANNEL_LABELS.get(channel, channel)}",
                "data": [points.get(week, 0) for week in weekly["weeks"]],
                "stack": stage,
            }
            for (stage, channel), points in sorted(weekly["series"].items())
        ]
        campaigns = list(reports.campaign_performance().order_by("-spend", "-id")[:10])
        for campaign in campaigns:
            campaign.cost_per_lead = reports.cost_per_lead(campaign.spend, campaign.leads)
            campaign.spend_share = (
                int(min(100, campaign.spend * 100 / campaign.budget)) if campaign.budget else 0
            )
        context = {
            "totals": reports.month_totals(),
            "weekly_chart": chart_config("bar", labels, datasets, stacked=True) if datasets else None,
            "campaigns": campaigns,
            "top_content": list(reports.top_content()),
            "can_write": self.can_write(),
        }
        return render(request, "marketing/dashboard.html", context)
