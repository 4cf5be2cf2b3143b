from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render

from accounts.forms import apply_service_errors
from accounts.models import acting_user
from accounts.portal import ListPage, posted_object_or_404, search_text
from config.charts import chart_config

from .. import reports, selectors
from ..forms import CampaignForm, CostLineForm, SendForm
from ..models import Campaign, CampaignSend, Contact, CostLine
from ..models.campaigns import CampaignStatus, Channel
from ..services import campaigns as services
from .common import MarketingPage, MarketingWritePage

CAMPAIGN_SORTS = {
    "name": ("name", "id"),
    "-name": ("-name", "-id"),
    "start": ("start_date", "id"),
    "-start": ("-start_date", "-id"),
    "budget": ("budget", "id"),
    "-budget": ("-budget", "-id"),
    "spend": ("spend", "id"),
    "-spend": ("-spend", "-id"),
    "leads": ("leads", "id"),
    "-leads": ("-leads", "-id"),
}


class CampaignListView(MarketingPage):
    def get(self, request):
        channel = request.GET.get("channel", "")
        status = request.GET.get("status", "")
        qs = reports.campaign_performance().select_related("owner")
        search = search_text(request)
        if search:
            qs = qs.filter(name__icontains=search) | qs.filter(utm_campaign__icontains=search)
        if channel in Channel.values:
            qs = qs.filter(channel=channel)
        if status in CampaignStatus.values:
            qs = qs.filter(status=status)
        listing = ListPage(request, qs, sorts=CAMPAIGN_SORTS, default="-start")
        for campaign in listing.page.object_list:
            campaign.cost_per_lead = reports.cost_per_lead(campaign.spend, campaign.leads)
        context = listing.context() | {
            "channel": channel,
            "status": status,
            "channels": Channel.choices,
            "statuses": CampaignStatus.choices,
            "can_write": self.can_write(),
        }
        return render(request, "marketing/campaign_list.html", context)


class CampaignCreateView(MarketingWritePage):
    def get(self, request):
        return render(request, "marketing/campaign_form.html", {"form": CampaignForm()})

    def post(self, request):
        form = CampaignForm(request.POST)
        if form.is_valid():
            try:
                campaign = services.campaign_create(data=form.service_data(), actor=acting_user(request))
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, f"Campaign “{campaign.name}” created.")
                return redirect("marketing:campaign_detail", pk=campaign.pk)
        return render(request, "marketing/campaign_form.html", {"form": form}, status=400)


class CampaignEditView(MarketingWritePage):
    def get(self, request, pk: int):
        campaign = get_object_or_404(Campaign, pk=pk)
        return render(
            request,
            "marketing/campaign_form.html",
            {"form": CampaignForm(instance=campaign), "campaign": campaign},
        )

    def post(self, request, pk: int):
        campaign = get_object_or_404(Campaign, pk=pk)
        form = CampaignForm(request.POST, instance=campaign)
        if form.is_valid():
            try:
                services.campaign_update(campaign=Campaign.objects.get(pk=pk), data=form.service_data())
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, "Campaign saved.")
                return redirect("marketing:campaign_detail", pk=pk)
        return render(
            request, "marketing/campaign_form.html", {"form": form, "campaign": campaign}, status=400
        )


class CampaignDeleteView(MarketingWritePage):
    def post(self, request, pk: int):
        campaign = get_object_or_404(Campaign, pk=pk)
        services.campaign_delete(campaign=campaign)
        messages.info(request, f"Campaign “{campaign.name}” deleted.")
        return redirect("marketing:campaign_list")


def _detail_context(request, campaign: Campaign, *, cost_form=None, send_form=None, can_write=False) -> dict:
    weeks = reports.campaign_touches_by_week(campaign)
    chart = (
        chart_config(
            "line",
            [row["week"].strftime("%d %b") for row in weeks],
            [
                {"label": "Touchpoints", "data": [row["touches"] for row in weeks]},
                {"label": "People reached", "data": [row["leads"] for row in weeks]},
            ],
        )
        if weeks
        else None
    )
    return {
        "campaign": campaign,
        "summary": reports.campaign_summary(campaign),
        "chart": chart,
        "costs": list(selectors.campaign_costs(campaign)[:100]),
        "sends": list(selectors.campaign_sends(campaign)[:100]),
        "leads": list(
            Contact.objects.filter(first_touch_campaign=campaign)
            .select_related("company")
            .order_by("-created_at")[:25]
        ),
        "content": list(campaign.content.all()[:20]),
        "rejections": reports.campaign_rejections(campaign),
        "segments": list(campaign.target_segments.all()),
        "cost_form": cost_form or CostLineForm(),
        "send_form": send_form or SendForm(),
        "can_write": can_write,
    }


class CampaignDetailView(MarketingPage):
    def get(self, request, pk: int):
        campaign = get_object_or_404(Campaign.objects.select_related("owner"), pk=pk)
        return render(
            request,
            "marketing/campaign_detail.html",
            _detail_context(request, campaign, can_write=self.can_write()),
        )


class _CampaignLineView(MarketingWritePage):
    """Add (POST) or delete (POST with delete=<id>) a line of a campaign: a cost line or a send."""

    model: type
    form_class: type
    form_key: str
    added: str
    deleted: str

    def add(self, campaign: Campaign, data: dict, request) -> None:
        raise NotImplementedError

    def remove(self, line) -> None:
        raise NotImplementedError

    def post(self, request, pk: int):
        campaign = get_object_or_404(Campaign, pk=pk)
        if "delete" in request.POST:
            self.remove(posted_object_or_404(self.model.objects.filter(campaign=campaign), request, "delete"))
            messages.info(request, self.deleted)
            return redirect("marketing:campaign_detail", pk=pk)
        form = self.form_class(request.POST)
        if form.is_valid():
            try:
                self.add(campaign, form.service_data(), request)
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, self.added)
                return redirect("marketing:campaign_detail", pk=pk)
        context = _detail_context(request, campaign, can_write=True, **{self.form_key: form})
        return render(request, "marketing/campaign_detail.html", context, status=400)


class CampaignCostView(_CampaignLineView):
    model, form_class, form_key = CostLine, CostLineForm, "cost_form"
    added, deleted = "Cost line added.", "Cost line deleted."

    def add(self, campaign, data, request):
        services.cost_line_add(campaign=campaign, data=data, actor=acting_user(request))

    def remove(self, line):
        services.cost_line_delete(line=line)


class CampaignSendView(_CampaignLineView):
    model, form_class, form_key = CampaignSend, SendForm, "send_form"
    added, deleted = "Send recorded.", "Send deleted."

    def add(self, campaign, data, request):
        services.send_add(campaign=campaign, data=data)

    def remove(self, line):
        services.send_delete(send=line)
