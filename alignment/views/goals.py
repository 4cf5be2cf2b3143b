"""Shared goals in the portal: the goal tree with progress, a goal's page (progress against the pace line,
plan against actual week by week, the reverse-funnel proposals for its sub-goals), and creating, changing
and deleting goals. Every alignment user reads them; the roles that write alignment (all of them) change
them."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils import timezone

from accounts.forms import apply_service_errors
from accounts.models import User
from accounts.portal import PortalView
from accounts.roles import Area, Role

from .. import goals, registry
from ..models import AttributionModel, Goal, GoalPeriod, PageVisit
from ..services import page_visit_record
from .reports import display

PARENTS = Goal.objects.only("id", "name", "period", "period_start")  # the choices for a goal's parent
STATUS_BADGE = {
    Goal.Status.ON_TRACK: "badge-green",
    Goal.Status.AT_RISK: "badge-amber",
    Goal.Status.OFF_TRACK: "badge-red",
    Goal.Status.NO_DATA: "badge-grey",
}


def _owner_choices() -> list[tuple[int, str]]:
    users = (
        User.objects.filter(is_active=True)
        .order_by("full_name", "id")
        .only("id", "full_name", "email", "roles")
    )
    teams = (Role.MARKETING, Role.SALES, Role.LEADERSHIP)
    choices = []
    for user in users:
        roles = ", ".join(r for r in user.roles if r in teams) or "admin"
        choices.append((user.pk, f"{user.full_name or user.email} ({roles})"))
    return choices


class GoalForm(forms.Form):
    name = forms.CharField(max_length=150)
    metric = forms.ChoiceField(choices=())
    model = forms.ChoiceField(
        choices=[("", "—"), *AttributionModel.choices],
        required=False,
        help_text="Only for attribution metrics",
    )
    period = forms.ChoiceField(choices=GoalPeriod.choices, initial=GoalPeriod.QUARTER)
    period_start = forms.DateField(
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="The first day of the month, quarter or year",
    )
    target = forms.DecimalField(max_digits=20, decimal_places=6)
    baseline = forms.DecimalField(
        max_digits=20, decimal_places=6, required=False, help_text="Where the metric stands today (optional)"
    )
    owners = forms.TypedMultipleChoiceField(
        coerce=int,
        choices=(),
        widget=forms.SelectMultiple(attrs={"size": 6}),
        help_text="At least one person from marketing and one from sales",
    )
    parent = forms.TypedChoiceField(coerce=int, empty_value=None, required=False, choices=())
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False, max_length=5000)

    def __init__(self, *args, parents=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["metric"].choices = goals.metric_choices()
        self.fields["owners"].choices = _owner_choices()
        self.fields["parent"].choices = [("", "— none (a top-level goal)")] + [
            (g.pk, f"{g.name} ({goals.period_label(g.period, g.period_start)})") for g in parents
        ]


def _decorate(goal: Goal) -> Goal:
    metric = registry.REGISTRY.get(goal.metric)
    unit = metric.unit if metric else "count"
    goal.metric_label = metric.label if metric else goal.metric
    goal.period_text = goals.period_label(goal.period, goal.period_start)
    goal.badge = STATUS_BADGE.get(goal.status, "badge-grey")
    goal.shown = {
        "target": display(goal.target, unit),
        "actual": display(goal.actual, unit),
        "expected": display(goal.expected, unit),
        "baseline": display(goal.baseline, unit),
    }
    share = None
    if goal.actual is not None and goal.target:
        share = max(Decimal(0), min(Decimal(1), goal.actual / goal.target))
    goal.bar = None if share is None else int(share * 100)
    return goal


class GoalsView(PortalView):
    area = Area.ALIGNMENT

    def get(self, request):
        page_visit_record(user=request.user, page=PageVisit.Page.GOALS)
        return self.render_list(request, GoalForm(parents=self.parents(), initial=self.initial()))

    def post(self, request):
        form = GoalForm(request.POST, parents=self.parents())
        if form.is_valid():
            try:
                goal = goals.goal_create(actor=request.user, data=form.cleaned_data)
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, f"Goal '{goal.name}' created.")
                return redirect(reverse("alignment:goal", args=[goal.pk]))
        return self.render_list(request, form, status=400)

    def parents(self) -> list[Goal]:
        return list(PARENTS.order_by("-period_start", "name"))

    def initial(self) -> dict:
        today = timezone.now().date()
        return {"period_start": goals.period_of(GoalPeriod.QUARTER, today)}

    def render_list(self, request, form, *, status: int = 200):
        status_filter = request.GET.get("status", "")
        rows = goals.goal_list()
        if status_filter in Goal.Status.values:
            rows = rows.filter(status=status_filter)
        tree = [(_decorate(goal), depth) for goal, depth in goals.goal_tree(list(rows))]
        context = {
            "tree": tree,
            "form": form,
            "can_write": self.can_write(),
            "statuses": Goal.Status.choices,
            "status_filter": status_filter,
        }
        return render(request, "alignment/goals/list.html", context, status=status)


class GoalView(PortalView):
    area = Area.ALIGNMENT

    def get(self, request, pk: int):
        goal = self.goal(pk)
        page_visit_record(user=request.user, page=PageVisit.Page.GOALS)
        return self.render_goal(request, goal)

    def goal(self, pk: int) -> Goal:
        return get_object_or_404(goals.goal_list(), pk=pk)

    def render_goal(self, request, goal: Goal, *, form=None, status: int = 200):
        _decorate(goal)
        unit = registry.REGISTRY[goal.metric].unit
        weeks = [
            {
                "start": week.start,
                "actual": week.actual,
                "gap": week.gap,
                "shown": {
                    "planned": display(week.planned, unit),
                    "actual": display(week.actual, unit),
                    "gap": display(week.gap, unit),
                },
            }
            for week in goals.weekly_gap(goal)
        ]
        proposals = []
        if goal.metric in goals.FUNNEL_CHAIN:
            history = goals.funnel_history(goal.period_start)
            proposals = [
                {
                    "proposal": p,
                    "label": registry.REGISTRY[p.metric].label,
                    "shown": display(p.target, "count"),
                }
                for p in goals.plan(goal.metric, goal.target, history)
            ]
        children = goals.goal_list().filter(parent=goal).order_by("name", "id")
        children = [_decorate(child) for child in children]
        parents = list(PARENTS.exclude(pk=goal.pk))
        if form is None:
            form = GoalForm(
                parents=parents,
                initial={
                    **{name: getattr(goal, name) for name in goals.FIELDS if name != "parent"},
                    "parent": goal.parent_id,
                    "owners": [u.pk for u in goal.owners.all()],
                },
            )
        context = {
            "goal": goal,
            "metric": registry.REGISTRY[goal.metric],
            "weeks": weeks,
            "proposals": proposals,
            "children": children,
            "form": form,
            "can_write": self.can_write(),
            "elapsed": int(goals.elapsed(goal.period, goal.period_start, timezone.now()) * 100),
        }
        return render(request, "alignment/goals/detail.html", context, status=status)


class GoalEditView(GoalView):
    http_method_names = ["post"]

    def post(self, request, pk: int):
        goal = self.goal(pk)
        parents = list(PARENTS.exclude(pk=goal.pk))
        form = GoalForm(request.POST, parents=parents)
        if form.is_valid():
            try:
                goals.goal_update(goal=goal, actor=request.user, data=form.cleaned_data)
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, "Goal saved.")
                return redirect(reverse("alignment:goal", args=[goal.pk]))
        return self.render_goal(request, self.goal(pk), form=form, status=400)


class GoalDeleteView(GoalView):
    http_method_names = ["post"]

    def post(self, request, pk: int):
        goal = self.goal(pk)
        goals.goal_delete(goal=goal, actor=request.user)
        messages.success(request, f"Goal '{goal.name}' deleted; its sub-goals are top-level goals now.")
        return redirect(reverse("alignment:goals"))


class GoalPlanView(GoalView):
    """Create the proposed sub-goals (the ones ticked) under a goal, with its period and owners."""

    http_method_names = ["post"]

    def post(self, request, pk: int):
        goal = self.goal(pk)
        wanted = set(request.POST.getlist("metric"))
        history = goals.funnel_history(goal.period_start)
        proposals = [p for p in goals.plan(goal.metric, goal.target, history) if p.target is not None]
        chosen = [p for p in proposals if p.metric in wanted]
        if not chosen:
            messages.error(request, "Tick at least one proposed sub-goal.")
            return redirect(reverse("alignment:goal", args=[goal.pk]))
        try:
            with transaction.atomic():  # all the ticked sub-goals, or none
                self.create(request, goal, chosen)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return redirect(reverse("alignment:goal", args=[goal.pk]))
        messages.success(request, f"{len(chosen)} sub-goal(s) created from the plan.")
        return redirect(reverse("alignment:goal", args=[goal.pk]))

    def create(self, request, goal: Goal, chosen: list) -> None:
        owners = [u.pk for u in goal.owners.all()]
        period = goals.period_label(goal.period, goal.period_start)
        for proposal in chosen:
            goals.goal_create(
                actor=request.user,
                data={
                    "name": f"{registry.REGISTRY[proposal.metric].label} {period}",
                    "metric": proposal.metric,
                    "period": goal.period,
                    "period_start": goal.period_start,
                    "target": proposal.target,
                    "owners": owners,
                    "parent": goal.pk,
                    "description": f"Planned from '{goal.name}': {proposal.note}.",
                },
            )


urlpatterns = [
    path("goals/", GoalsView.as_view(), name="goals"),
    path("goals/<int:pk>/", GoalView.as_view(), name="goal"),
    path("goals/<int:pk>/edit/", GoalEditView.as_view(), name="goal_edit"),
    path("goals/<int:pk>/delete/", GoalDeleteView.as_view(), name="goal_delete"),
    path("goals/<int:pk>/plan/", GoalPlanView.as_view(), name="goal_plan"),
]
