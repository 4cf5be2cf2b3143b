from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from accounts.forms import apply_service_errors
from accounts.models import acting_user
from accounts.portal import ListPage, search_text

from .. import exports, selectors
from ..imports import columns
from ..imports.runner import errors_csv, import_job_create
from ..models import ImportJob, Segment
from .common import MarketingPage, MarketingWritePage, int_or_none


class ImportForm(forms.Form):
    kind = forms.ChoiceField(choices=ImportJob.Kind.choices, label="What the file holds")
    file = forms.FileField(help_text="A CSV export (UTF-8 or Excel's Windows encoding), up to 20 MB.")
    mapping = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "class": "mono"}),
        help_text="Optional. Columns are recognised from their names (HubSpot, Pipedrive, Salesforce and "
        "Tandem exports). To override, one line per column: Column name = field",
    )
    dry_run = forms.BooleanField(required=False, label="Dry run: check the file, write nothing")
    all_or_nothing = forms.BooleanField(
        required=False, label="All or nothing: import only if every row is valid"
    )

    def clean_mapping(self) -> dict[str, str] | None:
        text = self.cleaned_data.get("mapping", "").strip()
        if not text:
            return None
        mapping = {}
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            column, sep, field = line.partition("=")
            if not sep or not column.strip() or not field.strip():
                raise forms.ValidationError(f"Line {number}: write “Column name = field”.")
            mapping[column.strip()] = field.strip()
        return mapping


IMPORT_SORTS = {"created": ("created_at", "id"), "-created": ("-created_at", "-id")}


class ImportListView(MarketingWritePage):
    """The import wizard: upload, options, and the history of imports."""

    def get(self, request, form=None, status=200):
        listing = ListPage(
            request,
            ImportJob.objects.select_related("created_by"),
            sorts=IMPORT_SORTS,
            default="-created",
            per_page=10,
        )
        fields = {kind: columns.fields(kind) for kind in ImportJob.Kind.values}
        context = listing.context() | {"form": form or ImportForm(), "fields": fields}
        return render(request, "marketing/import_list.html", context, status=status)

    def post(self, request):
        form = ImportForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                job = import_job_create(
                    kind=form.cleaned_data["kind"],
                    uploaded_file=form.cleaned_data["file"],
                    mapping=form.cleaned_data["mapping"],
                    dry_run=form.cleaned_data["dry_run"],
                    all_or_nothing=form.cleaned_data["all_or_nothing"],
                    actor=acting_user(request),
                )
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.info(request, f"Importing {job.original_name}…")
                return redirect("marketing:import_detail", pk=job.pk)
        return self.get(request, form=form, status=400)


class ImportDetailView(MarketingWritePage):
    def get(self, request, pk: int):
        job = get_object_or_404(ImportJob.objects.select_related("created_by"), pk=pk)
        running = job.status in (ImportJob.Status.PENDING, ImportJob.Status.RUNNING)
        context = {
            "job": job,
            "errors": job.errors[:200],
            "running": running,
            "percent": int(job.processed_rows * 100 / job.total_rows) if job.total_rows else 0,
        }
        return render(request, "marketing/import_detail.html", context)


class ImportErrorsView(MarketingWritePage):
    def get(self, request, pk: int):
        job = get_object_or_404(ImportJob, pk=pk)
        response = HttpResponse(errors_csv(job), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="import-{job.pk}-errors.csv"'
        response["Cache-Control"] = "private, no-store"
        return response


class ExportView(MarketingPage):
    """Streaming CSV of a marketing list, with the list's filters; constant memory for any size."""

    @staticmethod
    def _segment(request) -> Segment | None:
        segment_id = int_or_none(request.GET.get("segment"))
        return Segment.objects.filter(pk=segment_id).first() if segment_id is not None else None

    def get(self, request, what: str):
        q = search_text(request)
        lists = {
            "contacts": lambda: exports.contacts_export(
                selectors.contact_list(
                    search=q,
                    segment=Segment.objects.filter(pk=int_or_none(request.GET.get("segment")) or 0).first(),
                )
            ),
            "companies": lambda: exports.companies_export(selectors.company_list(search=q)),
            "campaigns": lambda: exports.campaigns_export(selectors.campaign_list(search=q)),
            "touchpoints": lambda: exports.touchpoints_export(selectors.touchpoint_list()),
        }
        if what not in lists:
            raise Http404("Unknown export.")
        header, rows = lists[what]()
        return exports.export_response(f"{request.tenant.slug}-{what}", header, rows)
