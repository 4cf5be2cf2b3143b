"""Content-Security-Policy, nosniff, Referrer-Policy and Cache-Control on every kind of answer: portal pages,
the API, the public site, the hosted lead form, static files and the error pages (config.security)."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.test import Client

from config.security import API_DOCS_CSP, DEFAULT_CSP, LEAD_FORM_CSP
from tests.conftest import api_client, api_key_for, client_for, login

pytestmark = pytest.mark.django_db

STRICT = {
    "default-src 'self'",
    "script-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
    "form-action 'self'",
    "style-src 'self'",
}


def _directives(header: str) -> set[str]:
    return {part.strip() for part in header.split(";")}


def _assert_private(response, csp: str = DEFAULT_CSP) -> None:
    assert response["Content-Security-Policy"] == csp
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert "no-store" in response["Cache-Control"]


def test_the_default_policy_is_strict_and_has_no_unsafe_source():
    assert _directives(DEFAULT_CSP) >= STRICT
    assert "unsafe" not in DEFAULT_CSP and "data:" not in DEFAULT_CSP and "*" not in DEFAULT_CSP


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/profile/",
        "/settings/users/",
        "/marketing/contacts/",
        "/marketing/campaigns/",
        "/sales/board/",
        "/alignment/goals/",
        "/alignment/scorecard/",
    ],
)
def test_portal_pages_carry_the_policy_and_are_never_stored(tenant_a, path):
    response = login("alpha", "admin").get(path)
    assert response.status_code == 200, path
    _assert_private(response)


def test_the_api_carries_the_policy_and_is_never_stored(tenant_a):
    client = api_client("alpha", api_key_for("alpha", ["marketing:read", "admin:read"]))
    for path in ("/api/v1/contacts/", "/api/v1/me/", "/api/v1/nope/"):
        _assert_private(client.get(path))
    # refused before any view: no key, a bad key
    _assert_private(api_client("alpha").get("/api/v1/contacts/"))
    _assert_private(api_client("alpha", "tdm_nope").get("/api/v1/contacts/"))
    # the schema is public but is an API answer all the same
    _assert_private(api_client("alpha").get("/api/schema/?format=json"))


def test_exports_keep_their_own_private_no_store(tenant_a):
    response = login("alpha", "admin").get("/marketing/export/contacts.csv")
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"
    assert response["Content-Security-Policy"] == DEFAULT_CSP


def test_public_pages_and_login_carry_the_policy(tenant_a):
    for host, path in ((None, "/"), (None, "/signup/"), ("alpha", "/login/")):
        response = client_for(host).get(path)
        assert response.status_code == 200, path
        _assert_private(response)


def test_error_pages_carry_the_policy(tenant_a, monkeypatch):
    # 404 in the portal and in the API, 403 for a role without access, 404 for an unknown host
    _assert_private(login("alpha", "admin").get("/no-such-page/"))
    _assert_private(api_client("alpha").get("/api/v1/no-such-thing/"))
    forbidden = login("alpha", "sales").get("/settings/users/")
    assert forbidden.status_code == 403
    _assert_private(forbidden)
    unknown = Client(HTTP_HOST=f"nobody.{settings.TANDEM_BASE_DOMAIN}").get("/")
    assert unknown.status_code == 404
    _assert_private(unknown)
    # a CSRF failure
    csrf = Client(HTTP_HOST=f"alpha.{settings.TANDEM_BASE_DOMAIN}", enforce_csrf_checks=True)
    refused = csrf.post("/login/", {"username": "a", "password": "b"})
    assert refused.status_code == 403
    _assert_private(refused)
    # and the 500 page
    from accounts import views

    def boom(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(views.HomeView, "get", boom)
    client = login("alpha", "admin")
    client.raise_request_exception = False
    crashed = client.get("/")
    assert crashed.status_code == 500
    _assert_private(crashed)


def test_the_hosted_lead_form_may_be_framed_by_any_site_but_runs_no_inline_code(tenant_a):
    response = client_for("alpha").get("/f/no-such-key/")
    assert response.status_code == 404
    directives = _directives(response["Content-Security-Policy"])
    assert response["Content-Security-Policy"] == LEAD_FORM_CSP
    assert "frame-ancestors *" in directives
    assert {"script-src 'self'", "object-src 'none'", "base-uri 'none'", "style-src 'self'"} <= directives


def test_the_api_docs_run_their_init_script_from_a_file(tenant_a):
    client = client_for("alpha")
    page = client.get("/api/docs/")
    assert page.status_code == 200
    assert page["Content-Security-Policy"] == API_DOCS_CSP
    assert "script-src 'self'" in _directives(API_DOCS_CSP)
    html = page.content.decode()
    # every <script> has a src: the init script is fetched from the same address (?script)
    scripts = re.findall(r"<script\b([^>]*)>", html, flags=re.IGNORECASE)
    assert scripts and all("src=" in attrs for attrs in scripts), scripts
    init = client.get("/api/docs/?script=")
    assert init.status_code == 200 and init["Content-Type"].startswith("application/javascript")
    assert b"SwaggerUIBundle" in init.content


def test_static_files_stay_cacheable(tenant_a, settings):
    # WhiteNoise serves them (from the finders in tests); nothing about them is personal
    response = client_for("alpha").get(f"{settings.STATIC_URL}css/tandem.css")
    assert response.status_code == 200
    assert "no-store" not in response.get("Cache-Control", "")
    assert "max-age" in response["Cache-Control"]
