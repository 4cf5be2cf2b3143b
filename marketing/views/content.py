from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse
from django.shortcuts import get_object_or_404, redirect, render

from accounts.forms import apply_service_errors
from accounts.models import acting_user
from accounts.portal import ListPage, search_text

from .. import selectors
from ..forms import ContentForm
from ..models import ContentAsset
from ..models.content import ContentKind, FunnelStage
from ..services import content as services
from .common import MarketingPage, MarketingWritePage

CONTENT_SORTS = {
    "created": ("created_at", "id"),
    "-created": ("-created_at", "-id"),
    "title": ("title", "id"),
    "-title": ("-title", "-id"),
    "downloads": ("download_count", "id"),
    "-downloads": ("-download_count", "-id"),
    "shares": ("share_count", "id"),
    "-shares": ("-share_count", "-id"),
}


class ContentListView(MarketingPage):
    def get(self, request):
        kind = request.GET.get("kind", "")
        stage = request.GET.get("stage", "")
        tag = request.GET.get("tag", "").strip()[:50]
        qs = selectors.content_list(
            search=search_text(request),
            kind=kind if kind in ContentKind.values else "",
            stage=stage if stage in FunnelStage.values else "",
            tag=tag,
        )
        listing = ListPage(request, qs, sorts=CONTENT_SORTS, default="-created")
        context = listing.context() | {
            "kind": kind,
            "stage": stage,
            "tag": tag,
            "kinds": ContentKind.choices,
            "stages": FunnelStage.choices,
            "can_write": self.can_write(),
        }
        return render(request, "marketing/content_list.html", context)


class ContentCreateView(MarketingWritePage):
    def get(self, request):
        return render(request, "marketing/content_form.html", {"form": ContentForm()})

    def post(self, request):
        form = ContentForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                asset = services.content_create(data=form.service_data(), actor=acting_user(request))
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, f"“{asset.title}” added to the library.")
                return redirect("marketing:content_list")
        return render(request, "marketing/content_form.html", {"form": form}, status=400)


class ContentEditView(MarketingWritePage):
    def get(self, request, pk: int):
        asset = get_object_or_404(ContentAsset, pk=pk)
        return render(
            request, "marketing/content_form.html", {"form": ContentForm(instance=asset), "asset": asset}
        )

    def post(self, request, pk: int):
        asset = get_object_or_404(ContentAsset, pk=pk)
        if "delete" in request.POST:
            services.content_delete(asset=asset)
            messages.info(request, f"“{asset.title}” deleted.")
            return redirect("marketing:content_list")
        form = ContentForm(request.POST, request.FILES, instance=asset)
        if form.is_valid():
            try:
                services.content_update(asset=ContentAsset.objects.get(pk=pk), data=form.service_data())
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, "Saved.")
                return redirect("marketing:content_list")
        return render(request, "marketing/content_form.html", {"form": form, "asset": asset}, status=400)


class ContentFileView(MarketingPage):
    """Serves an uploaded file from this tenant's storage to this tenant's users only."""

    def get(self, request, pk: int):
        asset = get_object_or_404(ContentAsset, pk=pk)
        stored = services.content_file_open(asset=asset)
        services.content_record_use(asset=asset, use="download")
        response = FileResponse(stored, as_attachment=True, filename=asset.file.name.rsplit("/", 1)[-1])
        response["Cache-Control"] = "private, no-store"
        return response
