"""CSRF everywhere in the portal and on the public site: every route that takes a POST refuses one without a
token, for a logged-in admin; the only exemptions are listed here, each with its reason in the code."""

from __future__ import annotations

import pytest

from tests.conftest import client_for, login
from tests.security.routes import portal_routes, public_routes

pytestmark = pytest.mark.django_db

# route -> why it may be posted without a token (the same reason is in a comment at the decorator)
CSRF_EXEMPT = {
    # marketing.public_views.form_public sits under f/, outside the portal, and is walked here only to
    # prove the allow-list is exact: a lead form is posted from customers' sites by anonymous visitors.
    "f/<str:key>/": "lead forms are posted from any site, by anyone, with no session",
}
CSRF_MESSAGE = b"Your form expired or was sent from another site"


def _strict(client):
    client.handler.enforce_csrf_checks = True
    return client


def test_no_view_is_csrf_exempt_except_the_listed_ones():
    from django.urls import get_resolver

    from tests.security.routes import _walk

    exempt = {
        route.route
        for route in _walk(get_resolver("config.urls_tenants").url_patterns)
        if getattr(route.callback, "csrf_exempt", False) and not route.route.startswith("api/")
    }
    exempt |= {route.route for route in public_routes() if getattr(route.callback, "csrf_exempt", False)}
    assert exempt == set(CSRF_EXEMPT)


def test_every_portal_post_without_a_token_is_refused(tenant_a):
    # given the admin, logged in, with a client that checks CSRF like a browser's server would
    client = _strict(login("alpha", "admin"))
    posts = [route for route in portal_routes() if route.accepts("post")]
    assert len(posts) > 40
    # when each route is posted to without a token, then it is the CSRF refusal, before the view runs
    for route in posts:
        response = client.post(route.url(), {"name": "x", "action": "delete"})
        assert response.status_code == 403, route.route
        assert CSRF_MESSAGE in response.content, route.route
        # and with the token from the cookie it gets past the check (to the view's own 302/400/404/405)
        if route.name != "logout":
            token = client.cookies["tandem_csrf"].value
            passed = client.post(route.url(), {"csrfmiddlewaretoken": token, "nothing": ""})
            assert CSRF_MESSAGE not in passed.content, route.route
    assert client.get("/").status_code == 200  # still the admin at the end


def test_every_public_post_without_a_token_is_refused(tenant_a):
    client = _strict(client_for(None))
    client.get("/console/login/")  # the CSRF cookie, as a browser would have it
    posts = [route for route in public_routes() if route.accepts("post")]
    assert {"signup/", "console/login/"} <= {route.route for route in posts}
    for route in posts:
        response = client.post(route.url(), {"name": "x"})
        assert response.status_code == 403, route.route
        assert CSRF_MESSAGE in response.content, route.route


def test_the_login_form_itself_needs_the_token(tenant_a):
    client = _strict(client_for("alpha"))
    response = client.post("/login/", {"username": "alice@alpha.example", "password": "x"})
    assert response.status_code == 403
