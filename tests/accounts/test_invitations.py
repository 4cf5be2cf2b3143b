"""A tenant admin invites by e-mail with roles; the invitee sets a password through a one-time link."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.db import connection
from django_tenants.utils import schema_context

from accounts.models import Invitation, User
from tests.conftest import client_for, login

pytestmark = pytest.mark.django_db


def _invite(client, email="new.person@alpha.example", roles=("marketing", "sales")):
    return client.post("/settings/users/", {"email": email, "roles": list(roles)})


def _accept_link(index=-1) -> str:
    return re.search(r"http://alpha\.localhost(/invitations/\S+/)", mail.outbox[index].body).group(1)


def test_admin_invites_and_invitee_joins_with_the_roles(tenant_a, django_capture_on_commit_callbacks):
    admin = login("alpha", "admin")
    with django_capture_on_commit_callbacks(execute=True):
        response = _invite(admin)
    assert response.status_code == 302
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["new.person@alpha.example"]
    page = admin.get("/settings/users/")
    assert b"new.person@alpha.example" in page.content  # listed as pending
    link = _accept_link()
    connection.set_schema_to_public()
    invitee = client_for("alpha")
    assert invitee.get(link).status_code == 200
    mismatch = invitee.post(
        link,
        {
            "full_name": "New Person",
            "password": "a-good-long-passphrase",
            "password_confirm": "different-passphrase",
        },
    )
    assert mismatch.status_code == 400
    weak = invitee.post(link, {"full_name": "New Person", "password": "123", "password_confirm": "123"})
    assert weak.status_code == 400
    joined = invitee.post(
        link,
        {
            "full_name": "New Person",
            "password": "a-good-long-passphrase",
            "password_confirm": "a-good-long-passphrase",
        },
    )
    assert joined.status_code == 302
    assert invitee.get("/").status_code == 200  # logged in
    with schema_context("alpha"):
        user = User.objects.get(email="new.person@alpha.example")
        assert user.roles == ["marketing", "sales"]
        assert Invitation.objects.get(email=user.email).accepted_user == user
    # the link works once
    connection.set_schema_to_public()
    assert client_for("alpha").get(link).status_code == 404


def test_invitation_link_is_for_its_tenant_only(tenant_a, tenant_b, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        _invite(login("alpha", "admin"))
    link = _accept_link()
    connection.set_schema_to_public()
    assert client_for("beta").get(link).status_code == 404


def test_inviting_again_replaces_the_link(tenant_a, django_capture_on_commit_callbacks):
    admin = login("alpha", "admin")
    with django_capture_on_commit_callbacks(execute=True):
        _invite(admin)
    connection.set_schema_to_public()
    with django_capture_on_commit_callbacks(execute=True):
        _invite(admin)
    first, second = _accept_link(0), _accept_link(1)
    connection.set_schema_to_public()
    assert client_for("alpha").get(first).status_code == 404
    assert client_for("alpha").get(second).status_code == 200
    with schema_context("alpha"):
        assert Invitation.objects.filter(email="new.person@alpha.example", revoked__isnull=True).count() == 1


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"email": "not-an-email", "roles": ["sales"]}, "email"),
        ({"email": "x@alpha.example", "roles": []}, "roles"),
        ({"email": "x@alpha.example", "roles": ["overlord"]}, "roles"),
        ({"email": "mark@alpha.example", "roles": ["sales"]}, "email"),  # already a member
    ],
)
def test_invite_form_errors(tenant_a, payload, field):
    admin = login("alpha", "admin")
    response = admin.post("/settings/users/", payload)
    assert response.status_code == 400
    assert field in response.context["invite_form"].errors
    with schema_context("alpha"):
        assert Invitation.objects.count() == 0
    assert mail.outbox == []


def test_revoked_invitation_link_is_dead(tenant_a, django_capture_on_commit_callbacks):
    admin = login("alpha", "admin")
    with django_capture_on_commit_callbacks(execute=True):
        _invite(admin)
    with schema_context("alpha"):
        invitation = Invitation.objects.get()
    connection.set_schema_to_public()
    assert admin.post(f"/settings/invitations/{invitation.pk}/revoke/").status_code == 302
    connection.set_schema_to_public()
    assert client_for("alpha").get(_accept_link()).status_code == 404


def test_only_admins_invite(tenant_a):
    for role in ("marketing", "sales", "leadership"):
        response = login("alpha", role).post(
            "/settings/users/", {"email": "x@alpha.example", "roles": ["sales"]}
        )
        assert response.status_code == 403
    with schema_context("alpha"):
        assert Invitation.objects.count() == 0


def test_admin_edits_roles_but_cannot_remove_the_last_admin(tenant_a):
    admin = login("alpha", "admin")
    with schema_context("alpha"):
        sara = User.objects.get(email="sara@alpha.example")
        alice = User.objects.get(email="alice@alpha.example")
    connection.set_schema_to_public()
    ok = admin.post(
        f"/settings/users/{sara.pk}/",
        {"full_name": "Sara S.", "roles": ["sales", "leadership"], "is_active": "on"},
    )
    assert ok.status_code == 302
    self_demote = admin.post(
        f"/settings/users/{alice.pk}/", {"full_name": "Alice", "roles": ["sales"], "is_active": "on"}
    )
    assert self_demote.status_code == 400
    with schema_context("alpha"):
        assert User.objects.get(pk=sara.pk).roles == ["sales", "leadership"]
        assert User.objects.get(pk=alice.pk).roles == ["admin"]
