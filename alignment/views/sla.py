"""The SLA page: the sales side per rep and team (speed and follow-through) and the marketing side (volume
and acceptance against the commitment) for a month, the breaches still open, and the calendar and policies,
which leadership and admins change."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils import timezone

from accounts.forms import apply_service_errors
from accounts.portal import ListPage, PortalView
from accounts.roles import Area

from .. import sla, sla_report
from ..business_time import add_business_hours
from ..models import GoalPeriod, PageVisit, SlaPolicy
from ..services import page_visit_record

WEEKDAYS = [(1, "Mon"), (2, "Tue"), (3, "Wed"), (4, "Thu"), (5, "Fri"), (6, "Sat"), (7, "Sun")]


class CalendarForm(forms.Form):
    time_zone = forms.CharField(max_length=64, help_text="A region zone such as Europe/Berlin, or UTC")
    working_days = forms.TypedMultipleChoiceField(
        coerce=int, choices=WEEKDAYS, widget=forms.CheckboxSelectMultiple
    )
    day_start = forms.TimeField(widget=forms.TimeInput(attrs={"type": "time"}))
    day_end = forms.TimeField(widget=forms.TimeInput(attrs={"type": "time"}))
    holidays = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One date per line, YYYY-MM-DD",
    )

    def clean_holidays(self) -> list[dt.date]:
        days = []
        for line in self.cleaned_data.get("holidays", "").replace(",", "\n").splitlines():
            if line.strip():
                try:
                    days.append(dt.date.fromisoformat(line.strip()))
                except ValueError as exc:
                    raise forms.ValidationError(f"Not a date: {line.strip()[:30]} (use YYYY-MM-DD).") from exc
        if len(days) > 366:
            raise forms.ValidationError("At most 366 holidays.")
        return days


class PolicyForm(forms.ModelForm):
    class Meta:
        model = SlaPolicy
        fields = list(sla.POLICY_FIELDS)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["commitment_period"].choices = [
            (GoalPeriod.MONTH, "Month"),
            (GoalPeriod.QUARTER, "Quarter"),
        ]


class SlaView(PortalView):
    area = Area.ALIGNMENT

    def get(self, request):
        page_visit_record(user=request.user, page=PageVisit.Page.SLA)
        return self.render_page(request)

    def month(self) -> dt.date:
        raw = self.request.GET.get("month", "")
        try:
            return dt.date.fromisoformat(f"{raw}-01") if raw else timezone.now().date().replace(day=1)
        except ValueError:
            return timezone.now().date().replace(day=1)

    def render_page(self, request, *, calendar_form=None, policy_form=None, status: int = 200):
        month = self.month()
        start, end = sla_report.month_range(month)
        cal = sla.calendar()
        page = ListPage(
            request,
            sla.open_breaches().select_related("contact", "owner"),
            sorts={"new": ("-mql_at", "-id")},
            default="new",
        )
        for clock in page.page:
            clock.touch_due = add_business_hours(clock.mql_at, clock.first_touch_hours, cal)
            clock.decision_due = add_business_hours(clock.mql_at, clock.decision_hours, cal)
        row = sla.calendar_row()
        context = {
            "month": month,
            "previous": (start - dt.timedelta(days=1)).replace(day=1),
            "next": end,
            "sales": sla_report.sales_side(start, end),
            "marketing": sla_report.marketing_side(start),
            "page": page,
            "calendar": row,
            "policies": SlaPolicy.objects.select_related("segment", "team").order_by("-is_active", "id"),
            "can_manage": sla.can_manage(request.user),
            "calendar_form": calendar_form
            or CalendarForm(
                initial={
                    "time_zone": row.time_zone,
                    "working_days": row.working_days,
                    "day_start": row.day_start,
                    "day_end": row.day_end,
                    "holidays": "\n".join(d.isoformat() for d in row.holidays),
                }
            ),
            "policy_form": policy_form or PolicyForm(),
        }
        return render(request, "alignment/sla.html", context, status=status)


class SlaManageView(SlaView):
    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        if not sla.can_manage(request.user):
            raise PermissionDenied
        return self.act(request, *args, **kwargs)


class CalendarView(SlaManageView):
    def act(self, request):
        form = CalendarForm(request.POST)
        if form.is_valid():
            try:
                sla.calendar_update(actor=request.user, data=form.cleaned_data)
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, "Business calendar saved.")
                return redirect(reverse("alignment:sla"))
        return self.render_page(request, calendar_form=form, status=400)


class PolicyCreateView(SlaManageView):
    def act(self, request):
        form = PolicyForm(request.POST)
        if form.is_valid():
            try:
                sla.policy_save(actor=request.user, data=form.cleaned_data)
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, "SLA policy saved.")
                return redirect(reverse("alignment:sla"))
        return self.render_page(request, policy_form=form, status=400)


class PolicyDeactivateView(SlaManageView):
    def act(self, request, pk: int):
        policy = get_object_or_404(SlaPolicy, pk=pk)
        sla.policy_deactivate(actor=request.user, policy=policy)
        messages.success(request, f"Policy '{policy.name}' switched off; running clocks keep their hours.")
        return redirect(reverse("alignment:sla"))


urlpatterns = [
    path("sla/", SlaView.as_view(), name="sla"),
    path("sla/calendar/", CalendarView.as_view(), name="sla_calendar"),
    path("sla/policies/", PolicyCreateView.as_view(), name="sla_policy_create"),
    path("sla/policies/<int:pk>/deactivate/", PolicyDeactivateView.as_view(), name="sla_policy_deactivate"),
]
