"""Quotas: targets per rep or team for a month or a quarter."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.models import User
from marketing.services.campaigns import parse_day, parse_money

from ..models import Quota, Team


@transaction.atomic
def quota_set(
    *, period: str, period_start, metric: str, target, owner: User | None = None, team: Team | None = None
) -> Quota:
    """Create or replace the target of one rep or team for one period."""
    errors: dict[str, list[str]] = {}
    if (owner is None) == (team is None):
        errors["owner"] = ["Set the quota for a rep or for a team."]
    if period not in Quota.Period.values:
        errors["period"] = [f"Choose one of {', '.join(Quota.Period.values)}."]
    if metric not in Quota.Metric.values:
        errors["metric"] = [f"Choose one of {', '.join(Quota.Metric.values)}."]
    start = parse_day(period_start, "period_start", errors)
    if start and start.day != 1:
        errors["period_start"] = ["A period starts on the first day of a month."]
    elif start and period == Quota.Period.QUARTER and start.month not in (1, 4, 7, 10):
        errors["period_start"] = ["A quarter starts on 1 January, April, July or October."]
    amount = parse_money(target, "target", errors)
    if amount is not None and metric == Quota.Metric.DEALS_WON and amount != amount.to_integral_value():
        errors["target"] = ["A number of deals is a whole number."]
    if errors:
        raise ValidationError(errors)
    quota, _ = Quota.objects.update_or_create(
        owner=owner, team=team, period=period, period_start=start, metric=metric, defaults={"target": amount}
    )
    return quota


@transaction.atomic
def quota_delete(*, quota: Quota) -> None:
    quota.delete()
