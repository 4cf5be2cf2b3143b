"""The declared role matrix: the oracle the cross-tenant harness (tests/tenancy/test_matrix.py) checks every
route and every API operation against.

It is written here, apart from the views, on purpose: a view that declares the wrong area or access is caught
because its behaviour disagrees with this table. The table says, per route, which area it belongs to and
whether merely opening it (GET) needs write access; ``accounts.roles.ROLE_ACCESS`` then says what each role
holds in each area. A route missing from the table fails the harness, so a new route must be declared here.

Routes are written as in the URLconf with every parameter replaced by ``{}``, without a leading slash.
"""

from __future__ import annotations

from accounts.roles import READ, WRITE, Area, Role

PUBLIC = "public"  # anyone, signed in or not (login, password reset, public form, health)
ANY = "any"  # any signed-in person of the workspace (home, profile)
SELF = "self"  # any authenticated API principal, about itself

# Longest matching prefix wins.
AREAS: dict[str, str] = {
    # --- portal --------------------------------------------------------------------------------------
    "": ANY,
    "profile/": ANY,
    "login/": PUBLIC,
    "logout/": PUBLIC,
    "password/reset/": PUBLIC,
    "invitations/": PUBLIC,
    "f/": PUBLIC,
    "healthz": PUBLIC,
    "api/schema/": PUBLIC,
    "api/docs/": PUBLIC,
    "settings/": Area.ADMIN,
    "marketing/": Area.MARKETING,
    # a contact's personal data: exported and erased by admins only
    "marketing/contacts/{}/personal-data.json": Area.ADMIN,
    "marketing/contacts/{}/erase/": Area.ADMIN,
    "sales/": Area.SALES,
    "alignment/": Area.ALIGNMENT,
    # --- API -----------------------------------------------------------------------------------------
    "api/v1/me/": SELF,
    "api/v1/users/": Area.ADMIN,
    "api/v1/invitations/": Area.ADMIN,
    "api/v1/api-keys/": Area.ADMIN,
    "api/v1/webhooks/": Area.ADMIN,
    "api/v1/audit/": Area.ADMIN,
    "api/v1/companies/": Area.MARKETING,
    "api/v1/contacts/": Area.MARKETING,
    "api/v1/contacts/{}/personal-data/": Area.ADMIN,
    "api/v1/contacts/{}/erasure/": Area.ADMIN,
    "api/v1/campaigns/": Area.MARKETING,
    "api/v1/content/": Area.MARKETING,
    "api/v1/touchpoints/": Area.MARKETING,
    "api/v1/segments/": Area.MARKETING,
    "api/v1/scoring-rules/": Area.MARKETING,
    "api/v1/mql-rule/": Area.MARKETING,
    "api/v1/forms/": Area.MARKETING,
    "api/v1/imports/": Area.MARKETING,
    "api/v1/exports/": Area.MARKETING,
    "api/v1/sales-settings/": Area.SALES,
    "api/v1/pipelines/": Area.SALES,
    "api/v1/stages/": Area.SALES,
    "api/v1/loss-reasons/": Area.SALES,
    "api/v1/rejection-reasons/": Area.SALES,
    "api/v1/teams/": Area.SALES,
    "api/v1/deals/": Area.SALES,
    "api/v1/activities/": Area.SALES,
    "api/v1/customers/": Area.SALES,
    "api/v1/subscriptions/": Area.SALES,
    "api/v1/subscription-events/": Area.SALES,
    "api/v1/quotas/": Area.SALES,
    "api/v1/leads/": Area.SALES,
    "api/v1/metrics/": Area.ALIGNMENT,
    "api/v1/metric-values/": Area.ALIGNMENT,
    "api/v1/attribution/": Area.ALIGNMENT,
    "api/v1/definitions/": Area.ALIGNMENT,
    "api/v1/reports/": Area.ALIGNMENT,
    "api/v1/goals/": Area.ALIGNMENT,
    "api/v1/notifications/": Area.ALIGNMENT,
    "api/v1/sla/": Area.ALIGNMENT,
    "api/v1/report-schedules/": Area.ALIGNMENT,
    "api/v1/objections/": Area.ALIGNMENT,
    "api/v1/scorecard/": Area.ALIGNMENT,
}

# Portal pages that only writers of their area may even open: forms that create or change something, and
# the set-up pages. Everything else in an area opens with read access; any POST needs write.
WRITE_TO_OPEN: frozenset[str] = frozenset(
    {
        "marketing/campaigns/new/",
        "marketing/campaigns/{}/edit/",
        "marketing/campaigns/{}/delete/",
        "marketing/campaigns/{}/costs/",
        "marketing/campaigns/{}/sends/",
        "marketing/contacts/new/",
        "marketing/contacts/{}/edit/",
        "marketing/contacts/{}/stage/",
        "marketing/contacts/{}/erase/",
        "marketing/content/new/",
        "marketing/content/{}/edit/",
        "marketing/segments/new/",
        "marketing/segments/count/",
        "marketing/segments/{}/edit/",
        "marketing/segments/{}/members/",
        "marketing/forms/new/",
        "marketing/forms/{}/edit/",
        "marketing/imports/",
        "marketing/imports/{}/",
        "marketing/imports/{}/errors.csv",
        "sales/deals/new/",
        "sales/deals/{}/move/",
        "sales/activities/{}/done/",
        "sales/setup/",
        "sales/setup/pipelines/{}/",
        "sales/quotas/{}/delete/",
        "settings/users/{}/",
    }
)


# Routes whose writes belong to some roles only, whatever their area grants: scheduled reports, SLA
# policies and the business calendar are leadership's (and the admins'). The row is looked up before this
# finer check, so a foreign or missing id is still the same 404.
WRITERS: dict[str, frozenset[str]] = {
    "alignment/reports/schedules/": frozenset({Role.ADMIN, Role.LEADERSHIP}),
    "api/v1/report-schedules/": frozenset({Role.ADMIN, Role.LEADERSHIP}),
    "alignment/sla/policies/": frozenset({Role.ADMIN, Role.LEADERSHIP}),
    "alignment/sla/calendar/": frozenset({Role.ADMIN, Role.LEADERSHIP}),
    "api/v1/sla/policies/": frozenset({Role.ADMIN, Role.LEADERSHIP}),
    "api/v1/sla/calendar/": frozenset({Role.ADMIN, Role.LEADERSHIP}),
}


def writers_of(route: str) -> frozenset[str] | None:
    return next((roles for prefix, roles in WRITERS.items() if route.startswith(prefix)), None)


def area_of(route: str) -> str:
    best = max((prefix for prefix in AREAS if route.startswith(prefix)), key=len)
    if best == "" and route not in ("",):
        raise KeyError(f"route {route!r} is not declared in tests/tenancy/role_table.py")
    return AREAS[best]


def access_needed(route: str, method: str) -> str:
    if method not in ("GET", "HEAD") or route in WRITE_TO_OPEN:
        return WRITE
    return READ
