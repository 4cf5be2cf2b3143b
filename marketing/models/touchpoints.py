from __future__ import annotations

from django.db import models
from django.utils import timezone

from .campaigns import Channel


class TouchpointKind(models.TextChoices):
    PAGE_VISIT = "page_visit", "Page visit"
    EMAIL_OPEN = "email_open", "Email open"
    EMAIL_CLICK = "email_click", "Email click"
    AD_CLICK = "ad_click", "Ad click"
    FORM_SUBMISSION = "form_submission", "Form submission"
    CONTENT_DOWNLOAD = "content_download", "Content download"
    CALL = "call", "Call"
    EVENT_ATTENDANCE = "event_attendance", "Event attendance"
    SOCIAL_ENGAGEMENT = "social_engagement", "Social engagement"
    REFERRAL = "referral", "Referral"


class Touchpoint(models.Model):
    """One countable interaction, by a known contact or an anonymous visitor merged later."""

    kind = models.CharField(max_length=30, choices=TouchpointKind.choices)
    contact = models.ForeignKey(
        "marketing.Contact", null=True, blank=True, on_delete=models.CASCADE, related_name="touchpoints"
    )
    anonymous_id = models.CharField(max_length=100, blank=True)
    campaign = models.ForeignKey(
        "marketing.Campaign", null=True, blank=True, on_delete=models.SET_NULL, related_name="touchpoints"
    )
    content = models.ForeignKey(
        "marketing.ContentAsset", null=True, blank=True, on_delete=models.SET_NULL, related_name="touchpoints"
    )
    send = models.ForeignKey(
        "marketing.CampaignSend", null=True, blank=True, on_delete=models.SET_NULL, related_name="touchpoints"
    )
    channel = models.CharField(max_length=20, choices=Channel.choices, blank=True)
    utm_source = models.CharField(max_length=200, blank=True)
    utm_medium = models.CharField(max_length=200, blank=True)
    utm_campaign = models.CharField(max_length=200, blank=True)
    utm_term = models.CharField(max_length=200, blank=True)
    utm_content = models.CharField(max_length=200, blank=True)
    referrer = models.CharField(max_length=2000, blank=True)
    url = models.CharField(max_length=2000, blank=True)
    occurred_at = models.DateTimeField(default=timezone.now)
    external_id = models.CharField(
        max_length=100,
        blank=True,
        help_text="The sender's id, so a re-sent or re-imported touchpoint is not counted twice",
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["external_id"],
                condition=~models.Q(external_id=""),
                name="touchpoint_external_id_unique",
            ),
            models.CheckConstraint(
                condition=models.Q(contact__isnull=False) | ~models.Q(anonymous_id=""),
                name="touchpoint_has_someone",
            ),
        ]
        indexes = [
            models.Index(fields=["contact", "occurred_at"], name="touch_contact_at"),
            models.Index(fields=["campaign", "occurred_at"], name="touch_campaign_at"),
            models.Index(fields=["occurred_at"], name="touch_at"),
            models.Index(
                fields=["anonymous_id"], condition=~models.Q(anonymous_id=""), name="touch_anonymous"
            ),
            # the sends that touched a contact (send-to-lead lag starts from the new leads)
            models.Index(
                fields=["contact", "send"], condition=models.Q(send__isnull=False), name="touch_contact_send"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} at {self.occurred_at:%Y-%m-%d %H:%M}"
