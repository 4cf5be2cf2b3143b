from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils import timezone


class DealType(models.TextChoices):
    NEW_BUSINESS = "new_business", "New business"
    UPSELL = "upsell", "Upsell"
    CROSS_SELL = "cross_sell", "Cross-sell"
    RENEWAL = "renewal", "Renewal"


class ForecastCategory(models.TextChoices):
    PIPELINE = "pipeline", "Pipeline"
    BEST_CASE = "best_case", "Best case"
    COMMIT = "commit", "Commit"
    OMITTED = "omitted", "Omitted"


class LossCategory(models.TextChoices):
    POSITIONING = "positioning", "Positioning"
    PACKAGING = "packaging", "Packaging"
    PRICING = "pricing", "Pricing"
    PRODUCT = "product", "Product"
    TIMING = "timing", "Timing"
    COMPETITOR = "competitor", "Competitor"
    NO_DECISION = "no_decision", "No decision"
    OTHER = "other", "Other"


class LossReason(models.Model):
    """A tenant's sub-reasons for lost deals, each under a fixed category."""

    category = models.CharField(max_length=20, choices=LossCategory.choices)
    name = models.CharField(max_length=150)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["category", "name"]
        constraints = [models.UniqueConstraint(fields=["category", "name"], name="loss_reason_unique")]

    def __str__(self) -> str:
        return f"{self.get_category_display()}: {self.name}"


class Deal(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", "Open"
        WON = "won", "Won"
        LOST = "lost", "Lost"

    name = models.CharField(max_length=200)
    company = models.ForeignKey(
        "marketing.Company", null=True, blank=True, on_delete=models.SET_NULL, related_name="deals"
    )
    contacts = models.ManyToManyField("marketing.Contact", through="sales.DealContact", related_name="deals")
    amount = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"))
    pipeline = models.ForeignKey("sales.Pipeline", on_delete=models.PROTECT, related_name="deals")
    stage = models.ForeignKey("sales.Stage", on_delete=models.PROTECT, related_name="deals")
    deal_type = models.CharField(max_length=20, choices=DealType.choices, default=DealType.NEW_BUSINESS)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    expected_close_date = models.DateField(null=True, blank=True)
    source_campaign = models.ForeignKey(
        "marketing.Campaign", null=True, blank=True, on_delete=models.SET_NULL, related_name="sourced_deals"
    )
    lead = models.ForeignKey(
        "marketing.Contact",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="originated_deals",
        help_text="The MQL this deal came from",
    )
    forecast_category = models.CharField(
        max_length=20, choices=ForecastCategory.choices, default=ForecastCategory.PIPELINE
    )
    probability_override = models.PositiveSmallIntegerField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN, db_index=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    loss_category = models.CharField(max_length=20, choices=LossCategory.choices, blank=True)
    loss_reason = models.ForeignKey(
        LossReason, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    loss_note = models.TextField(blank=True)
    stage_entered_at = models.DateTimeField(default=timezone.now)
    version = models.PositiveIntegerField(
        default=1, help_text="Raised on every move; guards concurrent edits"
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gte=0), name="deal_amount_not_negative"),
            models.CheckConstraint(
                condition=models.Q(probability_override__lte=100), name="deal_probability_percent"
            ),
            models.CheckConstraint(
                condition=~models.Q(status="lost")
                | (~models.Q(loss_category="") & models.Q(loss_reason__isnull=False)),
                name="lost_deal_has_reason",
            ),
        ]
        indexes = [
            models.Index(fields=["pipeline", "stage", "status"], name="deal_board"),
            models.Index(fields=["status", "closed_at"], name="deal_closed"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def probability(self) -> int:
        return self.probability_override if self.probability_override is not None else self.stage.probability


class DealContact(models.Model):
    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="deal_contacts")
    contact = models.ForeignKey("marketing.Contact", on_delete=models.CASCADE, related_name="deal_links")
    is_primary = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["deal", "contact"], name="deal_contact_once"),
            models.UniqueConstraint(
                fields=["deal"], condition=models.Q(is_primary=True), name="deal_one_primary"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.contact_id} on {self.deal_id}"


class DealStageChange(models.Model):
    """Every stage move of a deal: the fact behind stage conversion, time in stage and cycle length."""

    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="stage_changes")
    from_stage = models.ForeignKey(
        "sales.Stage", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    to_stage = models.ForeignKey("sales.Stage", on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(default=timezone.now)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["at", "id"]
        indexes = [
            models.Index(fields=["deal", "at"], name="deal_change_at"),
            models.Index(fields=["to_stage", "at"], name="deal_change_stage_at"),
            # the moves of a period, whatever the stage (the metric engine's stage stays)
            models.Index(fields=["at"], name="deal_change_moved_at"),
        ]

    def __str__(self) -> str:
        return f"{self.deal_id}: {self.from_stage_id} -> {self.to_stage_id}"
