from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils import timezone

from accounts.models import acting_user
from accounts.portal import ListPage, posted_object_or_404
from marketing.models import Contact

from ..models import RejectionReason, SalesSettings, Team
from ..services import leads as services
from .common import SalesPage


class RejectForm(forms.Form):
    reason = forms.ModelChoiceField(queryset=RejectionReason.objects.filter(is_active=True))
    note = forms.CharField(required=False, max_length=5000)


class LeadQueueView(SalesPage):
    """MQLs handed over by marketing, oldest first, with their SLA clock."""

    def get(self, request):
        settings_row = SalesSettings.objects.filter(pk=1).first()
        hours = settings_row.mql_follow_up_hours if settings_row else 24
        listing = ListPage(
            request, services.lead_queue(), sorts={"oldest": ("mql_at", "id")}, default="oldest"
        )
        now = timezone.now()
        for lead in listing.page.object_list:
            waited = now - lead.mql_at
            lead.waited_hours = int(waited.total_seconds() // 3600)
            lead.sla_left = hours - lead.waited_hours
        context = listing.context() | {
            "sla_hours": hours,
            "reasons": list(RejectionReason.objects.filter(is_active=True)),
            "teams": list(Team.objects.all()),
            "reps": list(services.reps().order_by("full_name")),
            "can_write": self.can_write(),
        }
        return render(request, "sales/lead_queue.html", context)

    def post(self, request):  # PortalView requires sales:write for any POST
        lead = posted_object_or_404(Contact, request, "lead")
        action = request.POST.get("action")
        try:
            if action == "accept":
                _, deal = services.lead_accept(
                    contact=lead, actor=acting_user(request), open_deal=request.POST.get("open_deal") == "1"
                )
                if deal:
                    messages.success(request, f"{lead} accepted; deal “{deal.name}” opened.")
                    return redirect("sales:deal_detail", pk=deal.pk)
                messages.success(request, f"{lead} accepted as SQL.")
            elif action == "reject":
                form = RejectForm(request.POST)
                if not form.is_valid():
                    raise ValidationError({"reason": ["Choose a rejection reason."]})
                services.lead_reject(
                    contact=lead,
                    reason=form.cleaned_data["reason"],
                    note=form.cleaned_data["note"],
                    actor=acting_user(request),
                )
                messages.info(request, f"{lead} sent back to marketing.")
            elif action == "assign":
                team = posted_object_or_404(Team, request, "team") if request.POST.get("team") else None
                rep = services.lead_assign(contact=lead, rep=request.POST.get("rep") or None, team=team)
                messages.success(request, f"{lead} assigned to {rep}.")
            else:
                messages.error(request, "Unknown action.")
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        return redirect("sales:lead_queue")
