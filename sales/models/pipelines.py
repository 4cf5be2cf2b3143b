from __future__ import annotations

from django.db import models


class Pipeline(models.Model):
    """An ordered set of stages deals move through (new business, upsell, renewals...)."""

    name = models.CharField(max_length=100)
    position = models.PositiveIntegerField(default=0)
    is_default = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"], condition=models.Q(is_default=True), name="one_default_pipeline"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Stage(models.Model):
    class Kind(models.TextChoices):
        OPEN = "open", "Open"
        WON = "won", "Won"
        LOST = "lost", "Lost"

    pipeline = models.ForeignKey(Pipeline, on_delete=models.CASCADE, related_name="stages")
    name = models.CharField(max_length=100)
    position = models.PositiveIntegerField()
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.OPEN)
    probability = models.PositiveSmallIntegerField(help_text="Win probability in percent")
    expected_days = models.PositiveIntegerField(default=14, help_text="Days a deal usually spends here")

    class Meta:
        ordering = ["pipeline", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["pipeline", "position"], name="stage_position_unique"),
            models.CheckConstraint(
                condition=models.Q(probability__lte=100), name="stage_probability_percent"
            ),
            models.CheckConstraint(
                condition=~models.Q(kind="won") | models.Q(probability=100), name="won_stage_is_certain"
            ),
            models.CheckConstraint(
                condition=~models.Q(kind="lost") | models.Q(probability=0), name="lost_stage_is_zero"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.pipeline.name} · {self.name}"

    @property
    def is_closed(self) -> bool:
        return self.kind != self.Kind.OPEN
