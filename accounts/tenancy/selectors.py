from __future__ import annotations

from django.db.models import QuerySet

from .models import Signup, Tenant


def dispatchable_schemas() -> list[str]:
    """Schemas that periodic work may touch: ready and active tenants, never ``public``."""
    return list(
        Tenant.objects.filter(ready=True, is_active=True)
        .exclude(schema_name="public")
        .order_by("schema_name")
        .values_list("schema_name", flat=True)
    )


def tenant_list(*, search: str = "", status: str = "") -> QuerySet[Tenant]:
    qs = Tenant.objects.exclude(schema_name="public").select_related("signup").order_by("-created", "-id")
    if search:
        qs = qs.filter(name__icontains=search) | qs.filter(slug__icontains=search)
    if status == "inactive":
        qs = qs.filter(is_active=False)
    elif status:
        qs = qs.filter(status=status)
    return qs


def signup_by_token(token: str) -> Signup | None:
    if not token or len(token) > 64:
        return None
    return Signup.objects.select_related("tenant").filter(token=token).first()
