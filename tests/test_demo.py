"""The demo data: deterministic, consistent, and applied once (`make run` runs it on every start)."""

from __future__ import annotations

import pytest
from django.db.models import Count, Max
from django.utils import timezone
from django_tenants.utils import schema_context

pytestmark = pytest.mark.django_db


@pytest.mark.once_per_ci  # two minutes of seeding; the same PostgreSQL code on either server
def test_demo_history_is_consistent_and_applied_once(tenant_a):
    from marketing import demo as marketing_demo
    from marketing.models import Campaign, Contact, Touchpoint
    from sales import demo as sales_demo
    from sales.models import Activity, CustomerAccount, Deal, DealStageChange, Subscription

    assert marketing_demo.seed(tenant=tenant_a) and sales_demo.seed(tenant=tenant_a)
    assert not marketing_demo.seed(tenant=tenant_a) and not sales_demo.seed(tenant=tenant_a)
    with schema_context("alpha"):
        assert Campaign.objects.count() == 20 and Contact.objects.count() >= 3000
        assert Touchpoint.objects.count() > 20_000
        deals = Deal.objects.count()
        assert deals > 200
        assert set(Deal.objects.values_list("status", flat=True)) == {"open", "won", "lost"}
        # every deal's last recorded move ends in its current stage, and lost deals have a reason
        last = DealStageChange.objects.values("deal").annotate(last=Max("id"))
        ends = dict(
            DealStageChange.objects.filter(id__in=[row["last"] for row in last]).values_list(
                "deal", "to_stage"
            )
        )
        assert all(ends[pk] == stage for pk, stage in Deal.objects.values_list("pk", "stage"))
        assert not Deal.objects.filter(status="lost", loss_reason__isnull=True).exists()
        # deals come from contacts that had marketing touchpoints
        assert not Deal.objects.annotate(t=Count("lead__touchpoints")).filter(t=0).exists()
        assert CustomerAccount.objects.exists() and Subscription.objects.filter(status="cancelled").exists()
        # reps share marketing's content with prospects, so deal pages show it
        assert Activity.objects.filter(content__isnull=False, kind="email").exists()
        assert not Activity.objects.filter(content__isnull=False).exclude(kind="email").exists()

    # the demo's metrics: a sales cost for CAC and a first full recompute, once
    from django.db.models import Sum

    from alignment import demo as alignment_demo
    from alignment.models import EngineRun, MetricValue
    from alignment.services import current_definition

    assert alignment_demo.seed(tenant=tenant_a) and not alignment_demo.seed(tenant=tenant_a)
    with schema_context("alpha"):
        definition = current_definition()
        assert definition.sales_cost_per_month == alignment_demo.DEMO_SALES_COST_PER_MONTH
        assert (
            EngineRun.objects.filter(kind="full", definition=definition, finished_at__isnull=False).count()
            == 1
        )
        stored = MetricValue.objects.filter(
            metric="revenue_won", granularity="month", dimension="", definition=definition
        ).aggregate(total=Sum("value"))["total"]
        assert stored == Deal.objects.filter(status="won").aggregate(total=Sum("amount"))["total"] > 0

    # the alignment work: goals in all three states, SLA breaches on both sides, objections with and without
    # answers; once
    from alignment.models import Goal, Notification, Objection, SlaClock
    from alignment.sla_report import marketing_side

    with schema_context("alpha"):
        statuses = set(Goal.objects.values_list("status", flat=True))
        assert {"on_track", "at_risk", "off_track"} <= statuses, statuses
        assert Goal.objects.filter(parent__isnull=False).exists()
        assert SlaClock.objects.filter(first_touch_breached_at__isnull=False).exists()
        assert Notification.objects.filter(kind="sla_breached").exists()
        assert marketing_side(timezone.now().date()).volume_met is False  # marketing short of its commitment
        answered = Objection.objects.filter(answers__isnull=False).distinct().count()
        assert answered and Objection.objects.filter(answers__isnull=True).exists()
        assert Objection.objects.filter(logs__isnull=False).distinct().count() == Objection.objects.count()
        goals_before = Goal.objects.count()
    assert not alignment_demo.seed(tenant=tenant_a)
    with schema_context("alpha"):
        assert Goal.objects.count() == goals_before

    # the scorecard has history: a score for each of the last six months, every component with data in
    # the last one, feedback closure between none and all, and SLA clocks replayed quietly (no notice for
    # the months before)
    from alignment.models import MetricValue as Stored
    from alignment.reports.filters import period_of, shift, today
    from alignment.scorecard import scorecard

    with schema_context("alpha"):
        this = period_of(today(), "month")
        months = [shift(this, "month", -n) for n in range(1, 7)]
        scores = dict(
            Stored.objects.filter(
                metric="alignment_score", granularity="month", dimension="", period_start__in=months
            ).values_list("period_start", "value")
        )
        assert sorted(scores) == sorted(months) and all(
            v is not None and 0 < v < 100 for v in scores.values()
        )
        last = scorecard(grain="month", start=months[0])
        assert all(c.value is not None for c in last.components), [(c.key, c.value) for c in last.components]
        closure = Stored.objects.filter(
            metric="feedback_closure", granularity="month", dimension="", value__gt=0, value__lt=1
        )
        assert closure.exists()
        assert SlaClock.objects.filter(mql_at__date__lt=months[-1]).exists()  # clocks from half a year back
        old = Notification.objects.filter(kind="sla_breached", body__contains=f"{months[-1]:%Y-%m}")
        assert not old.exists()
