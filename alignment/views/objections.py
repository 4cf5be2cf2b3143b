"""The objection loop in the portal: the objections page (the gap report as marketing's content backlog, and
the taxonomy), an objection's page (its logs, the content that answers it, its thread), logging an
objection from the deal page in two clicks, and the deal page's panel showing the answers to the objections
logged on that deal."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse

from accounts.forms import apply_service_errors
from accounts.portal import ListPage, PortalView, posted_object_or_404
from accounts.roles import Area, required_scope, scopes_for_roles

from .. import objections
from ..models import Objection, ObjectionCategory, ObjectionLog, PageVisit
from ..services import page_visit_record


def _reads_alignment(user) -> bool:
    return required_scope(Area.ALIGNMENT, write=False) in scopes_for_roles(getattr(user, "roles", []))


def _writes_alignment(user) -> bool:
    return required_scope(Area.ALIGNMENT, write=True) in scopes_for_roles(getattr(user, "roles", []))


def deal_objections_panel(request, deal) -> dict | None:
    """The deal page's panel: the objections logged on the deal with the content answering each, and the
    two-click form to log one (for those who write alignment). Three queries whatever the data."""
    if not _reads_alignment(request.user):
        return None
    logged = objections.answers_for_deal(deal)
    return {
        "template": "alignment/objections/_deal_panel.html",
        "context": {
            "deal": deal,
            "logged": logged,
            "choices": list(Objection.objects.filter(is_active=True).only("id", "name", "category")),
            "can_log": _writes_alignment(request.user),
        },
    }


class ObjectionForm(forms.Form):
    name = forms.CharField(max_length=150)
    category = forms.ChoiceField(choices=ObjectionCategory.choices)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False, max_length=5000)


class ProductOwnerForm(forms.Form):
    product_owner = forms.ModelChoiceField(
        queryset=None, required=False, empty_label="— leadership", help_text="Who gets product objections"
    )

    def __init__(self, *args, **kwargs):
        from accounts.models import User

        super().__init__(*args, **kwargs)
        self.fields["product_owner"].queryset = User.objects.filter(is_active=True).order_by(
            "full_name", "id"
        )


class ObjectionsView(PortalView):
    area = Area.ALIGNMENT

    def get(self, request):
        page_visit_record(user=request.user, page=PageVisit.Page.OBJECTIONS)
        return self.render_page(request, ObjectionForm())

    def post(self, request):
        if request.POST.get("action") == "product_owner":
            return self.product_owner(request)
        form = ObjectionForm(request.POST)
        if form.is_valid():
            try:
                objection = objections.objection_save(actor=request.user, data=form.cleaned_data)
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, f"Objection '{objection.name}' added to the taxonomy.")
                return redirect(reverse("alignment:objections"))
        return self.render_page(request, form, status=400)

    def product_owner(self, request):
        from django.core.exceptions import PermissionDenied

        from ..sla import can_manage

        if not can_manage(request.user):
            raise PermissionDenied
        form = ProductOwnerForm(request.POST)
        if not form.is_valid():
            return self.render_page(request, ObjectionForm(), owner_form=form, status=400)
        objections.product_owner_set(actor=request.user, user=form.cleaned_data["product_owner"])
        messages.success(request, "Product owner saved.")
        return redirect(reverse("alignment:objections"))

    def render_page(self, request, form, *, owner_form=None, status: int = 200):
        from ..sla import can_manage

        report = objections.gap_report()
        owner = objections.product_owner()
        context = {
            "product_owner": owner,
            "can_manage": can_manage(request.user),
            "owner_form": owner_form or ProductOwnerForm(initial={"product_owner": owner}),
            "backlog": report["backlog"],
            "covered": report["covered"],
            "taxonomy": Objection.objects.order_by("category", "name"),
            "form": form,
            "can_write": self.can_write(),
        }
        return render(request, "alignment/objections/list.html", context, status=status)


class AnswerForm(forms.Form):
    content = forms.ModelChoiceField(queryset=None, label="Content that answers it")

    def __init__(self, *args, **kwargs):
        from marketing.models import ContentAsset

        super().__init__(*args, **kwargs)
        self.fields["content"].queryset = ContentAsset.objects.order_by("title")


class CommentForm(forms.Form):
    body = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), max_length=5000, label="Add to the thread"
    )


class ObjectionView(PortalView):
    area = Area.ALIGNMENT

    def get(self, request, pk: int):
        return self.render_page(request, get_object_or_404(Objection, pk=pk))

    def post(self, request, pk: int):
        objection = get_object_or_404(Objection, pk=pk)
        action = request.POST.get("action", "")
        answer_form, comment_form = AnswerForm(), CommentForm()
        try:
            if action == "answer":
                answer_form = AnswerForm(request.POST)
                if answer_form.is_valid():
                    content = answer_form.cleaned_data["content"]
                    objections.answer_add(actor=request.user, objection=objection, content=content)
                    messages.success(request, "Answer linked: sales sees it on deals with this objection.")
                    return redirect(reverse("alignment:objection", args=[pk]))
            elif action == "unanswer":
                answer = posted_object_or_404(objection.answers.all(), request, "answer")
                objections.answer_remove(actor=request.user, answer=answer)
                messages.success(request, "Answer removed.")
                return redirect(reverse("alignment:objection", args=[pk]))
            elif action == "comment":
                comment_form = CommentForm(request.POST)
                if comment_form.is_valid():
                    objections.comment_add(
                        actor=request.user, objection=objection, body=comment_form.cleaned_data["body"]
                    )
                    return redirect(reverse("alignment:objection", args=[pk]) + "#thread")
            else:
                messages.error(request, "Unknown action.")
                return redirect(reverse("alignment:objection", args=[pk]))
        except ValidationError as exc:
            apply_service_errors(answer_form if action == "answer" else comment_form, exc)
        return self.render_page(
            request, objection, answer_form=answer_form, comment_form=comment_form, status=400
        )

    def render_page(self, request, objection, *, answer_form=None, comment_form=None, status: int = 200):
        logs = ListPage(
            request,
            ObjectionLog.objects.filter(objection=objection).select_related("deal", "contact", "logged_by"),
            sorts={"new": ("-logged_at", "-id")},
            default="new",
        )
        context = {
            "objection": objection,
            "logs": logs,
            "answers": objection.answers.select_related("content", "added_by"),
            "comments": objection.comments.select_related("author"),
            "answer_form": answer_form or AnswerForm(),
            "comment_form": comment_form or CommentForm(),
            "can_write": self.can_write(),
        }
        return render(request, "alignment/objections/detail.html", context, status=status)


class LogView(PortalView):
    """Log an objection on a deal (the deal page's form): back to the deal."""

    area = Area.ALIGNMENT
    http_method_names = ["post"]

    def post(self, request):
        from sales.models import Deal

        deal = posted_object_or_404(Deal.objects.select_related("stage", "lead"), request, "deal")
        objection = posted_object_or_404(Objection.objects.all(), request, "objection")
        try:
            objections.objection_log(
                actor=request.user, objection=objection, deal=deal, note=request.POST.get("note", "")
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, f"Objection '{objection.name}' logged.")
        return redirect(reverse("sales:deal_detail", args=[deal.pk]) + "#objections")


urlpatterns = [
    path("objections/", ObjectionsView.as_view(), name="objections"),
    path("objections/log/", LogView.as_view(), name="objection_log"),
    path("objections/<int:pk>/", ObjectionView.as_view(), name="objection"),
]
