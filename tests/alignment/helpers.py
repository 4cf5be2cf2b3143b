"""Shared helpers of the alignment tests: dated moments, stored values, contacts with a stage history,
deals with given dates, and a snapshot of every stored value."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from alignment.models import MetricValue
from marketing.models import Contact, StageTransition
from sales.models import Deal, LossReason, Pipeline
from sales.services.deals import deal_create
from tests.marketing import factories


def at(month: int, day: int, hour: int = 12) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, tzinfo=dt.UTC)


def value(metric, month, dimension="", dimension_value="", *, model="", grain="month", start=None):
    """The stored value of a period starting on the 1st of ``month`` 2026 (or on ``start``), or None."""
    row = MetricValue.objects.filter(
        metric=metric,
        granularity=grain,
        period_start=start or dt.date(2026, month, 1),
        dimension=dimension,
        dimension_value=str(dimension_value),
        model=model,
    ).first()
    return None if row is None else row.value


def q(number, places="0.0001") -> Decimal:
    return Decimal(number).quantize(Decimal(places))


def contact_with(history, campaign=None):
    contact = factories.contact()
    Contact.objects.filter(pk=contact.pk).update(first_touch_campaign=campaign, company=None)
    StageTransition.objects.filter(contact=contact).delete()
    StageTransition.objects.bulk_create(
        [StageTransition(contact=contact, to_stage=stage, at=moment) for stage, moment in history]
    )
    return contact


def deal(amount, created, *, closed=None, status="open", campaign=None, lead=None, override=None):
    d = deal_create(data={"name": f"deal {amount}", "amount": str(amount)}, lead=lead)
    pipeline = Pipeline.objects.get(is_default=True)
    stage = pipeline.stages.filter(kind=status if status != "open" else "open").order_by("position").first()
    Deal.objects.filter(pk=d.pk).update(
        created_at=created,
        closed_at=closed,
        status=status,
        stage=stage,
        source_campaign=campaign,
        probability_override=override,
        loss_category="pricing" if status == "lost" else "",
        loss_reason=LossReason.objects.first() if status == "lost" else None,
    )
    d.refresh_from_db()
    return d


def snapshot() -> dict:
    return {
        (v.metric, v.granularity, v.period_start, v.dimension, v.dimension_value, v.model): (
            v.value,
            v.numerator,
            v.denominator,
        )
        for v in MetricValue.objects.all()
    }
