"""Portal shell: navigation by role, role checks on every page, error pages, query budgets."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import schema_context

from accounts.services import api_key_create, user_create
from tests.conftest import client_for, login

pytestmark = pytest.mark.django_db

NAV = {
    "admin": {"marketing", "sales", "alignment", "admin"},
    "marketing": {"marketing", "alignment"},
    "sales": {"sales", "alignment"},
    "leadership": {"marketing", "sales", "alignment"},
}


@pytest.mark.parametrize("role", sorted(NAV))
def test_each_role_sees_the_navigation_of_its_role(tenant_a, role):
    html = login("alpha", role).get("/").content.decode()
    sections = set(re.findall(r'data-nav-section="(\w+)"', html))
    assert sections == NAV[role]
    assert f'data-home="{role}"' in html or role == "leadership"


# (path, roles allowed to GET it)
PAGES = [
    ("/", {"admin", "marketing", "sales", "leadership"}),
    ("/profile/", {"admin", "marketing", "sales", "leadership"}),
    ("/marketing/", {"admin", "marketing", "sales", "leadership"}),
    ("/sales/board/", {"admin", "marketing", "sales", "leadership"}),
    ("/sales/leads/", {"admin", "marketing", "sales", "leadership"}),
    ("/alignment/", {"admin", "marketing", "sales", "leadership"}),
    ("/settings/users/", {"admin"}),
    ("/settings/api-keys/", {"admin"}),
]


@pytest.mark.parametrize(("path", "allowed"), PAGES, ids=[p for p, _ in PAGES])
@pytest.mark.parametrize("role", sorted(NAV))
def test_role_matrix_for_pages(tenant_a, path, allowed, role):
    response = login("alpha", role).get(path)
    if role in allowed:
        assert response.status_code == 200
    else:
        assert response.status_code == 403
        assert b"have access to this page" in response.content


@pytest.mark.parametrize("path", [p for p, _ in PAGES])
def test_every_page_sends_anonymous_users_to_login(tenant_a, path):
    response = client_for("alpha").get(path)
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_write_only_pages_refuse_readers(tenant_a):
    with schema_context("alpha"):
        from accounts.models import User

        sara = User.objects.get(email="sara@alpha.example")
    assert login("alpha", "leadership").get(f"/settings/users/{sara.pk}/").status_code == 403
    assert login("alpha", "admin").get(f"/settings/users/{sara.pk}/").status_code == 200


def test_friendly_404_page(tenant_a):
    response = login("alpha", "sales").get("/no-such-page/")
    assert response.status_code == 404
    assert b"Page not found" in response.content


def test_friendly_500_page(tenant_a, settings):
    from django.test import RequestFactory

    from config.views import handler500

    request = RequestFactory().get("/", HTTP_HOST="alpha.localhost")
    response = handler500(request)
    assert response.status_code == 500 and b"Something went wrong" in response.content
    api_request = RequestFactory().get("/api/v1/users/", HTTP_HOST="alpha.localhost")
    assert handler500(api_request)["Content-Type"] == "application/json"


def _queries(client, path) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(path).status_code == 200
    connection.set_schema_to_public()
    return len(ctx.captured_queries)


def _add_rows(count: int, tag: str) -> None:
    """Users, pending invitations and API keys, each pointing at a user, so a missing
    select_related would show up as one query per row."""
    from accounts.models import User
    from accounts.services import invitation_create

    with schema_context("alpha"):
        admin = User.objects.get(email="alice@alpha.example")
        for index in range(count):
            user_create(email=f"{tag}{index}@alpha.example", full_name=f"{tag} {index}", roles=["marketing"])
            invitation_create(email=f"{tag}{index}@invited.example", roles=["sales"], invited_by=admin)
            api_key_create(name=f"{tag} {index}", scopes=["marketing:read"], created_by=admin)


QUERY_BUDGETS = [
    # SET search_path, session, user, user counts, pending invitations, active keys
    ("/", 6),
    # SET search_path, session, user, COUNT for the paginator, the page, pending invitations with inviter
    ("/settings/users/", 6),
    # SET search_path, session, user, COUNT for the paginator, the page of keys with creator
    ("/settings/api-keys/", 5),
]


@pytest.mark.parametrize(("path", "budget"), QUERY_BUDGETS, ids=[p for p, _ in QUERY_BUDGETS])
def test_query_budget_does_not_grow_with_rows(tenant_a, path, budget):
    client = login("alpha", "admin")
    _add_rows(5, "few")
    few = _queries(client, path)
    _add_rows(45, "many")
    many = _queries(client, path)
    assert few == many == budget


def test_user_search_and_role_filter(tenant_a):
    client = login("alpha", "admin")
    html = client.get("/settings/users/?q=sara").content.decode()
    assert "sara@alpha.example" in html and "mark@alpha.example" not in html
    html = client.get("/settings/users/?role=marketing").content.decode()
    assert "mark@alpha.example" in html and "sara@alpha.example" not in html
    assert "No users match" in client.get("/settings/users/?q=zzzz").content.decode()
