"""Scheduled joint reports: the workspace's schedules, and for leadership and admins creating, pausing,
resuming and deleting them and a preview to oneself. Every other alignment reader sees the list
read-only; their posts are 403."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils import timezone

from accounts.forms import apply_service_errors
from accounts.portal import PortalView
from accounts.roles import Area

from .. import schedules
from ..models import ReportSchedule


class ScheduleForm(forms.Form):
    frequency = forms.ChoiceField(choices=ReportSchedule.Frequency.choices, initial="weekly")
    recipients = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 5, "spellcheck": "false", "autocomplete": "off"}),
        max_length=schedules.MAX_RECIPIENTS_TEXT,
        help_text=f"One email address per line, at most {schedules.MAX_RECIPIENTS}.",
    )


class PreviewForm(forms.Form):
    frequency = forms.ChoiceField(
        choices=ReportSchedule.Frequency.choices, initial="weekly", label="Report to preview"
    )


class SchedulePage(PortalView):
    area = Area.ALIGNMENT

    def can_manage(self) -> bool:
        return schedules.can_manage(self.request.user)


class ScheduleManagePage(SchedulePage):
    """Posting needs leadership or admin (on top of alignment write, which every role holds). Subclasses
    implement ``act`` and cannot replace ``post``, so the check is not optional."""

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        if "post" in cls.__dict__:
            raise TypeError(f"{cls.__name__} may not override post: implement act() instead.")

    def post(self, request, *args, **kwargs):
        if not self.can_manage():
            raise PermissionDenied
        return self.act(request, *args, **kwargs)

    def act(self, request, *args, **kwargs):  # pragma: no cover - every subclass implements it
        raise NotImplementedError


def _list_url() -> str:
    return reverse("alignment:schedules")


def _render_list(view: SchedulePage, request, *, form=None, preview_form=None, status: int = 200):
    # Queries: the schedules with their creators (one, joined), after the session and the user.
    rows = list(ReportSchedule.objects.select_related("created_by").order_by("id"))
    now = timezone.now()
    for schedule in rows:
        schedule.recipient_list = schedules.recipients_of(schedule)
        schedule.next_send = schedules.next_send_date(schedule, now)
    context = {
        "schedules": rows,
        "can_manage": view.can_manage(),
        "form": form or ScheduleForm(),
        "preview_form": preview_form or PreviewForm(),
        "max_schedules": schedules.MAX_SCHEDULES,
    }
    return render(request, "alignment/schedules/list.html", context, status=status)


class SchedulesView(ScheduleManagePage):
    def get(self, request):
        return _render_list(self, request)

    def act(self, request):
        form = ScheduleForm(request.POST)
        if form.is_valid():
            try:
                schedules.schedule_create(actor=request.user, data=form.cleaned_data)
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, "Scheduled report created.")
                return redirect(_list_url())
        return _render_list(self, request, form=form, status=400)


class ScheduleStateView(ScheduleManagePage):
    active = True

    def act(self, request, pk: int):
        schedule = get_object_or_404(ReportSchedule, pk=pk)
        schedules.schedule_update(schedule=schedule, actor=request.user, data={"is_active": self.active})
        messages.success(request, "Scheduled report resumed." if self.active else "Scheduled report paused.")
        return redirect(_list_url())


class ScheduleDeleteView(ScheduleManagePage):
    def act(self, request, pk: int):
        schedule = get_object_or_404(ReportSchedule, pk=pk)
        schedules.schedule_delete(schedule=schedule, actor=request.user)
        messages.success(request, "Scheduled report deleted.")
        return redirect(_list_url())


class SchedulePreviewView(ScheduleManagePage):
    def act(self, request):
        form = PreviewForm(request.POST)
        status = 400
        if form.is_valid():
            try:
                schedules.report_preview_send(actor=request.user, frequency=form.cleaned_data["frequency"])
            except ValidationError as exc:
                if schedules.is_throttled(exc):
                    status = 429
                apply_service_errors(form, exc)
            else:
                messages.success(request, f"A preview is on its way to {request.user.email}.")
                return redirect(_list_url())
        return _render_list(self, request, preview_form=form, status=status)


urlpatterns = [
    path("reports/schedules/", SchedulesView.as_view(), name="schedules"),
    path("reports/schedules/preview/", SchedulePreviewView.as_view(), name="schedule_preview"),
    path(
        "reports/schedules/<int:pk>/pause/",
        ScheduleStateView.as_view(active=False),
        name="schedule_pause",
    ),
    path(
        "reports/schedules/<int:pk>/resume/",
        ScheduleStateView.as_view(active=True),
        name="schedule_resume",
    ),
    path("reports/schedules/<int:pk>/delete/", ScheduleDeleteView.as_view(), name="schedule_delete"),
]
