"""Sales portal pages."""

from .board import BoardView
from .dashboard import DashboardView
from .deals import DealCreateView, DealDetailView, DealMoveView
from .leads import LeadQueueView
from .quotas import QuotaDeleteView, QuotasView
from .setup import PipelineSetupView, SalesSetupView
from .work import ActivityDoneView, CustomersView, MyActivitiesView

__all__ = [
    "ActivityDoneView",
    "BoardView",
    "CustomersView",
    "DealCreateView",
    "DealDetailView",
    "DealMoveView",
    "DashboardView",
    "LeadQueueView",
    "MyActivitiesView",
    "PipelineSetupView",
    "SalesSetupView",
    "QuotaDeleteView",
    "QuotasView",
]
