from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class LeadForm(models.Model):
    """A lead capture form with a public submit endpoint (``/f/<key>/`` on the workspace host).

    ``fields`` is a list of ``{"name", "label", "type", "required"}``; ``name`` is a contact field
    (email is always present) or a free question kept with the submission.
    """

    name = models.CharField(max_length=200)
    key = models.CharField(max_length=32, unique=True)
    campaign = models.ForeignKey(
        "marketing.Campaign", null=True, blank=True, on_delete=models.SET_NULL, related_name="forms"
    )
    fields = models.JSONField(default=list)
    thank_you_text = models.TextField(blank=True, default="Thank you! We'll be in touch.")
    redirect_url = models.URLField(max_length=2000, blank=True)
    is_active = models.BooleanField(default=True)
    submission_count = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.name


class FormSubmission(models.Model):
    form = models.ForeignKey(LeadForm, on_delete=models.CASCADE, related_name="submissions")
    contact = models.ForeignKey(
        "marketing.Contact", null=True, blank=True, on_delete=models.CASCADE, related_name="form_submissions"
    )
    touchpoint = models.ForeignKey(
        "marketing.Touchpoint", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    data = models.JSONField(default=dict)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    referrer = models.CharField(max_length=2000, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["form", "created_at"], name="submission_form_at")]

    def __str__(self) -> str:
        return f"Submission of {self.form_id} at {self.created_at:%Y-%m-%d %H:%M}"
