"""Flat input and output serializers of the marketing API. Rules live in the services; inputs check
types only, so every error still comes back in the one error shape, named by field."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from .models import (
    Campaign,
    CampaignSend,
    Company,
    Contact,
    ContentAsset,
    CostLine,
    MqlRule,
    ScoringRule,
    Segment,
    StageTransition,
    Touchpoint,
)
from .models import contacts as c
from .models.campaigns import CampaignStatus, Channel, Objective, SendKind
from .models.content import ContentKind, FunnelStage
from .models.touchpoints import TouchpointKind


def _choice(choices, **kwargs):
    return serializers.ChoiceField(choices=choices, **kwargs)


def _text(max_length: int, **kwargs):
    return serializers.CharField(max_length=max_length, allow_blank=True, required=False, **kwargs)


# --- Companies and contacts -----------------------------------------------------------------------


class CompanyOut(serializers.ModelSerializer):
    contact_count = serializers.IntegerField(read_only=True, required=False)

    class Meta:
        model = Company
        fields = [
            "id",
            "name",
            "domain",
            "industry",
            "size_band",
            "country",
            "region",
            "annual_revenue_band",
            "is_customer",
            "contact_count",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class CompanyIn(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    domain = _text(253)
    industry = _text(100)
    size_band = _choice(c.SizeBand.choices, required=False, allow_blank=True)
    country = _text(100)
    region = _text(100)
    annual_revenue_band = _choice(c.RevenueBand.choices, required=False, allow_blank=True)


CONTACT_OUT_FIELDS = [
    "id",
    "email",
    "first_name",
    "last_name",
    "phone",
    "job_title",
    "seniority",
    "company",
    "company_name",
    "country",
    "region",
    "consent_marketing",
    "consent_at",
    "unsubscribed",
    "unsubscribed_at",
    "age_band",
    "gender",
    "marital_status",
    "income_band",
    "education",
    "occupation",
    "interests",
    "lifecycle_stage",
    "lifecycle_changed_at",
    "mql_at",
    "fit_score",
    "engagement_score",
    "score",
    "score_updated_at",
    "first_touch_source",
    "first_touch_medium",
    "first_touch_campaign",
    "first_touch_referrer",
    "first_touch_at",
    "last_touch_source",
    "last_touch_medium",
    "last_touch_campaign",
    "last_touch_referrer",
    "last_touch_at",
    "owner",
    "source",
    "created_at",
    "updated_at",
]


class ContactOut(serializers.ModelSerializer):
    company_name = serializers.CharField(source="company.name", read_only=True, default=None)

    class Meta:
        model = Contact
        fields = CONTACT_OUT_FIELDS
        read_only_fields = fields


class ContactIn(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    first_name = _text(100)
    last_name = _text(100)
    phone = _text(40)
    job_title = _text(150)
    seniority = _choice(c.Seniority.choices, required=False, allow_blank=True)
    company = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    country = _text(100)
    region = _text(100)
    consent_marketing = serializers.BooleanField(required=False)
    unsubscribed = serializers.BooleanField(required=False)
    age_band = _choice(c.AgeBand.choices, required=False, allow_blank=True)
    gender = _choice(c.Gender.choices, required=False, allow_blank=True)
    marital_status = _choice(c.MaritalStatus.choices, required=False, allow_blank=True)
    income_band = _choice(c.IncomeBand.choices, required=False, allow_blank=True)
    education = _choice(c.Education.choices, required=False, allow_blank=True)
    occupation = _text(100)
    interests = serializers.ListField(
        child=serializers.CharField(max_length=50), required=False, max_length=50
    )
    owner = serializers.IntegerField(required=False, allow_null=True, min_value=1)


class StageChangeIn(serializers.Serializer):
    to_stage = _choice(c.LifecycleStage.choices)
    reason = serializers.CharField(max_length=5000, required=False, allow_blank=True)


class ErasureIn(serializers.Serializer):
    email = serializers.EmailField(
        max_length=254, help_text="The contact's e-mail address, as a confirmation of whom to erase"
    )


class ErasureCounts(serializers.Serializer):
    deleted = serializers.IntegerField()
    anonymised = serializers.IntegerField()
    scrubbed = serializers.IntegerField()


class ErasureOut(serializers.Serializer):
    contact_id = serializers.IntegerField()
    erased = serializers.BooleanField()
    deleted = serializers.IntegerField(help_text="Rows deleted (and CSV records removed from import files)")
    anonymised = serializers.IntegerField(
        help_text="Rows kept without the person (visits, deals, activities)"
    )
    scrubbed = serializers.IntegerField(help_text="Rows whose text named the person, now '[erased]'")
    parts = serializers.DictField(child=ErasureCounts(), help_text="The same, per part of the data")


class TransitionOut(serializers.ModelSerializer):
    class Meta:
        model = StageTransition
        fields = [
            "id",
            "contact",
            "from_stage",
            "to_stage",
            "at",
            "by_user",
            "by_rule",
            "rule_version",
            "reason",
        ]
        read_only_fields = fields


# --- Campaigns ------------------------------------------------------------------------------------


class CampaignOut(serializers.ModelSerializer):
    spend = serializers.DecimalField(max_digits=14, decimal_places=2, read_only=True)
    target_segments = serializers.PrimaryKeyRelatedField(many=True, read_only=True)

    class Meta:
        model = Campaign
        fields = [
            "id",
            "name",
            "channel",
            "objective",
            "status",
            "start_date",
            "end_date",
            "owner",
            "utm_campaign",
            "budget",
            "spend",
            "description",
            "target_segments",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class CampaignIn(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    channel = _choice(Channel.choices)
    objective = _choice(Objective.choices, required=False)
    status = _choice(CampaignStatus.choices, required=False)
    start_date = serializers.DateField()
    end_date = serializers.DateField(required=False, allow_null=True)
    owner = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    utm_campaign = _text(100)
    budget = serializers.DecimalField(max_digits=14, decimal_places=2, required=False, min_value=0)
    description = _text(10_000)
    target_segments = serializers.ListField(
        child=serializers.IntegerField(min_value=1), required=False, max_length=100
    )


class CostLineOut(serializers.ModelSerializer):
    class Meta:
        model = CostLine
        fields = ["id", "campaign", "date", "amount", "note", "created_by", "created_at"]
        read_only_fields = fields


class CostLineIn(serializers.Serializer):
    date = serializers.DateField()
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=0)
    note = _text(200)


class SendOut(serializers.ModelSerializer):
    touch_count = serializers.IntegerField(read_only=True, required=False)

    class Meta:
        model = CampaignSend
        fields = ["id", "campaign", "name", "kind", "sent_at", "audience_size", "touch_count", "created_at"]
        read_only_fields = fields


class SendIn(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    kind = _choice(SendKind.choices, required=False)
    sent_at = serializers.DateTimeField()
    audience_size = serializers.IntegerField(
        required=False, allow_null=True, min_value=0, max_value=2_000_000_000
    )


# --- Content, touchpoints, segments, scoring ------------------------------------------------------


class ContentOut(serializers.ModelSerializer):
    campaigns = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    file_url = serializers.SerializerMethodField()

    class Meta:
        model = ContentAsset
        fields = [
            "id",
            "title",
            "kind",
            "funnel_stage",
            "description",
            "url",
            "file_url",
            "campaigns",
            "tags",
            "view_count",
            "download_count",
            "share_count",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_file_url(self, asset: ContentAsset) -> str | None:
        from django.urls import reverse

        return reverse("api-content-file", args=[asset.pk]) if asset.file else None


@extend_schema_field(
    {
        "type": "object",
        "properties": {
            "name": {"type": "string", "minLength": 1, "maxLength": 200, "example": "pricing-battlecard.pdf"},
            "content_base64": {"type": "string", "format": "byte", "description": "The file, base64-encoded"},
        },
        "required": ["name", "content_base64"],
        "additionalProperties": False,
        "description": "An uploaded file (up to 25 MB before encoding)",
    }
)
class Base64FileField(serializers.Field):
    """A file sent inside the JSON body: ``{"name": "deck.pdf", "content_base64": "..."}``."""

    default_error_messages = {
        "invalid": "Give an object with 'name' and 'content_base64'.",
        "encoding": "content_base64 is not valid base64.",
    }

    def to_internal_value(self, data):
        import base64
        import binascii

        from django.core.exceptions import SuspiciousFileOperation
        from django.core.files.base import ContentFile
        from django.utils.text import get_valid_filename

        if not isinstance(data, dict) or set(data) != {"name", "content_base64"}:
            self.fail("invalid")
        name, encoded = data["name"], data["content_base64"]
        if not isinstance(name, str) or not name.strip() or not isinstance(encoded, str):
            self.fail("invalid")
        try:
            content = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            self.fail("encoding")
        try:  # storage takes a plain name ("deck.pdf"); anything else becomes "upload"
            clean = get_valid_filename(name.strip().rsplit("/", 1)[-1][:200])
        except SuspiciousFileOperation:
            clean = "upload"
        return ContentFile(content, name=clean)


class ContentIn(serializers.Serializer):
    title = serializers.CharField(max_length=200)
    kind = _choice(ContentKind.choices)
    funnel_stage = _choice(FunnelStage.choices)
    description = _text(10_000)
    url = serializers.URLField(max_length=2000, required=False, allow_blank=True)
    campaigns = serializers.ListField(
        child=serializers.IntegerField(min_value=1), required=False, max_length=100
    )
    tags = serializers.ListField(child=serializers.CharField(max_length=50), required=False, max_length=50)
    file = Base64FileField(required=False, help_text="Upload a file instead of (or besides) a URL")


class TouchpointOut(serializers.ModelSerializer):
    class Meta:
        model = Touchpoint
        fields = [
            "id",
            "kind",
            "contact",
            "anonymous_id",
            "campaign",
            "content",
            "send",
            "channel",
            "utm_source",
            "utm_medium",
            "utm_campaign",
            "utm_term",
            "utm_content",
            "referrer",
            "url",
            "occurred_at",
            "external_id",
            "created_at",
        ]
        read_only_fields = fields


class TouchpointIn(serializers.Serializer):
    kind = _choice(TouchpointKind.choices)
    contact_id = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    email = serializers.EmailField(required=False, allow_blank=True, max_length=254)
    anonymous_id = _text(100)
    campaign_id = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    content_id = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    send_id = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    channel = _choice(Channel.choices, required=False, allow_blank=True)
    utm_source = _text(200)
    utm_medium = _text(200)
    utm_campaign = _text(200)
    utm_term = _text(200)
    utm_content = _text(200)
    referrer = _text(2000)
    url = _text(2000)
    occurred_at = serializers.DateTimeField(required=False)
    external_id = _text(100)


@extend_schema_field({"type": "object"})
class JSONObjectField(serializers.JSONField):
    """A JSON object whose keys a service checks (a segment definition, a condition, a batch item)."""


@extend_schema_field({"type": "array", "items": {"type": "object"}})
class JSONObjectListField(serializers.JSONField):
    """A JSON list of objects a service checks (a form's fields)."""


class BatchIn(serializers.Serializer):
    items = serializers.ListField(
        child=JSONObjectField(),
        min_length=1,
        max_length=1000,
        help_text="Up to 1,000 objects; an item that is not one gets an error of its own",
    )


class BatchResult(serializers.Serializer):
    index = serializers.IntegerField(help_text="The item's position in ``items``")
    status = serializers.ChoiceField(choices=["created", "updated", "error"])
    id = serializers.IntegerField(required=False)
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()), required=False)


class BatchOut(serializers.Serializer):
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    errors = serializers.IntegerField()
    results = BatchResult(many=True)


class TouchpointBatchIn(serializers.Serializer):
    items = serializers.ListField(child=JSONObjectField(), min_length=1, max_length=1000)


class TouchpointBatchResult(serializers.Serializer):
    index = serializers.IntegerField()
    status = serializers.ChoiceField(choices=["created", "duplicate", "error"])
    id = serializers.IntegerField(required=False)
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()), required=False)


class TouchpointBatchOut(serializers.Serializer):
    created = serializers.IntegerField()
    duplicates = serializers.IntegerField()
    errors = serializers.IntegerField()
    results = TouchpointBatchResult(many=True)


class SegmentOut(serializers.ModelSerializer):
    class Meta:
        model = Segment
        fields = [
            "id",
            "name",
            "description",
            "kind",
            "definition",
            "last_count",
            "last_counted_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class SegmentIn(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    description = _text(10_000)
    kind = _choice(Segment.Kind.choices, required=False)
    definition = JSONObjectField(required=False)


class SegmentCountIn(serializers.Serializer):
    definition = JSONObjectField()


class SegmentCountOut(serializers.Serializer):
    count = serializers.IntegerField()


class MembersIn(serializers.Serializer):
    contact_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1), min_length=1, max_length=10_000
    )


class ScoringRuleOut(serializers.ModelSerializer):
    class Meta:
        model = ScoringRule
        fields = [
            "id",
            "name",
            "kind",
            "condition",
            "touch_kind",
            "points",
            "window_days",
            "half_life_days",
            "is_active",
            "created_at",
        ]
        read_only_fields = fields


class ScoringRuleIn(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    kind = _choice(ScoringRule.Kind.choices)
    condition = JSONObjectField(required=False)
    touch_kind = _choice(TouchpointKind.choices, required=False, allow_blank=True)
    points = serializers.IntegerField(min_value=-1000, max_value=1000)
    window_days = serializers.IntegerField(required=False, min_value=1, max_value=3650)
    half_life_days = serializers.IntegerField(required=False, min_value=0, max_value=3650)
    is_active = serializers.BooleanField(required=False)


class MqlRuleOut(serializers.ModelSerializer):
    class Meta:
        model = MqlRule
        fields = ["id", "version", "score_threshold", "criteria", "note", "created_by", "created_at"]
        read_only_fields = fields


class MqlRuleIn(serializers.Serializer):
    score_threshold = serializers.IntegerField(min_value=0, max_value=10_000)
    criteria = JSONObjectField(required=False)
    note = _text(200)


class LeadFormOut(serializers.ModelSerializer):
    class Meta:
        from .models import LeadForm

        model = LeadForm
        fields = [
            "id",
            "name",
            "key",
            "campaign",
            "fields",
            "thank_you_text",
            "redirect_url",
            "is_active",
            "submission_count",
            "created_at",
        ]
        read_only_fields = fields


class LeadFormIn(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    campaign = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    fields = JSONObjectListField(required=False)
    thank_you_text = _text(5000)
    redirect_url = serializers.URLField(max_length=2000, required=False, allow_blank=True)
    is_active = serializers.BooleanField(required=False)


class SubmissionOut(serializers.ModelSerializer):
    class Meta:
        from .models import FormSubmission

        model = FormSubmission
        fields = ["id", "form", "contact", "touchpoint", "data", "referrer", "created_at"]
        read_only_fields = fields


class ImportJobOut(serializers.ModelSerializer):
    class Meta:
        from .models import ImportJob

        model = ImportJob
        fields = [
            "id",
            "kind",
            "status",
            "original_name",
            "mapping",
            "dry_run",
            "all_or_nothing",
            "total_rows",
            "processed_rows",
            "created_rows",
            "updated_rows",
            "error_rows",
            "errors",
            "message",
            "created_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields


class ImportJobIn(serializers.Serializer):
    from .models import ImportJob as _Job

    kind = _choice(_Job.Kind.choices)
    file = serializers.FileField()
    mapping = serializers.JSONField(required=False, help_text="{column name: field}; recognised when omitted")
    dry_run = serializers.BooleanField(required=False, default=False)
    all_or_nothing = serializers.BooleanField(required=False, default=False)
