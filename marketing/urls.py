from __future__ import annotations

from django.urls import path

from . import views

app_name = "marketing"

urlpatterns = [
    path("", views.HomeView.as_view(), name="home"),
    path("campaigns/", views.CampaignListView.as_view(), name="campaign_list"),
    path("campaigns/new/", views.CampaignCreateView.as_view(), name="campaign_create"),
    path("campaigns/<int:pk>/", views.CampaignDetailView.as_view(), name="campaign_detail"),
    path("campaigns/<int:pk>/edit/", views.CampaignEditView.as_view(), name="campaign_edit"),
    path("campaigns/<int:pk>/delete/", views.CampaignDeleteView.as_view(), name="campaign_delete"),
    path("campaigns/<int:pk>/costs/", views.CampaignCostView.as_view(), name="campaign_costs"),
    path("campaigns/<int:pk>/sends/", views.CampaignSendView.as_view(), name="campaign_sends"),
    path("contacts/", views.ContactListView.as_view(), name="contact_list"),
    path("contacts/new/", views.ContactCreateView.as_view(), name="contact_create"),
    path("contacts/<int:pk>/", views.ContactDetailView.as_view(), name="contact_detail"),
    path("contacts/<int:pk>/edit/", views.ContactEditView.as_view(), name="contact_edit"),
    path("contacts/<int:pk>/stage/", views.ContactStageView.as_view(), name="contact_stage"),
    path(
        "contacts/<int:pk>/personal-data.json",
        views.ContactPersonalDataView.as_view(),
        name="contact_personal_data",
    ),
    path("contacts/<int:pk>/erase/", views.ContactEraseView.as_view(), name="contact_erase"),
    path("companies/", views.CompanyListView.as_view(), name="company_list"),
    path("content/", views.ContentListView.as_view(), name="content_list"),
    path("content/new/", views.ContentCreateView.as_view(), name="content_create"),
    path("content/<int:pk>/edit/", views.ContentEditView.as_view(), name="content_edit"),
    path("content/<int:pk>/file/", views.ContentFileView.as_view(), name="content_file"),
    path("segments/", views.SegmentListView.as_view(), name="segment_list"),
    path("segments/new/", views.SegmentCreateView.as_view(), name="segment_create"),
    path("segments/count/", views.SegmentCountView.as_view(), name="segment_count"),
    path("segments/<int:pk>/", views.SegmentDetailView.as_view(), name="segment_detail"),
    path("segments/<int:pk>/edit/", views.SegmentEditView.as_view(), name="segment_edit"),
    path("segments/<int:pk>/members/", views.SegmentMembersView.as_view(), name="segment_members"),
    path("forms/", views.LeadFormListView.as_view(), name="form_list"),
    path("forms/new/", views.LeadFormEditView.as_view(), name="form_create"),
    path("forms/<int:pk>/", views.LeadFormDetailView.as_view(), name="form_detail"),
    path("forms/<int:pk>/edit/", views.LeadFormEditView.as_view(), name="form_edit"),
    path("scoring/", views.ScoringView.as_view(), name="scoring"),
    path("imports/", views.ImportListView.as_view(), name="import_list"),
    path("imports/<int:pk>/", views.ImportDetailView.as_view(), name="import_detail"),
    path("imports/<int:pk>/errors.csv", views.ImportErrorsView.as_view(), name="import_errors"),
    path("export/<slug:what>.csv", views.ExportView.as_view(), name="export"),
]
