import pytest

from tests.conftest import client_for, login

pytestmark = pytest.mark.django_db


def test_login_and_home(tenant_a):
    client = login("alpha", "admin")
    response = client.get("/")
    assert response.status_code == 200
    assert b"Alice" in response.content


def test_public_landing():
    assert client_for(None).get("/").status_code == 200
