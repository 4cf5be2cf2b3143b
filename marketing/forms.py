"""Portal forms. They check types and render widgets; the rules are the services' (one set of rules
for the portal, the API and imports), so the model validation of ModelForm is switched off."""

from __future__ import annotations

import json

from django import forms

from .models import Campaign, CampaignSend, Company, Contact, ContentAsset, CostLine, LifecycleStage, Segment


class ServiceForm(forms.ModelForm):
    def _post_clean(self) -> None:  # the service validates the instance and constraints
        pass

    def service_data(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.changed_or_all()}

    def changed_or_all(self) -> list[str]:
        return list(self.fields)


class DateInput(forms.DateInput):
    input_type = "date"


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"


class CampaignForm(ServiceForm):
    class Meta:
        model = Campaign
        fields = [
            "name",
            "channel",
            "objective",
            "status",
            "start_date",
            "end_date",
            "budget",
            "utm_campaign",
            "target_segments",
            "description",
        ]
        widgets = {
            "start_date": DateInput(),
            "end_date": DateInput(),
            "description": forms.Textarea(attrs={"rows": 3}),
            "target_segments": forms.CheckboxSelectMultiple(),
        }

    def service_data(self) -> dict:
        data = super().service_data()
        data["target_segments"] = [segment.pk for segment in data.get("target_segments") or []]
        return data


class CostLineForm(ServiceForm):
    class Meta:
        model = CostLine
        fields = ["date", "amount", "note"]
        widgets = {"date": DateInput()}


class SendForm(ServiceForm):
    class Meta:
        model = CampaignSend
        fields = ["name", "kind", "sent_at", "audience_size"]
        widgets = {"sent_at": DateTimeInput()}


class CompanyForm(ServiceForm):
    class Meta:
        model = Company
        fields = ["name", "domain", "industry", "size_band", "country", "region", "annual_revenue_band"]


class ContactForm(ServiceForm):
    interests = forms.CharField(required=False, help_text="Comma-separated, e.g. crm, analytics")

    class Meta:
        model = Contact
        fields = [
            "email",
            "first_name",
            "last_name",
            "phone",
            "job_title",
            "seniority",
            "company",
            "country",
            "region",
            "consent_marketing",
            "unsubscribed",
            "age_band",
            "gender",
            "marital_status",
            "income_band",
            "education",
            "occupation",
            "interests",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["company"].queryset = Company.objects.order_by("name")
        if self.instance.pk and not self.is_bound:
            self.initial["interests"] = ", ".join(self.instance.interests)

    def service_data(self) -> dict:
        data = super().service_data()
        data["company"] = data["company"].pk if data.get("company") else None
        return data


class StageForm(forms.Form):
    to_stage = forms.ChoiceField(choices=LifecycleStage.choices, label="Move to stage")
    reason = forms.CharField(required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 2}))


class ContentForm(ServiceForm):
    tags = forms.CharField(required=False, help_text="Comma-separated")
    url = forms.URLField(required=False, max_length=2000, assume_scheme="https", label="URL")

    class Meta:
        model = ContentAsset
        fields = ["title", "kind", "funnel_stage", "description", "url", "file", "campaigns", "tags"]
        widgets = {
            "description": forms.Textarea(attrs={"rows": 3}),
            "campaigns": forms.CheckboxSelectMultiple(),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Newest campaigns first; not sliced, since Django filters this queryset to validate the ticked ones.
        self.fields["campaigns"].queryset = Campaign.objects.order_by("-start_date", "-id")
        if self.instance.pk and not self.is_bound:
            self.initial["tags"] = ", ".join(self.instance.tags)

    def service_data(self) -> dict:
        data = super().service_data()
        data["campaigns"] = [c.pk for c in data.get("campaigns") or []]
        if not data.get("file"):
            data.pop("file", None)
        return data


class SegmentForm(forms.Form):
    name = forms.CharField(max_length=200)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    kind = forms.ChoiceField(choices=Segment.Kind.choices, initial=Segment.Kind.RULE)
    definition = forms.CharField(required=False, widget=forms.HiddenInput())

    def clean_definition(self):
        raw = self.cleaned_data.get("definition") or ""
        if not raw.strip():
            return {}
        try:
            value = json.loads(raw)
        except ValueError as exc:
            raise forms.ValidationError("The segment definition is not valid JSON.") from exc
        return value


class ErasureForm(forms.Form):
    """The erasure's confirmation: the contact's e-mail address, typed."""

    email = forms.EmailField(
        label="Type the contact's e-mail address to confirm",
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "off"}),
    )

    def __init__(self, *args, contact, **kwargs):
        super().__init__(*args, **kwargs)
        self.contact = contact

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].strip().lower()
        if email != self.contact.email.lower():
            raise forms.ValidationError("This is not the contact's e-mail address.")
        return email
