"""Alignment models (tenant schema): versioned metric definitions and the stored metric values."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models.functions import Lower
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
    trailing_window_days = models.PositiveIntegerField(
        default=90, help_text="The one trailing window for every input of pipeline velocity"
    )
    quality_weight_acceptance = models.DecimalField(max_digits=5, decimal_places=2, default=Decimal("1"))
    quality_weight_sql_rate = models.DecimalField(max_digits=5, decimal_places=2, default=Decimal("1"))
    quality_weight_win_rate = models.DecimalField(max_digits=5, decimal_places=2, default=Decimal("1"))
    quality_weight_deal_size = models.DecimalField(max_digits=5, decimal_places=2, default=Decimal("1"))
    # The alignment score: the weight of each component (``alignment.scorecard``).
    score_weight_sla = models.DecimalField(max_digits=5, decimal_places=2, default=Decimal("1"))
    score_weight_acceptance = models.DecimalField(max_digits=5, decimal_places=2, default=Decimal("1"))
    score_weight_loss_reasons = models.DecimalField(max_digits=5, decimal_places=2, default=Decimal("1"))
    score_weight_feedback = models.DecimalField(max_digits=5, decimal_places=2, default=Decimal("1"))
    score_weight_goals = models.DecimalField(max_digits=5, decimal_places=2, default=Decimal("1"))
    score_weight_attribution = models.DecimalField(max_digits=5, decimal_places=2, default=Decimal("1"))
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
    model = models.CharField(
        max_length=20, blank=True, default="", help_text="The attribution model, for attributed metrics"
    )
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
                    "model",
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


class DirtyDeal(models.Model):
    """A deal whose attribution credits may have changed: the deal itself, its contacts, a touchpoint of one
    of its people, a contact moving company or a campaign's channel. Appended by triggers like
    ``DirtyDay``, consumed by incremental runs, which recompute the credits of these deals only. No foreign
    key: a deleted deal is marked too (its credits go with it)."""

    id = models.BigAutoField(primary_key=True)
    deal_id = models.BigIntegerField()

    def __str__(self) -> str:
        return str(self.deal_id)


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


class AttributionModel(models.TextChoices):
    FIRST_TOUCH = "first_touch", "First touch"
    LAST_TOUCH = "last_touch", "Last touch"
    LINEAR = "linear", "Linear"
    U_SHAPED = "u_shaped", "U-shaped"
    W_SHAPED = "w_shaped", "W-shaped"
    TIME_DECAY = "time_decay", "Time decay"


class AttributionCredit(models.Model):
    """The share of one deal's amount that one attribution model gives one touchpoint. For every deal with
    touches and every model the credits sum exactly to the deal's amount (cents; the rounding remainder goes
    to the touch with the largest share). Written by the engine only."""

    # No index of their own on deal and definition: the unique key starts with the deal, the period
    # indexes with the definition (each index costs every credit written).
    # No database constraint and nothing done on delete: only the engine writes credits, so that it can
    # change the attributed sums by the credits it replaces. A deleted deal, touchpoint or campaign marks
    # the deals it reaches (triggers), whose credits the next run recomputes or removes.
    deal = models.ForeignKey(
        "sales.Deal", on_delete=models.DO_NOTHING, db_constraint=False, related_name="+", db_index=False
    )
    touchpoint = models.ForeignKey(  # nothing looks credits up by touchpoint: no index either
        "marketing.Touchpoint",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="+",
    )
    model = models.CharField(max_length=20, choices=AttributionModel.choices)
    definition = models.ForeignKey(
        DefinitionVersion, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    weight = models.DecimalField(max_digits=13, decimal_places=12)
    credit = models.DecimalField(max_digits=14, decimal_places=2)
    # Copied from the touchpoint and deal so rollups need no joins.
    campaign = models.ForeignKey(
        "marketing.Campaign",
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    channel = models.CharField(max_length=20, blank=True)
    deal_created_at = models.DateTimeField()
    deal_won_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["deal", "touchpoint", "model", "definition"], name="attribution_credit_once"
            )
        ]
        indexes = [  # the rollups read the credits of the periods they recompute
            models.Index(fields=["definition", "deal_created_at"], name="attribution_created"),
            models.Index(fields=["definition", "deal_won_at"], name="attribution_won"),
        ]

    def __str__(self) -> str:
        return f"{self.model}: deal {self.deal_id} touch {self.touchpoint_id} {self.credit}"


class RecomputeRequest(models.Model):
    """A user's request for a full recompute of the workspace's metrics (rate-limited)."""

    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    requested_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]

    def __str__(self) -> str:
        return f"Recompute requested {self.requested_at:%Y-%m-%d %H:%M}"


class ReportSchedule(models.Model):
    """Leadership's scheduled joint report, sent by email (HTML with a PDF attachment)."""

    class Frequency(models.TextChoices):
        WEEKLY = "weekly", "Weekly (Mondays)"
        MONTHLY = "monthly", "Monthly (the 1st)"

    frequency = models.CharField(max_length=10, choices=Frequency.choices, default=Frequency.WEEKLY)
    recipients = models.TextField(help_text="Email addresses, one per line")
    is_active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    last_sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.get_frequency_display()} report"


class GoalPeriod(models.TextChoices):
    MONTH = "month", "Month"
    QUARTER = "quarter", "Quarter"
    YEAR = "year", "Year"


class Goal(models.Model):
    """A shared SMART goal: a registry metric (specific) with a target and a baseline (measurable), for one
    month, quarter or year (time-bound), owned by people of both teams, optionally under a parent goal
    (relevant). Progress is read from stored metric values; ``status`` is the pace of the last evaluation
    (``alignment.goals``)."""

    class Status(models.TextChoices):
        ON_TRACK = "on_track", "On track"
        AT_RISK = "at_risk", "At risk"
        OFF_TRACK = "off_track", "Off track"
        NO_DATA = "no_data", "No data"

    name = models.CharField(max_length=150)
    metric = models.CharField(max_length=60)
    model = models.CharField(max_length=20, blank=True, default="", help_text="Attribution model, if any")
    period = models.CharField(max_length=10, choices=GoalPeriod.choices)
    period_start = models.DateField()
    target = models.DecimalField(max_digits=20, decimal_places=6)
    baseline = models.DecimalField(max_digits=20, decimal_places=6, null=True, blank=True)
    description = models.TextField(blank=True)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children"
    )
    owners = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="goals")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.NO_DATA)
    actual = models.DecimalField(max_digits=20, decimal_places=6, null=True, blank=True)
    expected = models.DecimalField(max_digits=20, decimal_places=6, null=True, blank=True)
    evaluated_at = models.DateTimeField(null=True, blank=True)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-period_start", "id"]
        indexes = [models.Index(fields=["period", "period_start"], name="goal_period")]

    def __str__(self) -> str:
        return self.name


class Notification(models.Model):
    """An in-app notice to one user (a goal's status changed, ...); also e-mailed once."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=40)
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    link = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "-created_at"], name="notification_inbox")]

    def __str__(self) -> str:
        return self.title


class BusinessCalendar(models.Model):
    """When the workspace works (one row, pk 1): SLA clocks count business hours on it
    (``alignment.business_time``)."""

    time_zone = models.CharField(max_length=64, default="UTC")
    working_days = ArrayField(models.PositiveSmallIntegerField(), default=list, help_text="ISO weekdays")
    day_start = models.TimeField(default=dt.time(9))
    day_end = models.TimeField(default=dt.time(17))
    holidays = ArrayField(models.DateField(), default=list, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"Business calendar ({self.time_zone})"


class SlaPolicy(models.Model):
    """The two-sided service-level agreement, for the workspace or one segment or sales team. Sales side:
    first touch of an MQL within ``first_touch_hours`` and a decision within ``decision_hours`` business
    hours. Marketing side: ``mql_commitment`` MQLs per ``commitment_period`` at ``min_acceptance_rate``."""

    name = models.CharField(max_length=100)
    segment = models.ForeignKey(
        "marketing.Segment", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    team = models.ForeignKey("sales.Team", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    first_touch_hours = models.DecimalField(max_digits=6, decimal_places=2, default=Decimal("4"))
    decision_hours = models.DecimalField(max_digits=6, decimal_places=2, default=Decimal("24"))
    at_risk_share = models.DecimalField(
        max_digits=3, decimal_places=2, default=Decimal("0.75"), help_text="At risk once this share is used"
    )
    escalate_after_hours = models.DecimalField(
        max_digits=6, decimal_places=2, default=Decimal("8"), help_text="Breached this long: leadership"
    )
    reassign_on_breach = models.BooleanField(default=False)
    mql_commitment = models.PositiveIntegerField(null=True, blank=True)
    commitment_period = models.CharField(max_length=10, choices=GoalPeriod.choices, default=GoalPeriod.MONTH)
    min_acceptance_rate = models.DecimalField(max_digits=5, decimal_places=4, null=True, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_active"],
                condition=models.Q(is_active=True, segment__isnull=True, team__isnull=True),
                name="sla_one_default_policy",
            ),
            models.UniqueConstraint(
                fields=["segment"], condition=models.Q(is_active=True), name="sla_one_policy_per_segment"
            ),
            models.UniqueConstraint(
                fields=["team"], condition=models.Q(is_active=True), name="sla_one_policy_per_team"
            ),
            models.CheckConstraint(
                condition=~models.Q(segment__isnull=False, team__isnull=False), name="sla_segment_or_team"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class SlaClock(models.Model):
    """The sales side's clocks of one MQL entry: first touch and decision, with the hours its policy
    allowed when it started; warnings, breaches and escalation are each recorded once (``alignment.sla``)."""

    contact = models.ForeignKey("marketing.Contact", on_delete=models.CASCADE, related_name="+")
    mql_at = models.DateTimeField()
    policy = models.ForeignKey(SlaPolicy, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    first_touch_hours = models.DecimalField(max_digits=6, decimal_places=2)
    decision_hours = models.DecimalField(max_digits=6, decimal_places=2)
    at_risk_share = models.DecimalField(max_digits=3, decimal_places=2)
    escalate_after_hours = models.DecimalField(max_digits=6, decimal_places=2)
    first_touch_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    first_touch_warned_at = models.DateTimeField(null=True, blank=True)
    first_touch_breached_at = models.DateTimeField(null=True, blank=True)
    decision_warned_at = models.DateTimeField(null=True, blank=True)
    decision_breached_at = models.DateTimeField(null=True, blank=True)
    escalation_level = models.PositiveSmallIntegerField(
        default=0, help_text="0 owner, 1 team lead, 2 leadership"
    )
    escalated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-mql_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["contact", "mql_at"], name="sla_clock_once")]
        indexes = [models.Index(fields=["mql_at"], name="sla_clock_mql_at")]

    def __str__(self) -> str:
        return f"SLA clock of contact {self.contact_id} from {self.mql_at:%Y-%m-%d %H:%M}"


class ObjectionCategory(models.TextChoices):
    POSITIONING = "positioning", "Positioning"
    PACKAGING = "packaging", "Packaging"
    PRICING = "pricing", "Pricing"
    PRODUCT = "product", "Product"
    OTHER = "other", "Other"


class Objection(models.Model):
    """One entry of the workspace's objection taxonomy ("Too expensive for a team of five")."""

    name = models.CharField(max_length=150)
    category = models.CharField(max_length=20, choices=ObjectionCategory.choices)
    description = models.TextField(blank=True)
    is_active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["category", "name"]
        constraints = [models.UniqueConstraint(Lower("name"), name="objection_name_unique_ci")]

    def __str__(self) -> str:
        return self.name


class ObjectionLog(models.Model):
    """Sales heard an objection on a deal or a lead, at a stage, with a note."""

    objection = models.ForeignKey(Objection, on_delete=models.PROTECT, related_name="logs")
    deal = models.ForeignKey("sales.Deal", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    contact = models.ForeignKey(
        "marketing.Contact", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    stage = models.CharField(
        max_length=100, blank=True, help_text="Where in the funnel or pipeline it came up"
    )
    note = models.TextField(blank=True)
    logged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    logged_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-logged_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(deal__isnull=False) | models.Q(contact__isnull=False),
                name="objection_log_on_deal_or_lead",
            )
        ]
        indexes = [
            models.Index(fields=["objection", "logged_at"], name="objection_log_when"),
            models.Index(fields=["deal"], name="objection_log_deal"),
        ]

    def __str__(self) -> str:
        return f"{self.objection} ({self.logged_at:%Y-%m-%d})"


class ObjectionAnswer(models.Model):
    """A content asset marketing linked as an answer to an objection (a battlecard, a case study)."""

    objection = models.ForeignKey(Objection, on_delete=models.CASCADE, related_name="answers")
    content = models.ForeignKey("marketing.ContentAsset", on_delete=models.CASCADE, related_name="+")
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["added_at", "id"]
        constraints = [models.UniqueConstraint(fields=["objection", "content"], name="objection_answer_once")]

    def __str__(self) -> str:
        return f"{self.content_id} answers {self.objection_id}"


class ObjectionComment(models.Model):
    """The thread of an objection, where both teams discuss it."""

    objection = models.ForeignKey(Objection, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    body = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"Comment on {self.objection_id}"


class AlignmentSettings(models.Model):
    """Workspace settings of the objection loop (one row, pk 1): who owns product objections."""

    product_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    def __str__(self) -> str:
        return "Alignment settings"


class PageVisit(models.Model):
    """Who opened which monitoring page on which day, counted once a day per person and page: the evidence
    of "regular monitoring" in the marketing checklist (``alignment.checklists``)."""

    class Page(models.TextChoices):
        REPORTS = "reports", "Joint reports"
        SCORECARD = "scorecard", "Scorecard"
        GOALS = "goals", "Goals"
        SLA = "sla", "SLA"
        OBJECTIONS = "objections", "Objections"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    page = models.CharField(max_length=20, choices=Page.choices)
    day = models.DateField()
    visits = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["-day", "id"]
        constraints = [models.UniqueConstraint(fields=["user", "page", "day"], name="page_visit_once")]
        indexes = [models.Index(fields=["page", "day"], name="page_visit_day")]

    def __str__(self) -> str:
        return f"{self.page} {self.day}"
