"""Session and CSRF cookies (HttpOnly, SameSite, host-only; Secure in production) and the production transport
settings: HSTS for a year with subdomains, the HTTPS redirect with the health check exempt, a clean
``check --deploy``. tests/tenancy/test_isolation.py already holds the host-only session cookie on a
workspace; this adds the attributes on every login form and the production side."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys

import pytest
from django.conf import settings

from tests.conftest import client_for, login
from tests.security.routes import ROOT

PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "config.settings.production",
    "SECRET_KEY": secrets.token_urlsafe(64),
    "ALLOWED_HOSTS": "tandem.example.com,.tandem.example.com",
    "TANDEM_BASE_DOMAIN": "tandem.example.com",
    "DATABASE_URL": "postgresql://postgres@127.0.0.1:1/none",
    "CELERY_BROKER_URL": "redis://127.0.0.1:1/0",
}


def _production(*args: str, **overrides: str) -> subprocess.CompletedProcess:
    env = {**os.environ, **PRODUCTION_ENV, **overrides}
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )


def _cookie_attributes(client, name: str) -> dict:
    morsel = client.cookies[name]
    return {
        "httponly": bool(morsel["httponly"]),
        "samesite": morsel["samesite"],
        "domain": morsel["domain"],
        "secure": bool(morsel["secure"]),
    }


@pytest.mark.django_db
def test_workspace_login_cookies_are_httponly_samesite_and_host_only(tenant_a):
    client = client_for("alpha")
    client.get("/login/")  # the CSRF cookie comes with the form
    csrf = _cookie_attributes(client, settings.CSRF_COOKIE_NAME)
    client = login("alpha", "admin")
    session = _cookie_attributes(client, settings.SESSION_COOKIE_NAME)
    for attributes in (csrf, session):
        assert attributes["httponly"] and attributes["samesite"] == "Lax" and attributes["domain"] == ""


@pytest.mark.django_db
def test_console_login_cookies_are_httponly_samesite_and_host_only(tenant_a):
    client = client_for(None)
    client.get("/console/login/")
    attributes = _cookie_attributes(client, settings.CSRF_COOKIE_NAME)
    assert attributes["httponly"] and attributes["samesite"] == "Lax" and attributes["domain"] == ""


def test_production_settings_make_cookies_secure_and_pin_https():
    names = (
        "SESSION_COOKIE_SECURE CSRF_COOKIE_SECURE SESSION_COOKIE_HTTPONLY CSRF_COOKIE_HTTPONLY "
        "SESSION_COOKIE_SAMESITE CSRF_COOKIE_SAMESITE SESSION_COOKIE_DOMAIN CSRF_COOKIE_DOMAIN "
        "SECURE_HSTS_SECONDS SECURE_HSTS_INCLUDE_SUBDOMAINS SECURE_HSTS_PRELOAD SECURE_SSL_REDIRECT "
        "SECURE_REDIRECT_EXEMPT"
    )
    script = (
        "import django, json; django.setup(); from django.conf import settings as s; "
        f"print(json.dumps({{k: getattr(s, k) for k in {names.split()!r}}}))"
    )
    result = _production("-c", script)
    assert result.returncode == 0, result.stderr[-2000:]
    values = json.loads(result.stdout.strip().splitlines()[-1])
    assert values["SESSION_COOKIE_SECURE"] and values["CSRF_COOKIE_SECURE"]
    assert values["SESSION_COOKIE_HTTPONLY"] and values["CSRF_COOKIE_HTTPONLY"]
    assert values["SESSION_COOKIE_SAMESITE"] == values["CSRF_COOKIE_SAMESITE"] == "Lax"
    assert values["SESSION_COOKIE_DOMAIN"] is None and values["CSRF_COOKIE_DOMAIN"] is None
    assert values["SECURE_HSTS_SECONDS"] >= 365 * 24 * 3600
    assert values["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True
    assert values["SECURE_HSTS_PRELOAD"] is False  # opt-in only, see config/settings/production.py
    assert values["SECURE_SSL_REDIRECT"] is True
    assert values["SECURE_REDIRECT_EXEMPT"] == ["^healthz$"]
    # preloading is the operator's explicit choice
    opted_in = _production("-c", script, SECURE_HSTS_PRELOAD="1")
    assert json.loads(opted_in.stdout.strip().splitlines()[-1])["SECURE_HSTS_PRELOAD"] is True


def test_the_production_deploy_check_is_clean():
    result = _production("manage.py", "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    # and with preloading switched on the check stays clean (its warning is silenced only while off)
    result = _production("manage.py", "check", "--deploy", "--fail-level", "WARNING", SECURE_HSTS_PRELOAD="1")
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]


@pytest.mark.django_db
def test_https_redirect_spares_the_health_check_only(tenant_a, settings):
    # (SecurityMiddleware reads these when the client's handler is built)
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    client = client_for("alpha")
    assert client.get("/login/").status_code == 301
    assert client.get("/healthz").status_code in (200, 503)
    secure = client.get("/login/", secure=True)
    assert secure.status_code == 200
    assert (
        client.get("/login/", secure=True)["Strict-Transport-Security"]
        == "max-age=31536000; includeSubDomains"
    )
