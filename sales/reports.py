"""Sales figures in SQL: retention over subscription events, speed to lead over activities."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import connection
from django.db.models import (
    Case,
    Count,
    DateField,
    DecimalField,
    ExpressionWrapper,
    F,
    Func,
    IntegerField,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Round, TruncMonth
from django.utils import timezone

from marketing.models import Contact

from .models import Activity, Deal, Quota

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
    mql_at = Contact.objects.filter(pk=contact_id).values_list("mql_at", flat=True).first()
    if mql_at is None:
        return None
    return Activity.objects.filter(contact_id=contact_id, done_at__gte=mql_at).aggregate(
        first=Min("done_at")
    )["first"]


def my_activities(user, *, limit: int = 200):
    """A rep's list: overdue first (oldest due first), then upcoming, then undated."""
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


def period_end(period: str, start: dt.date) -> dt.date:
    months = 3 if period == "quarter" else 1
    month = start.month - 1 + months
    return dt.date(start.year + month // 12, month % 12 + 1, 1)


class AddMonths(Func):
    """``date + n months`` as a date, in SQL (a quota period's end from its start)."""

    output_field = DateField()

    def as_sql(self, compiler, connection, **extra_context):
        day_sql, day_params = compiler.compile(self.source_expressions[0])
        n_sql, n_params = compiler.compile(self.source_expressions[1])
        return f"(({day_sql}) + make_interval(months => ({n_sql})::int))::date", [*day_params, *n_params]


def _won_in_quota_period(owners: Q, metric: str) -> Subquery:
    won = Deal.objects.filter(
        owners,
        status=Deal.Status.WON,
        closed_at__date__gte=OuterRef("period_start"),
        closed_at__date__lt=OuterRef("period_end"),
    )
    value = Sum("amount") if metric == "revenue_won" else Count("id")
    return Subquery(
        won.order_by().annotate(g=Value(1)).values("g").annotate(v=value).values("v"),
        output_field=DecimalField(max_digits=16, decimal_places=2),
    )


def quota_attainment(quotas: QuerySet[Quota]) -> QuerySet[Quota]:
    """Quotas annotated with ``period_end``, ``actual`` (won revenue or won deals of the rep, or of the
    team's members, closed inside the period) and ``attainment`` (actual / target): one query for the
    whole list, whatever its length."""
    zero = Value(Decimal("0"), output_field=DecimalField(max_digits=16, decimal_places=2))
    actual = Case(
        When(
            owner__isnull=False,
            metric="revenue_won",
            then=Coalesce(_won_in_quota_period(Q(owner=OuterRef("owner_id")), "revenue_won"), zero),
        ),
        When(
            owner__isnull=False,
            then=Coalesce(_won_in_quota_period(Q(owner=OuterRef("owner_id")), "deals_won"), zero),
        ),
        When(
            metric="revenue_won",
            then=Coalesce(
                _won_in_quota_period(Q(owner__sales_teams=OuterRef("team_id")), "revenue_won"), zero
            ),
        ),
        default=Coalesce(_won_in_quota_period(Q(owner__sales_teams=OuterRef("team_id")), "deals_won"), zero),
        output_field=DecimalField(max_digits=16, decimal_places=2),
    )
    months = Case(When(period="quarter", then=Value(3)), default=Value(1), output_field=IntegerField())
    return quotas.annotate(period_end=AddMonths(F("period_start"), months)).annotate(
        actual=actual,
        attainment=Case(
            When(target__gt=0, then=Round(F("actual") / F("target"), 4)),
            default=None,
            output_field=DecimalField(max_digits=12, decimal_places=4),
        ),
    )


def weighted_amount() -> ExpressionWrapper:
    """A deal's amount times its probability: the deal's own override, else its stage's."""
    weight = Coalesce("probability_override", "stage__probability")
    return ExpressionWrapper(
        F("amount") * weight / 100, output_field=DecimalField(max_digits=16, decimal_places=2)
    )


def weighted_pipeline_by_month(*, pipeline_id: int | None = None) -> list[dict]:
    """Open deals by expected close month: count, total, and amount x probability (override or stage)."""
    qs = Deal.objects.filter(status=Deal.Status.OPEN)
    if pipeline_id is not None:
        qs = qs.filter(pipeline_id=pipeline_id)
    weighted = weighted_amount()
    return list(
        qs.annotate(month=TruncMonth("expected_close_date"))
        .values("month")
        .annotate(deals=Count("id"), weighted=Sum(weighted), total=Sum("amount"))
        .order_by("month")
    )


def _forecast_columns(start: dt.date, end: dt.date) -> dict:
    """Sums for [start, end): won (closed inside it), and open deals expected to close inside it by
    forecast category, plus their weighted amount."""
    expected = Q(status="open", expected_close_date__gte=start, expected_close_date__lt=end)
    columns = {
        "won": Sum("amount", filter=Q(status="won", closed_at__date__gte=start, closed_at__date__lt=end)),
        "weighted": Sum(weighted_amount(), filter=expected & ~Q(forecast_category="omitted")),
    }
    for category in ("commit", "best_case", "pipeline"):
        columns[category] = Sum("amount", filter=expected & Q(forecast_category=category))
    return columns


def forecast_by_category(*, start: dt.date, end: dt.date) -> dict[str, Decimal]:
    """Open deals expected to close in [start, end) by forecast category, plus what is already won."""
    sums = Deal.objects.aggregate(**_forecast_columns(start, end))
    return {key: value or Decimal("0") for key, value in sums.items()}


def forecast_by_rep(*, start: dt.date, end: dt.date) -> list[dict]:
    """Per rep, for [start, end): the revenue quota (rep quotas whose period starts inside it), won, commit,
    best case, pipeline and weighted, and won + commit against the quota. Two queries, whatever the
    number of deals or reps."""
    in_period = Q(status="won", closed_at__date__gte=start, closed_at__date__lt=end) | Q(
        status="open", expected_close_date__gte=start, expected_close_date__lt=end
    )
    rows = {
        row["owner"]: row
        for row in Deal.objects.filter(in_period, owner__isnull=False)
        .values("owner", "owner__full_name", "owner__email")
        .annotate(**_forecast_columns(start, end))
        .order_by()
    }
    quotas = (
        Quota.objects.filter(
            metric="revenue_won", owner__isnull=False, period_start__gte=start, period_start__lt=end
        )
        .values("owner", "owner__full_name", "owner__email")
        .annotate(target=Sum("target"))
        .order_by()
    )
    for quota in quotas:
        rows.setdefault(quota["owner"], {k: quota[k] for k in ("owner", "owner__full_name", "owner__email")})
        rows[quota["owner"]]["quota"] = quota["target"]
    result = []
    for row in rows.values():
        for key in ("won", "commit", "best_case", "pipeline", "weighted", "quota"):
            row[key] = row.get(key) or Decimal("0")
        row["name"] = row.pop("owner__full_name") or row.pop("owner__email")
        row.pop("owner__email", None)
        row["forecast"] = row["won"] + row["commit"]
        row["attainment"] = (row["won"] / row["quota"]).quantize(Decimal("0.0001")) if row["quota"] else None
        row["forecast_attainment"] = (
            (row["forecast"] / row["quota"]).quantize(Decimal("0.0001")) if row["quota"] else None
        )
        result.append(row)
    return sorted(result, key=lambda r: (-r["quota"], -r["forecast"], r["name"]))


def quarter_bounds(today: dt.date) -> tuple[dt.date, dt.date]:
    start = dt.date(today.year, (today.month - 1) // 3 * 3 + 1, 1)
    return start, period_end("quarter", start)


CLOSED_SQL = """
SELECT
    COUNT(*) FILTER (WHERE status = 'won'),
    COUNT(*) FILTER (WHERE status = 'lost'),
    COALESCE(SUM(amount) FILTER (WHERE status = 'won'), 0),
    AVG(EXTRACT(EPOCH FROM closed_at - created_at) / 86400) FILTER (WHERE status = 'won'),
    percentile_cont(0.5) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM closed_at - created_at) / 86400)
        FILTER (WHERE status = 'won')
FROM sales_deal
WHERE status IN ('won', 'lost') AND closed_at >= %(start)s AND closed_at < %(end)s
"""


def closed_summary(*, start: dt.date, end: dt.date) -> dict:
    """Deals closed in [start, end): win rate, won revenue, average deal size and cycle length (days)."""
    with connection.cursor() as cursor:
        cursor.execute(CLOSED_SQL, {"start": start, "end": end})
        won, lost, revenue, mean_days, median_days = cursor.fetchone()
    return {
        "won": won,
        "lost": lost,
        "revenue": revenue,
        "win_rate": (Decimal(won) / (won + lost)).quantize(Decimal("0.0001")) if won + lost else None,
        "average_deal": (revenue / won).quantize(Decimal("0.01")) if won else None,
        "cycle_mean_days": round(float(mean_days), 1) if mean_days is not None else None,
        "cycle_median_days": round(float(median_days), 1) if median_days is not None else None,
    }


def revenue_quota(*, start: dt.date, end: dt.date) -> Decimal:
    """The revenue target for [start, end): reps' quotas whose period falls inside it."""
    total = Quota.objects.filter(
        metric="revenue_won", owner__isnull=False, period_start__gte=start, period_start__lt=end
    ).aggregate(total=Sum("target"))["total"]
    return total or Decimal("0")
