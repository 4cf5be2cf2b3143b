"""Sales facts, in the tenant schema: everything that happens inside the door."""

from .customers import CustomerAccount, Subscription, SubscriptionEvent
from .deals import Deal, DealContact, DealStageChange, DealType, ForecastCategory, LossCategory, LossReason
from .leads import LeadDecision, RejectionReason, SalesSettings, Team
from .pipelines import Pipeline, Stage
from .work import Activity, Quota

__all__ = [
    "Activity",
    "CustomerAccount",
    "Deal",
    "DealContact",
    "DealStageChange",
    "DealType",
    "ForecastCategory",
    "LeadDecision",
    "LossCategory",
    "LossReason",
    "Pipeline",
    "Quota",
    "RejectionReason",
    "SalesSettings",
    "Stage",
    "Subscription",
    "SubscriptionEvent",
    "Team",
]
