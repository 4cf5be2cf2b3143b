"""Quotas and forecast: targets per rep and team for a month or quarter, attainment, and each rep's
forecast (won + commit) against quota."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone

from accounts.forms import apply_service_errors

from .. import reports
from ..models import Quota, Team
from ..services.leads import reps
from ..services.quotas import quota_delete, quota_set
from .common import SalesPage, SalesWritePage


def _period_from(request) -> tuple[str, dt.date]:
    """The period the page shows: ``?period=month|quarter&start=YYYY-MM-DD``; a bad value falls back to
    the current quarter (or month), aligned to its first day."""
    source = request.POST if request.method == "POST" else request.GET
    period = source.get("period") if source.get("period") in Quota.Period.values else "quarter"
    try:
        day = dt.date.fromisoformat(source.get("start", ""))
    except ValueError:
        day = timezone.now().date()
    if period == "quarter":
        return period, reports.quarter_bounds(day)[0]
    return period, day.replace(day=1)


def _shift(period: str, start: dt.date, steps: int) -> dt.date:
    months = (3 if period == "quarter" else 1) * steps
    index = start.year * 12 + start.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def _label(period: str, start: dt.date) -> str:
    if period == "quarter":
        return f"Q{(start.month - 1) // 3 + 1} {start.year}"
    return start.strftime("%B %Y")


class QuotaForm(forms.Form):
    assignee = forms.ChoiceField(label="Rep or team")
    metric = forms.ChoiceField(choices=Quota.Metric.choices, initial=Quota.Metric.REVENUE_WON)
    target = forms.DecimalField(max_digits=14, decimal_places=2, min_value=0)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].choices = [
            ("Reps", [(f"rep:{u.pk}", str(u)) for u in reps().order_by("full_name", "id")]),
            ("Teams", [(f"team:{t.pk}", t.name) for t in Team.objects.order_by("name")]),
        ]

    def owner_and_team(self):
        """The chosen rep or team; the choice list was checked by the field, so both exist."""
        kind, _, pk = self.cleaned_data["assignee"].partition(":")
        if kind == "rep":
            return reps().get(pk=pk), None
        return None, Team.objects.get(pk=pk)


class QuotasView(SalesPage):
    def get(self, request, form=None, status=200):
        period, start = _period_from(request)
        end = reports.period_end(period, start)
        quotas = list(
            reports.quota_attainment(
                Quota.objects.filter(period=period, period_start=start).select_related("owner", "team")
            ).order_by("team__name", "owner__full_name", "metric", "id")
        )
        for quota in quotas:
            quota.percent = int(quota.attainment * 100) if quota.attainment is not None else None
        forecast = reports.forecast_by_rep(start=start, end=end)
        for row in forecast:
            row["percent"] = int(row["forecast_attainment"] * 100) if row["forecast_attainment"] else None
        context = {
            "period": period,
            "start": start,
            "end": end,
            "label": _label(period, start),
            "previous": _shift(period, start, -1),
            "next": _shift(period, start, 1),
            "quotas": quotas,
            "forecast": forecast,
            "form": form or QuotaForm(),
            "can_write": self.can_write(),
        }
        return render(request, "sales/quotas.html", context, status=status)

    def post(self, request):
        """Set (create or replace) a quota for the period on screen; posting needs sales write access."""
        period, start = _period_from(request)
        back = f"{reverse('sales:quotas')}?period={period}&start={start.isoformat()}"
        form = QuotaForm(request.POST)
        if form.is_valid():
            try:
                owner, team = form.owner_and_team()
                quota_set(
                    owner=owner,
                    team=team,
                    period=period,
                    period_start=start,
                    metric=form.cleaned_data["metric"],
                    target=form.cleaned_data["target"],
                )
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, f"Quota set for {_label(period, start)}.")
                return redirect(back)
        return self.get(request, form=form, status=400)


class QuotaDeleteView(SalesWritePage):
    def post(self, request, pk: int):
        quota = get_object_or_404(Quota, pk=pk)
        back = f"{reverse('sales:quotas')}?period={quota.period}&start={quota.period_start.isoformat()}"
        quota_delete(quota=quota)
        messages.success(request, "Quota removed.")
        return redirect(back)
