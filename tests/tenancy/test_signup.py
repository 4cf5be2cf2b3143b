"""Sign-up (page, API, command): bad input is refused with field errors and creates nothing."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import connection
from django_tenants.utils import schema_exists

from accounts.tenancy.models import Domain, Signup, Tenant
from accounts.tenancy.validators import RESERVED_SLUGS, validate_slug
from tests.conftest import api_client, client_for

pytestmark = pytest.mark.django_db

GOOD = {
    "company_name": "Gamma GmbH",
    "slug": "gamma",
    "admin_name": "Gina Gamma",
    "admin_email": "gina@gamma.example",
    "admin_password": "a-long-and-unusual-passphrase",
}


def _counts() -> tuple[int, int, int]:
    return Tenant.objects.count(), Domain.objects.count(), Signup.objects.count()


BAD_CASES = [
    ("duplicate slug", {"slug": "alpha"}, "slug", "already taken"),
    ("case variant of an existing slug", {"slug": "ALPHA"}, "slug", "already taken"),
    ("reserved name", {"slug": "admin"}, "slug", "reserved"),
    ("reserved public", {"slug": "public"}, "slug", "reserved"),
    ("reserved www", {"slug": "www"}, "slug", "reserved"),
    ("invalid characters", {"slug": "my_company!"}, "slug", "lower-case letters"),
    ("leading digit", {"slug": "1acme"}, "slug", "starting with a letter"),
    ("trailing hyphen", {"slug": "acme-"}, "slug", "not ending"),
    ("too short", {"slug": "ab"}, "slug", "3 to"),
    ("too long", {"slug": "a" * 40}, "slug", "3 to"),
    ("unicode look-alike", {"slug": "аcme"}, "slug", "lower-case letters"),
    ("weak password: too short", {"admin_password": "short1"}, "admin_password", "too short"),
    ("weak password: common", {"admin_password": "password1234"}, "admin_password", "too common"),
    ("weak password: numeric", {"admin_password": "8364519027364"}, "admin_password", "entirely numeric"),
    ("password like the email", {"admin_password": "gina@gamma.example"}, "admin_password", "too similar"),
    ("bad email", {"admin_email": "not-an-email"}, "admin_email", "valid email"),
    ("empty company", {"company_name": "   "}, "company_name", ""),
    ("NUL byte", {"company_name": "Gam\x00ma"}, "company_name", "NUL"),
]


@pytest.mark.parametrize(("label", "change", "field", "message"), BAD_CASES, ids=[c[0] for c in BAD_CASES])
def test_signup_page_refuses_bad_input_and_creates_nothing(tenant_a, label, change, field, message):
    before = _counts()
    response = client_for(None).post("/signup/", {**GOOD, **change})
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert field in errors, errors
    assert message.lower() in " ".join(errors[field]).lower()
    assert _counts() == before


@pytest.mark.parametrize(("label", "change", "field", "message"), BAD_CASES, ids=[c[0] for c in BAD_CASES])
def test_signup_api_refuses_bad_input_with_field_errors(tenant_a, label, change, field, message):
    before = _counts()
    response = api_client(None).post("/api/v1/signups/", {**GOOD, **change}, content_type="application/json")
    assert response.status_code == 400
    body = response.json()["error"]
    assert body["code"] == "invalid"
    assert field in body["fields"], body
    assert _counts() == before


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {
            "company_name": ["list"],
            "slug": {"a": 1},
            "admin_name": 5,
            "admin_email": None,
            "admin_password": True,
        },
        {**GOOD, "company_name": "x" * 10_000},
        {**GOOD, "admin_password": "p" * 100_000},
    ],
    ids=["empty", "wrong types", "huge name", "huge password"],
)
def test_signup_api_malformed_payloads_are_400_not_500(tenant_a, payload):
    before = _counts()
    response = api_client(None).post("/api/v1/signups/", payload, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["fields"]
    assert _counts() == before


def test_signup_api_non_json_body_is_400(tenant_a):
    response = api_client(None).post("/api/v1/signups/", "{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "parse_error"


def test_signup_creates_the_workspace_off_the_request_and_shows_status(
    tenant_a, django_capture_on_commit_callbacks
):
    # when the form is posted, the request only records the sign-up
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client_for(None).post("/signup/", GOOD)
    assert response.status_code == 302
    tenant = Tenant.objects.get(slug="gamma")
    assert tenant.status == Tenant.Status.PENDING and not tenant.ready
    assert not schema_exists("gamma")
    assert len(callbacks) == 1  # the provisioning task, sent once the sign-up is committed
    status_page = client_for(None).get(response["Location"])
    assert b"Setting up Gamma GmbH" in status_page.content
    assert b'http-equiv="refresh"' in status_page.content
    # the workspace host answers "being set up" meanwhile
    assert client_for("gamma").get("/login/").status_code == 503
    # when the task runs (eagerly here; the integration suite uses a real worker)
    callbacks[0]()
    tenant.refresh_from_db()
    assert tenant.ready and tenant.status == Tenant.Status.READY
    signup = Signup.objects.get(tenant=tenant)
    assert signup.admin_password_hash == "" and signup.completed is not None
    # then the status page links to the workspace and the admin can sign in
    status_page = client_for(None).get(response["Location"])
    assert b"http://gamma.localhost/login/" in status_page.content
    assert b'http-equiv="refresh"' not in status_page.content
    login = client_for("gamma").post(
        "/login/", {"username": GOOD["admin_email"], "password": GOOD["admin_password"]}
    )
    assert login.status_code == 302
    connection.set_schema_to_public()


def test_signup_api_returns_202_and_a_status_url(tenant_a, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        response = api_client(None).post(
            "/api/v1/signups/", {**GOOD, "slug": "Delta-Co"}, content_type="application/json"
        )
    assert response.status_code == 202
    body = response.json()
    assert body["slug"] == "delta-co" and body["status"] == "pending" and body["ready"] is False
    status = api_client(None).get(body["status_url"].replace("http://localhost", ""))
    assert status.status_code == 200 and status.json()["token"] == body["token"]
    assert api_client(None).get("/api/v1/signups/not-a-token/").status_code == 404
    assert Tenant.objects.get(slug="delta-co").schema_name == "delta_co"


def test_signups_are_rate_limited_per_address(tenant_a, settings, django_capture_on_commit_callbacks):
    settings.TANDEM_SIGNUPS_PER_ADDRESS_PER_HOUR = 2
    client = client_for(None)
    with django_capture_on_commit_callbacks(execute=False):
        for index in range(2):
            assert client.post("/signup/", {**GOOD, "slug": f"rate-{index}a"}).status_code == 302
        response = client.post("/signup/", {**GOOD, "slug": "rate-9a"})
    assert response.status_code == 429
    assert not Tenant.objects.filter(slug="rate-9a").exists()


def test_the_signup_page_is_only_on_the_public_host(tenant_a):
    assert client_for("alpha").get("/signup/").status_code == 404
    assert client_for(None).get("/signup/").status_code == 200


def test_create_tenant_command_refuses_bad_input(tenant_a):
    before = _counts()
    with pytest.raises(CommandError, match="already taken"):
        call_command(
            "create_tenant",
            slug="Alpha",
            name="Again",
            admin_email="x@alpha.example",
            admin_password="a-long-and-unusual-passphrase",
        )
    with pytest.raises(CommandError, match="reserved"):
        call_command("create_tenant", slug="static", name="Static", admin_email="x@static.example")
    assert _counts() == before


def test_create_tenant_command_provisions_a_ready_workspace(tenant_a, capsys):
    call_command("create_tenant", slug="epsilon", name="Epsilon", admin_email="eve@epsilon.example")
    out = capsys.readouterr().out
    assert "Workspace epsilon is ready" in out and "Generated password:" in out
    password = out.split("Generated password:")[1].strip()
    tenant = Tenant.objects.get(slug="epsilon")
    assert tenant.ready and schema_exists("epsilon")
    assert (
        client_for("epsilon")
        .post("/login/", {"username": "eve@epsilon.example", "password": password})
        .status_code
        == 302
    )
    connection.set_schema_to_public()


def test_slug_rules_unit():
    for good in ["acme", "acme-2", "a1b", "x" * 32]:
        validate_slug(good)
    # a schema name that differs from another only in case reads and writes the wrong schema
    # (django-tenants #846): upper case is refused, as are reserved and malformed names
    for bad in ["Acme", "ACME", "acmE", "public", "www", "-acme", "acme-", "a", "acme_1", "x" * 33]:
        with pytest.raises(ValidationError):
            validate_slug(bad)
    assert {"public", "www", "api", "admin", "static"} <= RESERVED_SLUGS


def test_database_refuses_upper_case_or_duplicate_slugs_even_without_the_service(tenant_a):
    from django.db import IntegrityError, transaction

    # bulk_create skips save() and its checks: only the constraints stand in the way
    with pytest.raises(IntegrityError), transaction.atomic():
        Tenant.objects.bulk_create([Tenant(name="Upper", slug="UPPER", schema_name="upper")])
    with pytest.raises(IntegrityError), transaction.atomic():
        Tenant.objects.bulk_create([Tenant(name="Dup", slug="alpha", schema_name="alpha2")])
