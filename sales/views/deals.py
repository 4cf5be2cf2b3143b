"""Deal pages: open a deal, its detail (edit, forecast category, activities, content shared, close), and
the move endpoint the board's drag and drop and its keyboard fallback post to."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models.functions import Coalesce
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from accounts.forms import apply_service_errors
from accounts.models import acting_user
from marketing.models import Contact, ContentAsset

from ..models import Activity, Deal, DealType, ForecastCategory, LossCategory, LossReason, Pipeline
from ..panels import deal_panels
from ..services import activities as activity_services
from ..services import deals as services
from ..services.leads import reps
from .common import SalesPage, SalesWritePage


class DateInput(forms.DateInput):
    input_type = "date"


class DealForm(forms.Form):
    name = forms.CharField(max_length=200)
    amount = forms.DecimalField(max_digits=14, decimal_places=2, min_value=0)
    expected_close_date = forms.DateField(required=False, widget=DateInput)
    forecast_category = forms.ChoiceField(choices=ForecastCategory.choices, initial=ForecastCategory.PIPELINE)
    probability_override = forms.IntegerField(
        required=False, min_value=0, max_value=100, help_text="Leave empty to use the stage's probability."
    )
    owner = forms.ModelChoiceField(queryset=None, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = reps().order_by("full_name", "id")


class DealCreateForm(DealForm):
    pipeline = forms.ModelChoiceField(queryset=Pipeline.objects.filter(is_active=True), empty_label=None)
    deal_type = forms.ChoiceField(choices=DealType.choices, initial=DealType.NEW_BUSINESS)
    contact_email = forms.EmailField(
        required=False,
        label="Primary contact (email)",
        help_text="An existing contact; its company comes along.",
    )

    field_order = ["name", "pipeline", "deal_type", "amount", "expected_close_date", "contact_email"]

    def clean_contact_email(self):
        email = self.cleaned_data["contact_email"]
        if not email:
            return None
        contact = Contact.objects.filter(email__iexact=email).select_related("company").first()
        if contact is None:
            raise forms.ValidationError("No contact with this email. Marketing adds contacts.")
        return contact


def _deal_data(cleaned: dict) -> dict:
    data = {
        "name": cleaned["name"],
        "amount": cleaned["amount"],
        "expected_close_date": cleaned["expected_close_date"],
        "forecast_category": cleaned["forecast_category"],
        "probability_override": cleaned["probability_override"],
    }
    if cleaned.get("owner") is not None:
        data["owner"] = cleaned["owner"]
    return data


class DealCreateView(SalesWritePage):
    def get(self, request, form=None, status=200):
        form = form or DealCreateForm(initial={"owner": request.user.pk})
        return render(request, "sales/deal_form.html", {"form": form}, status=status)

    def post(self, request):
        form = DealCreateForm(request.POST)
        if form.is_valid():
            data = _deal_data(form.cleaned_data)
            data["pipeline"] = form.cleaned_data["pipeline"]
            data["deal_type"] = form.cleaned_data["deal_type"]
            contact = form.cleaned_data["contact_email"]
            if contact is not None:
                data["primary_contact"] = contact
                data["company"] = contact.company
                data["source_campaign"] = contact.first_touch_campaign_id
            try:
                deal = services.deal_create(data=data, actor=acting_user(request))
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, f"Deal “{deal.name}” opened in {deal.stage.name}.")
                return redirect("sales:deal_detail", pk=deal.pk)
        return self.get(request, form=form, status=400)


class DealMoveView(SalesWritePage):
    """Move a deal: from the board's drag and drop (JSON answer) or its keyboard fallback (a form)."""

    def post(self, request, pk: int):
        deal = get_object_or_404(Deal, pk=pk)
        wants_json = request.headers.get("X-Requested-With") == "fetch"
        try:
            version = int(request.POST["version"]) if request.POST.get("version") else None
            moved = services.deal_move(
                deal=deal,
                stage=request.POST.get("stage"),
                actor=acting_user(request),
                expected_version=version,
            )
        except (ValidationError, ValueError) as exc:
            text = " ".join(exc.messages) if isinstance(exc, ValidationError) else "Give a stage."
            if wants_json:
                return JsonResponse({"error": text}, status=400)
            messages.error(request, text)
        else:
            if wants_json:
                return JsonResponse({"id": moved.pk, "stage": moved.stage_id, "version": moved.version})
            messages.success(request, f"“{moved.name}” moved to {moved.stage.name}.")
        nxt = request.POST.get("next", "")
        return redirect(nxt if nxt.startswith("/") and not nxt.startswith("//") else "sales:board")


class LostForm(forms.Form):
    category = forms.ChoiceField(choices=LossCategory.choices)
    reason = forms.ModelChoiceField(queryset=LossReason.objects.filter(is_active=True))
    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=5000)


class ActivityForm(forms.Form):
    kind = forms.ChoiceField(choices=Activity.Kind.choices)
    subject = forms.CharField(max_length=200)
    done = forms.BooleanField(required=False, initial=True, label="Done now")
    due_at = forms.DateTimeField(
        required=False,
        label="Due",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        help_text="For a planned activity (leave “Done now” unticked).",
    )
    outcome = forms.CharField(required=False, max_length=200)
    content = forms.ModelChoiceField(
        queryset=ContentAsset.objects.order_by("title", "id"),
        required=False,
        label="Content shared",
        help_text="Marketing's collateral you sent or showed.",
    )


class DealDetailView(SalesPage):
    def get(self, request, pk: int, forms_in_error: dict | None = None, status: int = 200):
        deal = get_object_or_404(
            Deal.objects.select_related(
                "stage", "pipeline", "company", "owner", "source_campaign", "loss_reason"
            ),
            pk=pk,
        )
        contacts = list(deal.contacts.all())
        touches = []
        if contacts:
            from marketing.models import Touchpoint

            touches = list(
                Touchpoint.objects.filter(contact__in=contacts, occurred_at__lte=deal.created_at)
                .select_related("campaign", "content")
                .order_by("-occurred_at")[:50]
            )
        activities = list(
            deal.activities.select_related("owner", "content")
            .annotate(moment=Coalesce("done_at", "due_at", "created_at"))
            .order_by("-moment", "-id")[:50]
        )
        errors = forms_in_error or {}
        context = {
            "deal": deal,
            "contacts": contacts,
            "touches": touches,
            "changes": list(deal.stage_changes.select_related("from_stage", "to_stage", "by")),
            "activities": activities,
            "shared": list(
                deal.activities.filter(content__isnull=False)
                .select_related("content", "owner")
                .order_by("-created_at")[:50]
            ),
            "stages": list(deal.pipeline.stages.filter(kind="open").order_by("position")),
            "lost_form": errors.get("lost") or LostForm(),
            "activity_form": errors.get("activity") or ActivityForm(),
            "edit_form": errors.get("edit")
            or DealForm(
                initial={
                    "name": deal.name,
                    "amount": deal.amount,
                    "expected_close_date": deal.expected_close_date,
                    "forecast_category": deal.forecast_category,
                    "probability_override": deal.probability_override,
                    "owner": deal.owner_id,
                }
            ),
            "can_write": self.can_write(),
            "panels": deal_panels(request, deal),
        }
        return render(request, "sales/deal_detail.html", context, status=status)

    def post(self, request, pk: int):
        deal = get_object_or_404(Deal, pk=pk)
        handler = {
            "won": self._won,
            "lost": self._lost,
            "activity": self._activity,
            "edit": self._edit,
        }.get(request.POST.get("action", ""))
        if handler is None:
            messages.error(request, "Unknown action.")
            return redirect("sales:deal_detail", pk=pk)
        return handler(request, deal)

    def _won(self, request, deal: Deal):
        try:
            services.deal_close_won(deal=deal, actor=acting_user(request))
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, "Won! The company is now a customer.")
        return redirect("sales:deal_detail", pk=deal.pk)

    def _lost(self, request, deal: Deal):
        form = LostForm(request.POST)
        if form.is_valid():
            try:
                services.deal_close_lost(
                    deal=deal,
                    category=form.cleaned_data["category"],
                    reason=form.cleaned_data["reason"],
                    note=form.cleaned_data["note"],
                    actor=acting_user(request),
                )
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.info(request, "Deal closed as lost. The reason goes to marketing's feedback loop.")
                return redirect("sales:deal_detail", pk=deal.pk)
        return self.get(request, deal.pk, forms_in_error={"lost": form}, status=400)

    def _activity(self, request, deal: Deal):
        form = ActivityForm(request.POST)
        if form.is_valid():
            cleaned = form.cleaned_data
            data = {
                "kind": cleaned["kind"],
                "subject": cleaned["subject"],
                "deal": deal.pk,
                "outcome": cleaned["outcome"],
                "content": cleaned["content"],
                "due_at": cleaned["due_at"],
            }
            if cleaned["done"]:
                data["done_at"] = timezone.now()
            try:
                activity_services.activity_create(data=data, actor=acting_user(request))
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, "Activity logged.")
                return redirect("sales:deal_detail", pk=deal.pk)
        return self.get(request, deal.pk, forms_in_error={"activity": form}, status=400)

    def _edit(self, request, deal: Deal):
        form = DealForm(request.POST)
        if form.is_valid():
            try:
                services.deal_update(
                    deal=deal, data=_deal_data(form.cleaned_data), actor=acting_user(request)
                )
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, "Deal saved.")
                return redirect("sales:deal_detail", pk=deal.pk)
        return self.get(request, deal.pk, forms_in_error={"edit": form}, status=400)
