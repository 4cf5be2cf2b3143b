from __future__ import annotations

from django.urls import path

from . import api

urlpatterns = [
    path("companies/", api.CompanyListView.as_view(), name="api-company-list"),
    path("companies/batch/", api.CompanyBatchView.as_view(), name="api-company-batch"),
    path("companies/<int:pk>/", api.CompanyDetailView.as_view(), name="api-company-detail"),
    path("contacts/", api.ContactListView.as_view(), name="api-contact-list"),
    path("contacts/batch/", api.ContactBatchView.as_view(), name="api-contact-batch"),
    path("contacts/<int:pk>/", api.ContactDetailView.as_view(), name="api-contact-detail"),
    path("contacts/<int:pk>/stage/", api.ContactStageView.as_view(), name="api-contact-stage"),
    path(
        "contacts/<int:pk>/personal-data/",
        api.ContactPersonalDataView.as_view(),
        name="api-contact-personal-data",
    ),
    path("contacts/<int:pk>/erasure/", api.ContactErasureView.as_view(), name="api-contact-erasure"),
    path(
        "contacts/<int:pk>/transitions/", api.ContactTransitionsView.as_view(), name="api-contact-transitions"
    ),
    path(
        "contacts/<int:pk>/touchpoints/", api.ContactTouchpointsView.as_view(), name="api-contact-touchpoints"
    ),
    path("campaigns/", api.CampaignListView.as_view(), name="api-campaign-list"),
    path("campaigns/<int:pk>/", api.CampaignDetailView.as_view(), name="api-campaign-detail"),
    path("campaigns/<int:pk>/costs/", api.CampaignCostListView.as_view(), name="api-campaign-costs"),
    path(
        "campaigns/<int:pk>/costs/<int:line_pk>/", api.CostLineDeleteView.as_view(), name="api-campaign-cost"
    ),
    path("campaigns/<int:pk>/sends/", api.CampaignSendListView.as_view(), name="api-campaign-sends"),
    path("campaigns/<int:pk>/sends/<int:send_pk>/", api.SendDeleteView.as_view(), name="api-campaign-send"),
    path("content/", api.ContentListView.as_view(), name="api-content-list"),
    path("content/<int:pk>/", api.ContentDetailView.as_view(), name="api-content-detail"),
    path("content/<int:pk>/file/", api.ContentFileView.as_view(), name="api-content-file"),
    path("touchpoints/", api.TouchpointListView.as_view(), name="api-touchpoint-list"),
    path("touchpoints/batch/", api.TouchpointBatchView.as_view(), name="api-touchpoint-batch"),
    path("segments/", api.SegmentListView.as_view(), name="api-segment-list"),
    path("segments/count/", api.SegmentCountView.as_view(), name="api-segment-count"),
    path("segments/<int:pk>/", api.SegmentDetailView.as_view(), name="api-segment-detail"),
    path("segments/<int:pk>/members/", api.SegmentMembersView.as_view(), name="api-segment-members"),
    path("scoring-rules/", api.ScoringRuleListView.as_view(), name="api-scoring-rule-list"),
    path("scoring-rules/<int:pk>/", api.ScoringRuleDetailView.as_view(), name="api-scoring-rule-detail"),
    path("mql-rule/", api.MqlRuleView.as_view(), name="api-mql-rule"),
    path("forms/", api.LeadFormListView.as_view(), name="api-form-list"),
    path("forms/<int:pk>/", api.LeadFormDetailView.as_view(), name="api-form-detail"),
    path("forms/<int:pk>/submissions/", api.LeadFormSubmissionsView.as_view(), name="api-form-submissions"),
    path("imports/", api.ImportListView.as_view(), name="api-import-list"),
    path("imports/<int:pk>/", api.ImportDetailView.as_view(), name="api-import-detail"),
    path("imports/<int:pk>/errors/", api.ImportErrorsView.as_view(), name="api-import-errors"),
]
