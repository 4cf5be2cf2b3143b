"""What tests/accounts/test_auth.py does not already hold about login throttling: an account is locked by
failures spread over many addresses (each under its own limit), and the lock answers 429 on the console
sign-in as well as on a workspace's."""

from __future__ import annotations

import pytest

from tests.conftest import PASSWORD, client_for, member

pytestmark = pytest.mark.django_db


def test_an_account_is_locked_by_failures_from_many_addresses(tenant_a, settings):
    settings.TANDEM_LOGIN_MAX_FAILURES_PER_ACCOUNT = 3
    settings.TANDEM_LOGIN_MAX_FAILURES_PER_ADDRESS = 100
    email = member("alpha", "sales").email
    for index in range(3):
        response = client_for("alpha").post(
            "/login/", {"username": email, "password": "wrong"}, REMOTE_ADDR=f"10.0.0.{index + 1}"
        )
        assert response.status_code == 400
    blocked = client_for("alpha").post(
        "/login/", {"username": email, "password": PASSWORD}, REMOTE_ADDR="10.0.0.99"
    )
    assert blocked.status_code == 429


def test_the_console_sign_in_is_throttled_per_address(tenant_a, settings):
    settings.TANDEM_LOGIN_MAX_FAILURES_PER_ADDRESS = 2
    for index in range(2):
        client_for(None).post("/console/login/", {"username": f"nobody{index}@example.com", "password": "x"})
    blocked = client_for(None).post("/console/login/", {"username": "someone@example.com", "password": "x"})
    assert blocked.status_code == 429
