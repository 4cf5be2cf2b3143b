from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils import timezone


class ContentKind(models.TextChoices):
    BLOG_POST = "blog_post", "Blog post"
    WHITEPAPER = "whitepaper", "Whitepaper"
    CASE_STUDY = "case_study", "Case study"
    VIDEO = "video", "Video"
    WEBINAR = "webinar", "Webinar"
    ONE_PAGER = "one_pager", "One-pager"
    BATTLECARD = "battlecard", "Battlecard"
    EMAIL = "email", "Email"
    SOCIAL_POST = "social_post", "Social post"
    LANDING_PAGE = "landing_page", "Landing page"
    OTHER = "other", "Other"


class FunnelStage(models.TextChoices):
    AWARENESS = "awareness", "Awareness"
    CONSIDERATION = "consideration", "Consideration"
    DECISION = "decision", "Decision"


def content_upload_to(instance, filename: str) -> str:
    # The tenant storage prefixes the schema; the name keeps only a safe basename.
    from django.utils.text import get_valid_filename

    return f"content/{timezone.now():%Y/%m}/{get_valid_filename(filename)[-120:]}"


class ContentAsset(models.Model):
    """Marketing content that sales uses as collateral. A URL, or a file kept per tenant."""

    title = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=ContentKind.choices)
    funnel_stage = models.CharField(max_length=20, choices=FunnelStage.choices)
    description = models.TextField(blank=True)
    url = models.URLField(max_length=2000, blank=True)
    file = models.FileField(upload_to=content_upload_to, blank=True, max_length=300)
    campaigns = models.ManyToManyField("marketing.Campaign", blank=True, related_name="content")
    tags = ArrayField(models.CharField(max_length=50), default=list, blank=True)
    view_count = models.PositiveIntegerField(default=0)
    download_count = models.PositiveIntegerField(default=0)
    share_count = models.PositiveIntegerField(default=0, help_text="Times sales shared it with a prospect")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=~models.Q(url="", file=""), name="content_has_url_or_file"),
        ]

    def __str__(self) -> str:
        return self.title
