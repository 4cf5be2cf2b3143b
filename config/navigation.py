"""The portal's navigation, declared once. Sections show by role (``accounts.roles.NAV_SECTIONS``)."""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import reverse


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str
    icon: str
    write: bool = False  # shown only to roles that may change the area


@dataclass(frozen=True)
class NavSection:
    area: str
    label: str
    items: tuple[NavItem, ...]


SECTIONS: tuple[NavSection, ...] = (
    NavSection(
        "marketing",
        "Marketing",
        (
            NavItem("Overview", "marketing:home", "◎"),
            NavItem("Campaigns", "marketing:campaign_list", "✦"),
            NavItem("Contacts", "marketing:contact_list", "☺"),
            NavItem("Content", "marketing:content_list", "▤"),
            NavItem("Segments", "marketing:segment_list", "◔"),
            NavItem("Forms", "marketing:form_list", "✎"),
            NavItem("Scoring", "marketing:scoring", "★"),
            NavItem("Import", "marketing:import_list", "⇪", write=True),
        ),
    ),
    NavSection(
        "sales",
        "Sales",
        (
            NavItem("Overview", "sales:home", "◆"),
            NavItem("Pipeline", "sales:board", "▥"),
            NavItem("Lead queue", "sales:lead_queue", "⇥"),
            NavItem("My activities", "sales:my_activities", "✓"),
            NavItem("Customers", "sales:customers", "♻"),
            NavItem("Quotas & forecast", "sales:quotas", "◎"),
            NavItem("Set-up", "sales:setup", "⚙", write=True),
        ),
    ),
    NavSection(
        "alignment",
        "Alignment",
        (
            NavItem("Overview", "alignment:home", "⇄"),
            NavItem("Scorecard", "alignment:scorecard", "★"),
            NavItem("Shared goals", "alignment:goals", "◎"),
            NavItem("SLA", "alignment:sla", "⏱"),
            NavItem("Objections", "alignment:objections", "⚑"),
            NavItem("Notifications", "alignment:notifications", "✦"),
            NavItem("Joint report", "alignment:reports", "▦"),
            NavItem("Attribution", "alignment:report_attribution", "⋔"),
            NavItem("Lead quality", "alignment:report_lead_quality", "✓"),
            NavItem("Scheduled reports", "alignment:schedules", "✉"),
            NavItem("Metric definitions", "alignment:settings_metrics", "⚙"),
        ),
    ),
    NavSection(
        "admin",
        "Settings",
        (
            NavItem("Users", "settings_users", "☺"),
            NavItem("API keys", "settings_api_keys", "◇"),
            NavItem("Webhooks", "settings_webhooks", "↯"),
            NavItem("Audit log", "settings_audit", "☰"),
        ),
    ),
)


# Matched exactly: a page under them belongs to its own item (the joint report's URL prefixes the others).
OVERVIEWS = ("/marketing/", "/sales/", "/alignment/", "/alignment/reports/")


def navigation_for(areas: list[str], path: str, scopes: frozenset[str] = frozenset()) -> list[dict]:
    """The sections a user sees, with URLs resolved and the current page marked."""
    result = []
    for section in SECTIONS:
        if section.area not in areas:
            continue
        items = []
        for item in section.items:
            if item.write and f"{section.area}:write" not in scopes:
                continue
            url = reverse(item.url_name)
            active = path == url if url in ("/", *OVERVIEWS) else path.startswith(url)
            items.append({"label": item.label, "url": url, "icon": item.icon, "active": active})
        result.append({"area": section.area, "label": section.label, "items": items})
    return result
