from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class ScoringRule(models.Model):
    """Points for a contact.

    fit: ``condition`` is one segment condition on contact or company fields
    (``{"field", "op", "value"}``); a contact that matches gets ``points``.
    engagement: each touchpoint of ``touch_kind`` within ``window_days`` gives ``points``, halved every
    ``half_life_days`` of age (no decay when 0).
    """

    class Kind(models.TextChoices):
        FIT = "fit", "Fit (who they are)"
        ENGAGEMENT = "engagement", "Engagement (what they did)"

    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    condition = models.JSONField(default=dict, blank=True)
    touch_kind = models.CharField(max_length=30, blank=True)
    points = models.IntegerField()
    window_days = models.PositiveIntegerField(default=90)
    half_life_days = models.PositiveIntegerField(default=30)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["kind", "name", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(points__gte=-1000, points__lte=1000), name="rule_points_range"
            )
        ]

    def __str__(self) -> str:
        return self.name


class MqlRule(models.Model):
    """When a lead becomes an MQL. Append-only: every change is a new version, and each transition
    records the version that decided it."""

    version = models.PositiveIntegerField(unique=True)
    score_threshold = models.IntegerField(default=50)
    criteria = models.JSONField(
        default=dict, blank=True, help_text="Optional segment definition that must hold too"
    )
    note = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-version"]

    def __str__(self) -> str:
        return f"MQL rule v{self.version}"
