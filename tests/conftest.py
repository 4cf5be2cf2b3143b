"""Two tenants (alpha, beta) with one user per role each, provisioned once per test session.

Each test runs in a transaction that is rolled back; the tenants and their users are committed before
any test runs, so real worker and web processes started by the integration suite see them too.
Charlie, beta's admin, is the outsider whenever a test is about alpha.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django_tenants.utils import schema_context

from accounts.roles import Role
from accounts.tenancy import cache as tenant_cache

# Real worker and web processes for the integration suite and browser journeys (session-scoped).
from tests.processes import celery_worker, process_env, queue_name  # noqa: E402,F401

PASSWORD = "correct-horse-battery-staple"  # noqa: S105


@dataclass(frozen=True)
class Member:
    email: str
    name: str
    roles: tuple[str, ...]
    pk: int = 0


TENANTS = {
    "alpha": (
        "Alpha Corp",
        {
            "admin": ("alice@alpha.example", "Alice Admin", (Role.ADMIN,)),
            "marketing": ("mark@alpha.example", "Mark Marketing", (Role.MARKETING,)),
            "sales": ("sara@alpha.example", "Sara Sales", (Role.SALES,)),
            "leadership": ("leo@alpha.example", "Leo Leadership", (Role.LEADERSHIP,)),
        },
    ),
    "beta": (
        "Beta Ltd",
        {
            "admin": ("charlie@beta.example", "Charlie Beta", (Role.ADMIN,)),
            "marketing": ("bea@beta.example", "Bea Marketing", (Role.MARKETING,)),
            "sales": ("ben@beta.example", "Ben Sales", (Role.SALES,)),
            "leadership": ("bill@beta.example", "Bill Leadership", (Role.LEADERSHIP,)),
        },
    ),
}


def _provision_test_tenants() -> None:
    from accounts.models import User
    from accounts.services import user_create
    from accounts.tenancy.models import Tenant
    from accounts.tenancy.services import tenant_create

    for slug, (name, members) in TENANTS.items():
        if Tenant.objects.filter(slug=slug, ready=True).exists():
            continue
        admin_email, admin_name, _ = members["admin"]
        tenant = tenant_create(
            slug=slug, name=name, admin_email=admin_email, admin_name=admin_name, admin_password=PASSWORD
        )
        with schema_context(tenant.schema_name):
            for email, full_name, roles in members.values():
                if not User.objects.filter(email=email).exists():
                    user_create(email=email, full_name=full_name, roles=roles, password=PASSWORD)


@pytest.fixture(scope="session")
def django_db_setup(request, django_test_environment, django_db_blocker):
    """Always create the test database, even when no collected test carries the django_db mark
    (pytest-django would then skip it and the integration suite would reach the real database)."""
    from django.test.utils import setup_databases, teardown_databases

    with django_db_blocker.unblock():
        db_cfg = setup_databases(
            verbosity=request.config.option.verbose, interactive=False, aliases={"default"}
        )
        assert connection.settings_dict["NAME"].startswith("test_"), "refusing to run outside a test database"
        _provision_test_tenants()
        connection.set_schema_to_public()
    yield
    with django_db_blocker.unblock():
        teardown_databases(db_cfg, verbosity=request.config.option.verbose)


@pytest.fixture(autouse=True)
def _public_schema_and_fresh_caches():
    """Every test starts in public with empty process caches, whatever the last one did."""
    from django.core.cache import cache

    connection.set_schema_to_public()
    tenant_cache.clear()
    cache.clear()
    yield
    connection.set_schema_to_public()
    tenant_cache.clear()


@pytest.fixture
def media(settings, tmp_path):
    """Uploaded files in a temporary MEDIA_ROOT. Changing STORAGES builds a new default storage: the tenant
    storage keeps the MEDIA_ROOT it first saw (django-tenants clears it only when its own setting changes)."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.STORAGES = {**settings.STORAGES}
    return settings.MEDIA_ROOT


def host_of(slug: str) -> str:
    return f"{slug}.{settings.TANDEM_BASE_DOMAIN}"


@pytest.fixture
def tenant_a(django_db_setup, django_db_blocker):
    from accounts.tenancy.models import Tenant

    with django_db_blocker.unblock():
        return Tenant.objects.get(slug="alpha")


@pytest.fixture
def alpha(tenant_a):
    """Run the test body inside tenant A's schema (service and model tests)."""
    with schema_context("alpha"):
        yield tenant_a


@pytest.fixture
def tenant_b(django_db_setup, django_db_blocker):
    from accounts.tenancy.models import Tenant

    with django_db_blocker.unblock():
        return Tenant.objects.get(slug="beta")


def member(slug: str, role: str) -> Member:
    email, name, roles = TENANTS[slug][1][role]
    return Member(email=email, name=name, roles=roles)


def user_in(slug: str, role: str):
    from accounts.models import User

    with schema_context(slug):
        return User.objects.get(email=member(slug, role).email)


def client_for(slug: str | None) -> Client:
    """A browser-like client on a tenant's host (or the public host with None)."""
    return Client(HTTP_HOST=host_of(slug) if slug else settings.TANDEM_BASE_DOMAIN)


def login(slug: str, role: str) -> Client:
    client = client_for(slug)
    response = client.post("/login/", {"username": member(slug, role).email, "password": PASSWORD})
    assert response.status_code == 302, response.content[:500]
    connection.set_schema_to_public()
    return client


def api_key_for(slug: str, scopes: list[str], name: str = "test key") -> str:
    from accounts.services import api_key_create

    with schema_context(slug):
        _, secret = api_key_create(name=name, scopes=scopes, created_by=None)
    return secret


def api_client(slug: str | None, key: str | None = None) -> Client:
    extra = {"HTTP_AUTHORIZATION": f"Bearer {key}"} if key else {}
    return Client(HTTP_HOST=host_of(slug) if slug else settings.TANDEM_BASE_DOMAIN, **extra)


def running_in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


BREAKS_SCHEMA, BREAKS_RULE = 400, 422


def refused(response, status: int) -> set[str]:
    """The fields an API refusal names, after checking it is the expected one: ``BREAKS_SCHEMA`` (400,
    "invalid") for a request that breaks the published schema, ``BREAKS_RULE`` (422, "unprocessable") for
    one that fits it but breaks a rule the schema cannot express (config.contract)."""
    assert response.status_code == status, response.content[:300]
    body = response.json()["error"]
    assert body["code"] == {400: "invalid", 422: "unprocessable"}[status], body
    assert body["status"] == status
    return set(body["fields"])


def pytest_collection_modifyitems(config, items):
    """Two deselections, each announced with a line (never a skip):

    - the fault tests need Redis (a private redis-server, a Redis broker): they run on CI's real-services
      pass (TANDEM_EXPECT_REAL_SERVICES=1) and nowhere else;
    - the whole-system batteries marked ``once_per_ci`` (the cross-tenant matrix, the schemathesis contract
      run, the hostile-input batteries, the query counts at 100x; minutes each) and the long data builds
      that exercise no broker or cache (the demo history, the data generator), and the browser journeys
      (``browser``: a minute and a half of chromium driving the same pages), run in every ``make test``
      but not again in CI's second pass (TANDEM_CI_SECOND_PASS=1), so that CI stays under 30 minutes.
    """
    rules = []
    if os.environ.get("TANDEM_EXPECT_REAL_SERVICES") != "1":
        rules.append(("faults", "fault tests", "they run with TANDEM_EXPECT_REAL_SERVICES=1 (Redis needed)"))
    if os.environ.get("TANDEM_CI_SECOND_PASS") == "1":
        rules.append(("once_per_ci", "once-per-CI batteries", "they ran in CI's first pass"))
        rules.append(("browser", "browser journeys", "they ran in CI's first pass"))
    for marker, what, why in rules:
        chosen = [item for item in items if item.get_closest_marker(marker)]
        if not chosen:
            continue
        items[:] = [item for item in items if not item.get_closest_marker(marker)]
        config.hook.pytest_deselected(items=chosen)
        print(f"\n{len(chosen)} {what} deselected: {why}")
