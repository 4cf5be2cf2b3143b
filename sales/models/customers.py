from __future__ import annotations

from django.db import models
from django.utils import timezone


class CustomerAccount(models.Model):
    """A company that bought."""

    company = models.OneToOneField(
        "marketing.Company", on_delete=models.CASCADE, related_name="customer_account"
    )
    since = models.DateTimeField(default=timezone.now)
    first_deal = models.ForeignKey(
        "sales.Deal", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-since", "id"]

    def __str__(self) -> str:
        return str(self.company)


class Subscription(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        CANCELLED = "cancelled", "Cancelled"

    account = models.ForeignKey(CustomerAccount, on_delete=models.CASCADE, related_name="subscriptions")
    plan = models.CharField(max_length=150)
    mrr = models.DecimalField(max_digits=14, decimal_places=2, help_text="Monthly recurring amount")
    start_date = models.DateField()
    renewal_date = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)

    class Meta:
        ordering = ["renewal_date", "id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(mrr__gte=0), name="subscription_mrr_not_negative")
        ]
        indexes = [models.Index(fields=["status", "renewal_date"], name="subscription_renewals")]

    def __str__(self) -> str:
        return f"{self.plan} ({self.account})"


class SubscriptionEvent(models.Model):
    """Every MRR change: the facts behind retention, churn and expansion figures."""

    class Kind(models.TextChoices):
        NEW = "new", "New"
        EXPANSION = "expansion", "Expansion"
        CONTRACTION = "contraction", "Contraction"
        CHURN = "churn", "Churn"
        RENEWAL = "renewal", "Renewal"

    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    at = models.DateTimeField(default=timezone.now)
    mrr_before = models.DecimalField(max_digits=14, decimal_places=2)
    mrr_after = models.DecimalField(max_digits=14, decimal_places=2)
    churn_reason = models.CharField(max_length=200, blank=True)
    deal = models.ForeignKey("sales.Deal", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["kind", "at"], name="subscription_event_kind_at")]

    def __str__(self) -> str:
        return f"{self.kind} {self.mrr_before} -> {self.mrr_after}"
