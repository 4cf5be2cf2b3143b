"""Sales portal pages."""

from .board import BoardView, DealDetailView, DealMoveView, HomeView
from .leads import LeadQueueView

__all__ = ["BoardView", "DealDetailView", "DealMoveView", "HomeView", "LeadQueueView"]
