"""Marketing API: every resource of the marketing workspace, scoped to marketing:read / marketing:write."""

from __future__ import annotations

from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import parsers, status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from accounts import audit, personal_data
from accounts.api_base import (
    TenantAPIView,
    TenantListAPIView,
    TenantServiceDetailAPIView,
    TenantServiceListCreateAPIView,
)
from accounts.models import acting_user
from accounts.roles import Area
from config.api import query_choice, query_int
from config.flat import FlatList

from . import selectors
from . import serializers as s
from .models import Contact, ContentAsset, Segment
from .models import contacts as c
from .models.campaigns import CampaignStatus, Channel, Objective
from .models.content import ContentKind, FunnelStage
from .models.touchpoints import TouchpointKind
from .services import campaigns as campaign_services
from .services import contacts as contact_services
from .services import content as content_services
from .services import scoring as scoring_services
from .services import segments as segment_services
from .services.touchpoints import touchpoint_create, touchpoints_record


class MarketingList(TenantListAPIView):
    scope_area = Area.MARKETING


class MarketingListCreate(TenantServiceListCreateAPIView):
    scope_area = Area.MARKETING


class MarketingDetail(TenantServiceDetailAPIView):
    scope_area = Area.MARKETING


# --- Companies ------------------------------------------------------------------------------------


@extend_schema(
    parameters=[
        OpenApiParameter("search", str),
        OpenApiParameter("industry", str),
        OpenApiParameter("size_band", str, enum=c.SizeBand.values),
    ]
)
class CompanyListView(MarketingListCreate):
    serializer_class = s.CompanyOut
    input_serializer = s.CompanyIn
    allowed_params = ("search", "industry", "size_band")
    ordering_fields = {
        "name": ("name", "id"),
        "-name": ("-name", "-id"),
        "created": ("created_at", "id"),
        "-created": ("-created_at", "-id"),
    }

    def get_queryset(self):
        q = self.request.query_params
        return selectors.company_list(
            search=q.get("search", "")[:200],
            industry=q.get("industry", "")[:100],
            size_band=query_choice(self.request, "size_band", c.SizeBand.values),
        )

    def create_object(self, data, request):
        return contact_services.company_create(data=data)


class CompanyDetailView(MarketingDetail):
    serializer_class = s.CompanyOut
    input_serializer = s.CompanyIn

    def get_queryset(self):
        return selectors.company_list()

    def update_object(self, obj, data, request):
        contact_services.company_update(company=obj, data=data)

    def delete_object(self, obj, request):
        obj.delete()


class BatchView(TenantAPIView):
    """Upsert up to 1,000 items, each validated by ``item_serializer`` and written on its own by
    ``save_item``; one result per item (200, or 207 when any item failed)."""

    scope_area = Area.MARKETING
    item_serializer: type = s.CompanyIn
    item_component = "CompanyInRequest"  # the single create's body in the published schema

    def validate_item(self, item: dict) -> dict:
        from django.core.exceptions import ValidationError

        from config.contract import component_errors

        problems = component_errors(self.item_component, item)
        if problems:
            raise ValidationError(problems)
        checked = self.item_serializer(data=item)
        if not checked.is_valid():
            raise ValidationError({k: [str(m) for m in v] for k, v in checked.errors.items()})
        return dict(checked.validated_data)

    def save_item(self, data: dict) -> tuple[object, bool]:
        raise NotImplementedError

    def post(self, request):
        from .services.batch import upsert_items

        data = s.BatchIn(data=request.data)
        data.is_valid(raise_exception=True)
        results = upsert_items(
            list(data.validated_data["items"]), validate=self.validate_item, save=self.save_item
        )
        counts = {k: sum(1 for r in results if r["status"] == k) for k in ("created", "updated", "error")}
        body = {
            "created": counts["created"],
            "updated": counts["updated"],
            "errors": counts["error"],
            "results": results,
        }
        return Response(body, status=207 if counts["error"] else status.HTTP_200_OK)


BATCH_SCHEMA = {"request": s.BatchIn, "responses": {200: s.BatchOut, 207: s.BatchOut}}


@extend_schema(
    summary="Upsert up to 1,000 companies (by domain, then name); one result per item", **BATCH_SCHEMA
)
class CompanyBatchView(BatchView):
    item_serializer = s.CompanyIn

    def save_item(self, data: dict) -> tuple[object, bool]:
        from .services.batch import company_upsert

        return company_upsert(data=data)


@extend_schema(summary="Upsert up to 1,000 contacts (by e-mail); one result per item", **BATCH_SCHEMA)
class ContactBatchView(BatchView):
    item_serializer = s.ContactIn
    item_component = "ContactInRequest"

    def save_item(self, data: dict) -> tuple[object, bool]:
        return contact_services.contact_upsert(
            data=data, actor=acting_user(self.request), source=c.Source.API
        )


# --- Contacts -------------------------------------------------------------------------------------


@extend_schema(
    parameters=[
        OpenApiParameter("search", str),
        OpenApiParameter("lifecycle_stage", str, enum=c.LifecycleStage.values),
        OpenApiParameter("company", int),
        OpenApiParameter("segment", int),
        OpenApiParameter("min_score", int),
        OpenApiParameter("source", str, enum=c.Source.values),
    ]
)
class ContactListView(MarketingListCreate):
    serializer_class = s.ContactOut
    flat = FlatList(s.ContactOut)  # long partner pulls: read flat (config.flat)
    input_serializer = s.ContactIn
    allowed_params = ("search", "lifecycle_stage", "company", "segment", "min_score", "source")
    ordering_fields = {
        "created": ("created_at", "id"),
        "-created": ("-created_at", "-id"),
        "score": ("score", "id"),
        "-score": ("-score", "-id"),
        "email": ("email",),
    }

    def get_queryset(self):
        request = self.request
        segment_id = query_int(request, "segment")
        segment = get_object_or_404(Segment, pk=segment_id) if segment_id is not None else None
        return selectors.contact_list(
            search=request.query_params.get("search", "")[:200],
            stage=query_choice(request, "lifecycle_stage", c.LifecycleStage.values),
            company=query_int(request, "company"),
            segment=segment,
            min_score=query_int(request, "min_score"),
            source=query_choice(request, "source", c.Source.values),
        )

    def create_object(self, data, request):
        return contact_services.contact_create(data=data, actor=acting_user(request), source=c.Source.API)


class ContactDetailView(MarketingDetail):
    serializer_class = s.ContactOut
    input_serializer = s.ContactIn

    def get_queryset(self):
        return selectors.contact_list()

    def update_object(self, obj, data, request):
        contact_services.contact_update(contact=obj, data=data, actor=acting_user(request))

    def delete_object(self, obj, request):
        obj.delete()


class ContactStageView(TenantAPIView):
    scope_area = Area.MARKETING
    input_serializer = s.StageChangeIn

    @extend_schema(
        request=s.StageChangeIn, responses=s.ContactOut, summary="Move a contact to a lifecycle stage"
    )
    def post(self, request, pk: int):
        contact = get_object_or_404(Contact, pk=pk)
        data = s.StageChangeIn(data=request.data)
        data.is_valid(raise_exception=True)
        contact_services.contact_change_stage(
            contact=contact,
            to_stage=data.validated_data["to_stage"],
            actor=acting_user(request),
            rule="api",
            reason=data.validated_data.get("reason", ""),
        )
        return Response(s.ContactOut(selectors.contact_list().get(pk=pk)).data)


class ContactTransitionsView(MarketingList):
    serializer_class = s.TransitionOut
    default_ordering = ("at", "id")

    def get_queryset(self):
        return selectors.contact_transitions(get_object_or_404(Contact, pk=self.kwargs["pk"]))


class ContactTouchpointsView(MarketingList):
    serializer_class = s.TouchpointOut
    default_ordering = ("-occurred_at", "-id")

    def get_queryset(self):
        return selectors.touchpoint_list(contact=get_object_or_404(Contact, pk=self.kwargs["pk"]).pk)


class ContactPersonalDataView(TenantAPIView):
    scope_area = Area.ADMIN

    @extend_schema(
        responses={200: OpenApiTypes.OBJECT},
        summary="Everything held about a contact, as JSON (admins; logged in the audit log)",
        description="One key per part of the data (contact, touchpoints, form_submissions, "
        "stage_transitions, deals, deal_contacts, activities, lead_decisions, sla_clocks, objection_logs, "
        "segment_memberships, attribution_credits, imports, webhook_events, audit_entries, ...), each a "
        "list of rows. See docs/security.md, Personal data.",
    )
    def get(self, request, pk: int):
        contact = get_object_or_404(Contact, pk=pk)
        data = personal_data.export(contact)
        response = Response(data)
        audit.record_read(request, response, **personal_data.export_note(contact, data))
        return response


class ContactErasureView(TenantAPIView):
    scope_area = Area.ADMIN
    input_serializer = s.ErasureIn

    @extend_schema(
        request=s.ErasureIn,
        responses=s.ErasureOut,
        summary="Erase a contact's personal data from every table, file and cache (admins; cannot be undone)",
        description="Deletes the contact and what is only about them, keeps the business records they "
        "touched (deals, campaign visit counts, attribution) without them, replaces their identifiers in "
        "stored text and the audit log, and sends the contact.erased webhook. The body names the contact's "
        "e-mail address as a confirmation.",
    )
    def post(self, request, pk: int):
        contact = get_object_or_404(Contact, pk=pk)
        data = s.ErasureIn(data=request.data)
        data.is_valid(raise_exception=True)
        if data.validated_data["email"].strip().lower() != contact.email.lower():
            raise ValidationError({"email": ["This is not the contact's e-mail address."]})
        try:
            done = personal_data.erase(contact)
        except Contact.DoesNotExist:  # erased by another request while this one waited for the row
            raise Http404 from None
        return Response(
            {"contact_id": pk, "erased": True, **personal_data.summary(done), "parts": done},
            status=status.HTTP_200_OK,
        )


# --- Campaigns, spend and sends -------------------------------------------------------------------


@extend_schema(
    parameters=[
        OpenApiParameter("search", str),
        OpenApiParameter("channel", str, enum=Channel.values),
        OpenApiParameter("status", str, enum=CampaignStatus.values),
        OpenApiParameter("objective", str, enum=Objective.values),
    ]
)
class CampaignListView(MarketingListCreate):
    serializer_class = s.CampaignOut
    input_serializer = s.CampaignIn
    allowed_params = ("search", "channel", "status", "objective")
    ordering_fields = {
        "start_date": ("start_date", "id"),
        "-start_date": ("-start_date", "-id"),
        "name": ("name", "id"),
        "-name": ("-name", "-id"),
    }

    def get_queryset(self):
        request = self.request
        return selectors.campaign_list(
            search=request.query_params.get("search", "")[:200],
            channel=query_choice(request, "channel", Channel.values),
            status=query_choice(request, "status", CampaignStatus.values),
            objective=query_choice(request, "objective", Objective.values),
        )

    def create_object(self, data, request):
        return campaign_services.campaign_create(data=data, actor=acting_user(request))


class CampaignDetailView(MarketingDetail):
    serializer_class = s.CampaignOut
    input_serializer = s.CampaignIn

    def get_queryset(self):
        return selectors.campaign_list()

    def update_object(self, obj, data, request):
        campaign_services.campaign_update(campaign=obj, data=data, actor=acting_user(request))

    def delete_object(self, obj, request):
        campaign_services.campaign_delete(campaign=obj)


class _CampaignChild(MarketingListCreate):
    def campaign(self):
        from .models import Campaign

        return get_object_or_404(Campaign, pk=self.kwargs["pk"])


class CampaignCostListView(_CampaignChild):
    serializer_class = s.CostLineOut
    input_serializer = s.CostLineIn
    default_ordering = ("-date", "-id")

    def get_queryset(self):
        return selectors.campaign_costs(self.campaign())

    def create_object(self, data, request):
        return campaign_services.cost_line_add(
            campaign=self.campaign(), data=data, actor=acting_user(request)
        )


class CampaignSendListView(_CampaignChild):
    serializer_class = s.SendOut
    input_serializer = s.SendIn
    default_ordering = ("-sent_at", "-id")

    def get_queryset(self):
        return selectors.campaign_sends(self.campaign())

    def create_object(self, data, request):
        return campaign_services.send_add(campaign=self.campaign(), data=data)


class CostLineDeleteView(TenantAPIView):
    scope_area = Area.MARKETING

    @extend_schema(request=None, responses={204: None}, summary="Delete a cost line")
    def delete(self, request, pk: int, line_pk: int):
        from .models import CostLine

        campaign_services.cost_line_delete(line=get_object_or_404(CostLine, pk=line_pk, campaign_id=pk))
        return Response(status=status.HTTP_204_NO_CONTENT)


class SendDeleteView(TenantAPIView):
    scope_area = Area.MARKETING

    @extend_schema(request=None, responses={204: None}, summary="Delete a send")
    def delete(self, request, pk: int, send_pk: int):
        from .models import CampaignSend

        campaign_services.send_delete(send=get_object_or_404(CampaignSend, pk=send_pk, campaign_id=pk))
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Content --------------------------------------------------------------------------------------


@extend_schema(
    parameters=[
        OpenApiParameter("search", str),
        OpenApiParameter("kind", str, enum=ContentKind.values),
        OpenApiParameter("funnel_stage", str, enum=FunnelStage.values),
        OpenApiParameter("tag", str),
        OpenApiParameter("campaign", int),
    ]
)
class ContentListView(MarketingListCreate):
    serializer_class = s.ContentOut
    input_serializer = s.ContentIn
    allowed_params = ("search", "kind", "funnel_stage", "tag", "campaign")

    def get_queryset(self):
        request = self.request
        return selectors.content_list(
            search=request.query_params.get("search", "")[:200],
            kind=query_choice(request, "kind", ContentKind.values),
            stage=query_choice(request, "funnel_stage", FunnelStage.values),
            tag=request.query_params.get("tag", "")[:50],
            campaign=query_int(request, "campaign"),
        )

    def create_object(self, data, request):
        return content_services.content_create(data=data, actor=acting_user(request))


class ContentDetailView(MarketingDetail):
    serializer_class = s.ContentOut
    input_serializer = s.ContentIn

    def get_queryset(self):
        return selectors.content_list()

    def update_object(self, obj, data, request):
        content_services.content_update(asset=obj, data=data)

    def delete_object(self, obj, request):
        content_services.content_delete(asset=obj)


class ContentFileView(TenantAPIView):
    """The uploaded file of an asset, from this tenant's storage only."""

    scope_area = Area.MARKETING

    @extend_schema(
        responses={(200, "*/*"): OpenApiTypes.BINARY},
        summary="Download an asset's file",
        description="The file as uploaded, with its own content type (PDF, image, ...).",
    )
    def get(self, request, pk: int):
        asset = get_object_or_404(ContentAsset.objects.exclude(file=""), pk=pk)
        stored = content_services.content_file_open(asset=asset)
        content_services.content_record_use(asset=asset, use="download")
        return FileResponse(stored, as_attachment=True, filename=asset.file.name.rsplit("/", 1)[-1])


# --- Touchpoints ----------------------------------------------------------------------------------


@extend_schema(
    parameters=[
        OpenApiParameter("contact", int),
        OpenApiParameter("campaign", int),
        OpenApiParameter("kind", str, enum=TouchpointKind.values),
    ]
)
class TouchpointListView(MarketingListCreate):
    serializer_class = s.TouchpointOut
    flat = FlatList(s.TouchpointOut)  # the longest partner pull: read flat (config.flat)
    input_serializer = s.TouchpointIn
    allowed_params = ("contact", "campaign", "kind")
    default_ordering = ("-occurred_at", "-id")

    def get_queryset(self):
        request = self.request
        return selectors.touchpoint_list(
            contact=query_int(request, "contact"),
            campaign=query_int(request, "campaign"),
            kind=query_choice(request, "kind", TouchpointKind.values),
        )

    def post(self, request, *args, **kwargs):
        touchpoint = touchpoint_create(data=dict(request.data))  # an object: the schema check saw to it
        return Response(s.TouchpointOut(touchpoint).data, status=status.HTTP_201_CREATED)


class TouchpointBatchView(TenantAPIView):
    scope_area = Area.MARKETING

    @extend_schema(
        request=s.TouchpointBatchIn,
        responses={207: s.TouchpointBatchOut},
        summary="Record up to 1,000 touchpoints; one result per item",
    )
    def post(self, request):
        data = s.TouchpointBatchIn(data=request.data)
        data.is_valid(raise_exception=True)
        results = touchpoints_record(items=list(data.validated_data["items"]))
        counts = {
            key: sum(1 for r in results if r["status"] == key) for key in ("created", "duplicate", "error")
        }
        body = {
            "created": counts["created"],
            "duplicates": counts["duplicate"],
            "errors": counts["error"],
            "results": results,
        }
        return Response(body, status=207 if counts["error"] else status.HTTP_200_OK)


# --- Segments -------------------------------------------------------------------------------------


class SegmentListView(MarketingListCreate):
    serializer_class = s.SegmentOut
    input_serializer = s.SegmentIn
    allowed_params = ("search",)

    def get_queryset(self):
        return selectors.segment_list(search=self.request.query_params.get("search", "")[:200])

    def create_object(self, data, request):
        return segment_services.segment_create(data=data, actor=acting_user(request))


class SegmentDetailView(MarketingDetail):
    serializer_class = s.SegmentOut
    input_serializer = s.SegmentIn

    def get_queryset(self):
        return selectors.segment_list()

    def update_object(self, obj, data, request):
        segment_services.segment_update(segment=obj, data=data)

    def delete_object(self, obj, request):
        segment_services.segment_delete(segment=obj)


class SegmentMembersView(MarketingList):
    """Contacts in the segment (cursor paginated); static lists take members with POST and DELETE."""

    serializer_class = s.ContactOut
    input_serializer = s.MembersIn
    http_method_names = ["get", "post", "delete", "head", "options"]

    def segment(self) -> Segment:
        return get_object_or_404(Segment, pk=self.kwargs["pk"])

    def get_queryset(self):
        return selectors.segment_members(self.segment())

    @extend_schema(request=s.MembersIn, responses=s.SegmentOut, summary="Add contacts to a static list")
    def post(self, request, pk: int):
        return self._change(request, segment_services.segment_add_members)

    @extend_schema(request=s.MembersIn, responses=s.SegmentOut, summary="Remove contacts from a static list")
    def delete(self, request, pk: int):
        return self._change(request, segment_services.segment_remove_members)

    def _change(self, request, service):
        segment = self.segment()
        data = s.MembersIn(data=request.data)
        data.is_valid(raise_exception=True)
        service(segment=segment, contact_ids=data.validated_data["contact_ids"])
        return Response(s.SegmentOut(segment).data)


class SegmentCountView(TenantAPIView):
    """The live count while a segment is being edited (read scope: it changes nothing)."""

    scope_area = Area.MARKETING

    @extend_schema(
        request=s.SegmentCountIn, responses=s.SegmentCountOut, summary="Count a segment definition"
    )
    def post(self, request):
        from .segments import segment_count

        audit.skip(request)  # a count, not a write
        data = s.SegmentCountIn(data=request.data)
        data.is_valid(raise_exception=True)
        return Response({"count": segment_count(data.validated_data["definition"])})


# --- Scoring --------------------------------------------------------------------------------------


class ScoringRuleListView(MarketingListCreate):
    serializer_class = s.ScoringRuleOut
    input_serializer = s.ScoringRuleIn

    def get_queryset(self):
        return selectors.scoring_rule_list()

    def create_object(self, data, request):
        return scoring_services.scoring_rule_create(data=data)


class ScoringRuleDetailView(MarketingDetail):
    serializer_class = s.ScoringRuleOut
    input_serializer = s.ScoringRuleIn

    def get_queryset(self):
        return selectors.scoring_rule_list()

    def update_object(self, obj, data, request):
        scoring_services.scoring_rule_update(rule=obj, data=data)

    def delete_object(self, obj, request):
        scoring_services.scoring_rule_delete(rule=obj)


class MqlRuleView(MarketingList):
    """The MQL rule's versions, newest first; POST creates the next version."""

    serializer_class = s.MqlRuleOut
    input_serializer = s.MqlRuleIn
    http_method_names = ["get", "post", "head", "options"]
    default_ordering = ("-version",)

    def get_queryset(self):
        return selectors.mql_rule_history()

    @extend_schema(
        request=s.MqlRuleIn, responses={201: s.MqlRuleOut}, summary="Create the next MQL rule version"
    )
    def post(self, request):
        data = s.MqlRuleIn(data=request.data)
        data.is_valid(raise_exception=True)
        rule = scoring_services.mql_rule_update(actor=acting_user(request), **data.validated_data)
        return Response(s.MqlRuleOut(rule).data, status=status.HTTP_201_CREATED)


# --- Lead capture forms ---------------------------------------------------------------------------


class LeadFormListView(MarketingListCreate):
    serializer_class = s.LeadFormOut
    input_serializer = s.LeadFormIn

    def get_queryset(self):
        from .models import LeadForm

        return LeadForm.objects.all()

    def create_object(self, data, request):
        from .services.forms import form_create

        return form_create(data=data, actor=acting_user(request))


class LeadFormDetailView(MarketingDetail):
    serializer_class = s.LeadFormOut
    input_serializer = s.LeadFormIn

    def get_queryset(self):
        from .models import LeadForm

        return LeadForm.objects.all()

    def update_object(self, obj, data, request):
        from .services.forms import form_update

        form_update(form=obj, data=data)

    def delete_object(self, obj, request):
        from .services.forms import form_delete

        form_delete(form=obj)


class LeadFormSubmissionsView(MarketingList):
    serializer_class = s.SubmissionOut

    def get_queryset(self):
        from .models import FormSubmission, LeadForm

        form = get_object_or_404(LeadForm, pk=self.kwargs["pk"])
        return FormSubmission.objects.filter(form=form)


# --- CSV imports ----------------------------------------------------------------------------------


class ImportListView(MarketingListCreate):
    """Upload a CSV (multipart); it is processed by a worker. Poll the job for progress and errors."""

    serializer_class = s.ImportJobOut
    input_serializer = s.ImportJobIn
    parser_classes = [parsers.MultiPartParser]

    def get_queryset(self):
        from .models import ImportJob

        return ImportJob.objects.all()

    def create_object(self, data, request):
        from .imports.runner import import_job_create

        mapping = data.get("mapping")
        if mapping is not None and not (
            isinstance(mapping, dict)
            and all(isinstance(k, str) and isinstance(v, str) for k, v in mapping.items())
        ):
            from rest_framework.exceptions import ValidationError

            raise ValidationError({"mapping": ["Give an object of column name to field."]})
        return import_job_create(
            kind=data["kind"],
            uploaded_file=data["file"],
            mapping=mapping,
            dry_run=data["dry_run"],
            all_or_nothing=data["all_or_nothing"],
            actor=acting_user(request),
        )


class ImportDetailView(TenantAPIView):
    scope_area = Area.MARKETING

    @extend_schema(responses=s.ImportJobOut, summary="An import job's progress, counts and errors")
    def get(self, request, pk: int):
        from .models import ImportJob

        return Response(s.ImportJobOut(get_object_or_404(ImportJob, pk=pk)).data)


class ImportErrorsView(TenantAPIView):
    scope_area = Area.MARKETING

    @extend_schema(responses={(200, "text/csv"): str}, summary="The import's error report as CSV")
    def get(self, request, pk: int):
        from django.http import HttpResponse

        from .imports.runner import errors_csv
        from .models import ImportJob

        job = get_object_or_404(ImportJob, pk=pk)
        response = HttpResponse(errors_csv(job), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="import-{job.pk}-errors.csv"'
        return response
