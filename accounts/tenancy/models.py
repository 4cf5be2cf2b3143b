"""Public-schema models: tenants, their host names, pending sign-ups and platform admins.

These tables exist only in ``public``: this app is in SHARED_APPS and not in TENANT_APPS, so no tenant
schema ever holds an (empty) copy that would shadow them through the search path.
"""

from __future__ import annotations

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.db import models
from django.db.models.functions import Lower
from django_tenants.models import DomainMixin, TenantMixin

from .validators import SLUG_MAX_LENGTH, schema_name_for, validate_slug


class Tenant(TenantMixin):
    class Status(models.TextChoices):
        PENDING = "pending", "Waiting to be set up"
        PROVISIONING = "provisioning", "Being set up"
        READY = "ready", "Ready"
        FAILED = "failed", "Set-up failed"

    name = models.CharField(max_length=100)
    slug = models.CharField(max_length=SLUG_MAX_LENGTH, unique=True, validators=[validate_slug])
    created = models.DateTimeField(auto_now_add=True)
    is_active = models.BooleanField(default=True)
    ready = models.BooleanField(default=False, help_text="Set once the schema is fully migrated and seeded.")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    status_detail = models.TextField(blank=True)
    plan = models.CharField(
        max_length=20, default="standard", help_text="The API plan: its rate limits (TANDEM_API_PLANS)"
    )

    # Schemas are created by the provisioning task, never on save (that would block the request).
    auto_create_schema = False
    auto_drop_schema = False

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(Lower("slug"), name="tenant_slug_unique_ci"),
            models.CheckConstraint(
                condition=models.Q(slug__regex=r"^[a-z][a-z0-9-]{1,30}[a-z0-9]$"), name="tenant_slug_format"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.slug})"

    def save(self, *args, **kwargs) -> None:
        if self.slug and self.schema_name != "public":
            self.schema_name = schema_name_for(self.slug)
        super().save(*args, **kwargs)


class Domain(DomainMixin):
    """A host name that resolves to a tenant. ``domain`` is unique and stored lower-case."""

    class Meta:
        constraints = [models.UniqueConstraint(Lower("domain"), name="domain_unique_ci")]

    def save(self, *args, **kwargs) -> None:
        self.domain = self.domain.strip().lower().rstrip(".")
        super().save(*args, **kwargs)


class Signup(models.Model):
    """A workspace request from the public sign-up page, kept until its tenant is provisioned.

    The admin's password is stored only as a hash and is erased once the admin user exists.
    """

    tenant = models.OneToOneField(Tenant, on_delete=models.CASCADE, related_name="signup")
    token = models.CharField(max_length=64, unique=True)
    admin_name = models.CharField(max_length=150)
    admin_email = models.EmailField()
    admin_password_hash = models.CharField(max_length=256, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    completed = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Sign-up of {self.tenant.slug}"


class PlatformAdminManager(BaseUserManager):
    def create_admin(self, email: str, password: str | None) -> PlatformAdmin:
        admin = self.model(email=self.normalize_email(email).lower())
        admin.set_password(password)
        admin.save()
        return admin


class PlatformAdmin(AbstractBaseUser):
    """An operator of the platform. Logs in on the public host only and manages tenants only."""

    email = models.EmailField(unique=True)
    is_active = models.BooleanField(default=True)
    created = models.DateTimeField(auto_now_add=True)

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    objects = PlatformAdminManager()

    def __str__(self) -> str:
        return self.email


class OutboxMessage(models.Model):
    """A task asked for by a write, stored in the write's own transaction (``config.outbox``).

    Kept in ``public`` for every workspace: a tenant's connection reaches it through the search path (no
    tenant schema has a copy), so the row commits or rolls back with the tenant's write, and one relay
    query covers every workspace. Deleted once the broker has taken the task.
    """

    schema_name = models.CharField(max_length=63, help_text="A tenant's schema, or public (platform task)")
    task_name = models.CharField(max_length=200)
    kwargs = models.JSONField(default=dict)
    created = models.DateTimeField(auto_now_add=True)
    attempts = models.PositiveIntegerField(default=0)
    # A publisher holds the row until then; after a crash halfway, the relay takes it again.
    claimed_until = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.task_name} for {self.schema_name} (#{self.pk})"
