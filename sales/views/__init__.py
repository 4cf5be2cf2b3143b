"""Sales portal pages."""

from .board import BoardView, DealDetailView, DealMoveView, HomeView
from .leads import LeadQueueView
from .work import ActivityDoneView, CustomersView, MyActivitiesView

__all__ = [
    "ActivityDoneView",
    "BoardView",
    "CustomersView",
    "DealDetailView",
    "DealMoveView",
    "HomeView",
    "LeadQueueView",
    "MyActivitiesView",
]
