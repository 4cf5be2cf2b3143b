"""Alignment models (tenant schema): versioned metric definitions and the stored metric values."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils import timezone


class DefinitionVersion(models.Model):
    """The settings every metric is computed with. Never edited: a change is a new version, and every
    stored value names the version it used."""

    cohort_window_days = models.PositiveIntegerField(default=90, help_text="W: how long a cohort may mature")
    influence_lookback_days = models.PositiveIntegerField(
        default=90, help_text="L: a marketing touch this long before a deal makes it influenced"
    )
    attribution_lookback_days = models.PositiveIntegerField(
        default=180, help_text="Touches older than this before the deal get no credit"
    )
    time_decay_half_life_days = models.DecimalField(max_digits=6, decimal_places=2, default=Decimal("7"))
    gross_margin = models.DecimalField(max_digits=5, decimal_places=4, default=Decimal("0.8000"))
    sales_cost_per_month = models.DecimalField(
        max_digits=14, decimal_places=2, default=Decimal("0"), help_text="Sales cost for CAC, per month"
    )
    lifetime_cap_months = models.PositiveIntegerField(default=60)
    mql_rule = models.CharField(
        max_length=200, default="marketing scoring rule (its own version is on each transition)"
    )
    sql_rule = models.CharField(max_length=200, default="accepted by sales (lead queue)")
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"Definitions v{self.pk}"


class MetricValue(models.Model):
    """One number: a metric for one period of one granularity, for the whole workspace (empty dimension) or
    one dimension value, under one definition version. ``value`` is NULL when there is no data (an empty
    rate is "no data", never 0)."""

    metric = models.CharField(max_length=60)
    granularity = models.CharField(max_length=10)
    period_start = models.DateField()
    dimension = models.CharField(max_length=20, blank=True, default="")
    dimension_value = models.CharField(max_length=100, blank=True, default="")
    definition = models.ForeignKey(DefinitionVersion, on_delete=models.PROTECT, related_name="values")
    value = models.DecimalField(max_digits=20, decimal_places=6, null=True)
    numerator = models.DecimalField(max_digits=20, decimal_places=6, null=True)
    denominator = models.DecimalField(max_digits=20, decimal_places=6, null=True)
    computed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=[
                    "metric",
                    "granularity",
                    "period_start",
                    "dimension",
                    "dimension_value",
                    "definition",
                ],
                name="metric_value_once",
            )
        ]
        indexes = [
            models.Index(
                fields=["metric", "granularity", "dimension", "period_start"], name="metric_value_read"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.metric} {self.granularity} {self.period_start} {self.dimension}={self.dimension_value}"


class DirtyDay(models.Model):
    """A day whose facts changed. Appended by statement-level triggers on the fact tables (whatever wrote:
    portal, API, imports, bulk loads), consumed by incremental runs.

    An append-only log, not a set: writers never wait on each other, and a run deletes only marks that were
    committed when it started, so a write that commits during a run leaves its mark for the next one.
    """

    id = models.BigAutoField(primary_key=True)
    day = models.DateField()

    def __str__(self) -> str:
        return str(self.day)


class EngineRun(models.Model):
    """A record of each engine run: what it did and how long it took."""

    class Kind(models.TextChoices):
        FULL = "full", "Full recompute"
        INCREMENTAL = "incremental", "Incremental"

    kind = models.CharField(max_length=12, choices=Kind.choices)
    definition = models.ForeignKey(DefinitionVersion, on_delete=models.PROTECT, related_name="+")
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    days = models.PositiveIntegerField(default=0, help_text="Dirty days consumed (incremental)")
    values_written = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"{self.kind} run {self.started_at:%Y-%m-%d %H:%M}"
