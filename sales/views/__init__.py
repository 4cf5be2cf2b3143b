"""Sales portal pages."""

from .board import BoardView, DealDetailView, DealMoveView
from .dashboard import DashboardView
from .leads import LeadQueueView
from .work import ActivityDoneView, CustomersView, MyActivitiesView

__all__ = [
    "ActivityDoneView",
    "BoardView",
    "CustomersView",
    "DealDetailView",
    "DealMoveView",
    "DashboardView",
    "LeadQueueView",
    "MyActivitiesView",
]
