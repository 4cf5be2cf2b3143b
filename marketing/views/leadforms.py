from __future__ import annotations

import json

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render

from accounts.forms import apply_service_errors
from accounts.models import acting_user
from accounts.portal import ListPage, search_text

from ..models import Campaign, LeadForm
from ..services import forms as services
from .common import MarketingPage, MarketingWritePage

DEFAULT_FIELDS = [
    {"name": "email", "label": "Work email", "type": "email", "required": True},
    {"name": "first_name", "label": "First name", "type": "text", "required": True},
    {"name": "last_name", "label": "Last name", "type": "text", "required": False},
    {"name": "job_title", "label": "Job title", "type": "text", "required": False},
    {"name": "consent_marketing", "label": "Send me occasional news", "type": "checkbox", "required": False},
]
FORM_SORTS = {
    "name": ("name", "id"),
    "-name": ("-name", "-id"),
    "submissions": ("submission_count", "id"),
    "-submissions": ("-submission_count", "-id"),
    "created": ("created_at", "id"),
    "-created": ("-created_at", "-id"),
}


class LeadFormForm(forms.Form):
    name = forms.CharField(max_length=200)
    campaign = forms.ModelChoiceField(
        queryset=Campaign.objects.none(),
        required=False,
        help_text="Submissions count as touchpoints of this campaign.",
    )
    fields = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 12, "class": "mono"}),
        help_text="The questions, as JSON: name, label, type (text, email, tel, textarea, "
        "select, checkbox), required, options. Email is always asked.",
    )
    thank_you_text = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    redirect_url = forms.URLField(
        required=False,
        max_length=2000,
        assume_scheme="https",
        help_text="Optional: send people here after they submit.",
    )
    is_active = forms.BooleanField(required=False, initial=True, label="Accepting submissions")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["campaign"].queryset = Campaign.objects.order_by("-start_date")

    def clean_fields(self):
        try:
            return json.loads(self.cleaned_data["fields"])
        except ValueError as exc:
            raise forms.ValidationError("This is not valid JSON.") from exc

    def service_data(self) -> dict:
        data = dict(self.cleaned_data)
        data["campaign"] = data["campaign"].pk if data.get("campaign") else None
        return data


def _initial(lead_form: LeadForm | None) -> dict:
    if lead_form is None:
        return {
            "fields": json.dumps(DEFAULT_FIELDS, indent=2),
            "is_active": True,
            "thank_you_text": "Thank you! We'll be in touch.",
        }
    return {
        "name": lead_form.name,
        "campaign": lead_form.campaign_id,
        "fields": json.dumps(lead_form.fields, indent=2),
        "thank_you_text": lead_form.thank_you_text,
        "redirect_url": lead_form.redirect_url,
        "is_active": lead_form.is_active,
    }


class LeadFormListView(MarketingPage):
    def get(self, request):
        qs = LeadForm.objects.select_related("campaign")
        if search := search_text(request):
            qs = qs.filter(name__icontains=search)
        listing = ListPage(request, qs, sorts=FORM_SORTS, default="-created")
        return render(
            request, "marketing/form_list.html", listing.context() | {"can_write": self.can_write()}
        )


class LeadFormEditView(MarketingWritePage):
    """Create (no pk) or edit a lead capture form."""

    def _render(self, request, form, lead_form=None, status=200):
        return render(
            request, "marketing/form_edit.html", {"form": form, "lead_form": lead_form}, status=status
        )

    def get(self, request, pk: int | None = None):
        lead_form = get_object_or_404(LeadForm, pk=pk) if pk else None
        return self._render(request, LeadFormForm(initial=_initial(lead_form)), lead_form)

    def post(self, request, pk: int | None = None):
        lead_form = get_object_or_404(LeadForm, pk=pk) if pk else None
        if lead_form and "delete" in request.POST:
            services.form_delete(form=lead_form)
            messages.info(request, f"Form “{lead_form.name}” deleted.")
            return redirect("marketing:form_list")
        form = LeadFormForm(request.POST)
        if form.is_valid():
            try:
                if lead_form:
                    services.form_update(form=lead_form, data=form.service_data())
                else:
                    lead_form = services.form_create(data=form.service_data(), actor=acting_user(request))
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, "Form saved. Copy its embed code below.")
                return redirect("marketing:form_detail", pk=lead_form.pk)
        return self._render(request, form, lead_form, status=400)


class LeadFormDetailView(MarketingPage):
    def get(self, request, pk: int):
        lead_form = get_object_or_404(LeadForm.objects.select_related("campaign"), pk=pk)
        base_url = request.build_absolute_uri("/")
        context = {
            "lead_form": lead_form,
            "embed": services.form_embed_snippet(form=lead_form, base_url=base_url),
            "hosted_url": request.build_absolute_uri(f"/f/{lead_form.key}/"),
            "submissions": list(lead_form.submissions.select_related("contact").order_by("-created_at")[:50]),
            "can_write": self.can_write(),
        }
        return render(request, "marketing/form_detail.html", context)
