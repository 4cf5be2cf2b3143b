from __future__ import annotations

import json

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render

from accounts import audit
from accounts.forms import apply_service_errors
from accounts.models import acting_user
from accounts.portal import ListPage, search_text
from config.charts import chart_config

from .. import selectors
from ..forms import SegmentForm
from ..models import Campaign, Segment
from ..models.campaigns import Channel
from ..models.touchpoints import TouchpointKind
from ..segments import ENGAGEMENT_OPS, FIELDS, segment_count
from ..services import segments as services
from .common import MarketingPage, MarketingWritePage

SEGMENT_SORTS = {
    "name": ("name", "id"),
    "-name": ("-name", "-id"),
    "size": ("last_count", "id"),
    "-size": ("-last_count", "-id"),
    "updated": ("updated_at", "id"),
    "-updated": ("-updated_at", "-id"),
}


def builder_schema() -> dict:
    """What the segment builder offers: fields with their operators and choices, and engagement."""
    return {
        "fields": [
            {
                "name": name,
                "label": field.label,
                "kind": field.kind,
                "ops": list(field.ops),
                "choices": list(field.choices),
            }
            for name, field in FIELDS.items()
        ],
        "engagement": {
            "ops": list(ENGAGEMENT_OPS),
            "kinds": [[value, label] for value, label in TouchpointKind.choices],
            "channels": [[value, label] for value, label in Channel.choices],
            "campaigns": [
                [c.pk, c.name] for c in Campaign.objects.order_by("-start_date").only("id", "name")[:300]
            ],
        },
    }


class SegmentListView(MarketingPage):
    def get(self, request):
        listing = ListPage(
            request,
            selectors.segment_list(search=search_text(request)),
            sorts=SEGMENT_SORTS,
            default="name",
        )
        return render(
            request, "marketing/segment_list.html", listing.context() | {"can_write": self.can_write()}
        )


class _BuilderPage(MarketingWritePage):
    def render_builder(self, request, form, segment=None, status=200):
        context = {"form": form, "segment": segment, "schema": builder_schema()}
        return render(request, "marketing/segment_form.html", context, status=status)


class SegmentCreateView(_BuilderPage):
    def get(self, request):
        return self.render_builder(request, SegmentForm())

    def post(self, request):
        form = SegmentForm(request.POST)
        if form.is_valid():
            try:
                segment = services.segment_create(data=form.cleaned_data, actor=acting_user(request))
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, f"Segment “{segment.name}” saved: {segment.last_count} contacts.")
                return redirect("marketing:segment_detail", pk=segment.pk)
        return self.render_builder(request, form, status=400)


class SegmentEditView(_BuilderPage):
    def get(self, request, pk: int):
        segment = get_object_or_404(Segment, pk=pk)
        form = SegmentForm(
            initial={
                "name": segment.name,
                "description": segment.description,
                "kind": segment.kind,
                "definition": json.dumps(segment.definition),
            }
        )
        return self.render_builder(request, form, segment)

    def post(self, request, pk: int):
        segment = get_object_or_404(Segment, pk=pk)
        if "delete" in request.POST:
            services.segment_delete(segment=segment)
            messages.info(request, f"Segment “{segment.name}” deleted.")
            return redirect("marketing:segment_list")
        form = SegmentForm(request.POST)
        if form.is_valid():
            try:
                services.segment_update(segment=segment, data=form.cleaned_data)
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, "Segment saved.")
                return redirect("marketing:segment_detail", pk=pk)
        return self.render_builder(request, form, segment, status=400)


class SegmentDetailView(MarketingPage):
    def get(self, request, pk: int):
        segment = get_object_or_404(Segment, pk=pk)
        members = ListPage(
            request, selectors.segment_members(segment), sorts={"email": ("email",)}, default="email"
        )
        history = list(segment.snapshots.order_by("-date")[:90])[::-1]
        chart = (
            chart_config(
                "line",
                [s.date.strftime("%d %b") for s in history],
                [{"label": "Contacts", "data": [s.size for s in history]}],
            )
            if len(history) > 1
            else None
        )
        context = members.context() | {
            "segment": segment,
            "chart": chart,
            "can_write": self.can_write(),
            "campaigns": list(segment.campaigns.only("id", "name")[:20]),
        }
        return render(request, "marketing/segment_detail.html", context)


def _emails_from_upload(upload) -> list[str]:
    """The email column of an uploaded CSV (any export Tandem's importer reads)."""
    from ..imports import columns
    from ..imports.reader import read_csv

    csv_file = read_csv(upload.read(5 * 1024 * 1024 + 1)[: 5 * 1024 * 1024])
    mapping = columns.suggest_mapping("contacts", csv_file.header)
    column = next((col for col, field in mapping.items() if field == "email"), None)
    if column is None:
        raise ValidationError({"file": ["The file has no email column."]})
    index = csv_file.header.index(column)
    return [row.cells[index] for row in csv_file.rows() if hasattr(row, "cells") and len(row.cells) > index]


class SegmentMembersView(MarketingWritePage):
    """Fill a static list by hand (pasted emails) or from a CSV file's email column."""

    def post(self, request, pk: int):
        segment = get_object_or_404(Segment, pk=pk, kind=Segment.Kind.STATIC)
        emails = request.POST.get("emails", "").replace(",", "\n").replace(";", "\n").splitlines()
        try:
            if request.FILES.get("file"):
                emails += _emails_from_upload(request.FILES["file"])
            added, unknown = services.segment_add_members_by_email(segment=segment, emails=emails)
        except ValidationError as exc:
            messages.error(request, " ".join(m for ms in exc.message_dict.values() for m in ms))
        else:
            text = f"{added} contact{'s' if added != 1 else ''} added to the list."
            if unknown:
                text += f" Not found: {', '.join(unknown[:10])}{'…' if len(unknown) > 10 else ''}."
            messages.success(request, text)
        return redirect("marketing:segment_detail", pk=pk)


class SegmentCountView(MarketingWritePage):
    """The builder's live count: the definition in, a fragment with the count (or the error) out."""

    def post(self, request):
        audit.skip(request)  # a count, not a write
        raw = request.POST.get("definition", "")
        try:
            count, error = segment_count(json.loads(raw) if raw.strip() else {}), None
        except ValueError:
            count, error = None, "The definition is not valid JSON."
        except ValidationError as exc:
            count, error = None, " ".join(exc.message_dict.get("definition", exc.messages))
        return render(request, "marketing/partials/segment_count.html", {"count": count, "error": error})
