from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone


class LifecycleStage(models.TextChoices):
    SUBSCRIBER = "subscriber", "Subscriber"
    LEAD = "lead", "Lead"
    MQL = "mql", "MQL"
    SQL = "sql", "SQL"
    OPPORTUNITY = "opportunity", "Opportunity"
    CUSTOMER = "customer", "Customer"
    EVANGELIST = "evangelist", "Evangelist"
    DISQUALIFIED = "disqualified", "Disqualified"


class SizeBand(models.TextChoices):
    S1 = "1-10", "1-10"
    S2 = "11-50", "11-50"
    S3 = "51-200", "51-200"
    S4 = "201-1000", "201-1,000"
    S5 = "1001-5000", "1,001-5,000"
    S6 = "5001+", "5,001+"


class RevenueBand(models.TextChoices):
    R1 = "<1m", "Under 1M"
    R2 = "1m-10m", "1M-10M"
    R3 = "10m-50m", "10M-50M"
    R4 = "50m-250m", "50M-250M"
    R5 = "250m-1b", "250M-1B"
    R6 = "1b+", "Over 1B"


class Seniority(models.TextChoices):
    ENTRY = "entry", "Entry"
    MID = "mid", "Mid-level"
    SENIOR = "senior", "Senior"
    MANAGER = "manager", "Manager"
    DIRECTOR = "director", "Director"
    VP = "vp", "VP"
    C_LEVEL = "c_level", "C-level"
    OWNER = "owner", "Owner"


class AgeBand(models.TextChoices):
    A18 = "18-24", "18-24"
    A25 = "25-34", "25-34"
    A35 = "35-44", "35-44"
    A45 = "45-54", "45-54"
    A55 = "55-64", "55-64"
    A65 = "65+", "65+"


class Gender(models.TextChoices):
    FEMALE = "female", "Female"
    MALE = "male", "Male"
    NON_BINARY = "non_binary", "Non-binary"
    UNDISCLOSED = "undisclosed", "Prefer not to say"


class MaritalStatus(models.TextChoices):
    SINGLE = "single", "Single"
    MARRIED = "married", "Married"
    PARTNERED = "partnered", "Partnered"
    DIVORCED = "divorced", "Divorced"
    WIDOWED = "widowed", "Widowed"
    UNDISCLOSED = "undisclosed", "Prefer not to say"


class IncomeBand(models.TextChoices):
    I1 = "<25k", "Under 25k"
    I2 = "25k-50k", "25k-50k"
    I3 = "50k-100k", "50k-100k"
    I4 = "100k-200k", "100k-200k"
    I5 = "200k+", "Over 200k"


class Education(models.TextChoices):
    SECONDARY = "secondary", "Secondary"
    VOCATIONAL = "vocational", "Vocational"
    BACHELOR = "bachelor", "Bachelor's"
    MASTER = "master", "Master's"
    DOCTORATE = "doctorate", "Doctorate"


class Source(models.TextChoices):
    MANUAL = "manual", "Entered by hand"
    FORM = "form", "Lead capture form"
    IMPORT = "import", "CSV import"
    API = "api", "API"


class Company(models.Model):
    name = models.CharField(max_length=200)
    domain = models.CharField(max_length=253, blank=True, help_text="Web domain, e.g. acme.com")
    industry = models.CharField(max_length=100, blank=True)
    size_band = models.CharField(max_length=20, choices=SizeBand.choices, blank=True)
    country = models.CharField(max_length=100, blank=True)
    region = models.CharField(max_length=100, blank=True)
    annual_revenue_band = models.CharField(max_length=20, choices=RevenueBand.choices, blank=True)
    is_customer = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        verbose_name_plural = "companies"
        constraints = [
            models.UniqueConstraint(
                Lower("domain"), condition=~models.Q(domain=""), name="company_domain_unique_ci"
            )
        ]

    def __str__(self) -> str:
        return self.name


class Contact(models.Model):
    # Stored lower-case; the Lower() constraint below guards rows written by other paths too.
    email = models.EmailField(
        max_length=254,
        unique=True,
        error_messages={"unique": "A contact with this email address already exists."},
    )
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    phone = models.CharField(max_length=40, blank=True)
    job_title = models.CharField(max_length=150, blank=True)
    seniority = models.CharField(max_length=20, choices=Seniority.choices, blank=True)
    company = models.ForeignKey(
        Company, null=True, blank=True, on_delete=models.SET_NULL, related_name="contacts"
    )
    country = models.CharField(max_length=100, blank=True)
    region = models.CharField(max_length=100, blank=True)
    consent_marketing = models.BooleanField(default=False)
    consent_at = models.DateTimeField(null=True, blank=True)
    unsubscribed = models.BooleanField(default=False)
    unsubscribed_at = models.DateTimeField(null=True, blank=True)
    # Optional demographics, used for segmentation only.
    age_band = models.CharField(max_length=10, choices=AgeBand.choices, blank=True)
    gender = models.CharField(max_length=20, choices=Gender.choices, blank=True)
    marital_status = models.CharField(max_length=20, choices=MaritalStatus.choices, blank=True)
    income_band = models.CharField(max_length=20, choices=IncomeBand.choices, blank=True)
    education = models.CharField(max_length=20, choices=Education.choices, blank=True)
    occupation = models.CharField(max_length=100, blank=True)
    interests = ArrayField(models.CharField(max_length=50), default=list, blank=True)
    # Lifecycle: the current stage; its history is in StageTransition.
    lifecycle_stage = models.CharField(
        max_length=20, choices=LifecycleStage.choices, default=LifecycleStage.LEAD, db_index=True
    )
    lifecycle_changed_at = models.DateTimeField(default=timezone.now)
    mql_at = models.DateTimeField(
        null=True, blank=True, db_index=True, help_text="When it last became an MQL"
    )
    # Scores are recomputed from the scoring rules (fit: attributes; engagement: touchpoints).
    fit_score = models.IntegerField(default=0)
    engagement_score = models.IntegerField(default=0)
    score = models.IntegerField(default=0, db_index=True)
    score_updated_at = models.DateTimeField(null=True, blank=True)
    # First and last touch, kept separately from the touchpoint history.
    first_touch_source = models.CharField(max_length=200, blank=True)
    first_touch_medium = models.CharField(max_length=200, blank=True)
    first_touch_campaign = models.ForeignKey(
        "marketing.Campaign", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    first_touch_referrer = models.CharField(max_length=2000, blank=True)
    first_touch_at = models.DateTimeField(null=True, blank=True)
    last_touch_source = models.CharField(max_length=200, blank=True)
    last_touch_medium = models.CharField(max_length=200, blank=True)
    last_touch_campaign = models.ForeignKey(
        "marketing.Campaign", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    last_touch_referrer = models.CharField(max_length=2000, blank=True)
    last_touch_at = models.DateTimeField(null=True, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    source = models.CharField(max_length=20, choices=Source.choices, default=Source.MANUAL)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(Lower("email"), name="contact_email_unique_ci")]
        indexes = [models.Index(fields=["company", "lifecycle_stage"], name="contact_company_stage")]

    def __str__(self) -> str:
        return self.full_name or self.email

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


class StageTransition(models.Model):
    """One change of a contact's lifecycle stage: the fact behind every funnel metric."""

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="transitions")
    from_stage = models.CharField(max_length=20, choices=LifecycleStage.choices, blank=True)
    to_stage = models.CharField(max_length=20, choices=LifecycleStage.choices)
    at = models.DateTimeField(default=timezone.now)
    by_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    by_rule = models.CharField(max_length=100, blank=True, help_text="e.g. 'mql-rule', 'import', 'form'")
    rule_version = models.PositiveIntegerField(null=True, blank=True)
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "id"]
        indexes = [
            models.Index(fields=["to_stage", "at"], name="transition_stage_at"),
            models.Index(fields=["contact", "at"], name="transition_contact_at"),
        ]

    def __str__(self) -> str:
        return f"{self.contact_id}: {self.from_stage or '-'} -> {self.to_stage}"
