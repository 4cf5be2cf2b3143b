from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class Segment(models.Model):
    """A rule-based segment (``definition``: AND/OR groups of conditions, evaluated as one SQL query)
    or a static list filled by hand or import."""

    class Kind(models.TextChoices):
        RULE = "rule", "Rule-based"
        STATIC = "static", "Static list"

    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.RULE)
    definition = models.JSONField(default=dict, blank=True)
    members = models.ManyToManyField("marketing.Contact", through="marketing.SegmentMember", related_name="+")
    last_count = models.PositiveIntegerField(null=True, blank=True)
    last_counted_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class SegmentMember(models.Model):
    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="memberships")
    contact = models.ForeignKey(
        "marketing.Contact", on_delete=models.CASCADE, related_name="segment_memberships"
    )
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["segment", "contact"], name="segment_member_once")]

    def __str__(self) -> str:
        return f"{self.contact_id} in {self.segment_id}"


class SegmentSnapshot(models.Model):
    """The size of a segment on a day, recorded so its growth can be charted."""

    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="snapshots")
    date = models.DateField()
    size = models.PositiveIntegerField()

    class Meta:
        ordering = ["date"]
        constraints = [models.UniqueConstraint(fields=["segment", "date"], name="segment_snapshot_per_day")]

    def __str__(self) -> str:
        return f"{self.segment_id} on {self.date}: {self.size}"
