from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import connection
from django.shortcuts import redirect, render

from accounts.forms import apply_service_errors
from accounts.models import acting_user
from accounts.portal import posted_object_or_404
from accounts.throttle import over_limit
from config.validation import is_id

from .. import selectors
from ..models import ScoringRule, TouchpointKind
from ..segments import FIELDS
from ..services import scoring as services
from .common import MarketingPage

LIST_OPS = ("in", "not_in", "has_any", "has_all")


class FitRuleForm(forms.Form):
    name = forms.CharField(max_length=200)
    field = forms.ChoiceField(choices=[(name, f.label) for name, f in FIELDS.items()])
    op = forms.ChoiceField(
        choices=[(op, op.replace("_", " ")) for op in sorted({o for f in FIELDS.values() for o in f.ops})]
    )
    value = forms.CharField(required=False, max_length=500, help_text="Comma-separated for lists")
    points = forms.IntegerField(min_value=-1000, max_value=1000)

    def rule_data(self) -> dict:
        data = self.cleaned_data
        value = data["value"]
        if data["op"] in LIST_OPS or data["op"] == "between":
            value = [part.strip() for part in value.split(",") if part.strip()]
        elif (FIELDS[data["field"]].kind == "number" or data["op"] == "within_days") and is_id(
            value.removeprefix("-")
        ):
            value = int(value)
        return {
            "name": data["name"],
            "kind": "fit",
            "points": data["points"],
            "condition": {"field": data["field"], "op": data["op"], "value": value},
        }


class EngagementRuleForm(forms.Form):
    name = forms.CharField(max_length=200)
    touch_kind = forms.ChoiceField(choices=TouchpointKind.choices, label="Touchpoint")
    points = forms.IntegerField(min_value=-1000, max_value=1000)
    window_days = forms.IntegerField(min_value=1, max_value=3650, initial=90, label="Counted for (days)")
    half_life_days = forms.IntegerField(
        min_value=0, max_value=3650, initial=30, label="Half-life (days, 0 = no decay)"
    )

    def rule_data(self) -> dict:
        return {**self.cleaned_data, "kind": "engagement"}


class MqlRuleForm(forms.Form):
    score_threshold = forms.IntegerField(min_value=0, max_value=10_000, label="MQL at score")
    note = forms.CharField(required=False, max_length=200, help_text="Why it changed (kept with the version)")


class ScoringView(MarketingPage):
    """Scoring rules and the MQL rule. Reading is open to marketing readers; changes need write."""

    def get(self, request, fit=None, engagement=None, mql=None, status=200):
        current = services.mql_rule_current()
        context = {
            "rules": list(selectors.scoring_rule_list()),
            "history": list(selectors.mql_rule_history()[:10]),
            "current": current,
            "fit_form": fit or FitRuleForm(),
            "engagement_form": engagement or EngagementRuleForm(),
            "mql_form": mql or MqlRuleForm(initial={"score_threshold": current.score_threshold}),
            "can_write": self.can_write(),
        }
        return render(request, "marketing/scoring.html", context, status=status)

    def post(self, request):
        action = request.POST.get("action")
        if action == "delete":
            services.scoring_rule_delete(rule=posted_object_or_404(ScoringRule, request, "rule"))
            messages.info(request, "Rule deleted. Scores change at the next recompute.")
            return redirect("marketing:scoring")
        if action == "recompute":
            if over_limit("rescore-request", limit=3, window_seconds=3600):
                messages.error(request, "Scores were recomputed recently; try again within the hour.")
            else:
                from config.outbox import enqueue

                from ..tasks import rescore_all

                enqueue(rescore_all, connection.schema_name)
                messages.success(request, "Recomputing every score; it takes a few seconds.")
            return redirect("marketing:scoring")
        forms_by_action = {"fit": FitRuleForm, "engagement": EngagementRuleForm, "mql": MqlRuleForm}
        if action not in forms_by_action:
            messages.error(request, "Unknown action.")
            return redirect("marketing:scoring")
        form = forms_by_action[action](request.POST)
        if form.is_valid():
            try:
                if action == "mql":
                    rule = services.mql_rule_update(actor=acting_user(request), **form.cleaned_data)
                    messages.success(request, f"MQL rule version {rule.version} is in force.")
                else:
                    services.scoring_rule_create(data=form.rule_data())
                    messages.success(request, "Rule added. Scores change at the next recompute.")
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                return redirect("marketing:scoring")
        return self.get(request, status=400, **{action: form})
