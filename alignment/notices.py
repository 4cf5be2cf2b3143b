"""In-app notices (``Notification``) and their e-mails: every module that tells people something (goal
status, SLA clocks, the objection digest) builds its notices and hands them to ``send``."""

from __future__ import annotations

from django.core.mail import send_mail
from django.db import connection
from django.utils import timezone

from .models import Notification


def send(notices: list[Notification]) -> list[int]:
    """Store the notices and, once the transaction commits, e-mail them (a task); returns their ids."""
    if not notices:
        return []
    from config.outbox import enqueue

    from .tasks import email_notifications

    ids = [n.pk for n in Notification.objects.bulk_create(notices)]
    schema = connection.schema_name
    enqueue(email_notifications, schema, kwargs={"ids": ids})
    return ids


def email(*, ids: list[int]) -> int:
    """E-mail the notices ``ids`` not e-mailed yet, each claimed first so a retried task sends it once.
    Returns how many went out."""
    from .report_email import _workspace, link_on

    name, _, host = _workspace()
    sent = 0
    for notice in Notification.objects.filter(pk__in=ids, emailed_at__isnull=True).select_related("user"):
        unsent = Notification.objects.filter(pk=notice.pk, emailed_at__isnull=True)
        if not unsent.update(emailed_at=timezone.now()) or not notice.user.is_active:
            continue
        send_mail(
            subject=f"[{name}] {notice.title}",
            message=f"{notice.body}\n\n{link_on(host, notice.link)}\n",
            from_email=None,
            recipient_list=[notice.user.email],
        )
        sent += 1
    return sent
