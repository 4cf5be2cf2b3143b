from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone


class Channel(models.TextChoices):
    EMAIL = "email", "Email / newsletter"
    PAID_SEARCH = "paid_search", "Paid search"
    SEO_CONTENT = "seo_content", "SEO and content"
    PAID_SOCIAL = "paid_social", "Paid social"
    ORGANIC_SOCIAL = "organic_social", "Organic social"
    VIDEO = "video", "Video"
    WEBINAR = "webinar", "Webinar"
    EVENT = "event", "Event and networking"
    PRINT = "print", "Print"
    RADIO = "radio", "Radio"
    TV = "tv", "TV"
    OUTDOOR = "outdoor", "Outdoor"
    REFERRAL = "referral", "Referral"
    PARTNER = "partner", "Partner"
    OTHER = "other", "Other"


OFFLINE_CHANNELS = frozenset({Channel.EVENT, Channel.PRINT, Channel.RADIO, Channel.TV, Channel.OUTDOOR})


class Objective(models.TextChoices):
    AWARENESS = "awareness", "Awareness"
    LEAD_GENERATION = "lead_generation", "Lead generation"
    NURTURE = "nurture", "Nurture and education"
    LAUNCH = "launch", "Launch"


class CampaignStatus(models.TextChoices):
    PLANNED = "planned", "Planned"
    ACTIVE = "active", "Active"
    PAUSED = "paused", "Paused"
    COMPLETED = "completed", "Completed"


class Campaign(models.Model):
    name = models.CharField(max_length=200)
    channel = models.CharField(max_length=20, choices=Channel.choices)
    objective = models.CharField(max_length=20, choices=Objective.choices, default=Objective.LEAD_GENERATION)
    status = models.CharField(max_length=20, choices=CampaignStatus.choices, default=CampaignStatus.PLANNED)
    start_date = models.DateField()
    end_date = models.DateField(null=True, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    target_segments = models.ManyToManyField("marketing.Segment", blank=True, related_name="campaigns")
    utm_campaign = models.CharField(
        max_length=100, blank=True, help_text="The utm_campaign value of its links"
    )
    budget = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"))
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-start_date", "-id"]
        constraints = [
            models.UniqueConstraint(
                Lower("utm_campaign"), condition=~models.Q(utm_campaign=""), name="campaign_utm_unique_ci"
            ),
            models.CheckConstraint(condition=models.Q(budget__gte=0), name="campaign_budget_not_negative"),
            models.CheckConstraint(
                condition=models.Q(end_date__isnull=True) | models.Q(end_date__gte=models.F("start_date")),
                name="campaign_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class CostLine(models.Model):
    """Actual spend on a campaign on a date."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="costs")
    date = models.DateField()
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    note = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-date", "-id"]
        constraints = [models.CheckConstraint(condition=models.Q(amount__gte=0), name="cost_not_negative")]
        indexes = [models.Index(fields=["campaign", "date"], name="cost_campaign_date")]

    def __str__(self) -> str:
        return f"{self.campaign_id} {self.date} {self.amount}"


class SendKind(models.TextChoices):
    NEWSLETTER = "newsletter", "Newsletter"
    EMAIL = "email", "Email blast"
    AD_FLIGHT = "ad_flight", "Ad flight"
    EVENT_DAY = "event_day", "Event day"
    WEBINAR = "webinar", "Webinar"
    POST = "post", "Social post"
    BROADCAST = "broadcast", "Broadcast (TV, radio)"
    OTHER = "other", "Other"


class CampaignSend(models.Model):
    """A dated moment when a message went out; leads are measured by how long after it they arrive."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="sends")
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=SendKind.choices, default=SendKind.NEWSLETTER)
    sent_at = models.DateTimeField()
    audience_size = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-sent_at", "-id"]
        indexes = [models.Index(fields=["campaign", "sent_at"], name="send_campaign_at")]

    def __str__(self) -> str:
        return self.name
