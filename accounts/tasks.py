from __future__ import annotations

from django.contrib.sessions.models import Session
from django.core.mail import send_mail
from django.db import connection
from django.template.loader import render_to_string
from django.utils import timezone

from config.celery import tenant_task

from .models import Invitation


@tenant_task(
    name="accounts.send_invitation_email",
    acks_late=True,
    max_retries=5,
    retry_backoff=True,
    autoretry_for=(OSError,),
)
def send_invitation_email(*, tenant_schema: str, invitation_id: int, accept_url: str) -> bool:
    invitation = Invitation.objects.select_related("invited_by").filter(pk=invitation_id).first()
    if invitation is None or not invitation.is_open:
        return False
    context = {"invitation": invitation, "accept_url": accept_url, "workspace": connection.tenant}
    send_mail(
        subject=render_to_string("accounts/email/invitation_subject.txt", context).strip(),
        message=render_to_string("accounts/email/invitation.txt", context),
        from_email=None,
        recipient_list=[invitation.email],
    )
    return True


@tenant_task(name="accounts.housekeeping", acks_late=True)
def housekeeping(*, tenant_schema: str) -> dict[str, int]:
    """Periodic per-tenant clean-up: expired sessions and idempotency records past their time. Idempotent."""
    from .idempotency import prune

    deleted, _ = Session.objects.filter(expire_date__lt=timezone.now()).delete()
    return {"sessions_deleted": deleted, "idempotency_records_deleted": prune()}


@tenant_task(name="accounts.where_am_i")
def where_am_i(*, tenant_schema: str) -> dict[str, str]:
    """Report the schema PostgreSQL itself says the task runs in (operations and the test suite)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_schema()")
        current = cursor.fetchone()[0]
    return {"sent_for": tenant_schema, "connection": connection.schema_name, "postgres": current}


@tenant_task(name="accounts.deliver_webhooks", acks_late=True)
def deliver_webhooks(*, tenant_schema: str) -> dict[str, int]:
    """Right after a commit that wrote events, and every 30 s: attempt every webhook delivery that is due
    (``accounts.webhooks``). Rows are claimed, so two runs never send one delivery twice at once."""
    from .webhooks import deliver_due

    return deliver_due()
