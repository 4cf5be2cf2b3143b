"""The scheduled reports API: create, read, pause, change and delete through alignment scopes and the
service's leadership rule, 400s (breaks the schema) and 422s (breaks a rule) naming the field, isolation
between workspaces, a list query budget that does not grow with schedules, and the preview to oneself."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import schema_context

from alignment import schedules
from alignment.models import ReportSchedule
from tests.conftest import (
    BREAKS_RULE,
    BREAKS_SCHEMA,
    api_client,
    api_key_for,
    login,
    member,
    refused,
    user_in,
)

pytestmark = pytest.mark.django_db

SCHEDULES = "/api/v1/report-schedules/"
PREVIEW = f"{SCHEDULES}preview/"


def call(client, method, path, data=None, **extra):
    response = getattr(client, method)(path, data, content_type="application/json", **extra)
    connection.set_schema_to_public()
    return response


def _schedule(slug="alpha", frequency="weekly", recipients="ceo@example.com", **fields) -> ReportSchedule:
    with schema_context(slug):
        return ReportSchedule.objects.create(frequency=frequency, recipients=recipients, **fields)


def _expected_next(schedule_id: int, before, after) -> set[str | None]:
    """next_send_date as the service computes it, at either end of the call (a day may turn meanwhile)."""
    with schema_context("alpha"):
        schedule = ReportSchedule.objects.get(pk=schedule_id)
    days = {schedules.next_send_date(schedule, moment) for moment in (before, after)}
    return {None if day is None else day.isoformat() for day in days}


def test_a_key_with_write_creates_lists_pauses_changes_and_deletes_a_schedule(tenant_a):
    client = api_client("alpha", api_key_for("alpha", ["alignment:write"]))
    before = timezone.now()
    created = call(
        client,
        "post",
        SCHEDULES,
        {"frequency": "weekly", "recipients": ["ceo@example.com", "cfo@example.com"]},
    )
    after = timezone.now()
    assert created.status_code == 201, created.content
    body = created.json()
    with schema_context("alpha"):
        stored = ReportSchedule.objects.get()
        assert (stored.frequency, stored.recipients, stored.is_active, stored.created_by) == (
            "weekly",
            "ceo@example.com\ncfo@example.com",
            True,
            None,
        )
    assert body == {
        "id": stored.pk,
        "frequency": "weekly",
        "recipients": ["ceo@example.com", "cfo@example.com"],
        "is_active": True,
        "created_at": body["created_at"],
        "created_by": None,
        "last_sent_at": None,
        "next_send_date": body["next_send_date"],
    }
    assert body["created_at"] and body["next_send_date"] in _expected_next(stored.pk, before, after)

    listed = call(client, "get", SCHEDULES).json()
    assert listed["results"] == [body] and listed["next"] is None
    assert call(client, "get", f"{SCHEDULES}{stored.pk}/").json() == body

    paused = call(client, "patch", f"{SCHEDULES}{stored.pk}/", {"is_active": False})
    assert paused.status_code == 200, paused.content
    assert paused.json() == {**body, "is_active": False, "next_send_date": None}

    changed = call(
        client,
        "patch",
        f"{SCHEDULES}{stored.pk}/",
        {"recipients": ["board@example.com", "BOARD@example.com", "cmo@example.com"], "frequency": "monthly"},
    )
    assert changed.status_code == 200, changed.content
    assert changed.json() == {
        **body,
        "frequency": "monthly",
        "recipients": ["board@example.com", "cmo@example.com"],  # repeats in any case dropped
        "is_active": False,
        "next_send_date": None,
    }
    with schema_context("alpha"):
        stored = ReportSchedule.objects.get()
        assert (stored.frequency, stored.recipients, stored.is_active) == (
            "monthly",
            "board@example.com\ncmo@example.com",
            False,
        )

    before = timezone.now()
    resumed = call(client, "patch", f"{SCHEDULES}{stored.pk}/", {"is_active": True})
    after = timezone.now()
    assert resumed.json()["next_send_date"] in _expected_next(stored.pk, before, after) - {None}

    assert call(client, "delete", f"{SCHEDULES}{stored.pk}/").status_code == 204
    assert call(client, "get", f"{SCHEDULES}{stored.pk}/").status_code == 404
    with schema_context("alpha"):
        assert not ReportSchedule.objects.exists()


def test_a_leadership_session_creates_a_schedule_as_itself(tenant_a):
    client = login("alpha", "leadership")
    client.handler.enforce_csrf_checks = True
    token = {"HTTP_X_CSRFTOKEN": client.cookies[settings.CSRF_COOKIE_NAME].value}
    data = {"frequency": "monthly", "recipients": ["ceo@example.com"], "is_active": False}
    created = call(client, "post", SCHEDULES, data, **token)
    assert created.status_code == 201, created.content
    leo = user_in("alpha", "leadership")
    assert created.json()["created_by"] == leo.pk and created.json()["is_active"] is False
    with schema_context("alpha"):
        assert ReportSchedule.objects.get().created_by_id == leo.pk


@pytest.mark.parametrize(
    ("data", "field", "status"),
    [
        ({"frequency": "daily", "recipients": ["x@example.com"]}, "frequency", BREAKS_SCHEMA),
        ({"frequency": "weekly", "recipients": "x@example.com"}, "recipients", BREAKS_SCHEMA),
        ({"frequency": "weekly", "recipients": [7]}, "recipients.0", BREAKS_SCHEMA),
        ({"frequency": "weekly", "recipients": []}, "recipients", BREAKS_SCHEMA),
        ({"frequency": "weekly"}, "recipients", BREAKS_SCHEMA),
        ({"frequency": "weekly", "recipients": ["x@example.com"], "owner": 1}, "owner", BREAKS_SCHEMA),
        ({"frequency": "weekly", "recipients": ["x@example.com"], "is_active": "yes"}, "is_active", 400),
        (
            {"frequency": "weekly", "recipients": [f"p{i}@example.com" for i in range(21)]},
            "recipients",
            BREAKS_SCHEMA,
        ),
        ({"frequency": "weekly", "recipients": ["x@example.com", "nope"]}, "recipients", BREAKS_RULE),
        (
            {"frequency": "weekly", "recipients": ["a@example.com, b@example.com"]},
            "recipients.0",
            BREAKS_RULE,
        ),
        ({"frequency": "weekly", "recipients": ["x\x00@example.com"]}, "recipients.0", BREAKS_RULE),
    ],
)
def test_bad_input_is_refused_naming_the_field_and_stores_nothing(tenant_a, data, field, status):
    client = api_client("alpha", api_key_for("alpha", ["alignment:write"]))
    response = call(client, "post", SCHEDULES, data)
    assert field in refused(response, status), response.content
    with schema_context("alpha"):
        assert not ReportSchedule.objects.exists()


def test_a_bad_change_is_refused_and_changes_nothing(tenant_a):
    schedule = _schedule(recipients="keep@example.com")
    client = api_client("alpha", api_key_for("alpha", ["alignment:write"]))
    path = f"{SCHEDULES}{schedule.pk}/"
    assert "frequency" in refused(call(client, "patch", path, {"frequency": "daily"}), BREAKS_SCHEMA)
    assert "recipients" in refused(call(client, "patch", path, {"recipients": ["nope"]}), BREAKS_RULE)
    with schema_context("alpha"):
        schedule.refresh_from_db()
        assert (schedule.frequency, schedule.recipients) == ("weekly", "keep@example.com")


def test_a_workspace_has_at_most_max_schedules(tenant_a):
    with schema_context("alpha"):
        ReportSchedule.objects.bulk_create(
            [ReportSchedule(recipients="x@example.com") for _ in range(schedules.MAX_SCHEDULES)]
        )
    client = api_client("alpha", api_key_for("alpha", ["alignment:write"]))
    response = call(client, "post", SCHEDULES, {"frequency": "weekly", "recipients": ["y@example.com"]})
    assert refused(response, BREAKS_RULE) == {"non_field_errors"}
    with schema_context("alpha"):
        assert ReportSchedule.objects.count() == schedules.MAX_SCHEDULES
        assert not ReportSchedule.objects.filter(recipients="y@example.com").exists()


def test_reading_needs_read_and_writing_needs_write(tenant_a):
    schedule = _schedule()
    reader = api_client("alpha", api_key_for("alpha", ["alignment:read"]))
    assert call(reader, "get", SCHEDULES).status_code == 200
    assert call(reader, "get", f"{SCHEDULES}{schedule.pk}/").status_code == 200
    new = {"frequency": "weekly", "recipients": ["x@example.com"]}
    assert call(reader, "post", SCHEDULES, new).status_code == 403
    assert call(reader, "patch", f"{SCHEDULES}{schedule.pk}/", {"is_active": False}).status_code == 403
    assert call(reader, "delete", f"{SCHEDULES}{schedule.pk}/").status_code == 403
    assert call(reader, "post", PREVIEW, {"frequency": "weekly"}).status_code == 403
    outsider = api_client("alpha", api_key_for("alpha", ["marketing:write"]))
    assert call(outsider, "get", SCHEDULES).status_code == 403
    assert call(api_client("alpha"), "get", SCHEDULES).status_code == 401
    assert call(api_client("alpha"), "post", SCHEDULES, new).status_code == 401
    with schema_context("alpha"):
        assert list(ReportSchedule.objects.values_list("pk", "is_active")) == [(schedule.pk, True)]


def test_a_marketing_session_reads_but_the_manager_rule_refuses_its_writes(tenant_a):
    schedule = _schedule(recipients="readable@example.com")
    client = login("alpha", "marketing")
    client.handler.enforce_csrf_checks = True
    token = {"HTTP_X_CSRFTOKEN": client.cookies[settings.CSRF_COOKIE_NAME].value}
    listed = call(client, "get", SCHEDULES)
    assert [row["recipients"] for row in listed.json()["results"]] == [["readable@example.com"]]
    path = f"{SCHEDULES}{schedule.pk}/"
    for method, url, data in [
        ("post", SCHEDULES, {"frequency": "weekly", "recipients": ["x@example.com"]}),
        ("patch", path, {"is_active": False}),
        ("delete", path, None),
        ("post", PREVIEW, {"frequency": "weekly"}),
    ]:
        response = call(client, method, url, data, **token)
        assert response.status_code == 403, (method, url, response.content)
        assert "CSRF" not in response.json()["error"]["message"]  # the token passed: the role is refused
    no_token = call(client, "patch", path, {"is_active": False})
    assert no_token.status_code == 403 and "CSRF" in no_token.json()["error"]["message"]
    with schema_context("alpha"):
        assert list(ReportSchedule.objects.values_list("pk", "is_active")) == [(schedule.pk, True)]
    assert mail.outbox == []


def test_schedules_are_isolated_between_workspaces(tenant_a, tenant_b):
    foreign = 987_654  # an id beta does not have
    _schedule(recipients="alphacanary@example.com", id=foreign)
    _schedule("beta", recipients="betacanary@example.com")
    with schema_context("beta"):
        assert not ReportSchedule.objects.filter(pk=foreign).exists()
    beta = api_client("beta", api_key_for("beta", ["alignment:write"]))
    listed = call(beta, "get", SCHEDULES).content.decode()
    assert "betacanary@example.com" in listed and "alphacanary" not in listed
    for method, data in (("get", None), ("patch", {"is_active": False}), ("delete", None)):
        assert call(beta, method, f"{SCHEDULES}{foreign}/", data).status_code == 404, method
    assert (
        call(api_client("alpha", api_key_for("beta", ["alignment:read"])), "get", SCHEDULES).status_code
        == 401
    )
    with schema_context("alpha"):
        assert ReportSchedule.objects.filter(pk=foreign, is_active=True).exists()


def test_list_query_budget_does_not_grow_with_schedules(tenant_a):
    client = api_client("alpha", api_key_for("alpha", ["alignment:read"]))

    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(SCHEDULES)
        connection.set_schema_to_public()
        assert response.status_code == 200
        return len(ctx.captured_queries)

    client.get("/api/v1/me/")  # the host and the key's last use are cached after a first call
    connection.set_schema_to_public()
    admin, sales = user_in("alpha", "admin"), user_in("alpha", "sales")
    for i in range(2):
        _schedule(recipients=f"p{i}@example.com", created_by=admin)
    few = queries()
    for i in range(10):
        _schedule("alpha", "monthly", f"q{i}@example.com\nr{i}@example.com", created_by=sales)
    assert queries() == few == 4  # SET search_path, the key, the rate-limit count, the schedules


def test_a_preview_goes_to_the_session_user_and_is_rate_limited(tenant_a, django_capture_on_commit_callbacks):
    client = login("alpha", "leadership")
    email = member("alpha", "leadership").email
    for _ in range(schedules.PREVIEWS_PER_WINDOW):
        with django_capture_on_commit_callbacks(execute=True):
            response = call(client, "post", PREVIEW, {"frequency": "monthly"})
        assert response.status_code == 202, response.content
        assert response.json() == {"frequency": "monthly", "to": email}
    assert [m.to for m in mail.outbox] == [[email]] * schedules.PREVIEWS_PER_WINDOW
    with django_capture_on_commit_callbacks(execute=True):
        throttled = call(client, "post", PREVIEW, {"frequency": "monthly"})
    assert throttled.status_code == 429
    assert throttled.json()["error"]["code"] == "throttled"
    assert "try again in 10 minutes" in throttled.json()["error"]["message"]
    assert throttled["Retry-After"] == str(schedules.PREVIEW_WINDOW_SECONDS)
    assert len(mail.outbox) == schedules.PREVIEWS_PER_WINDOW
    assert "frequency" in refused(call(client, "post", PREVIEW, {"frequency": "hourly"}), BREAKS_SCHEMA)


def test_a_preview_with_an_api_key_is_a_422_it_has_no_address(tenant_a, django_capture_on_commit_callbacks):
    client = api_client("alpha", api_key_for("alpha", ["alignment:write"]))
    with django_capture_on_commit_callbacks(execute=True):
        response = call(client, "post", PREVIEW, {"frequency": "weekly"})
    assert refused(response, BREAKS_RULE) == {"non_field_errors"}
    assert mail.outbox == []
