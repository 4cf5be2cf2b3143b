from __future__ import annotations

import json

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from accounts import audit, personal_data
from accounts.forms import apply_service_errors
from accounts.models import acting_user
from accounts.portal import ListPage, PortalView, search_text
from accounts.roles import WRITE, Area, required_scope, scopes_for_roles

from .. import selectors
from ..forms import CompanyForm, ContactForm, ErasureForm, StageForm
from ..models import Contact, LifecycleStage, Segment
from ..models.contacts import Source
from ..services import contacts as services
from .common import MarketingPage, MarketingWritePage, int_or_none

CONTACT_SORTS = {
    "created": ("created_at", "id"),
    "-created": ("-created_at", "-id"),
    "score": ("score", "id"),
    "-score": ("-score", "-id"),
    "email": ("email",),
    "-email": ("-email",),
    "name": ("last_name", "first_name", "id"),
    "-name": ("-last_name", "-first_name", "-id"),
    "stage": ("lifecycle_stage", "-lifecycle_changed_at", "id"),
    "-stage": ("-lifecycle_stage", "id"),
}
COMPANY_SORTS = {
    "name": ("name", "id"),
    "-name": ("-name", "-id"),
    "contacts": ("contact_count", "id"),
    "-contacts": ("-contact_count", "-id"),
    "created": ("created_at", "id"),
    "-created": ("-created_at", "-id"),
}


class ContactListView(MarketingPage):
    def get(self, request):
        stage = request.GET.get("stage", "")
        source = request.GET.get("source", "")
        segment = Segment.objects.filter(pk=int_or_none(request.GET.get("segment"))).first()
        qs = selectors.contact_list(
            search=search_text(request),
            stage=stage if stage in LifecycleStage.values else "",
            source=source if source in Source.values else "",
            company=int_or_none(request.GET.get("company")),
            segment=segment,
        )
        listing = ListPage(request, qs, sorts=CONTACT_SORTS, default="-created")
        context = listing.context() | {
            "stage": stage,
            "source": source,
            "segment": segment,
            "stages": LifecycleStage.choices,
            "sources": Source.choices,
            "segments": Segment.objects.order_by("name").only("id", "name")[:200],
            "can_write": self.can_write(),
        }
        return render(request, "marketing/contact_list.html", context)


class ContactCreateView(MarketingWritePage):
    def get(self, request):
        return render(request, "marketing/contact_form.html", {"form": ContactForm()})

    def post(self, request):
        form = ContactForm(request.POST)
        if form.is_valid():
            try:
                contact = services.contact_create(data=form.service_data(), actor=acting_user(request))
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, f"{contact} added.")
                return redirect("marketing:contact_detail", pk=contact.pk)
        return render(request, "marketing/contact_form.html", {"form": form}, status=400)


class ContactEditView(MarketingWritePage):
    def get(self, request, pk: int):
        contact = get_object_or_404(Contact, pk=pk)
        return render(
            request,
            "marketing/contact_form.html",
            {"form": ContactForm(instance=contact), "contact": contact},
        )

    def post(self, request, pk: int):
        contact = get_object_or_404(Contact, pk=pk)
        form = ContactForm(request.POST, instance=contact)
        if form.is_valid():
            try:
                services.contact_update(
                    contact=Contact.objects.get(pk=pk), data=form.service_data(), actor=acting_user(request)
                )
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, "Contact saved.")
                return redirect("marketing:contact_detail", pk=pk)
        return render(request, "marketing/contact_form.html", {"form": form, "contact": contact}, status=400)


def _timeline(contact: Contact) -> list[dict]:
    data = selectors.contact_timeline(contact)
    events = [{"at": t.occurred_at, "type": "touch", "item": t} for t in data["touchpoints"]]
    events += [{"at": t.at, "type": "stage", "item": t} for t in data["transitions"]]
    return sorted(events, key=lambda e: e["at"], reverse=True)


class ContactDetailView(MarketingPage):
    def get(self, request, pk: int, stage_form=None, status=200):
        contact = get_object_or_404(
            Contact.objects.select_related("company", "first_touch_campaign", "last_touch_campaign", "owner"),
            pk=pk,
        )
        context = {
            "contact": contact,
            "timeline": _timeline(contact),
            "can_write": self.can_write(),
            "can_manage_personal_data": required_scope(Area.ADMIN, write=True)
            in scopes_for_roles(request.user.roles),
            "stage_form": stage_form or StageForm(initial={"to_stage": contact.lifecycle_stage}),
        }
        return render(request, "marketing/contact_detail.html", context, status=status)


class ContactStageView(MarketingWritePage):
    def post(self, request, pk: int):
        contact = get_object_or_404(Contact, pk=pk)
        form = StageForm(request.POST)
        if form.is_valid():
            try:
                moved = services.contact_change_stage(
                    contact=contact,
                    to_stage=form.cleaned_data["to_stage"],
                    actor=acting_user(request),
                    rule="portal",
                    reason=form.cleaned_data["reason"],
                )
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                if moved:
                    messages.success(request, f"Moved to {moved.get_to_stage_display()}.")
                else:
                    messages.info(request, "The contact is already in that stage.")
                return redirect("marketing:contact_detail", pk=pk)
        # The detail page's GET, called directly: through as_view() it would dispatch on this POST and
        # answer 405 instead of showing the form's errors (found by tests/security/test_hostile_forms.py).
        page = ContactDetailView()
        page.setup(request, pk=pk)
        return page.get(request, pk, stage_form=form, status=400)


class CompanyListView(MarketingPage):
    def get(self, request, form=None, status=200):
        qs = selectors.company_list(search=search_text(request))
        listing = ListPage(request, qs, sorts=COMPANY_SORTS, default="name")
        context = listing.context() | {"form": form or CompanyForm(), "can_write": self.can_write()}
        return render(request, "marketing/company_list.html", context, status=status)

    def post(self, request):
        form = CompanyForm(request.POST)
        if form.is_valid():
            try:
                company = services.company_create(data=form.service_data())
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, f"{company.name} added.")
                return redirect("marketing:company_list")
        return self.get(request, form=form, status=400)


# --- Personal data (admins) ----------------------------------------------------------------------------


class ContactPersonalDataView(PortalView):
    """Everything held about the contact, downloaded as JSON; the export is logged."""

    area = Area.ADMIN

    def get(self, request, pk: int):
        contact = get_object_or_404(Contact, pk=pk)
        data = personal_data.export(contact)
        body = json.dumps(data, cls=DjangoJSONEncoder, indent=2, ensure_ascii=False)
        response = HttpResponse(body, content_type="application/json; charset=utf-8")
        name = f"{request.tenant.slug}-contact-{contact.pk}-personal-data.json"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        response["Cache-Control"] = "private, no-store"
        audit.record_read(request, response, **personal_data.export_note(contact, data))
        return response


class ContactEraseView(PortalView):
    """Confirm with the contact's e-mail address, then erase them (``accounts.personal_data``)."""

    area = Area.ADMIN
    access = WRITE

    def get(self, request, pk: int, form=None, status=200):
        contact = get_object_or_404(Contact, pk=pk)
        context = {
            "contact": contact,
            "form": form or ErasureForm(contact=contact),
            "parts": [p for p in personal_data.parts() if p.description],
        }
        return render(request, "marketing/contact_erase.html", context, status=status)

    def post(self, request, pk: int):
        contact = get_object_or_404(Contact, pk=pk)
        form = ErasureForm(request.POST, contact=contact)
        if not form.is_valid():
            return self.get(request, pk, form=form, status=400)
        try:
            done = personal_data.summary(personal_data.erase(contact))
        except Contact.DoesNotExist:  # erased by another request while this one waited for the row
            raise Http404 from None
        # The message names no one: it waits in the session until the next page.
        messages.success(
            request,
            f"Contact #{pk} was erased: {done['deleted']:,} records deleted, {done['anonymised']:,} kept "
            f"without them, {done['scrubbed']:,} with their name or address replaced.",
        )
        return redirect("marketing:contact_list")
