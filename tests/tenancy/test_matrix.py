"""The cross-tenant and role matrix (issue 8, items 1 and 2).

Every route of the tenant URLconf and every operation of the OpenAPI schema is called on three workspaces,
on the public host and on an unknown host, as every principal (anonymous, each role, another workspace's
person, a full key, a read-only key, a marketing key, a revoked key, another workspace's key), with ids from
the host workspace, from each other workspace and ids that exist nowhere. Each answer is checked against the
declared role table (tests/tenancy/role_table.py) and searched for the other workspaces' canaries. Every
request runs in a savepoint that is rolled back, so writes that succeed change nothing for the next cell.

The cells executed are counted and printed at the end of the run (tests/tenancy/conftest.py).
"""

from __future__ import annotations

import os
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.test import Client, override_settings
from django.urls import Resolver404, resolve
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.module_loading import import_string
from django_tenants.utils import schema_context

from accounts.roles import ALL_SCOPES, WRITE, Area, Role, expand_scopes, required_scope, scopes_for_roles
from tests.conftest import PASSWORD, host_of
from tests.tenancy import matrix, role_table
from tests.tenancy.conftest import REPORT

pytestmark = pytest.mark.django_db

ROLES = (Role.ADMIN, Role.MARKETING, Role.SALES, Role.LEADERSHIP)
READ_SCOPES = [s for s in ALL_SCOPES if s.endswith(":read")]
MARKETING_SCOPES = [required_scope(Area.MARKETING, write=True)]
UNKNOWN_HOST = "nobody.example.org"


@dataclass
class World:
    users: dict  # slug -> role -> (pk, email)
    keys: dict  # slug -> name -> raw key
    invitation_tokens: dict  # slug -> raw token
    reset: dict  # slug -> (uidb64, token)
    planted: dict  # slug -> columns with the canary


def _extras(slug: str, admin) -> str:
    """Rows the demo history does not make, so every table has one to leak. Returns an invitation token."""
    from accounts.models import WebhookAttempt, WebhookDelivery, WebhookEvent, WebhookSubscription
    from accounts.services import invitation_create
    from alignment.models import SlaPolicy
    from alignment.schedules import schedule_create
    from marketing.imports.runner import import_job_create
    from marketing.services.content import content_create
    from marketing.services.forms import form_create, form_submit
    from sales.models import LossReason, RejectionReason
    from sales.services.setup import pipeline_create

    # rows of the kinds a new workspace starts with, made after the ids moved: ids no other workspace has
    pipeline_create(name="Partner deals")
    LossReason.objects.create(name="Went with a spreadsheet", category=LossReason.objects.first().category)
    RejectionReason.objects.create(name="Student, not a buyer")
    SlaPolicy.objects.create(
        **{**SlaPolicy.objects.values().first(), "id": None, "name": "Partner leads", "is_active": False}
    )
    _, token = invitation_create(email=f"invitee@{slug}.example", roles=[Role.SALES], invited_by=admin)
    hook = WebhookSubscription.objects.create(
        url=f"https://hooks.{slug}.example/tandem",
        events=["deal.won"],
        secret="s" * 32,
        description="CRM sync",
    )
    event = WebhookEvent.objects.create(type="deal.won", data={"note": "won"})
    delivery = WebhookDelivery.objects.create(event=event, subscription=hook, last_error="timed out")
    WebhookAttempt.objects.create(delivery=delivery, response="busy", error="timed out")
    form = form_create(data={"name": "Get the report", "thank_you_text": "Thanks"})
    form_submit(key=form.key, data={"email": f"lead@{slug}.example"}, meta={"user_agent": "Mozilla"})
    import_job_create(
        kind="contacts",
        uploaded_file=ContentFile(f"email\nimported@{slug}.example\n".encode(), name="contacts.csv"),
        actor=admin,
    )
    schedule_create(actor=admin, data={"frequency": "weekly", "recipients": f"board@{slug}.example"})
    upload = SimpleUploadedFile(
        "battlecard.pdf", b"%PDF-1.4 " + matrix.CANARY[slug].encode(), "application/pdf"
    )
    content_create(
        data={"title": "Battlecard", "kind": "battlecard", "funnel_stage": "decision", "file": upload}
    )
    return token


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker, tmp_path_factory):
    from accounts.models import User
    from accounts.services import api_key_create, api_key_revoke, user_create
    from accounts.tenancy.models import Tenant
    from accounts.tenancy.services import tenant_create

    media = tmp_path_factory.mktemp("matrix-media")
    overrides = override_settings(MEDIA_ROOT=media, STORAGES={**settings.STORAGES})
    overrides.enable()
    made = []
    try:
        with django_db_blocker.unblock():
            result = World({}, {}, {}, {}, {})
            for slug in matrix.SLUGS:
                tenant = tenant_create(
                    slug=slug,
                    name=f"Matrix {slug.upper()}",
                    admin_email=f"admin@{slug}.example",
                    admin_password=PASSWORD,
                )
                made.append(tenant)
                connection.set_schema_to_public()
                matrix.move_sequences(tenant.schema_name, matrix.SEQUENCE_START[slug])
                with (
                    pytest.MonkeyPatch.context() as patch
                ):  # a small history: isolation needs variety, not volume
                    patch.setattr("marketing.demo.N_COMPANIES", 30)
                    patch.setattr("marketing.demo.N_CONTACTS", 150)
                    for path in settings.TANDEM_DEMO_SEEDERS:
                        import_string(path)(tenant=tenant)
                with schema_context(tenant.schema_name):
                    admin = User.objects.get(email=f"admin@{slug}.example")
                    for role in ROLES[1:]:
                        user_create(
                            email=f"{role}@{slug}.example",
                            full_name=f"{role} person",
                            roles=[role],
                            password=PASSWORD,
                        )
                    result.invitation_tokens[slug] = _extras(slug, admin)
                    keys = {
                        "key_full": api_key_create(name="full", scopes=list(ALL_SCOPES), created_by=admin)[1],
                        "key_read": api_key_create(name="reader", scopes=READ_SCOPES, created_by=admin)[1],
                        "key_marketing": api_key_create(
                            name="mkt", scopes=MARKETING_SCOPES, created_by=admin
                        )[1],
                    }
                    revoked, keys["key_revoked"] = api_key_create(
                        name="old", scopes=list(ALL_SCOPES), created_by=admin
                    )
                    api_key_revoke(key=revoked)
                    result.keys[slug] = keys
                    result.reset[slug] = (
                        urlsafe_base64_encode(force_bytes(admin.pk)),
                        default_token_generator.make_token(admin),
                    )
                    result.planted[slug] = matrix.plant_canaries(tenant.schema_name, matrix.CANARY[slug])
                    result.users[slug] = {
                        role: User.objects.filter(
                            email__endswith=f".{'admin' if role == Role.ADMIN else role}@{slug}.example"
                        )
                        .values_list("pk", "email")
                        .get()
                        for role in ROLES
                    }
            connection.set_schema_to_public()
            yield result
    finally:
        with django_db_blocker.unblock():
            connection.set_schema_to_public()
            for tenant in made:
                Tenant.objects.get(pk=tenant.pk).delete(force_drop=True)
        overrides.disable()


@dataclass(frozen=True)
class Principal:
    name: str
    kind: str  # anonymous | person | foreign_person | key | bad_key
    roles: tuple[str, ...] = ()
    key_scopes: tuple[str, ...] = ()


PRINCIPALS = (
    Principal("anonymous", "anonymous"),
    *(Principal(f"person_{role}", "person", roles=(role,)) for role in ROLES),
    Principal("foreign_person", "foreign_person", roles=(Role.ADMIN,)),
    Principal("key_full", "key", key_scopes=tuple(ALL_SCOPES)),
    Principal("key_read", "key", key_scopes=tuple(READ_SCOPES)),
    Principal("key_marketing", "key", key_scopes=tuple(MARKETING_SCOPES)),
    Principal("key_revoked", "bad_key"),
    Principal("key_foreign", "bad_key"),
)


# On a host without a workspace (the platform's own, an unknown one) no role or scope means anything: each
# kind of credential is tried once, the strongest of it (a workspace admin's session, a key with every
# scope) plus the ones that must be refused anyway.
FOREIGN = {"anonymous", "person_admin", "foreign_person", "key_full", "key_revoked"}
FOREIGN_HOST_PRINCIPALS = tuple(p for p in PRINCIPALS if p.name in FOREIGN)
assert len(FOREIGN_HOST_PRINCIPALS) == len(FOREIGN)


def _others(slug: str) -> list[str]:
    return [other for other in matrix.SLUGS if other != slug]


class Caller:
    """Builds one client per (host, principal) and sends each request in a rolled-back savepoint."""

    def __init__(self, world: World):
        self.world = world
        self.sessions: dict[tuple[str, str], str] = {}

    def session_of(self, slug: str, role: str) -> str:
        if (slug, role) not in self.sessions:
            email = self.world.users[slug][role][1]
            client = Client(HTTP_HOST=host_of(slug))
            response = client.post("/login/", {"username": email, "password": PASSWORD})
            assert response.status_code == 302, (slug, role, email, response.content[:3000])
            self.sessions[(slug, role)] = client.cookies[settings.SESSION_COOKIE_NAME].value
            connection.set_schema_to_public()
        return self.sessions[(slug, role)]

    def client(self, host: str, slug: str, principal: Principal) -> Client:
        headers = {}
        key = (
            self.world.keys[_others(slug)[0]]["key_full"]
            if principal.name == "key_foreign"
            else self.world.keys[slug].get(principal.name)  # key_full, key_read, key_marketing, key_revoked
        )
        if key:
            headers["HTTP_AUTHORIZATION"] = f"Bearer {key}"
        client = Client(HTTP_HOST=host, raise_request_exception=False, **headers)
        if principal.kind == "person":
            client.cookies[settings.SESSION_COOKIE_NAME] = self.session_of(slug, principal.roles[0])
        elif principal.kind == "foreign_person":
            client.cookies[settings.SESSION_COOKIE_NAME] = self.session_of(_others(slug)[0], Role.ADMIN)
        return client

    def call(self, client: Client, op: matrix.Operation, path: str) -> tuple[int, str, bytes]:
        kwargs: dict = {}
        if op.kind == "api" and op.method in ("POST", "PUT", "PATCH"):
            if op.multipart:
                kwargs = {"data": {}}
            else:
                kwargs = {"data": op.body or {}, "content_type": "application/json"}
        with transaction.atomic():
            if op.query:
                path = f"{path}?{op.query}"
            response = getattr(client, op.method.lower())(path, **kwargs)
            if getattr(response, "streaming", False):
                body = b"".join(response.streaming_content)
            else:
                body = response.content
            transaction.set_rollback(True)
        connection.set_schema_to_public()
        return response.status_code, response.get("Location", ""), body


def expected(op: matrix.Operation, principal: Principal) -> str:
    """What the role table says this principal gets on its own workspace's host: ``open`` (public route),
    ``login`` (portal: sent to the login page), ``unauthenticated`` (API 401), ``denied`` (403) or
    ``allowed``."""
    area = role_table.area_of(op.route)
    if area == role_table.PUBLIC:
        return "open"
    if op.kind == "portal":
        if principal.kind != "person":
            return "login"
        held = scopes_for_roles(principal.roles)
    else:
        if principal.kind in ("anonymous", "foreign_person", "bad_key"):
            return "unauthenticated"
        held = (
            scopes_for_roles(principal.roles)
            if principal.kind == "person"
            else expand_scopes(principal.key_scopes)
        )
    if area in (role_table.ANY, role_table.SELF):
        return "allowed"
    access = role_table.access_needed(op.route, op.method)
    if required_scope(area, write=access == WRITE) not in held:
        return "denied"
    writers = role_table.writers_of(op.route)
    if (
        access == WRITE
        and writers is not None
        and principal.kind == "person"
        and not writers & set(principal.roles)
    ):
        return "denied_after_lookup"
    return "allowed"


OK_READ = {200, 302, 303}
OK_WRITE = {200, 201, 202, 204, 207, 302, 303, 400, 409, 413, 422}


class Matrix:
    def __init__(self, world: World):
        self.world = world
        self.caller = Caller(world)
        self.failures: list[str] = []
        self.cells = Counter()
        self.own_canary_hits = 0
        self.timings: Counter = Counter()
        self._rows: dict[str, dict[str, list[tuple]]] = {}

    def fail(self, where: str, message: str) -> None:
        self.failures.append(f"{where}: {message}")

    def leaks(self, where: str, host_slug: str | None, location: str, body: bytes) -> None:
        text = (location.encode() + body).lower()
        for slug, canary in matrix.CANARY.items():
            if canary.encode() in text:
                if slug == host_slug:
                    self.own_canary_hits += 1
                else:
                    self.fail(where, f"carries {slug}'s canary")

    def rows(self, route: str) -> dict[str, list[tuple]]:
        """Each workspace's candidate parameters for ``route``, looked up once per route (every host and
        method of the route reuses them)."""
        if route not in self._rows:
            if route == "invitations/{}/":
                found = {s: [(self.world.invitation_tokens[s],)] for s in matrix.SLUGS}
            elif route == "password/reset/{}/{}/":
                found = {s: [self.world.reset[s]] for s in matrix.SLUGS}
            else:
                found = {}
                for s in matrix.SLUGS:
                    with schema_context(s):
                        found[s] = [tuple(row) for row in matrix.PARAMETERS[route].rows()]
                    assert found[s], f"{route}: workspace {s} has no row to call it with"
            self._rows[route] = found
        return self._rows[route]

    def own_path(self, op: matrix.Operation, slug: str) -> str:
        if "{}" not in op.route:
            return "/" + op.route
        return matrix.fill(op.route, self.rows(op.route)[slug][0])

    def id_variants(self, op: matrix.Operation, slug: str) -> list[tuple[str, str]]:
        """(variant, path): the host's own ids, each other workspace's ids, ids that exist nowhere."""
        if "{}" not in op.route:
            return [("plain", self.own_path(op, slug))]
        variants = [("own", self.own_path(op, slug))]
        if matrix.constant(op.route):
            return variants
        ids, own = matrix.PARAMETERS[op.route], self.rows(op.route)
        for other in _others(slug):
            row = self.foreign_row(ids, own[other], slug)
            if row is None:
                self.fail(str(op), f"every {ids.model} id of {other} also exists on {slug}")
                continue
            variants.append((f"foreign:{other}", matrix.fill(op.route, row)))
        variants.append(("missing", matrix.missing(op.route)))
        return variants

    @staticmethod
    def foreign_row(ids: matrix.Ids, rows: list[tuple], host: str) -> tuple | None:
        """The first of another workspace's rows whose id names nothing on ``host``."""
        if ids.model is None:
            return rows[0]
        with schema_context(host):
            taken = set(
                apps.get_model(ids.model)
                .objects.filter(pk__in=[row[0] for row in rows])
                .values_list("pk", flat=True)
            )
        return next((row for row in rows if row[0] not in taken), None)

    def check_tenant_cell(self, slug, op, principal, variant, status, location, outcome, missing_status):
        where = f"{slug} {principal.name} {op} [{variant}] -> {status}"
        if status >= 500:
            return self.fail(where, "server error")
        if outcome == "login":
            if not (status == 302 and location.startswith("/login/")):
                self.fail(where, "expected a redirect to the login page")
        elif outcome == "unauthenticated":
            if status != 401:
                self.fail(where, "expected 401")
        elif outcome == "denied" or (outcome == "denied_after_lookup" and variant in ("own", "plain")):
            if status != 403:
                self.fail(where, "expected 403 from the role table")
        elif variant.startswith("foreign") or variant == "missing":
            if outcome == "allowed" and op.method in ("GET", "DELETE") and op.kind == "api" and status != 404:
                self.fail(where, "a foreign or missing id must be 404")
            if outcome == "allowed" and op.kind == "portal" and op.method == "GET" and status != 404:
                self.fail(where, "a foreign or missing id must be 404")
            if outcome == "denied_after_lookup" and status not in (403, 404):
                self.fail(where, "a foreign or missing id must be refused (403) or not found (404)")
            if missing_status is not None and status != missing_status:
                self.fail(where, f"a foreign id must answer like a missing one ({missing_status})")
        elif outcome == "allowed":
            if status in (401, 403):
                self.fail(where, "refused although the role table allows it")
            elif (
                status == 404
                and op.route not in matrix.PERSONAL
                and not (variant == "plain" and op.method == "POST")
            ):
                # (a POST to a list page names its row in the form: an empty form names none)
                self.fail(where, "own object not found")
            elif op.method == "GET" and status not in OK_READ and status != 404:
                self.fail(where, "a permitted read must answer 200 or redirect")
            elif op.method != "GET" and status not in OK_WRITE and status != 404:
                self.fail(where, "a permitted write must succeed or name what is wrong")
            elif status in (302, 303) and location.startswith("/login/"):
                self.fail(where, "a permitted page sent the person to the login page")

    def run_tenant_host(self, slug: str, operations: list[matrix.Operation]) -> None:
        for op in operations:
            started = time.perf_counter()
            self._run_op(slug, op)
            self.timings[str(op)] += time.perf_counter() - started

    def _run_op(self, slug: str, op: matrix.Operation) -> None:
        variants = self.id_variants(op, slug)
        for principal in PRINCIPALS:
            client = self.caller.client(host_of(slug), slug, principal)
            outcome = expected(op, principal)
            answers = {}
            chosen = variants
            if outcome in ("login", "unauthenticated", "denied") and len(variants) > 2:
                # refused before any row is looked up: the id cannot change the answer, so the own id
                # and one other workspace's (in turn) are enough for these principals
                rotation = matrix.SLUGS[(matrix.SLUGS.index(slug) + 1) % len(matrix.SLUGS)]
                chosen = [v for v in variants if v[0] in ("own", f"foreign:{rotation}")]
            for variant, path in reversed(chosen):  # "missing" first: foreign ones compare with it
                status, location, body = self.caller.call(client, op, path)
                answers[variant] = status
                self.cells[f"tenant host, {op.kind}"] += 1
                where = f"{slug} {principal.name} {op} [{variant}]"
                self.leaks(where, slug, location, body)
                before = len(self.failures)
                self.check_tenant_cell(
                    slug, op, principal, variant, status, location, outcome, answers.get("missing")
                )
                if len(self.failures) > before:
                    self.failures[-1] += f" | {body[:300]!r}"

    def run_foreign_host(self, host: str, kind: str, operations: list[matrix.Operation]) -> None:
        """The public host serves only its own URLconf; an unknown host serves nothing."""
        for op in operations:
            path = self.own_path(op, "mxa")
            try:
                served = (
                    kind == "public" and resolve(path, urlconf=settings.PUBLIC_SCHEMA_URLCONF) is not None
                )
            except Resolver404:
                served = False
            for principal in FOREIGN_HOST_PRINCIPALS:
                client = self.caller.client(host, "mxa", principal)
                status, location, body = self.caller.call(client, op, path)
                self.cells[f"{kind} host"] += 1
                where = f"{host} {principal.name} {op} -> {status}"
                self.leaks(where, None, location, body)
                if status >= 500:
                    self.fail(where, "server error")
                elif not served and status != 404:
                    self.fail(where, "expected 404: the route does not exist on this host")


@pytest.fixture(scope="module")
def operations():
    from config.contract import published_schema

    return matrix.portal_operations(), matrix.api_operations(published_schema())


def test_every_route_is_covered_by_the_harness(operations):
    portal, api = operations
    # every API route of the URLconf is an operation of the schema the harness walks
    assert matrix.api_routes() == {op.route for op in api}
    # every route is declared in the role table and every parameter has ids to call it with
    for op in [*portal, *api]:
        role_table.area_of(op.route)
        if "{}" in op.route:
            assert op.route in matrix.PARAMETERS, f"{op}: add its ids to tests/tenancy/matrix.PARAMETERS"
    assert len(portal) > 100 and len(api) > 170


@pytest.mark.once_per_ci
def test_every_free_text_column_carries_its_workspace_canary(world):
    for slug in matrix.SLUGS:
        assert len(world.planted[slug]) > 80
        with schema_context(slug), connection.cursor() as cursor:
            for column in world.planted[slug]:
                table, name = column.split(".")
                cursor.execute(
                    f'SELECT count(*) FROM "{table}" WHERE "{name}" LIKE %s',  # noqa: S608
                    [f"%{matrix.CANARY[slug]}%"],
                )
                assert cursor.fetchone()[0] > 0, f"{slug}: no row of {column} carries the canary"


@override_settings(
    TANDEM_API_PLANS={"standard": {"key": 10**9, "workspace": 10**9, "daily": 10**9}},
    TANDEM_LOGIN_MAX_FAILURES_PER_ADDRESS=10**6,
    TANDEM_LOGIN_MAX_FAILURES_PER_ACCOUNT=10**6,
    TANDEM_PASSWORD_RESETS_PER_ADDRESS_PER_HOUR=10**6,
)
@pytest.mark.once_per_ci
def test_cross_tenant_and_role_matrix(world, operations):
    portal, api = operations
    harness = Matrix(world)
    every = [*portal, *api]
    for slug in matrix.SLUGS:
        harness.run_tenant_host(slug, every)
    harness.run_foreign_host(settings.TANDEM_BASE_DOMAIN, "public", every)
    harness.run_foreign_host(UNKNOWN_HOST, "unknown", every)

    REPORT["cross-tenant and role matrix"] = {
        **dict(harness.cells),
        "cells in all": sum(harness.cells.values()),
        "operations": len(every),
        "principals": len(PRINCIPALS),
        "other workspaces' canaries found": sum("canary" in f for f in harness.failures),
        "own canary seen (detector works)": harness.own_canary_hits,
    }
    if dump := os.environ.get("TANDEM_MATRIX_DUMP"):
        slow = [f"{seconds:.2f}s {op}" for op, seconds in harness.timings.most_common(40)]
        Path(dump).write_text("\n".join([*harness.failures, *slow]))
    assert harness.own_canary_hits > 500
    assert not harness.failures, f"{len(harness.failures)} cells failed:\n" + "\n".join(harness.failures[:80])
