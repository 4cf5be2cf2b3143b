"""Login, logout, throttling, password change and reset on a workspace host."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.db import connection
from django_tenants.utils import schema_context

from accounts.models import User
from tests.conftest import PASSWORD, client_for, login, member

pytestmark = pytest.mark.django_db


def test_login_is_case_insensitive_and_lands_on_home(tenant_a):
    client = client_for("alpha")
    response = client.post("/login/", {"username": "ALICE@Alpha.Example", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.get("/").status_code == 200


def test_wrong_password_shows_an_error(tenant_a):
    response = client_for("alpha").post(
        "/login/", {"username": member("alpha", "admin").email, "password": "nope"}
    )
    assert response.status_code == 400
    assert (
        b"correct email and password" in response.content.lower()
        or b"enter a correct" in response.content.lower()
    )


def test_user_of_b_cannot_log_in_on_a(tenant_a, tenant_b):
    response = client_for("alpha").post(
        "/login/", {"username": member("beta", "admin").email, "password": PASSWORD}
    )
    assert response.status_code == 400
    assert "_auth_user_id" not in client_for("alpha").session


def test_deactivated_user_cannot_log_in(tenant_a):
    with schema_context("alpha"):
        User.objects.filter(email=member("alpha", "sales").email).update(is_active=False)
    response = client_for("alpha").post(
        "/login/", {"username": member("alpha", "sales").email, "password": PASSWORD}
    )
    assert response.status_code == 400


def test_logout_needs_post_and_ends_the_session(tenant_a):
    client = login("alpha", "admin")
    assert client.get("/logout/").status_code == 405
    assert client.post("/logout/").status_code == 302
    assert client.get("/").status_code == 302


def test_login_is_throttled_per_account(tenant_a, settings):
    settings.TANDEM_LOGIN_MAX_FAILURES_PER_ACCOUNT = 3
    email = member("alpha", "marketing").email
    for _ in range(3):
        client_for("alpha").post("/login/", {"username": email, "password": "wrong"})
    # the right password is refused too while the account is throttled
    blocked = client_for("alpha").post("/login/", {"username": email, "password": PASSWORD})
    assert blocked.status_code == 429
    assert b"Too many failed sign-in attempts" in blocked.content
    # another account from the same address still gets in
    other = client_for("alpha").post(
        "/login/", {"username": member("alpha", "sales").email, "password": PASSWORD}
    )
    assert other.status_code == 302


def test_login_is_throttled_per_address(tenant_a, settings):
    settings.TANDEM_LOGIN_MAX_FAILURES_PER_ADDRESS = 4
    for index in range(4):
        client_for("alpha").post("/login/", {"username": f"nobody{index}@alpha.example", "password": "x"})
    blocked = client_for("alpha").post(
        "/login/", {"username": member("alpha", "sales").email, "password": PASSWORD}
    )
    assert blocked.status_code == 429
    other_address = client_for("alpha").post(
        "/login/", {"username": member("alpha", "sales").email, "password": PASSWORD}, REMOTE_ADDR="10.9.8.7"
    )
    assert other_address.status_code == 302


def test_throttle_counters_are_per_tenant(tenant_a, tenant_b, settings):
    settings.TANDEM_LOGIN_MAX_FAILURES_PER_ADDRESS = 2
    for _ in range(2):
        client_for("alpha").post("/login/", {"username": "x@alpha.example", "password": "x"})
    assert (
        client_for("alpha")
        .post("/login/", {"username": member("alpha", "admin").email, "password": PASSWORD})
        .status_code
        == 429
    )
    assert (
        client_for("beta")
        .post("/login/", {"username": member("beta", "admin").email, "password": PASSWORD})
        .status_code
        == 302
    )


def test_password_change(tenant_a):
    client = login("alpha", "sales")
    bad = client.post(
        "/profile/",
        {
            "old_password": "wrong",
            "new_password": "another-long-passphrase",
            "new_password_confirm": "another-long-passphrase",
        },
    )
    assert bad.status_code == 400 and b"current password is not correct" in bad.content
    weak = client.post(
        "/profile/",
        {"old_password": PASSWORD, "new_password": "12345678", "new_password_confirm": "12345678"},
    )
    assert weak.status_code == 400
    ok = client.post(
        "/profile/",
        {
            "old_password": PASSWORD,
            "new_password": "another-long-passphrase",
            "new_password_confirm": "another-long-passphrase",
        },
    )
    assert ok.status_code == 302
    assert client.get("/").status_code == 200  # still logged in after the change
    connection.set_schema_to_public()
    assert (
        client_for("alpha")
        .post("/login/", {"username": member("alpha", "sales").email, "password": "another-long-passphrase"})
        .status_code
        == 302
    )


def test_password_reset_by_email_link_on_the_tenant_host(tenant_a):
    client = client_for("alpha")
    response = client.post("/password/reset/", {"email": member("alpha", "leadership").email})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    body = mail.outbox[0].body
    link = re.search(r"http://alpha\.localhost(/password/reset/\S+/)", body).group(1)
    form_page = client.get(link, follow=True)
    assert form_page.status_code == 200
    set_url = form_page.redirect_chain[-1][0] if form_page.redirect_chain else link
    done = client.post(
        set_url, {"new_password1": "brand-new-passphrase", "new_password2": "brand-new-passphrase"}
    )
    assert done.status_code == 302
    connection.set_schema_to_public()
    assert (
        client_for("alpha")
        .post(
            "/login/", {"username": member("alpha", "leadership").email, "password": "brand-new-passphrase"}
        )
        .status_code
        == 302
    )


def test_password_reset_for_unknown_email_sends_nothing_and_looks_the_same(tenant_a):
    response = client_for("alpha").post("/password/reset/", {"email": member("beta", "admin").email})
    assert response.status_code == 302
    assert mail.outbox == []


def test_anonymous_user_is_sent_to_login(tenant_a):
    response = client_for("alpha").get("/settings/users/")
    assert response.status_code == 302 and response["Location"] == "/login/?next=/settings/users/"


def test_client_address_behind_trusted_proxies(rf, settings):
    from accounts.throttle import client_ip

    request = rf.get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.9")
    assert client_ip(request) == "10.0.0.2"
    settings.TANDEM_TRUSTED_PROXY_COUNT = 1
    assert client_ip(request) == "203.0.113.9"  # the forged 6.6.6.6 on the left is ignored


def test_password_reset_requests_are_limited_per_address(tenant_a, settings):
    settings.TANDEM_PASSWORD_RESETS_PER_ADDRESS_PER_HOUR = 2
    email = member("alpha", "leadership").email
    for _ in range(2):
        assert client_for("alpha").post("/password/reset/", {"email": email}).status_code == 302
    blocked = client_for("alpha").post("/password/reset/", {"email": email})
    assert blocked.status_code == 429
    assert len(mail.outbox) == 2
