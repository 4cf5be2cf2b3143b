"""The cross-tenant harness: workspaces seeded with canaries, the operations to call and the ids to call them
with. The tests are in tests/tenancy/test_matrix.py; the oracle for roles is tests/tenancy/role_table.py.

Three workspaces are made for the module and dropped afterwards. Before their demo history is written, every
id sequence of each schema is moved to a range of its own, so an id taken from one workspace names no row of
another (checked again when the id is chosen). After the history is written, every free-text column of every
workspace table gets that workspace's canary, a token that appears nowhere else; any response on one host
that carries another workspace's canary is a leak.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.apps import apps
from django.conf import settings
from django.db import connection, models

from tests.security.routes import Route, all_routes

SLUGS = ("mxa", "mxb", "mxc")
CANARY = {"mxa": "zqkazq", "mxb": "zqkbzq", "mxc": "zqkczq"}
SEQUENCE_START = {"mxa": 10_000_000, "mxb": 20_000_000, "mxc": 30_000_000}
MISSING_ID = "987654321"
TENANT_LABELS = ("accounts", "marketing", "sales", "alignment")

# Free-text columns that are not free text: secrets and hashes, keys the code looks rows up by, derived
# metric keys, and short codes. Everything else that holds text gets the canary.
NOT_FREE_TEXT = {
    "accounts.User": {"password"},
    "accounts.Invitation": {"token_hash"},
    "accounts.ApiKey": {"prefix", "key_hash"},
    "accounts.RateCounter": "*",
    "accounts.IdempotencyRecord": "*",
    "accounts.AuditEntry": "*",  # append-only (a trigger refuses UPDATE); its entries name canaried rows
    "accounts.WebhookSubscription": {"secret"},
    "accounts.WebhookEvent": {"type"},
    "marketing.LeadForm": {"key"},
    "marketing.ScoringRule": {"touch_kind"},
    "alignment.MetricValue": "*",
    "alignment.AttributionCredit": "*",
    "alignment.DefinitionVersion": "*",
    "alignment.Goal": {"metric", "model"},
    "alignment.Notification": {"kind"},
    "alignment.BusinessCalendar": {"time_zone"},
}
MIN_LENGTH = 20  # shorter columns are codes (currency, ...)
URL_COLUMNS = {"url", "referrer", "redirect_url", "link", "first_touch_referrer", "last_touch_referrer"}


def text_columns(model) -> list[models.Field]:
    skip = NOT_FREE_TEXT.get(model._meta.label, set())
    if skip == "*":
        return []
    columns = []
    for f in model._meta.concrete_fields:
        if not isinstance(f, models.CharField | models.TextField) or f.choices or f.name in skip:
            continue
        if isinstance(f, models.CharField) and (f.max_length or 0) < MIN_LENGTH:
            continue
        columns.append(f)
    return columns


def unique_together(model) -> set[str]:
    """Columns in a unique constraint of several columns or with a condition."""
    names = {name for group in model._meta.unique_together for name in group}
    for constraint in model._meta.constraints:
        names |= set(getattr(constraint, "fields", ()) or ())
    return names


def tenant_models() -> list[type[models.Model]]:
    return [m for m in apps.get_models() if m._meta.app_label in TENANT_LABELS and not m._meta.proxy]


def move_sequences(schema: str, start: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT sequencename FROM pg_sequences WHERE schemaname = %s", [schema])
        for (name,) in cursor.fetchall():
            cursor.execute(f'ALTER SEQUENCE "{schema}"."{name}" RESTART WITH {int(start)}')


def plant_canaries(schema: str, canary: str) -> list[str]:
    """Put ``canary`` into every free-text column of every row (appended, prefixed to e-mail addresses and
    domains, as a fragment of addresses; unique columns keep the row id so they stay unique). Returns the
    columns planted, as ``table.column``."""
    planted = []
    with connection.cursor() as cursor:
        for model in tenant_models():
            table = f'"{schema}"."{model._meta.db_table}"'
            for f in text_columns(model):
                column = f'"{f.column}"'
                limit = f.max_length if isinstance(f, models.CharField) else 100_000
                keep = limit - len(canary) - 20
                if isinstance(f, models.EmailField) or f.name == "domain":
                    value = f"%s || '.' || {column}"
                    args = [canary + "-"]
                    where = f"{column} <> ''"
                elif f.name in URL_COLUMNS:
                    value = f"left({column}, {keep}) || '#' || %s"
                    args = [canary]
                    where = f"{column} <> ''"
                elif f.name == "recipients":
                    value = f"{column} || E'\\n' || %s"
                    args = [f"{canary}@canary.example"]
                    where = "TRUE"
                elif f.unique or f.name in unique_together(model):
                    value = f"left(%s || '-' || id || ' ' || {column}, {limit})"
                    args = [canary]
                    where = f"{column} <> ''"
                else:
                    value = f"CASE WHEN {column} = '' THEN %s ELSE left({column}, {keep}) || ' ' || %s END"
                    args = [canary, canary]
                    where = "TRUE"
                cursor.execute(f"UPDATE {table} SET {column} = {value} WHERE {where}", args)  # noqa: S608
                # a column empty on every row gets the canary on one row, in a shape that column takes
                if isinstance(f, models.EmailField):
                    alone = f"{canary}@canary.example"
                elif f.name in URL_COLUMNS:
                    alone = f"https://{canary}.example/"
                else:
                    alone = canary
                pk = f'"{model._meta.pk.column}"'
                cursor.execute(
                    f"UPDATE {table} SET {column} = %s WHERE {pk} = (SELECT min({pk}) FROM {table})"  # noqa: S608
                    f" AND NOT EXISTS (SELECT 1 FROM {table} WHERE {column} LIKE %s)",
                    [alone, f"%{canary}%"],
                )
                planted.append(f"{model._meta.db_table}.{f.column}")
    return planted


# --- operations ----------------------------------------------------------------------------------------

PARAM = re.compile(r"<(?:\w+:)?\w+>|\{\w+\}")


def normalize(route: str) -> str:
    return PARAM.sub("{}", route.lstrip("/"))


@dataclass(frozen=True)
class Operation:
    kind: str  # "portal" (a page or a public route) or "api" (an operation of the OpenAPI schema)
    method: str
    route: str  # normalised: parameters are {}
    body: dict | None = field(default=None, compare=False, hash=False)
    query: str = field(default="", compare=False, hash=False)  # the required query parameters, filled
    multipart: bool = field(default=False, compare=False, hash=False)

    def __str__(self) -> str:
        return f"{self.method} /{self.route}"


FUNCTION_VIEW_METHODS = {"form_public": ("GET", "POST"), "healthz": ("GET",)}


def url_routes() -> list[tuple[str, Route]]:
    return [(normalize(r.route), r) for r in all_routes(settings.ROOT_URLCONF)]


def portal_operations() -> list[Operation]:
    """Every route of the tenant URLconf outside the partner API, with every method its view answers."""
    operations = []
    for route, r in url_routes():
        if route.startswith("api/v1/"):
            continue
        if r.view_class is not None:
            methods = [m.upper() for m in ("get", "post", "put", "patch", "delete") if r.accepts(m)]
        else:
            methods = list(FUNCTION_VIEW_METHODS[r.callback.__name__])
        operations += [Operation("portal", method, route) for method in methods]
    return operations


def api_operations(schema: dict) -> list[Operation]:
    """Every operation of the published OpenAPI schema, with the example body of its request component."""
    components = schema["components"]["schemas"]
    operations = []
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            body, multipart = None, False
            content = operation.get("requestBody", {}).get("content", {})
            if "application/json" in content:
                ref = content["application/json"]["schema"].get("$ref", "")
                body = components.get(ref.rsplit("/", 1)[-1], {}).get("example", {}) if ref else {}
            elif "multipart/form-data" in content:
                multipart = True
            query = "&".join(
                f"{p['name']}={_sample(p['schema'])}"
                for p in operation.get("parameters", [])
                if p["in"] == "query" and p.get("required")
            )
            operations.append(
                Operation("api", method.upper(), normalize(path), body=body, multipart=multipart, query=query)
            )
    return operations


def _sample(schema: dict) -> str:
    if schema.get("enum"):
        return str(schema["enum"][0])
    if schema.get("format") == "date":
        return "2026-01-01"
    return "1" if schema.get("type") == "integer" else "x"


def api_routes() -> set[str]:
    return {route for route, _ in url_routes() if route.startswith("api/v1/")}


# --- ids ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ids:
    """How to fill a route's parameters from one workspace: ``rows()`` gives candidate tuples, newest
    first; ``model`` is the model of the first parameter (checked to be absent from the host workspace
    when the tuple comes from another one). Constant parameters (a report key) have no model."""

    rows: Callable[[], Iterable[tuple]]
    model: str | None = None


def _ids(label: str, *fields: str, **filters) -> Ids:
    def rows():
        return (
            apps.get_model(label)
            .objects.filter(**filters)
            .order_by("-pk")
            .values_list(*(fields or ("pk",)))[:20]
        )

    return Ids(rows, label if not fields or fields[0] == "pk" else None)


def _nested(parent: str, label: str, parent_field: str) -> Ids:
    def rows():
        return apps.get_model(label).objects.order_by("-pk").values_list(parent_field, "pk")[:20]

    return Ids(rows, parent)


def _constant(*values: str) -> Ids:
    return Ids(lambda: [values])


CAMPAIGN, CONTACT, DEAL = "marketing.Campaign", "marketing.Contact", "sales.Deal"
PARAMETERS: dict[str, Ids] = {
    # portal
    "f/{}/": _ids("marketing.LeadForm", "key"),
    "invitations/{}/": Ids(lambda: []),  # filled from the raw tokens kept by the fixture
    "password/reset/{}/{}/": Ids(lambda: []),  # filled by the fixture too
    "settings/users/{}/": _ids("accounts.User"),
    "settings/invitations/{}/revoke/": _ids("accounts.Invitation"),
    "settings/api-keys/{}/revoke/": _ids("accounts.ApiKey"),
    "marketing/campaigns/{}/": _ids(CAMPAIGN),
    "marketing/campaigns/{}/edit/": _ids(CAMPAIGN),
    "marketing/campaigns/{}/delete/": _ids(CAMPAIGN),
    "marketing/campaigns/{}/costs/": _ids(CAMPAIGN),
    "marketing/campaigns/{}/sends/": _ids(CAMPAIGN),
    "marketing/contacts/{}/": _ids(CONTACT),
    "marketing/contacts/{}/edit/": _ids(CONTACT),
    "marketing/contacts/{}/stage/": _ids(CONTACT),
    "marketing/contacts/{}/personal-data.json": _ids(CONTACT),
    "marketing/contacts/{}/erase/": _ids(CONTACT),
    "marketing/content/{}/edit/": _ids("marketing.ContentAsset"),
    "marketing/content/{}/file/": _ids("marketing.ContentAsset", file__gt=""),
    "marketing/segments/{}/": _ids("marketing.Segment"),
    "marketing/segments/{}/edit/": _ids("marketing.Segment"),
    "marketing/segments/{}/members/": _ids("marketing.Segment"),
    "marketing/forms/{}/": _ids("marketing.LeadForm"),
    "marketing/forms/{}/edit/": _ids("marketing.LeadForm"),
    "marketing/imports/{}/": _ids("marketing.ImportJob"),
    "marketing/imports/{}/errors.csv": _ids("marketing.ImportJob"),
    "marketing/export/{}.csv": _constant("contacts"),
    "sales/board/{}/": _ids("sales.Pipeline"),
    "sales/deals/{}/": _ids(DEAL),
    "sales/deals/{}/move/": _ids(DEAL),
    "sales/activities/{}/done/": _ids("sales.Activity"),
    "sales/setup/pipelines/{}/": _ids("sales.Pipeline"),
    "sales/quotas/{}/delete/": _ids("sales.Quota"),
    "alignment/reports/schedules/{}/pause/": _ids("alignment.ReportSchedule"),
    "alignment/reports/schedules/{}/resume/": _ids("alignment.ReportSchedule"),
    "alignment/reports/schedules/{}/delete/": _ids("alignment.ReportSchedule"),
    "alignment/goals/{}/": _ids("alignment.Goal"),
    "alignment/goals/{}/edit/": _ids("alignment.Goal"),
    "alignment/goals/{}/delete/": _ids("alignment.Goal"),
    "alignment/goals/{}/plan/": _ids("alignment.Goal"),
    "alignment/sla/policies/{}/deactivate/": _ids("alignment.SlaPolicy"),
    "alignment/objections/{}/": _ids("alignment.Objection"),
    "alignment/scorecard/{}/": _constant("sla"),
    # API
    "api/v1/users/{}/": _ids("accounts.User"),
    "api/v1/invitations/{}/revoke/": _ids("accounts.Invitation"),
    "api/v1/api-keys/{}/revoke/": _ids("accounts.ApiKey"),
    "api/v1/webhooks/deliveries/{}/": _ids("accounts.WebhookDelivery"),
    "api/v1/webhooks/deliveries/{}/redeliver/": _ids("accounts.WebhookDelivery"),
    "api/v1/webhooks/{}/": _ids("accounts.WebhookSubscription"),
    "api/v1/companies/{}/": _ids("marketing.Company"),
    "api/v1/contacts/{}/": _ids(CONTACT),
    "api/v1/contacts/{}/stage/": _ids(CONTACT),
    "api/v1/contacts/{}/transitions/": _ids(CONTACT),
    "api/v1/contacts/{}/touchpoints/": _ids(CONTACT),
    "api/v1/contacts/{}/personal-data/": _ids(CONTACT),
    "api/v1/contacts/{}/erasure/": _ids(CONTACT),
    "api/v1/campaigns/{}/": _ids(CAMPAIGN),
    "api/v1/campaigns/{}/costs/": _ids(CAMPAIGN),
    "api/v1/campaigns/{}/costs/{}/": _nested(CAMPAIGN, "marketing.CostLine", "campaign_id"),
    "api/v1/campaigns/{}/sends/": _ids(CAMPAIGN),
    "api/v1/campaigns/{}/sends/{}/": _nested(CAMPAIGN, "marketing.CampaignSend", "campaign_id"),
    "api/v1/content/{}/": _ids("marketing.ContentAsset"),
    "api/v1/content/{}/file/": _ids("marketing.ContentAsset", file__gt=""),
    "api/v1/segments/{}/": _ids("marketing.Segment"),
    "api/v1/segments/{}/members/": _ids("marketing.Segment"),
    "api/v1/scoring-rules/{}/": _ids("marketing.ScoringRule"),
    "api/v1/forms/{}/": _ids("marketing.LeadForm"),
    "api/v1/forms/{}/submissions/": _ids("marketing.LeadForm"),
    "api/v1/imports/{}/": _ids("marketing.ImportJob"),
    "api/v1/imports/{}/errors/": _ids("marketing.ImportJob"),
    "api/v1/exports/{}.{}": _constant("contacts", "csv"),
    "api/v1/pipelines/{}/": _ids("sales.Pipeline"),
    "api/v1/pipelines/{}/stages/": _ids("sales.Pipeline"),
    "api/v1/stages/{}/": _ids("sales.Stage"),
    "api/v1/stages/{}/move/": _ids("sales.Stage"),
    "api/v1/loss-reasons/{}/": _ids("sales.LossReason"),
    "api/v1/rejection-reasons/{}/": _ids("sales.RejectionReason"),
    "api/v1/teams/{}/": _ids("sales.Team"),
    "api/v1/deals/{}/": _ids(DEAL),
    "api/v1/deals/{}/move/": _ids(DEAL),
    "api/v1/deals/{}/won/": _ids(DEAL),
    "api/v1/deals/{}/lost/": _ids(DEAL),
    "api/v1/activities/{}/": _ids("sales.Activity"),
    "api/v1/customers/{}/subscriptions/": _ids("sales.CustomerAccount"),
    "api/v1/subscriptions/{}/change/": _ids("sales.Subscription"),
    "api/v1/leads/{}/accept/": _ids(CONTACT, lifecycle_stage="mql"),
    "api/v1/leads/{}/reject/": _ids(CONTACT, lifecycle_stage="mql"),
    "api/v1/leads/{}/assign/": _ids(CONTACT, lifecycle_stage="mql"),
    "api/v1/goals/{}/": _ids("alignment.Goal"),
    "api/v1/goals/{}/plan/": _ids("alignment.Goal"),
    "api/v1/notifications/{}/read/": _ids("alignment.Notification"),
    "api/v1/sla/policies/{}/": _ids("alignment.SlaPolicy"),
    "api/v1/report-schedules/{}/": _ids("alignment.ReportSchedule"),
    "api/v1/objections/{}/": _ids("alignment.Objection"),
    "api/v1/objections/{}/answers/": _ids("alignment.Objection"),
    "api/v1/objections/{}/answers/{}/": _nested(
        "alignment.Objection", "alignment.ObjectionAnswer", "objection_id"
    ),
    "api/v1/objections/{}/comments/": _ids("alignment.Objection"),
    "api/v1/scorecard/components/{}/": _constant("sla"),
}

# Objects that belong to one person: another person of the same workspace gets the same 404 as for a
# missing one, so the harness does not require them to open for every principal.
PERSONAL = {"api/v1/notifications/{}/read/", "sales/activities/{}/done/"}


def fill(route: str, values: tuple) -> str:
    path = route
    for value in values:
        path = path.replace("{}", str(value), 1)
    return "/" + path


TOKENS = ("f/{}/", "invitations/{}/", "password/reset/{}/{}/")


def constant(route: str) -> bool:
    """Parameters that name no row (a report, an export): there is no foreign or missing one."""
    return PARAMETERS[route].model is None and route not in TOKENS and "{}/{}" not in route


def missing(route: str) -> str:
    ids = PARAMETERS[route]
    return fill(
        route, tuple(MISSING_ID if ids.model else "zz" + MISSING_ID for _ in range(route.count("{}")))
    )
