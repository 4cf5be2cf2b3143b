"""Marketing portal pages."""

from .campaigns import (
    CampaignCostView,
    CampaignCreateView,
    CampaignDeleteView,
    CampaignDetailView,
    CampaignEditView,
    CampaignListView,
    CampaignSendView,
)
from .contacts import (
    CompanyListView,
    ContactCreateView,
    ContactDetailView,
    ContactEditView,
    ContactEraseView,
    ContactListView,
    ContactPersonalDataView,
    ContactStageView,
)
from .content import ContentCreateView, ContentEditView, ContentFileView, ContentListView
from .dashboard import HomeView
from .imports import ExportView, ImportDetailView, ImportErrorsView, ImportListView
from .leadforms import LeadFormDetailView, LeadFormEditView, LeadFormListView
from .scoring import ScoringView
from .segments import (
    SegmentCountView,
    SegmentCreateView,
    SegmentDetailView,
    SegmentEditView,
    SegmentListView,
    SegmentMembersView,
)

__all__ = [
    "CampaignCostView",
    "CampaignCreateView",
    "CampaignDeleteView",
    "CampaignDetailView",
    "CampaignEditView",
    "CampaignListView",
    "CampaignSendView",
    "CompanyListView",
    "ContactCreateView",
    "ContactDetailView",
    "ContactEditView",
    "ContactEraseView",
    "ContactListView",
    "ContactPersonalDataView",
    "ContactStageView",
    "ContentCreateView",
    "ContentEditView",
    "ContentFileView",
    "ContentListView",
    "ExportView",
    "HomeView",
    "ImportDetailView",
    "ImportErrorsView",
    "ImportListView",
    "LeadFormDetailView",
    "LeadFormEditView",
    "LeadFormListView",
    "ScoringView",
    "SegmentCountView",
    "SegmentCreateView",
    "SegmentDetailView",
    "SegmentEditView",
    "SegmentListView",
    "SegmentMembersView",
]
