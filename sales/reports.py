"""Sales figures in SQL: retention over subscription events, speed to lead over activities."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import connection

RETENTION_SQL = """
WITH at_start AS (           -- each subscription's MRR just before the period
    SELECT DISTINCT ON (e.subscription_id) e.subscription_id, s.account_id, e.mrr_after AS mrr
    FROM sales_subscriptionevent e JOIN sales_subscription s ON s.id = e.subscription_id
    WHERE e.at < %(start)s
    ORDER BY e.subscription_id, e.at DESC, e.id DESC
), at_end AS (               -- and just before its end
    SELECT DISTINCT ON (e.subscription_id) e.subscription_id, s.account_id, e.mrr_after AS mrr
    FROM sales_subscriptionevent e JOIN sales_subscription s ON s.id = e.subscription_id
    WHERE e.at < %(end)s
    ORDER BY e.subscription_id, e.at DESC, e.id DESC
), changes AS (              -- movements inside the period of subscriptions live at its start
    SELECT e.kind, e.mrr_after - e.mrr_before AS delta
    FROM sales_subscriptionevent e JOIN at_start a ON a.subscription_id = e.subscription_id AND a.mrr > 0
    WHERE e.at >= %(start)s AND e.at < %(end)s
), accounts_start AS (SELECT account_id FROM at_start GROUP BY account_id HAVING SUM(mrr) > 0),
   accounts_end AS (SELECT account_id FROM at_end GROUP BY account_id HAVING SUM(mrr) > 0)
SELECT
    (SELECT COALESCE(SUM(mrr), 0) FROM at_start),
    (SELECT COALESCE(SUM(delta), 0) FROM changes WHERE kind = 'expansion'),
    (SELECT COALESCE(-SUM(delta), 0) FROM changes WHERE kind = 'contraction'),
    (SELECT COALESCE(-SUM(delta), 0) FROM changes WHERE kind = 'churn'),
    (SELECT COALESCE(SUM(e.mrr_after), 0) FROM sales_subscriptionevent e
     WHERE e.kind = 'new' AND e.at >= %(start)s AND e.at < %(end)s),
    (SELECT COUNT(*) FROM accounts_start),
    (SELECT COUNT(*) FROM accounts_start WHERE account_id NOT IN (SELECT account_id FROM accounts_end))
"""


def retention(*, start: dt.datetime, end: dt.datetime) -> dict:
    """MRR retention for [start, end), per ../shared/metrics.md: net revenue retention, gross revenue
    churn, expansion rate and logo churn, over customers live at the start (new ones excluded)."""
    with connection.cursor() as cursor:
        cursor.execute(RETENTION_SQL, {"start": start, "end": end})
        start_mrr, expansion, contraction, churned, new_mrr, customers, lost = cursor.fetchone()
    ratio = lambda value: (value / start_mrr).quantize(Decimal("0.0001")) if start_mrr else None  # noqa: E731
    return {
        "start_mrr": start_mrr,
        "expansion": expansion,
        "contraction": contraction,
        "churned": churned,
        "new_mrr": new_mrr,
        "customers_at_start": customers,
        "customers_lost": lost,
        "net_revenue_retention": ratio(start_mrr + expansion - contraction - churned),
        "gross_revenue_churn": ratio(churned + contraction),
        "expansion_rate": ratio(expansion),
        "logo_churn": (Decimal(lost) / customers).quantize(Decimal("0.0001")) if customers else None,
    }


def first_sales_touch(contact_id: int):
    """When sales first touched a contact after it last became an MQL (done activities only)."""
    from django.db.models import Min

    from marketing.models import Contact

    from .models import Activity

    mql_at = Contact.objects.filter(pk=contact_id).values_list("mql_at", flat=True).first()
    if mql_at is None:
        return None
    return Activity.objects.filter(contact_id=contact_id, done_at__gte=mql_at).aggregate(
        first=Min("done_at")
    )["first"]


def my_activities(user, *, limit: int = 200):
    """A rep's list: overdue first (oldest due first), then upcoming, then undated."""
    from django.db.models import Case, IntegerField, Value, When
    from django.utils import timezone

    from .models import Activity

    now = timezone.now()
    return (
        Activity.objects.filter(owner=user, done_at__isnull=True)
        .select_related("deal", "contact")
        .annotate(
            bucket=Case(
                When(due_at__lt=now, then=Value(0)),
                When(due_at__isnull=True, then=Value(2)),
                default=Value(1),
                output_field=IntegerField(),
            )
        )
        .order_by("bucket", "due_at", "id")[:limit]
    )
