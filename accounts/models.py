"""Tenant-schema models: users with roles, invitations and API keys."""

from __future__ import annotations

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from .roles import SCOPE_CHOICES, Role

__all__ = [
    "ApiKey", "IdempotencyRecord", "Invitation", "RateCounter", "Role", "User", "WebhookAttempt",
    "WebhookDelivery", "WebhookEvent", "WebhookSubscription",
]  # fmt: skip


class UserManager(BaseUserManager):
    use_in_migrations = True

    def get_by_natural_key(self, username):
        return self.get(email__iexact=username)

    def create_user(self, email: str, password: str | None = None, **extra) -> User:
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user


class User(AbstractBaseUser):
    """A person in one workspace. Logs in with an e-mail address, unique per workspace ignoring case."""

    email = models.EmailField(max_length=254, unique=True)  # stored lower-case; see the Lower() constraint
    full_name = models.CharField(max_length=150)
    roles = ArrayField(models.CharField(max_length=20, choices=Role.choices), default=list, blank=True)
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=timezone.now)

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["full_name"]

    objects = UserManager()

    class Meta:
        ordering = ["full_name", "id"]
        constraints = [
            models.UniqueConstraint(Lower("email"), name="user_email_unique_ci"),
            models.CheckConstraint(
                condition=models.Q(roles__contained_by=Role.values), name="user_roles_known"
            ),
        ]

    def __str__(self) -> str:
        return self.full_name or self.email

    def get_full_name(self) -> str:
        return self.full_name

    def get_short_name(self) -> str:
        return self.full_name.split(" ")[0] if self.full_name else self.email

    @property
    def initials(self) -> str:
        parts = [p for p in self.full_name.split() if p]
        if not parts:
            return self.email[:2].upper()
        return (parts[0][0] + (parts[-1][0] if len(parts) > 1 else "")).upper()

    def has_role(self, *roles: str) -> bool:
        return any(role in self.roles for role in roles)

    @property
    def is_admin(self) -> bool:
        return Role.ADMIN in self.roles


class Invitation(models.Model):
    """An e-mailed, one-time link that lets a person join the workspace with the given roles."""

    email = models.EmailField(max_length=254)
    roles = ArrayField(models.CharField(max_length=20, choices=Role.choices), default=list)
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created = models.DateTimeField(default=timezone.now)
    expires = models.DateTimeField()
    accepted = models.DateTimeField(null=True, blank=True)
    accepted_user = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoked = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created", "-id"]
        constraints = [
            models.UniqueConstraint(
                Lower("email"),
                condition=models.Q(accepted__isnull=True, revoked__isnull=True),
                name="invitation_one_open_per_email",
            ),
            models.CheckConstraint(condition=~models.Q(roles=[]), name="invitation_has_roles"),
        ]

    def __str__(self) -> str:
        return f"Invitation for {self.email}"

    @property
    def is_open(self) -> bool:
        return self.accepted is None and self.revoked is None and self.expires > timezone.now()

    @property
    def state(self) -> str:
        if self.accepted:
            return "accepted"
        if self.revoked:
            return "revoked"
        if self.expires <= timezone.now():
            return "expired"
        return "pending"


class ApiKey(models.Model):
    """A partner's key. Only a SHA-256 hash of the secret is stored; the prefix is shown in lists."""

    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True)
    key_hash = models.CharField(max_length=64)
    scopes = ArrayField(models.CharField(max_length=32, choices=SCOPE_CHOICES), default=list)
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created = models.DateTimeField(default=timezone.now)
    expires = models.DateTimeField(null=True, blank=True)
    revoked = models.DateTimeField(null=True, blank=True)
    last_used = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created", "-id"]
        constraints = [models.CheckConstraint(condition=~models.Q(scopes=[]), name="apikey_has_scopes")]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix})"

    @property
    def state(self) -> str:
        if self.revoked:
            return "revoked"
        if self.expires and self.expires <= timezone.now():
            return "expired"
        return "active"

    @property
    def is_usable(self) -> bool:
        return self.state == "active"


class RateCounter(models.Model):
    """The API calls counted in one bucket's current window (``accounts.api_limits``): one row per bucket
    (a key's or person's 10-second window, the workspace's, the workspace's day), reset in place when a new
    window starts, so the table never grows with traffic."""

    bucket = models.CharField(max_length=40, primary_key=True)
    window_start = models.DateTimeField()
    count = models.PositiveIntegerField(default=0)
    max_count = models.PositiveIntegerField(help_text="The limit in force when the window was last counted")

    def __str__(self) -> str:
        return f"{self.bucket}: {self.count}/{self.max_count} since {self.window_start:%H:%M:%S}"


class IdempotencyRecord(models.Model):
    """A POST or PATCH sent with an ``Idempotency-Key``: the first response is kept and replayed for 24 hours
    to the same caller (``accounts.idempotency``)."""

    principal = models.CharField(max_length=40, help_text="key:<id> or user:<id>")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of method, path and body")
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=2000)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    content_type = models.CharField(max_length=100, blank=True)
    body = models.BinaryField(default=bytes)
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["principal", "key"], name="idempotency_once")]
        indexes = [models.Index(fields=["created"], name="idempotency_created")]

    def __str__(self) -> str:
        return f"{self.principal} {self.key}"


class WebhookSubscription(models.Model):
    """A URL of the workspace's that receives the events it names, signed with its secret
    (``accounts.webhooks``)."""

    url = models.CharField(max_length=2000)
    events = ArrayField(models.CharField(max_length=40))
    secret = models.CharField(max_length=100)
    description = models.CharField(max_length=200, blank=True)
    is_active = models.BooleanField(default=True)
    allow_private = models.BooleanField(
        default=False, help_text="Deliver to loopback and private network addresses too"
    )
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created", "-id"]

    def __str__(self) -> str:
        return self.url


class WebhookEvent(models.Model):
    """The outbox: an event written in the same transaction as the change that caused it."""

    id = models.BigAutoField(primary_key=True)
    type = models.CharField(max_length=40)
    data = models.JSONField()
    created = models.DateTimeField(default=timezone.now, db_index=True)

    def __str__(self) -> str:
        return f"{self.type} #{self.pk}"


class WebhookDelivery(models.Model):
    """One event to one subscription: pending until an attempt is answered 2xx, failed after a day."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed"

    id = models.BigAutoField(primary_key=True)
    event = models.ForeignKey(WebhookEvent, on_delete=models.CASCADE, related_name="deliveries")
    subscription = models.ForeignKey(WebhookSubscription, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    locked_until = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created", "-id"]
        indexes = [
            models.Index(
                fields=["next_attempt_at"], name="webhook_delivery_due", condition=models.Q(status="pending")
            )
        ]

    def __str__(self) -> str:
        return f"{self.event_id} -> {self.subscription_id}: {self.status}"


class WebhookAttempt(models.Model):
    """One POST of a delivery: what the receiver answered (or why there was no answer)."""

    id = models.BigAutoField(primary_key=True)
    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="log")
    at = models.DateTimeField(default=timezone.now)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response = models.TextField(blank=True)
    error = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.delivery_id} at {self.at:%H:%M:%S}: {self.status_code}"


def acting_user(request) -> User | None:
    """The workspace user behind a request, for "by" fields; None for an API key or an anonymous caller."""
    return request.user if isinstance(request.user, User) else None


class AuditEntryQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise PermissionError("The audit log cannot be changed.")

    def delete(self):
        raise PermissionError("The audit log cannot be changed.")


class AuditEntry(models.Model):
    """One write operation: a portal form, an API call, a task or a platform action (``accounts.audit``).

    Append-only: the model refuses updates and deletes, and a trigger in the database refuses them too
    (migration 0004), except the pseudonymisation of a person, which the erasure of their data performs.
    There are no foreign keys, so nothing deleted later can change or remove an entry.
    """

    class Source(models.TextChoices):
        PORTAL = "portal", "Portal"
        API = "api", "API"
        TASK = "task", "Task"
        PLATFORM = "platform", "Platform console"

    class ActorKind(models.TextChoices):
        USER = "user", "Person"
        API_KEY = "api_key", "API key"
        ANONYMOUS = "anonymous", "Anonymous visitor"
        SYSTEM = "system", "Tandem (a task)"
        PLATFORM = "platform", "Platform admin"

    id = models.BigAutoField(primary_key=True)
    at = models.DateTimeField(default=timezone.now, db_index=True)
    source = models.CharField(max_length=10, choices=Source.choices)
    actor_kind = models.CharField(max_length=10, choices=ActorKind.choices)
    actor_id = models.BigIntegerField(null=True, blank=True)
    actor_label = models.CharField(max_length=254, blank=True)
    action = models.CharField(max_length=120, db_index=True)
    method = models.CharField(max_length=10, blank=True)
    path = models.CharField(max_length=500, blank=True)
    status = models.PositiveSmallIntegerField(null=True, blank=True)
    object_type = models.CharField(max_length=60, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    changed_fields = ArrayField(models.CharField(max_length=60), default=list, blank=True)
    changes = models.JSONField(default=list, blank=True)
    count = models.PositiveIntegerField(default=0)
    request_id = models.CharField(max_length=64, blank=True)

    objects = AuditEntryQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["object_type", "object_id"], name="audit_object"),
            models.Index(fields=["actor_kind", "actor_id"], name="audit_actor"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_label} {self.action}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise PermissionError("The audit log cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("The audit log cannot be changed.")
