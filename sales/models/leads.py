from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class SalesSettings(models.Model):
    """One row per workspace (pk 1): settings of the sales side until the SLA module takes over."""

    mql_follow_up_hours = models.PositiveIntegerField(
        default=24, help_text="Hours allowed to first touch an MQL"
    )
    currency = models.CharField(max_length=3, default="EUR")

    class Meta:
        verbose_name_plural = "sales settings"

    def __str__(self) -> str:
        return "Sales settings"


class Team(models.Model):
    """A sales team; MQLs can be dealt to its members in turn."""

    name = models.CharField(max_length=100, unique=True)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="sales_teams")
    last_assigned = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    lead = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The team lead: SLA breaches of the team's reps escalate to them",
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class RejectionReason(models.Model):
    """Why sales sends an MQL back to marketing (a tenant-configurable list)."""

    name = models.CharField(max_length=150, unique=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class LeadDecision(models.Model):
    """Sales' answer to one MQL: accepted (the contact becomes SQL) or rejected back to marketing."""

    class Decision(models.TextChoices):
        ACCEPTED = "accepted", "Accepted"
        REJECTED = "rejected", "Rejected"

    contact = models.ForeignKey("marketing.Contact", on_delete=models.CASCADE, related_name="lead_decisions")
    mql_at = models.DateTimeField(help_text="The MQL moment this decision answers")
    decision = models.CharField(max_length=10, choices=Decision.choices)
    reason = models.ForeignKey(
        RejectionReason, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    note = models.TextField(blank=True)
    campaign = models.ForeignKey(
        "marketing.Campaign",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="lead_decisions",
        help_text="The contact's first-touch campaign",
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-decided_at", "-id"]
        constraints = [
            # one decision per MQL moment: accepting or rejecting twice records nothing twice
            models.UniqueConstraint(fields=["contact", "mql_at"], name="one_decision_per_mql"),
            models.CheckConstraint(
                condition=~models.Q(decision="rejected") | models.Q(reason__isnull=False),
                name="rejection_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.contact_id} {self.decision}"
