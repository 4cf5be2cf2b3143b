from __future__ import annotations

import datetime as dt

from django.db.models import Q, QuerySet
from django.utils import timezone

from .models import ApiKey, AuditEntry, Invitation, User
from .roles import Role

USER_SORTS = {
    "name": ("full_name", "id"),
    "-name": ("-full_name", "-id"),
    "email": ("email", "id"),
    "-email": ("-email", "-id"),
    "joined": ("date_joined", "id"),
    "-joined": ("-date_joined", "-id"),
}


def user_list(*, search: str = "", role: str = "", status: str = "", sort: str = "name") -> QuerySet[User]:
    qs = User.objects.all()
    if search:
        qs = qs.filter(Q(full_name__icontains=search) | Q(email__icontains=search))
    if role in Role.values:
        qs = qs.filter(roles__contains=[role])
    if status == "active":
        qs = qs.filter(is_active=True)
    elif status == "inactive":
        qs = qs.filter(is_active=False)
    return qs.order_by(*USER_SORTS.get(sort, USER_SORTS["name"]))


def invitation_list(*, pending_only: bool = True) -> QuerySet[Invitation]:
    qs = Invitation.objects.select_related("invited_by")
    if pending_only:
        qs = qs.filter(accepted__isnull=True, revoked__isnull=True, expires__gt=timezone.now())
    return qs.order_by("-created", "-id")


def api_key_list(*, include_revoked: bool = True) -> QuerySet[ApiKey]:
    qs = ApiKey.objects.select_related("created_by")
    if not include_revoked:
        qs = qs.filter(revoked__isnull=True)
    return qs.order_by("-created", "-id")


def dashboard_counts() -> dict[str, int]:
    """Workspace figures for the admin home card, in one query."""
    from django.db.models import Count

    now = timezone.now()
    users = User.objects.aggregate(active=Count("id", filter=Q(is_active=True)), total=Count("id"))
    return {
        "users_active": users["active"],
        "users_total": users["total"],
        "invitations_pending": Invitation.objects.filter(
            accepted__isnull=True, revoked__isnull=True, expires__gt=now
        ).count(),
        "api_keys_active": ApiKey.objects.filter(revoked__isnull=True)
        .filter(Q(expires__isnull=True) | Q(expires__gt=now))
        .count(),
    }


def audit_list(
    *, search: str = "", source: str = "", since: dt.date | None = None, until: dt.date | None = None
) -> QuerySet[AuditEntry]:
    """Audit entries, newest first. ``search`` matches the actor, the action, the object type or id, or
    the request id; ``since``/``until`` are UTC dates, both included."""
    entries = AuditEntry.objects.all()
    if search:
        entries = entries.filter(
            Q(actor_label__icontains=search)
            | Q(action__icontains=search)
            | Q(object_type__icontains=search)
            | Q(object_id=search)
            | Q(request_id=search)
        )
    if source:
        entries = entries.filter(source=source)
    # whole UTC days, as a range on the indexed column (a cast to a date per row would scan the table)
    if since:
        entries = entries.filter(at__gte=dt.datetime.combine(since, dt.time.min, tzinfo=dt.UTC))
    if until:
        entries = entries.filter(
            at__lt=dt.datetime.combine(until + dt.timedelta(days=1), dt.time.min, tzinfo=dt.UTC)
        )
    return entries.order_by("-id")
