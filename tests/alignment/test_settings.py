"""The metric definitions page: a change through the form is a new version; refused input keeps what was
typed and stores nothing; who may change what; isolation; a flat query count; the rate-limited
"Recompute now" button."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import schema_context

from accounts.models import User
from accounts.roles import READ, ROLE_ACCESS, Area, Role
from alignment.models import DefinitionVersion, EngineRun, RecomputeRequest
from alignment.services import current_definition, definition_update, definition_values
from tests.conftest import client_for, login, member

pytestmark = pytest.mark.django_db

PAGE = "/alignment/settings/metrics/"
RECOMPUTE = "/alignment/settings/metrics/recompute/"


def current_form_data(slug: str = "alpha") -> dict:
    """What the form posts when nothing is changed: every setting as the page shows it."""
    with schema_context(slug):
        return {name: str(value) for name, value in definition_values(current_definition()).items()}


def versions(slug: str = "alpha") -> list[int]:
    with schema_context(slug):
        return list(DefinitionVersion.objects.order_by("id").values_list("pk", flat=True))


def get(client, path: str = PAGE, **kwargs):
    response = client.get(path, **kwargs)
    connection.set_schema_to_public()
    return response


def post(client, path: str = PAGE, data: dict | None = None, **kwargs):
    response = client.post(path, data or {}, **kwargs)
    connection.set_schema_to_public()
    return response


def test_the_form_stores_a_new_version_and_leaves_the_old_one_untouched(tenant_a):
    data = current_form_data()
    before = versions()
    with schema_context("alpha"):
        old = DefinitionVersion.objects.get(pk=before[-1])
        old_values = definition_values(old)
    client = login("alpha", "leadership")
    page = get(client)
    assert page.status_code == 200
    assert f"Version {old.pk} is in force" in page.content.decode()
    # when
    response = post(client, data={**data, "gross_margin": "0.75", "mql_rule": "score of 70 or more"})
    # then
    assert response.status_code == 302 and response["Location"] == PAGE
    assert versions()[:-1] == before and len(versions()) == len(before) + 1
    with schema_context("alpha"):
        new = DefinitionVersion.objects.select_related("created_by").get(pk=versions()[-1])
        assert new.pk > old.pk
        assert (new.gross_margin, new.mql_rule) == (Decimal("0.75"), "score of 70 or more")
        assert new.created_by.full_name == "Leo Leadership"
        old.refresh_from_db()
        assert definition_values(old) == old_values
    html = get(client).content.decode()
    assert f"Saved as version {new.pk}" in html
    assert f"Version {new.pk} is in force" in html
    assert "Leo Leadership" in html
    assert "Gross margin (share, 0.8 = 80%): 0.8000 → <strong>0.7500</strong>" in html


def test_unchanged_settings_store_nothing(tenant_a):
    data = current_form_data()
    before = versions()
    client = login("alpha", "admin")
    response = post(client, data=data, follow=True)
    assert response.status_code == 200
    assert "Nothing changed, so no new version was stored." in response.content.decode()
    assert versions() == before


def test_refused_input_shows_errors_next_to_the_fields_keeps_what_was_typed_and_stores_nothing(tenant_a):
    data = current_form_data()
    before = versions()
    client = login("alpha", "marketing")
    typed = {
        **data,
        "gross_margin": "2",
        "cohort_window_days": "ninety",
        "sql_rule": "",
        "trailing_window_days": "45",
    }
    response = post(client, data=typed)
    assert response.status_code == 400
    html = response.content.decode()
    for name, message in [
        ("gross_margin", "Enter a value from 0.01 to 1."),
        ("cohort_window_days", "Enter a number."),
        ("sql_rule", "Describe the rule in 1 to 200 characters."),
    ]:
        field = html[html.index(f'id="id_{name}"') :]
        field = field[: field.index("<label")] if "<label" in field else field  # up to the next field
        assert message in field, name  # the error sits with its own field
    assert 'value="ninety"' in html and 'value="2"' in html and 'value="45"' in html
    assert html.count("has-error") == 3
    assert versions() == before
    # the service's check across fields lands on the field it names
    zero = {name: "0" for name in data if name.startswith("quality_weight_")}
    response = post(client, data={**data, **zero})
    assert response.status_code == 400
    assert "At least one lead quality weight must be above 0." in response.content.decode()
    assert versions() == before


@pytest.mark.parametrize("role", [Role.ADMIN, Role.MARKETING, Role.SALES, Role.LEADERSHIP])
def test_every_role_with_alignment_write_access_may_change_the_definitions(tenant_a, role):
    assert ROLE_ACCESS[role][Area.ALIGNMENT] == "write"
    client = login("alpha", role)
    html = get(client).content.decode()
    assert 'data-testid="definition-form"' in html and 'data-testid="recompute-button"' in html
    before = versions()
    response = post(client, data={**current_form_data(), "lifetime_cap_months": "48"})
    assert response.status_code == 302
    after = versions()
    assert after[:-1] == before and len(after) == len(before) + 1
    with schema_context("alpha"):
        stored = DefinitionVersion.objects.get(pk=after[-1])
        assert stored.lifetime_cap_months == 48 and stored.created_by.email == member("alpha", role).email


def test_a_role_that_only_reads_alignment_sees_the_page_but_cannot_change_anything(tenant_a, monkeypatch):
    monkeypatch.setitem(ROLE_ACCESS[Role.SALES], Area.ALIGNMENT, READ)
    client = login("alpha", "sales")
    page = get(client)
    before = versions()
    assert page.status_code == 200
    html = page.content.decode()
    assert "is in force" in html
    assert 'data-testid="definition-form"' not in html and 'data-testid="recompute-button"' not in html
    assert post(client, data={**current_form_data(), "gross_margin": "0.5"}).status_code == 403
    assert post(client, RECOMPUTE).status_code == 403
    assert versions() == before
    with schema_context("alpha"):
        assert not RecomputeRequest.objects.exists()


def test_signed_out_visitors_go_to_the_login_page(tenant_a):
    for response in (get(client_for("alpha")), post(client_for("alpha"), RECOMPUTE)):
        assert response.status_code == 302 and response["Location"].startswith("/login/")
    with schema_context("alpha"):
        assert not RecomputeRequest.objects.exists()


def test_the_page_is_isolated_between_tenants(tenant_a, tenant_b):
    for slug in ("alpha", "beta"):
        with schema_context(slug):
            actor = User.objects.get(email__startswith="leo" if slug == "alpha" else "bill")
            definition_update(actor=actor, data={"mql_rule": f"{slug}canary rule"})
            EngineRun.objects.create(
                kind="full", definition=current_definition(), values_written=4321 if slug == "alpha" else 1234
            )
    beta = login("beta", "leadership")
    html = get(beta).content.decode()
    assert "betacanary rule" in html and "Bill Leadership" in html and ">1234<" in html  # beta's own rows
    assert "alphacanary" not in html and "Leo Leadership" not in html and ">4321<" not in html
    # beta's session means nothing on alpha's host: sent to the login page, nothing stored
    before = versions()
    alpha_host = client_for("alpha")
    alpha_host.cookies[settings.SESSION_COOKIE_NAME] = beta.cookies[settings.SESSION_COOKIE_NAME].value
    for response in (
        get(alpha_host),
        post(alpha_host, data={"gross_margin": "0.5"}),
        post(alpha_host, RECOMPUTE),
    ):
        assert response.status_code == 302 and response["Location"].startswith("/login/")
    assert versions() == before
    with schema_context("alpha"):
        assert not RecomputeRequest.objects.exists()


def _seed(n: int, tag: str) -> None:
    with schema_context("alpha"):
        rep = User.objects.get(email__startswith="sara")
        DefinitionVersion.objects.bulk_create(
            [
                DefinitionVersion(created_by=rep, mql_rule=f"{tag} rule {i}", cohort_window_days=10 + i)
                for i in range(n)
            ]
        )
        version = current_definition()
        now = timezone.now()
        EngineRun.objects.bulk_create(
            [
                EngineRun(kind="incremental", definition=version, started_at=now, finished_at=now, days=i)
                for i in range(n)
            ]
        )
        EngineRun.objects.create(kind="full", definition=version, finished_at=now)
        RecomputeRequest.objects.create(requested_by=rep)


def _queries(client) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(PAGE)
    connection.set_schema_to_public()
    assert response.status_code == 200
    return len(ctx.captured_queries), response.content.decode()


def test_the_page_query_count_does_not_grow_with_versions_or_runs(tenant_a):
    client = login("alpha", "leadership")
    _seed(5, "few")
    few, html = _queries(client)
    assert html.count("few rule") >= 5
    _seed(50, "many")
    many, html = _queries(client)
    assert html.count("many rule") >= 20
    # SET search_path, session, user, the newest versions with who changed them, the last engine runs, the
    # reporting version (through its finished full run), the last recompute request with who asked for it
    assert few == many == 7


def test_recompute_now_is_rate_limited_from_the_page(tenant_a):
    client = login("alpha", "sales")
    html = get(client).content.decode()
    form = html[html.index('id="recompute"') :]
    assert 'action="/alignment/settings/metrics/recompute/"' in form and "csrfmiddlewaretoken" in form
    assert get(client, RECOMPUTE).status_code == 405  # a button, never a link
    first = post(client, RECOMPUTE, follow=True)
    assert "Recompute queued" in first.content.decode()
    assert "Last asked for by Sara Sales" in first.content.decode()
    second = post(client, RECOMPUTE, follow=True)
    assert "A recompute was asked for recently; try again in 10 min." in second.content.decode()
    with schema_context("alpha"):
        assert RecomputeRequest.objects.count() == 1
        RecomputeRequest.objects.update(requested_at=timezone.now() - dt.timedelta(minutes=11))
    assert "Recompute queued" in post(client, RECOMPUTE, follow=True).content.decode()
    with schema_context("alpha"):
        assert RecomputeRequest.objects.count() == 2


def test_recompute_posts_need_the_csrf_token(tenant_a):
    client = login("alpha", "admin")
    client.handler.enforce_csrf_checks = True
    assert post(client, RECOMPUTE).status_code == 403
    with schema_context("alpha"):
        assert not RecomputeRequest.objects.exists()
