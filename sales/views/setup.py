"""Sales set-up pages: the follow-up clock, pipelines and stages, loss and rejection reasons, teams.
Only people who may change sales data open them."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, Prefetch, Q
from django.shortcuts import get_object_or_404, redirect, render

from accounts.portal import posted_object_or_404
from config.validation import is_id

from ..models import LossCategory, LossReason, Pipeline, RejectionReason, SalesSettings, Stage, Team
from ..services import setup as services
from ..services.leads import reps
from .common import SalesWritePage

OPEN_DEALS = Q(deals__status="open")
FIELD_LABELS = {
    "follow_up_hours": "Follow-up hours",
    "name": "Name",
    "category": "Category",
    "probability": "Probability",
    "expected_days": "Expected days",
    "members": "Members",
    "is_active": "Active",
    "is_default": "Default",
    "stage": "Stage",
    "direction": "Direction",
}


def _problems(exc: ValidationError) -> list[str]:
    if not hasattr(exc, "error_dict"):
        return list(exc.messages)
    return [
        f"{FIELD_LABELS.get(field, field)}: {message}"
        for field, items in exc.message_dict.items()
        for message in items
    ]


class SalesSetupView(SalesWritePage):
    def get(self, request, problems=None, failed="", status=200):
        context = {
            "settings_row": SalesSettings.objects.filter(pk=1).first() or SalesSettings(),
            "pipelines": list(
                Pipeline.objects.annotate(open_deals=Count("deals", filter=OPEN_DEALS))
                .prefetch_related(Prefetch("stages", queryset=Stage.objects.order_by("position")))
                .order_by("position", "id")
            ),
            "loss_reasons": list(LossReason.objects.order_by("category", "name")),
            "categories": LossCategory.choices,
            "rejection_reasons": list(RejectionReason.objects.order_by("name")),
            "teams": list(Team.objects.prefetch_related("members").order_by("name")),
            "reps": list(reps().order_by("full_name", "id")),
            "problems": problems or [],
            "failed": failed,
            "posted": request.POST if problems else {},
        }
        return render(request, "sales/setup.html", context, status=status)

    def post(self, request):
        action = request.POST.get("action", "")
        handlers = {
            "hours": lambda: services.sales_settings_update(
                follow_up_hours=request.POST.get("follow_up_hours")
            ),
            "pipeline_create": lambda: services.pipeline_create(name=request.POST.get("name", "")),
            "loss_reason": lambda: services.loss_reason_create(
                category=request.POST.get("category", ""), name=request.POST.get("name", "")
            ),
            "rejection_reason": lambda: services.rejection_reason_create(name=request.POST.get("name", "")),
            "loss_active": lambda: services.reason_set_active(
                reason=posted_object_or_404(LossReason, request, "reason"),
                active=request.POST.get("active") == "1",
            ),
            "rejection_active": lambda: services.reason_set_active(
                reason=posted_object_or_404(RejectionReason, request, "reason"),
                active=request.POST.get("active") == "1",
            ),
            "team_create": lambda: services.team_create(name=request.POST.get("name", "")),
            "team_members": lambda: services.team_set_members(
                team=posted_object_or_404(Team, request, "team"), members=self._members(request)
            ),
            "team_delete": lambda: services.team_delete(team=posted_object_or_404(Team, request, "team")),
        }
        if action not in handlers:
            return self.get(request, problems=["Unknown action."], status=400)
        try:
            result = handlers[action]()
        except ValidationError as exc:
            return self.get(request, problems=_problems(exc), failed=action, status=400)
        if action == "pipeline_create":
            messages.success(request, f"Pipeline “{result.name}” created; add its stages.")
            return redirect("sales:setup_pipeline", pk=result.pk)
        messages.success(request, "Saved.")
        return redirect("sales:setup")

    @staticmethod
    def _members(request):
        ids = [value for value in request.POST.getlist("members") if is_id(value)]
        if len(ids) != len(request.POST.getlist("members")):
            raise ValidationError({"members": ["Choose members from the list."]})
        found = list(reps().filter(pk__in=ids))
        if len(found) != len(set(ids)):
            raise ValidationError({"members": ["Choose active sales users from the list."]})
        return found


class PipelineSetupView(SalesWritePage):
    def get(self, request, pk: int, problems=None, failed="", status=200):
        pipeline = get_object_or_404(Pipeline, pk=pk)
        stages = list(
            Stage.objects.filter(pipeline=pipeline)
            .annotate(open_deals=Count("deals", filter=OPEN_DEALS))
            .order_by("position", "id")
        )
        context = {
            "pipeline": pipeline,
            "stages": stages,
            "open_count": sum(1 for s in stages if s.kind == Stage.Kind.OPEN),
            "problems": problems or [],
            "failed": failed,
            "posted": request.POST if problems else {},
        }
        return render(request, "sales/setup_pipeline.html", context, status=status)

    def post(self, request, pk: int):
        pipeline = get_object_or_404(Pipeline, pk=pk)
        action = request.POST.get("action", "")
        post = request.POST

        def stage() -> Stage:
            return posted_object_or_404(Stage.objects.filter(pipeline=pipeline), request, "stage")

        handlers = {
            "pipeline": lambda: services.pipeline_update(
                pipeline=pipeline,
                name=post.get("name", ""),
                is_active=post.get("is_active") == "on",
                is_default=post.get("is_default") == "on",
            ),
            "stage_create": lambda: services.stage_create(
                pipeline=pipeline,
                data={k: post.get(k, "") for k in ("name", "probability", "expected_days") if k in post},
            ),
            "stage_update": lambda: services.stage_update(
                stage=stage(),
                data={k: post.get(k, "") for k in ("name", "probability", "expected_days") if k in post},
            ),
            "stage_move": lambda: services.stage_move(stage=stage(), direction=post.get("direction", "")),
            "stage_delete": lambda: services.stage_delete(stage=stage()),
        }
        if action not in handlers:
            return self.get(request, pk, problems=["Unknown action."], status=400)
        try:
            handlers[action]()
        except ValidationError as exc:
            return self.get(request, pk, problems=_problems(exc), failed=action, status=400)
        messages.success(request, "Saved.")
        return redirect("sales:setup_pipeline", pk=pk)
