"""Demo metrics: the demo workspace's definitions (a plausible sales cost for CAC) and a first full
recompute, so the joint reports are full right after `make run`."""

from __future__ import annotations

from decimal import Decimal

from django.db import connection
from django_tenants.utils import schema_context

from . import engine
from .models import DefinitionVersion, EngineRun
from .services import current_definition, definition_values

FACT_TABLES = (
    "marketing_contact",
    "marketing_touchpoint",
    "marketing_stagetransition",
    "marketing_costline",
    "sales_deal",
    "sales_dealcontact",
    "sales_dealstagechange",
    "sales_activity",
    "sales_subscriptionevent",
)
DEMO_SALES_COST_PER_MONTH = Decimal("42000")  # four reps and their tools, per month


def seed(*, tenant) -> bool:
    with schema_context(tenant.schema_name):
        if EngineRun.objects.filter(kind=EngineRun.Kind.FULL).exists():
            return False
        current = current_definition()
        if current.sales_cost_per_month == 0:  # a new version, computed right below (no task queued)
            DefinitionVersion.objects.create(
                **{**definition_values(current), "sales_cost_per_month": DEMO_SALES_COST_PER_MONTH}
            )
        with connection.cursor() as cursor:  # fresh bulk loads: give the planner its statistics first
            cursor.execute(f"ANALYZE {', '.join(FACT_TABLES)}")
        engine.run(full=True)
        return True
