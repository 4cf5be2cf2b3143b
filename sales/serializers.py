"""Flat input and output serializers of the sales API (the rules are the services')."""

from __future__ import annotations

from rest_framework import serializers

from .models import (
    Activity,
    CustomerAccount,
    Deal,
    LeadDecision,
    LossReason,
    Pipeline,
    Quota,
    RejectionReason,
    SalesSettings,
    Stage,
    Subscription,
    SubscriptionEvent,
    Team,
)
from .models.deals import DealType, ForecastCategory, LossCategory
from .services.setup import MAX_FOLLOW_UP_HOURS


class StageOut(serializers.ModelSerializer):
    class Meta:
        model = Stage
        fields = ["id", "name", "position", "kind", "probability", "expected_days"]
        read_only_fields = fields


class PipelineOut(serializers.ModelSerializer):
    stages = StageOut(many=True, read_only=True)

    class Meta:
        model = Pipeline
        fields = ["id", "name", "position", "is_default", "is_active", "stages"]
        read_only_fields = fields


# Sales set-up (the services in services/setup.py own every rule; these only type the input) -------------


class SalesSettingsOut(serializers.ModelSerializer):
    follow_up_hours = serializers.IntegerField(
        source="mql_follow_up_hours", read_only=True, help_text="Hours allowed to first touch an MQL"
    )

    class Meta:
        model = SalesSettings
        fields = ["follow_up_hours"]
        read_only_fields = fields


class SalesSettingsIn(serializers.Serializer):
    follow_up_hours = serializers.IntegerField(
        min_value=1, max_value=MAX_FOLLOW_UP_HOURS, help_text="Hours allowed to first touch an MQL"
    )


class PipelineCreateIn(serializers.Serializer):
    name = serializers.CharField(max_length=100)


class PipelineIn(serializers.Serializer):
    name = serializers.CharField(max_length=100, required=False)
    is_active = serializers.BooleanField(required=False)
    is_default = serializers.BooleanField(
        required=False, help_text="Make this the default pipeline (the default stays active)"
    )


class StageDetailOut(StageOut):
    class Meta(StageOut.Meta):
        fields = ["id", "pipeline", *StageOut.Meta.fields[1:]]
        read_only_fields = fields


class StageIn(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    probability = serializers.IntegerField(
        min_value=0, max_value=100, help_text="Win probability in percent (an open stage: below 100)"
    )
    expected_days = serializers.IntegerField(
        min_value=1, max_value=3650, required=False, help_text="Days a deal usually spends here"
    )


class StageMoveIn(serializers.Serializer):
    direction = serializers.ChoiceField(choices=["up", "down"])


class LossReasonOut(serializers.ModelSerializer):
    class Meta:
        model = LossReason
        fields = ["id", "category", "name", "is_active"]
        read_only_fields = fields


class LossReasonIn(serializers.Serializer):
    category = serializers.ChoiceField(choices=LossCategory.choices)
    name = serializers.CharField(max_length=150)


class RejectionReasonOut(serializers.ModelSerializer):
    class Meta:
        model = RejectionReason
        fields = ["id", "name", "is_active"]
        read_only_fields = fields


class RejectionReasonIn(serializers.Serializer):
    name = serializers.CharField(max_length=150)


class ReasonActiveIn(serializers.Serializer):
    is_active = serializers.BooleanField(help_text="false retires the reason (what used it keeps it)")


class TeamOut(serializers.ModelSerializer):
    members = serializers.PrimaryKeyRelatedField(many=True, read_only=True, help_text="User ids")

    class Meta:
        model = Team
        fields = ["id", "name", "members"]
        read_only_fields = fields


class TeamIn(serializers.Serializer):
    name = serializers.CharField(max_length=100)


class TeamMembersIn(serializers.Serializer):
    members = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        max_length=500,
        help_text="Every member's user id (active sales users or admins); replaces the members",
    )


class DealOut(serializers.ModelSerializer):
    primary_contact = serializers.SerializerMethodField()
    stage_name = serializers.CharField(source="stage.name", read_only=True)
    company_name = serializers.CharField(source="company.name", read_only=True, default=None)

    class Meta:
        model = Deal
        fields = [
            "id",
            "name",
            "company",
            "company_name",
            "primary_contact",
            "amount",
            "pipeline",
            "stage",
            "stage_name",
            "deal_type",
            "owner",
            "expected_close_date",
            "source_campaign",
            "lead",
            "forecast_category",
            "probability_override",
            "status",
            "closed_at",
            "loss_category",
            "loss_reason",
            "loss_note",
            "stage_entered_at",
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_primary_contact(self, deal: Deal) -> int | None:
        links = list(deal.deal_contacts.all())  # prefetched: primary only
        return links[0].contact_id if links else None


class DealIn(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    company = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    primary_contact = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    contacts = serializers.ListField(
        child=serializers.IntegerField(min_value=1), required=False, max_length=100
    )
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, required=False, min_value=0)
    pipeline = serializers.IntegerField(required=False, min_value=1)
    stage = serializers.IntegerField(required=False, min_value=1)
    deal_type = serializers.ChoiceField(choices=DealType.choices, required=False)
    owner = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    expected_close_date = serializers.DateField(required=False, allow_null=True)
    source_campaign = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    forecast_category = serializers.ChoiceField(choices=ForecastCategory.choices, required=False)
    probability_override = serializers.IntegerField(
        required=False, allow_null=True, min_value=0, max_value=100
    )


class DealMoveIn(serializers.Serializer):
    stage = serializers.IntegerField(min_value=1)
    version = serializers.IntegerField(
        required=False, min_value=1, help_text="Refuse the move if the deal changed"
    )


class DealLostIn(serializers.Serializer):
    category = serializers.ChoiceField(choices=LossCategory.choices)
    reason = serializers.IntegerField(min_value=1)
    note = serializers.CharField(max_length=5000)
    version = serializers.IntegerField(required=False, min_value=1)


class DealWonIn(serializers.Serializer):
    version = serializers.IntegerField(required=False, min_value=1)


class ActivityOut(serializers.ModelSerializer):
    class Meta:
        model = Activity
        fields = [
            "id",
            "kind",
            "subject",
            "deal",
            "contact",
            "owner",
            "due_at",
            "done_at",
            "outcome",
            "notes",
            "content",
            "created_at",
        ]
        read_only_fields = fields


class ActivityIn(serializers.Serializer):
    kind = serializers.ChoiceField(choices=Activity.Kind.choices)
    subject = serializers.CharField(max_length=200)
    deal = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    contact = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    due_at = serializers.DateTimeField(required=False, allow_null=True)
    done_at = serializers.DateTimeField(required=False, allow_null=True)
    outcome = serializers.CharField(max_length=200, required=False, allow_blank=True)
    notes = serializers.CharField(max_length=10_000, required=False, allow_blank=True)
    content = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, help_text="A content asset shared in this activity"
    )


class CustomerOut(serializers.ModelSerializer):
    company_name = serializers.CharField(source="company.name", read_only=True)

    class Meta:
        model = CustomerAccount
        fields = ["id", "company", "company_name", "since", "first_deal"]
        read_only_fields = fields


class SubscriptionOut(serializers.ModelSerializer):
    class Meta:
        model = Subscription
        fields = ["id", "account", "plan", "mrr", "start_date", "renewal_date", "status"]
        read_only_fields = fields


class SubscriptionIn(serializers.Serializer):
    plan = serializers.CharField(max_length=150)
    mrr = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=0)
    start_date = serializers.DateField()
    renewal_date = serializers.DateField(required=False, allow_null=True)


class SubscriptionChangeIn(serializers.Serializer):
    action = serializers.ChoiceField(choices=["change_mrr", "churn", "renew"])
    mrr = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=0, required=False)
    reason = serializers.CharField(max_length=200, required=False)
    renewal_date = serializers.DateField(required=False)


class QuotaOut(serializers.ModelSerializer):
    period_end = serializers.DateField(read_only=True, help_text="First day after the period")
    actual = serializers.DecimalField(
        max_digits=16, decimal_places=2, read_only=True, help_text="Won revenue or won deals in the period"
    )
    attainment = serializers.DecimalField(
        max_digits=12, decimal_places=4, read_only=True, allow_null=True, help_text="actual / target"
    )

    class Meta:
        model = Quota
        fields = [
            "id",
            "owner",
            "team",
            "period",
            "period_start",
            "period_end",
            "metric",
            "target",
            "actual",
            "attainment",
        ]
        read_only_fields = fields


class SubscriptionEventOut(serializers.ModelSerializer):
    account = serializers.IntegerField(source="subscription.account_id", read_only=True)

    class Meta:
        model = SubscriptionEvent
        fields = [
            "id",
            "subscription",
            "account",
            "kind",
            "at",
            "mrr_before",
            "mrr_after",
            "churn_reason",
            "deal",
        ]
        read_only_fields = fields


class QuotaIn(serializers.Serializer):
    owner = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    team = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    period = serializers.ChoiceField(choices=Quota.Period.choices)
    period_start = serializers.DateField()
    metric = serializers.ChoiceField(choices=Quota.Metric.choices)
    target = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=0)


class LeadOut(serializers.Serializer):
    id = serializers.IntegerField()
    email = serializers.EmailField()
    first_name = serializers.CharField()
    last_name = serializers.CharField()
    company = serializers.IntegerField(source="company_id", allow_null=True)
    owner = serializers.IntegerField(source="owner_id", allow_null=True)
    score = serializers.IntegerField()
    mql_at = serializers.DateTimeField()
    first_touch_campaign = serializers.IntegerField(source="first_touch_campaign_id", allow_null=True)


class LeadAcceptIn(serializers.Serializer):
    open_deal = serializers.BooleanField(required=False, default=False)
    deal = DealIn(required=False)


class LeadRejectIn(serializers.Serializer):
    reason = serializers.IntegerField(min_value=1)
    note = serializers.CharField(max_length=5000, required=False, allow_blank=True)


class LeadAssignIn(serializers.Serializer):
    rep = serializers.IntegerField(required=False, min_value=1)
    team = serializers.IntegerField(required=False, min_value=1)


class LeadDecisionOut(serializers.ModelSerializer):
    class Meta:
        model = LeadDecision
        fields = [
            "id",
            "contact",
            "mql_at",
            "decision",
            "reason",
            "note",
            "campaign",
            "decided_by",
            "decided_at",
        ]
        read_only_fields = fields
