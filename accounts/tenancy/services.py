"""Writes on the platform: sign-up, provisioning, activation. Everything here runs in ``public``."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.module_loading import import_string
from django_tenants.utils import schema_context

from .links import workspace_host
from .models import Domain, Signup, Tenant
from .template import CloneUnavailable, advisory_lock, template_clone
from .validators import normalize_slug, validate_slug

logger = logging.getLogger(__name__)

NAME_MAX = 100
PERSON_MAX = 150


def _require_public() -> None:
    if connection.schema_name != "public":
        raise RuntimeError(f"Platform writes run in the public schema, not in {connection.schema_name!r}.")


def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


def slug_is_taken(slug: str) -> bool:
    return (
        Tenant.objects.filter(slug__iexact=slug).exists()
        or Domain.objects.filter(domain__iexact=workspace_host(slug)).exists()
    )


def signup_validate(
    *, company_name: str, slug: str, admin_name: str, admin_email: str, admin_password: str
) -> dict[str, str]:
    """Check a sign-up and return its cleaned values, or raise ValidationError naming every bad field."""
    from accounts.models import User  # the tenant user model, instantiated only for password checks

    errors: dict[str, list[str]] = {}
    values = {
        "company_name": _text(company_name),
        "slug": normalize_slug(slug if isinstance(slug, str) else ""),
        "admin_name": _text(admin_name),
        "admin_email": _text(admin_email).lower(),
        "admin_password": admin_password if isinstance(admin_password, str) else "",
    }
    for field, value in values.items():
        if "\x00" in value:
            errors.setdefault(field, []).append("This field cannot contain NUL characters.")
    if "company_name" not in errors:
        if not values["company_name"]:
            errors["company_name"] = ["Enter your company's name."]
        elif len(values["company_name"]) > NAME_MAX:
            errors["company_name"] = [f"Use at most {NAME_MAX} characters."]
    if "admin_name" not in errors:
        if not values["admin_name"]:
            errors["admin_name"] = ["Enter your name."]
        elif len(values["admin_name"]) > PERSON_MAX:
            errors["admin_name"] = [f"Use at most {PERSON_MAX} characters."]
    if "slug" not in errors:
        try:
            validate_slug(values["slug"])
        except ValidationError as exc:
            errors["slug"] = exc.messages
        else:
            if slug_is_taken(values["slug"]):
                errors["slug"] = [f"“{values['slug']}” is already taken. Please choose another subdomain."]
    if "admin_email" not in errors:
        try:
            if len(values["admin_email"]) > 254:
                raise ValidationError("Use at most 254 characters.")
            validate_email(values["admin_email"])
        except ValidationError:
            errors["admin_email"] = ["Enter a valid email address."]
    if "admin_password" not in errors:
        if not values["admin_password"]:
            errors["admin_password"] = ["Choose a password."]
        else:
            probe = User(email=values["admin_email"], full_name=values["admin_name"])
            try:
                validate_password(values["admin_password"], user=probe)
            except ValidationError as exc:
                errors["admin_password"] = exc.messages
    if errors:
        raise ValidationError(errors)
    return values


def signup_create(
    *,
    company_name: str,
    slug: str,
    admin_name: str,
    admin_email: str,
    admin_password: str,
    ip_address: str | None = None,
    enqueue: bool = True,
    admin_password_hash: str = "",
) -> Signup:
    """Record a new workspace and hand its set-up to a worker. Nothing is created on bad input.

    ``admin_password_hash``, when given, is ``admin_password`` already hashed (the data generator's many
    workspaces share one password, and hashing it once per workspace took longer than the workspace)."""
    _require_public()
    values = signup_validate(
        company_name=company_name,
        slug=slug,
        admin_name=admin_name,
        admin_email=admin_email,
        admin_password=admin_password,
    )
    try:
        with transaction.atomic():
            tenant = Tenant(name=values["company_name"], slug=values["slug"])
            tenant.save()
            Domain.objects.create(domain=workspace_host(tenant.slug), tenant=tenant, is_primary=True)
            signup = Signup.objects.create(
                tenant=tenant,
                token=secrets.token_urlsafe(32),
                admin_name=values["admin_name"],
                admin_email=values["admin_email"],
                admin_password_hash=admin_password_hash or make_password(values["admin_password"]),
                ip_address=ip_address,
            )
            if enqueue:  # in the same transaction: a sign-up is never stored without its set-up request
                tenant_enqueue_provisioning(tenant_id=tenant.pk)
    except (IntegrityError, ValidationError) as exc:
        # Two sign-ups raced for one slug: the unique checks decided; report it like the check above.
        raise ValidationError(
            {"slug": [f"“{values['slug']}” is already taken. Please choose another subdomain."]}
        ) from exc
    return signup


def tenant_enqueue_provisioning(*, tenant_id: int) -> None:
    """Provision the tenant once the current transaction commits (through the outbox)."""
    from config.outbox import PUBLIC, enqueue

    from .tasks import provision_tenant

    enqueue(provision_tenant, PUBLIC, kwargs={"tenant_id": tenant_id})


@contextmanager
def _provisioning_lock(tenant_id: int) -> Iterator[None]:
    """Serialise provisioning runs of one tenant across workers (on a connection of its own)."""
    with advisory_lock(0x7E4A0000 + tenant_id):
        yield


def _create_schema(tenant: Tenant) -> None:
    """A copy of the template schema (``template.py``); where this machine cannot copy, the migrations."""
    from django_tenants.utils import schema_exists

    if schema_exists(tenant.schema_name):
        return  # a run that failed after its schema was made: the copy is one transaction, so it is whole
    try:
        template_clone(schema_name=tenant.schema_name)
    except CloneUnavailable as exc:
        logger.warning("provisioning %s by migrations: %s", tenant.schema_name, exc)
        tenant.create_schema(check_if_exists=True, sync_schema=True, verbosity=0)


def tenant_provision(*, tenant_id: int) -> Tenant:
    """Create the tenant's schema (a copy of the template), create its first admin and mark it ready.

    Idempotent and safe to run twice at once: an advisory lock serialises runs for one tenant, and
    every step checks what already exists.
    """
    _require_public()
    with _provisioning_lock(tenant_id):
        tenant = Tenant.objects.get(pk=tenant_id)
        if tenant.ready:
            return tenant
        Tenant.objects.filter(pk=tenant.pk).update(status=Tenant.Status.PROVISIONING, status_detail="")
        try:
            _create_schema(tenant)
            connection.set_schema_to_public()
            signup = Signup.objects.filter(tenant=tenant).first()
            with schema_context(tenant.schema_name):
                _create_first_admin(signup)
                for path in settings.TANDEM_TENANT_SEEDERS:
                    import_string(path)(tenant=tenant)
        except Exception as exc:
            connection.set_schema_to_public()
            logger.exception("provisioning of %s failed", tenant.schema_name)
            Tenant.objects.filter(pk=tenant.pk).update(
                status=Tenant.Status.FAILED, status_detail=f"{type(exc).__name__}: {exc}"[:2000]
            )
            raise
        tenant.ready = True
        tenant.status = Tenant.Status.READY
        tenant.status_detail = ""
        tenant.save(update_fields=["ready", "status", "status_detail"])
        Signup.objects.filter(tenant=tenant).update(completed=timezone.now(), admin_password_hash="")
        return tenant


def _create_first_admin(signup: Signup | None) -> None:
    from accounts.models import Role, User
    from accounts.services import user_create

    if signup is None or not signup.admin_email:
        return
    if User.objects.filter(email__iexact=signup.admin_email).exists():
        return
    user_create(
        email=signup.admin_email,
        full_name=signup.admin_name,
        roles=[Role.ADMIN],
        password_hash=signup.admin_password_hash or None,
    )


def tenant_create(
    *,
    slug: str,
    name: str,
    admin_email: str,
    admin_password: str,
    admin_name: str = "",
    admin_password_hash: str = "",
) -> Tenant:
    """The command-line path: the same checks as sign-up, provisioned right here."""
    signup = signup_create(
        company_name=name,
        slug=slug,
        admin_name=admin_name or admin_email.split("@")[0],
        admin_email=admin_email,
        admin_password=admin_password,
        enqueue=False,
        admin_password_hash=admin_password_hash,
    )
    return tenant_provision(tenant_id=signup.tenant_id)


def tenant_set_active(*, tenant: Tenant, active: bool) -> Tenant:
    _require_public()
    tenant.is_active = active
    tenant.save(update_fields=["is_active"])
    return tenant


def tenant_set_plan(*, tenant: Tenant, plan: str) -> Tenant:
    """Move a workspace to an API plan of ``TANDEM_API_PLANS`` (its rate limits follow within the tenant
    cache's lifetime in other processes)."""
    from django.conf import settings

    _require_public()
    if plan not in settings.TANDEM_API_PLANS:
        raise ValidationError({"plan": [f"Choose one of: {', '.join(settings.TANDEM_API_PLANS)}."]})
    tenant.plan = plan
    tenant.save(update_fields=["plan"])
    return tenant


@transaction.atomic
def tenant_retry_provisioning(*, tenant: Tenant) -> Tenant:
    _require_public()
    if tenant.ready:
        raise ValidationError("This workspace is already set up.")
    tenant.status = Tenant.Status.PENDING
    tenant.status_detail = ""
    tenant.save(update_fields=["status", "status_detail"])
    tenant_enqueue_provisioning(tenant_id=tenant.pk)
    return tenant


def platform_admin_create(*, email: str, password: str):
    from .models import PlatformAdmin

    _require_public()
    validate_email(email)
    validate_password(password)
    admin = PlatformAdmin.objects.filter(email__iexact=email).first()
    if admin is None:
        return PlatformAdmin.objects.create_admin(email=email, password=password)
    admin.set_password(password)
    admin.save(update_fields=["password"])
    return admin
