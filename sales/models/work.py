from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class Activity(models.Model):
    class Kind(models.TextChoices):
        CALL = "call", "Call"
        MEETING = "meeting", "Meeting"
        EMAIL = "email", "Email"
        DEMO = "demo", "Demo"
        PROPOSAL = "proposal", "Proposal"
        NEGOTIATION = "negotiation", "Negotiation"
        FOLLOW_UP = "follow_up", "Follow-up"
        CHECK_IN = "check_in", "After-sales check-in"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    subject = models.CharField(max_length=200)
    deal = models.ForeignKey(
        "sales.Deal", null=True, blank=True, on_delete=models.CASCADE, related_name="activities"
    )
    contact = models.ForeignKey(
        "marketing.Contact", null=True, blank=True, on_delete=models.CASCADE, related_name="sales_activities"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    due_at = models.DateTimeField(null=True, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=200, blank=True)
    notes = models.TextField(blank=True)
    content = models.ForeignKey(
        "marketing.ContentAsset",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="sales_shares",
        help_text="Marketing content shared with the prospect in this activity",
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["due_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(deal__isnull=False) | models.Q(contact__isnull=False),
                name="activity_has_subject",
            ),
        ]
        indexes = [
            models.Index(fields=["owner", "done_at", "due_at"], name="activity_my_list"),
            models.Index(fields=["contact", "done_at"], name="activity_contact_done"),
        ]

    def __str__(self) -> str:
        return self.subject


class Quota(models.Model):
    """A target for a rep or a team for a month or a quarter."""

    class Period(models.TextChoices):
        MONTH = "month", "Month"
        QUARTER = "quarter", "Quarter"

    class Metric(models.TextChoices):
        REVENUE_WON = "revenue_won", "Revenue won"
        DEALS_WON = "deals_won", "Deals won"

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    team = models.ForeignKey(
        "sales.Team", null=True, blank=True, on_delete=models.CASCADE, related_name="quotas"
    )
    period = models.CharField(max_length=10, choices=Period.choices)
    period_start = models.DateField()
    metric = models.CharField(max_length=20, choices=Metric.choices, default=Metric.REVENUE_WON)
    target = models.DecimalField(max_digits=14, decimal_places=2)

    class Meta:
        ordering = ["-period_start", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(owner__isnull=True) ^ models.Q(team__isnull=True),
                name="quota_for_rep_or_team",
            ),
            models.CheckConstraint(condition=models.Q(target__gte=0), name="quota_not_negative"),
            models.UniqueConstraint(
                fields=["owner", "team", "period", "period_start", "metric"],
                name="quota_once",
                nulls_distinct=False,
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_metric_display()} {self.period_start}"
