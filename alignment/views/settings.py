"""Alignment settings: the metric definitions (current version, who changed them and when, the history),
the form that stores a new version, the rate-limited "Recompute now" button and the last engine runs.

Who may change them: every role with write access to the alignment area (``accounts.roles``: today all
four roles, because the definitions are the numbers both teams agree on). Roles that only read the area
see the page without the form or the button, and their posts are refused by ``PortalView``.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import path, reverse

from accounts.forms import apply_service_errors
from accounts.models import acting_user
from accounts.portal import PortalView
from accounts.roles import Area

from ..models import DefinitionVersion, EngineRun, RecomputeRequest
from ..services import (
    DEFINITION_FIELDS,
    TEXT_FIELDS,
    current_definition,
    definition_update,
    definition_values,
    recompute_request,
    reporting_definition,
)

HISTORY = 20  # versions shown; the API lists every one
RUNS = 10

LABELS = {
    "cohort_window_days": "Cohort window W (days)",
    "influence_lookback_days": "Influence lookback L (days)",
    "attribution_lookback_days": "Attribution lookback (days)",
    "time_decay_half_life_days": "Time-decay half-life (days)",
    "gross_margin": "Gross margin (share, 0.8 = 80%)",
    "sales_cost_per_month": "Sales cost per month",
    "lifetime_cap_months": "LTV lifetime cap (months)",
    "trailing_window_days": "Pipeline velocity trailing window (days)",
    "quality_weight_acceptance": "Lead quality weight: acceptance rate",
    "quality_weight_sql_rate": "Lead quality weight: SQL rate",
    "quality_weight_win_rate": "Lead quality weight: win rate",
    "quality_weight_deal_size": "Lead quality weight: average deal size",
    "score_weight_sla": "Alignment score weight: SLA attainment (both sides)",
    "score_weight_acceptance": "Alignment score weight: MQL acceptance rate",
    "score_weight_loss_reasons": "Alignment score weight: loss-reason coverage",
    "score_weight_feedback": "Alignment score weight: feedback closure",
    "score_weight_goals": "Alignment score weight: joint goal attainment",
    "score_weight_attribution": "Alignment score weight: attribution coverage",
    "mql_rule": "MQL rule",
    "sql_rule": "SQL rule",
}


def _label(name: str) -> str:
    return LABELS.get(name) or DefinitionVersion._meta.get_field(name).verbose_name.capitalize()


class DefinitionForm(forms.Form):
    """Every setting as typed text: the service checks the values (one set of rules and messages for the
    page and the API), and a refused form shows exactly what was typed."""

    def __init__(self, *args, current: DefinitionVersion, **kwargs):
        super().__init__(*args, initial=definition_values(current), **kwargs)
        for name, (kind, low, high) in DEFINITION_FIELDS.items():
            model_help = DefinitionVersion._meta.get_field(name).help_text
            bounds = f"{'A whole number' if kind == 'int' else 'A number'} from {low} to {high}."
            self.fields[name] = forms.CharField(
                label=_label(name),
                required=False,
                help_text=f"{model_help}. {bounds}" if model_help else bounds,
                widget=forms.TextInput(attrs={"inputmode": "numeric" if kind == "int" else "decimal"}),
            )
        for name in TEXT_FIELDS:
            self.fields[name] = forms.CharField(
                label=_label(name),
                required=False,
                help_text="How the rule is described in reports (1 to 200 characters).",
                widget=forms.TextInput(attrs={"maxlength": 200}),
            )


def _changes(version: DefinitionVersion, older: DefinitionVersion | None) -> list[tuple[str, object, object]]:
    if older is None:
        return []
    new, old = definition_values(version), definition_values(older)
    return [(_label(name), old[name], new[name]) for name in new if new[name] != old[name]]


class MetricSettingsView(PortalView):
    area = Area.ALIGNMENT

    def get(self, request, form: DefinitionForm | None = None, status: int = 200):
        newest_first = DefinitionVersion.objects.select_related("created_by").order_by("-id")
        versions = list(newest_first[: HISTORY + 1])
        if not versions:  # the defaults become the first version on first use
            current_definition()
            versions = list(newest_first[: HISTORY + 1])
        current = versions[0]
        history = [
            {
                "version": version,
                "changes": _changes(version, versions[index + 1] if index + 1 < len(versions) else None),
                "first": index + 1 == len(versions) and len(versions) <= HISTORY,
            }
            for index, version in enumerate(versions[:HISTORY])
        ]
        runs = list(EngineRun.objects.order_by("-started_at", "-id")[:RUNS])
        for run in runs:
            run.duration = (run.finished_at - run.started_at).total_seconds() if run.finished_at else None
        can_write = self.can_write()
        context = {
            "current": current,
            "settings": [(_label(name), value) for name, value in definition_values(current).items()],
            "reporting": reporting_definition(),
            "history": history,
            "more_history": len(versions) > HISTORY,
            "runs": runs,
            "last_recompute": RecomputeRequest.objects.select_related("requested_by").first(),
            "form": (form or DefinitionForm(current=current)) if can_write else None,
            "can_write": can_write,
        }
        return render(request, "alignment/settings/metrics.html", context, status=status)

    def post(self, request):
        """Store the changed settings as a new version (posting needs alignment write access)."""
        current = current_definition()
        form = DefinitionForm(request.POST, current=current)
        if form.is_valid():
            try:
                version = definition_update(actor=acting_user(request), data=form.cleaned_data)
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                if version.pk == current.pk:
                    messages.info(request, "Nothing changed, so no new version was stored.")
                else:
                    messages.success(
                        request,
                        f"Saved as version {version.pk}. A full recompute is queued; the reports switch to "
                        "the new version when it has finished.",
                    )
                return redirect("alignment:settings_metrics")
        return self.get(request, form=form, status=400)


class RecomputeView(PortalView):
    area = Area.ALIGNMENT
    http_method_names = ["post"]

    def post(self, request):
        try:
            recompute_request(actor=acting_user(request))
        except ValidationError as exc:
            messages.error(request, " ".join(exc.message_dict.get("non_field_errors", exc.messages)))
        else:
            messages.success(request, "Recompute queued: every metric is computed again in the background.")
        return redirect(reverse("alignment:settings_metrics") + "#recompute")


urlpatterns = [
    path("settings/metrics/", MetricSettingsView.as_view(), name="settings_metrics"),
    path("settings/metrics/recompute/", RecomputeView.as_view(), name="settings_recompute"),
]
