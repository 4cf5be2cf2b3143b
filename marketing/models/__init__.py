"""Marketing's facts, all in the tenant schema. Everything marketing does must be countable."""

from .campaigns import Campaign, CampaignSend, Channel, CostLine
from .contacts import Company, Contact, LifecycleStage, StageTransition
from .content import ContentAsset
from .forms import FormSubmission, LeadForm
from .imports import ImportJob
from .scoring import MqlRule, ScoringRule
from .segments import Segment, SegmentMember, SegmentSnapshot
from .touchpoints import Touchpoint, TouchpointKind

__all__ = [
    "Campaign",
    "CampaignSend",
    "Channel",
    "Company",
    "Contact",
    "ContentAsset",
    "CostLine",
    "FormSubmission",
    "ImportJob",
    "LeadForm",
    "LifecycleStage",
    "MqlRule",
    "ScoringRule",
    "Segment",
    "SegmentMember",
    "SegmentSnapshot",
    "StageTransition",
    "Touchpoint",
    "TouchpointKind",
]
