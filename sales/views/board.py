from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, F, Sum, Window
from django.db.models.functions import RowNumber
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from accounts.forms import apply_service_errors

from .. import reports
from ..models import Activity, Deal, LossCategory, LossReason, Pipeline
from ..services import activities as activity_services
from ..services import deals as services
from .common import SalesPage, SalesWritePage, actor

CARDS_PER_STAGE = 50


class BoardView(SalesPage):
    """A pipeline as columns of stages: count, total and weighted total per column; stale deals marked."""

    def get(self, request, pk: int | None = None):
        pipelines = list(Pipeline.objects.filter(is_active=True))
        pipeline = (
            next((p for p in pipelines if p.pk == pk), None)
            if pk
            else next((p for p in pipelines if p.is_default), pipelines[0] if pipelines else None)
        )
        if pipeline is None:
            return render(request, "sales/board.html", {"pipelines": [], "columns": []})
        stages = list(pipeline.stages.filter(kind="open").order_by("position"))
        open_deals = Deal.objects.filter(pipeline=pipeline, status="open")
        totals = {
            row["stage"]: row
            for row in open_deals.values("stage").annotate(
                n=Count("id"), total=Sum("amount"), weighted=Sum(reports.weighted_amount())
            )
        }
        # The biggest CARDS_PER_STAGE deals of every column, in one query (a window per stage), so a column
        # full of large deals never pushes another column's cards off the board.
        ranked = open_deals.annotate(
            rank=Window(RowNumber(), partition_by=F("stage_id"), order_by=[F("amount").desc(), F("id").asc()])
        ).filter(rank__lte=CARDS_PER_STAGE)
        cards: dict[int, list[Deal]] = {stage.pk: [] for stage in stages}
        now = timezone.now()
        for deal in ranked.select_related("company", "owner", "stage").order_by("stage_id", "rank"):
            if deal.stage_id in cards:
                deal.days_in_stage = (now - deal.stage_entered_at).days
                deal.is_stale = deal.days_in_stage > deal.stage.expected_days
                cards[deal.stage_id].append(deal)
        columns = [
            {
                "stage": stage,
                "deals": cards[stage.pk],
                "count": totals.get(stage.pk, {}).get("n", 0),
                "total": totals.get(stage.pk, {}).get("total") or 0,
                "weighted": totals.get(stage.pk, {}).get("weighted") or 0,
            }
            for stage in stages
        ]
        context = {
            "pipeline": pipeline,
            "pipelines": pipelines,
            "columns": columns,
            "stages": stages,
            "can_write": self.can_write(),
        }
        return render(request, "sales/board.html", context)


class DealMoveView(SalesWritePage):
    """Move a deal: from the board's drag and drop (JSON answer) or its keyboard fallback (a form)."""

    def post(self, request, pk: int):
        deal = get_object_or_404(Deal, pk=pk)
        wants_json = request.headers.get("X-Requested-With") == "fetch"
        try:
            version = int(request.POST["version"]) if request.POST.get("version") else None
            moved = services.deal_move(
                deal=deal, stage=request.POST.get("stage"), actor=actor(request), expected_version=version
            )
        except (ValidationError, ValueError) as exc:
            text = (
                " ".join(m for ms in exc.message_dict.values() for m in ms)
                if isinstance(exc, ValidationError)
                else "Give a stage."
            )
            if wants_json:
                return JsonResponse({"error": text}, status=400)
            messages.error(request, text)
        else:
            if wants_json:
                return JsonResponse({"id": moved.pk, "stage": moved.stage_id, "version": moved.version})
            messages.success(request, f"“{moved.name}” moved to {moved.stage.name}.")
        return redirect(request.POST.get("next") or "sales:board")


class LostForm(forms.Form):
    category = forms.ChoiceField(choices=LossCategory.choices)
    reason = forms.ModelChoiceField(queryset=LossReason.objects.filter(is_active=True))
    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=5000)


class ActivityForm(forms.Form):
    kind = forms.ChoiceField(choices=Activity.Kind.choices)
    subject = forms.CharField(max_length=200)
    done = forms.BooleanField(required=False, initial=True, label="Done now")
    outcome = forms.CharField(required=False, max_length=200)


class DealDetailView(SalesPage):
    def get(self, request, pk: int, lost_form=None, activity_form=None, status=200):
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
        context = {
            "deal": deal,
            "contacts": contacts,
            "touches": touches,
            "changes": list(deal.stage_changes.select_related("from_stage", "to_stage", "by")),
            "activities": list(deal.activities.select_related("owner").order_by("-created_at")[:50]),
            "stages": list(deal.pipeline.stages.filter(kind="open").order_by("position")),
            "lost_form": lost_form or LostForm(),
            "activity_form": activity_form or ActivityForm(),
            "can_write": self.can_write(),
        }
        return render(request, "sales/deal_detail.html", context, status=status)

    def post(self, request, pk: int):
        deal = get_object_or_404(Deal, pk=pk)
        action = request.POST.get("action")
        if action == "won":
            try:
                services.deal_close_won(deal=deal, actor=actor(request))
            except ValidationError as exc:
                messages.error(request, " ".join(exc.messages))
            else:
                messages.success(request, "Won! The company is now a customer.")
            return redirect("sales:deal_detail", pk=pk)
        if action == "lost":
            form = LostForm(request.POST)
            if form.is_valid():
                try:
                    services.deal_close_lost(
                        deal=deal,
                        category=form.cleaned_data["category"],
                        reason=form.cleaned_data["reason"],
                        note=form.cleaned_data["note"],
                        actor=actor(request),
                    )
                except ValidationError as exc:
                    apply_service_errors(form, exc)
                else:
                    messages.info(
                        request, "Deal closed as lost. The reason goes to marketing's feedback loop."
                    )
                    return redirect("sales:deal_detail", pk=pk)
            return self.get(request, pk, lost_form=form, status=400)
        if action == "activity":
            form = ActivityForm(request.POST)
            if form.is_valid():
                data = {
                    "kind": form.cleaned_data["kind"],
                    "subject": form.cleaned_data["subject"],
                    "deal": deal.pk,
                    "outcome": form.cleaned_data["outcome"],
                }
                if form.cleaned_data["done"]:
                    data["done_at"] = timezone.now()
                try:
                    activity_services.activity_create(data=data, actor=actor(request))
                except ValidationError as exc:
                    apply_service_errors(form, exc)
                else:
                    messages.success(request, "Activity logged.")
                    return redirect("sales:deal_detail", pk=pk)
            return self.get(request, pk, activity_form=form, status=400)
        messages.error(request, "Unknown action.")
        return redirect("sales:deal_detail", pk=pk)
