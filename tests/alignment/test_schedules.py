"""Scheduled joint reports: the email built from stored values (text, HTML, PDF), when a schedule is due and
that it sends once per period, the hourly task in the right tenant, the schedules page (validation, roles,
isolation, query budget) and the rate-limited preview."""

from __future__ import annotations

import base64
import datetime as dt
import re
import zlib
from decimal import Decimal

import pytest
from django.core import mail
from django.core.mail import EmailMultiAlternatives
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django_tenants.utils import schema_context

from accounts.tenancy.links import workspace_url
from alignment import report_email, report_tasks, schedules
from alignment.models import DefinitionVersion, EngineRun, MetricValue, ReportSchedule
from alignment.services import reporting_definition
from tests.conftest import login, member, user_in

pytestmark = pytest.mark.django_db

MONDAY = dt.datetime(2026, 6, 8, 0, 20, tzinfo=dt.UTC)  # reports the ISO week of 1-7 June 2026
TUESDAY = MONDAY + dt.timedelta(days=1)
FIRST = dt.datetime(2026, 7, 1, 0, 20, tzinfo=dt.UTC)  # a Wednesday; reports June 2026
WEEK, PREVIOUS_WEEK = dt.date(2026, 6, 1), dt.date(2026, 5, 25)
MONTH, PREVIOUS_MONTH = dt.date(2026, 6, 1), dt.date(2026, 5, 1)


def _value(metric, start, value, *, grain="week", definition=None, **extra):
    return MetricValue(
        metric=metric,
        granularity=grain,
        period_start=start,
        definition=definition or DefinitionVersion.objects.order_by("-id").first(),
        value=None if value is None else Decimal(value),
        **extra,
    )


def finished_definition() -> DefinitionVersion:
    """A definition version with a finished full run: the one reports show."""
    definition = DefinitionVersion.objects.create()
    EngineRun.objects.create(kind=EngineRun.Kind.FULL, definition=definition, finished_at=MONDAY)
    return definition


def seed_values(revenue="12345.67", *, grain="week", current=WEEK, previous=PREVIOUS_WEEK):
    """Headline values for the reported period and the one before, plus rows the report must ignore."""
    definition = finished_definition()
    rows = [
        _value("revenue_won", current, revenue, grain=grain, definition=definition),
        _value("revenue_won", previous, "10000", grain=grain),
        _value("win_rate", current, "0.25", grain=grain),
        _value("win_rate", previous, "0.2", grain=grain),
        _value("leads", current, None, grain=grain),  # stored as no data
        _value("leads", previous, "40", grain=grain),
        _value("marketing_spend", current, "500", grain=grain),
        _value("marketing_spend", previous, "400", grain=grain),
        # not the whole workspace, an attribution model, another granularity, an older period:
        _value("revenue_won", current, "424242", grain=grain, dimension="channel", dimension_value="email"),
        _value("revenue_won", current, "434343", grain=grain, model="linear"),
        _value("revenue_won", current, "454545", grain="day"),
        _value("deals_won", previous - dt.timedelta(days=70), "464646", grain=grain),
    ]
    other = DefinitionVersion.objects.create(cohort_window_days=30)  # newer, but no finished full run yet
    assert reporting_definition() == definition
    rows.append(_value("revenue_won", current, "474747", grain=grain, definition=other))
    MetricValue.objects.bulk_create(rows)
    return definition


def pdf_text(data: bytes) -> str:
    """The text drawn in a reportlab PDF: its content streams, ASCII85 + Flate decoded."""
    chunks = []
    for raw in re.findall(rb"stream\r?\n(.*?)endstream", data, re.S):
        body = raw.strip()
        body = body[:-2] if body.endswith(b"~>") else body
        try:
            chunks.append(zlib.decompress(base64.a85decode(body)).decode("latin-1"))
        except (ValueError, zlib.error):
            continue
    return "\n".join(chunks)


def _row(html: str, key: str) -> str:
    return re.search(rf'<tr data-metric="{key}">(.*?)</tr>', html, re.S).group(1)


# --- the email ---------------------------------------------------------------------------------------


def test_weekly_email_shows_the_stored_numbers_the_previous_week_and_no_data(alpha):
    definition = seed_values()
    report = report_email.build_report(frequency="weekly", today=MONDAY.date())
    message = report_email.report_message(report, to=["board@example.com"])
    html = message.alternatives[0][0]
    assert message.alternatives[0][1] == "text/html"

    revenue = _row(html, "revenue_won")
    assert ">12,346<" in revenue and ">10,000<" in revenue and "+2,346 (+23.5%)" in revenue
    assert "#15803d" in revenue  # more revenue is better: green
    assert "25.0%" in _row(html, "win_rate") and "+5.0 pts" in _row(html, "win_rate")
    assert "#b91c1c" in _row(html, "marketing_spend")  # more spend is worse: red
    leads = _row(html, "leads")
    assert ">no data<" in leads and ">40<" in leads and ">0<" not in leads  # NULL is never shown as 0
    assert ">no data<" in _row(html, "mqls")  # no row stored at all
    for ignored in ("424,242", "434,343", "454,545", "464,646", "474,747"):
        assert ignored not in html, ignored
    assert "cac" not in re.findall(r'data-metric="(\w+)"', html)  # CAC is monthly only
    assert f"definitions v{definition.pk}" in html
    assert workspace_url("alpha", reverse("alignment:reports")) in html  # the joint report's page
    assert "Week 23, 2026 (1 Jun – 7 Jun 2026)" in html and "Week 22, 2026" in html
    assert message.subject == "Alpha Corp: weekly joint report, Week 23, 2026 (1 Jun – 7 Jun 2026)"
    assert "Revenue won: 12,346 (previous: 10,000; change: +2,346 (+23.5%))" in message.body
    assert "Leads: no data (previous: 40" in message.body

    (name, pdf, mimetype) = message.attachments[0]
    assert mimetype == "application/pdf" and name == "tandem-alpha-weekly-2026-06-01.pdf"
    assert pdf.startswith(b"%PDF")
    text = pdf_text(pdf)
    assert "12,346" in text and "no data" in text and "424,242" not in text


def test_monthly_email_uses_month_values_and_monthly_only_metrics(alpha):
    seed_values("900", grain="month", current=MONTH, previous=PREVIOUS_MONTH)
    MetricValue.objects.bulk_create(
        [_value("cac", MONTH, "321.5", grain="month", definition=reporting_definition())]
    )
    report = report_email.build_report(frequency="monthly", today=FIRST.date())
    assert (report.period.label, report.previous.label) == ("June 2026", "May 2026")
    rows = {row.key: row for row in report.rows}
    assert (rows["revenue_won"].current, rows["revenue_won"].change) == ("900", "-9,100 (-91.0%)")
    assert rows["revenue_won"].trend == "worse"
    assert (rows["cac"].current, rows["cac"].previous, rows["cac"].change) == ("322", "no data", "–")


def test_the_values_are_one_query_whatever_the_data(alpha):
    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            report_email.build_report(frequency="weekly", today=MONDAY.date())
        return len(ctx.captured_queries)

    finished_definition()
    empty = queries()
    seed_values()
    # the reporting definition (one), the values (one), the workspace and its primary domain (one)
    assert empty == queries() == 3


# --- when a schedule is due --------------------------------------------------------------------------


def _schedule(frequency="weekly", recipients="board@example.com", **extra) -> ReportSchedule:
    return ReportSchedule.objects.create(frequency=frequency, recipients=recipients, **extra)


def test_weekly_is_due_on_mondays_for_the_previous_iso_week_and_monthly_on_the_first():
    assert schedules.period_due("weekly", MONDAY.date()).start == WEEK
    assert schedules.period_due("weekly", TUESDAY.date()) is None
    assert schedules.period_due("weekly", dt.date(2026, 1, 5)).start == dt.date(2025, 12, 29)  # over New Year
    assert schedules.period_due("monthly", FIRST.date()).start == MONTH
    assert schedules.period_due("monthly", dt.date(2026, 1, 1)).start == dt.date(2025, 12, 1)
    assert schedules.period_due("monthly", dt.date(2026, 7, 2)) is None


def test_a_weekly_schedule_sends_once_per_week(alpha):
    seed_values()
    schedule = _schedule()
    assert schedules.schedules_send_due(now=MONDAY - dt.timedelta(hours=1)) == {"sent": [], "failed": []}
    assert schedules.schedules_send_due(now=MONDAY) == {"sent": [schedule.pk], "failed": []}
    assert schedules.schedules_send_due(now=MONDAY + dt.timedelta(hours=23)) == {"sent": [], "failed": []}
    assert schedules.schedules_send_due(now=TUESDAY) == {"sent": [], "failed": []}
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["board@example.com"]
    schedule.refresh_from_db()
    assert schedule.last_sent_at == MONDAY
    next_monday = MONDAY + dt.timedelta(days=7)
    assert schedules.next_send_date(schedule, TUESDAY) == next_monday.date()
    assert schedules.schedules_send_due(now=next_monday) == {"sent": [schedule.pk], "failed": []}
    assert len(mail.outbox) == 2 and "Week 24, 2026" in mail.outbox[1].subject


def test_a_monthly_schedule_sends_on_the_first_once_and_paused_ones_never(alpha):
    monthly = _schedule("monthly")
    weekly = _schedule("weekly")
    paused = _schedule("monthly", is_active=False)
    assert schedules.schedules_send_due(now=FIRST)["sent"] == [monthly.pk]  # a Wednesday: not the weekly
    assert schedules.schedules_send_due(now=FIRST + dt.timedelta(hours=5))["sent"] == []
    assert schedules.schedules_send_due(now=FIRST + dt.timedelta(days=1))["sent"] == []
    assert [m.subject for m in mail.outbox] == ["Alpha Corp: monthly joint report, June 2026"]
    for schedule in (weekly, paused):
        schedule.refresh_from_db()
        assert schedule.last_sent_at is None
    assert schedules.next_send_date(paused, FIRST) is None


def test_two_workers_holding_the_same_schedule_send_it_once(alpha):
    _schedule()
    first = ReportSchedule.objects.get()
    second = ReportSchedule.objects.get()  # read before the first worker claimed it
    assert schedules.schedule_send_if_due(schedule=first, now=MONDAY) is True
    assert schedules.schedule_send_if_due(schedule=second, now=MONDAY + dt.timedelta(minutes=1)) is False
    assert len(mail.outbox) == 1


def test_a_failed_send_gives_the_claim_back_and_does_not_stop_the_others(alpha, monkeypatch):
    failing = _schedule(recipients="refused@example.com")
    working = _schedule(recipients="fine@example.com")
    real_send = EmailMultiAlternatives.send

    def send(message, *args, **kwargs):
        if message.to == ["refused@example.com"]:
            raise OSError("mail server refused")
        return real_send(message, *args, **kwargs)

    monkeypatch.setattr(EmailMultiAlternatives, "send", send)
    assert schedules.schedules_send_due(now=MONDAY) == {"sent": [working.pk], "failed": [failing.pk]}
    failing.refresh_from_db()
    assert failing.last_sent_at is None
    monkeypatch.setattr(EmailMultiAlternatives, "send", real_send)
    assert schedules.schedules_send_due(now=MONDAY + dt.timedelta(hours=1))["sent"] == [failing.pk]
    assert [m.to for m in mail.outbox] == [["fine@example.com"], ["refused@example.com"]]


# --- the hourly task, per tenant ---------------------------------------------------------------------


def test_the_task_sends_in_the_tenant_it_runs_for_only(tenant_a, tenant_b, monkeypatch):
    from accounts.tenancy.tasks import dispatch_to_tenants
    from config.celery import send_to_platform, send_to_tenant

    monkeypatch.setattr(report_tasks, "_now", lambda: MONDAY)
    with schema_context("alpha"):
        seed_values("11111")
        alpha_schedule = _schedule(recipients="alpha-board@example.com")
    with schema_context("beta"):
        seed_values("22222")
        beta_schedule = _schedule(recipients="beta-board@example.com")

    result = send_to_tenant(report_tasks.send_scheduled_reports, "alpha").get()
    assert result == {"sent": [alpha_schedule.pk], "failed": []}
    assert [m.to for m in mail.outbox] == [["alpha-board@example.com"]]
    assert "11,111" in mail.outbox[0].body and "22,222" not in mail.outbox[0].body
    with schema_context("beta"):
        assert ReportSchedule.objects.get(pk=beta_schedule.pk).last_sent_at is None

    # the beat entry's dispatcher reaches both; alpha has been sent for this week already
    send_to_platform(
        dispatch_to_tenants, kwargs={"task_name": "alignment.send_scheduled_reports", "period_seconds": 1}
    ).get()
    assert [m.to for m in mail.outbox] == [["alpha-board@example.com"], ["beta-board@example.com"]]
    beta_mail = mail.outbox[1]
    assert "22,222" in beta_mail.body and "11,111" not in beta_mail.body
    assert workspace_url("beta", "/alignment/reports/") in beta_mail.body and "Beta Ltd" in beta_mail.subject


def test_the_scheduled_task_is_in_the_beat_schedule():
    from config.celery import app

    entry = app.conf.beat_schedule["alignment-scheduled-reports"]
    assert entry["kwargs"]["task_name"] == "alignment.send_scheduled_reports" in app.tasks


# --- the service: validation -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("recipients", "message"),
    [
        ("ok@example.com\nnot-an-address\nalso@bad", "Not a valid email address: not-an-address, also@bad."),
        ("", "Enter at least one email address."),
        ("\n \n", "Enter at least one email address."),
        ("\n".join(f"p{i}@example.com" for i in range(21)), "Enter at most 20 addresses (you entered 21)."),
        ("ok@example.com\x00", "Remove the NUL characters."),
        ("a@example.com\n" * 2000, "Enter at most 20 addresses."),
    ],
)
def test_bad_recipients_are_a_field_error_naming_them(alpha, recipients, message):
    with pytest.raises(schedules.ValidationError) as caught:
        schedules.schedule_create(actor=None, data={"frequency": "weekly", "recipients": recipients})
    assert caught.value.message_dict == {"recipients": [message]}
    assert not ReportSchedule.objects.exists()


def test_recipients_are_trimmed_and_deduplicated_and_frequency_is_checked(alpha):
    schedule = schedules.schedule_create(
        actor=None,
        data={
            "frequency": "monthly",
            "recipients": " a@example.com \n\nB@example.com; A@EXAMPLE.com,c@x.io\n",
        },
    )
    assert schedule.recipients == "a@example.com\nB@example.com\nc@x.io"
    with pytest.raises(schedules.ValidationError) as caught:
        schedules.schedule_update(schedule=schedule, actor=None, data={"frequency": "daily", "owner": 1})
    assert caught.value.message_dict == {
        "frequency": ["Choose weekly or monthly."],
        "non_field_errors": ["Unknown field: owner."],
    }
    schedule.refresh_from_db()
    assert schedule.frequency == "monthly"


def test_a_workspace_has_at_most_twenty_schedules(alpha):
    ReportSchedule.objects.bulk_create(
        [ReportSchedule(recipients="x@example.com") for _ in range(schedules.MAX_SCHEDULES)]
    )
    with pytest.raises(schedules.ValidationError) as caught:
        schedules.schedule_create(actor=None, data={"frequency": "weekly", "recipients": "y@example.com"})
    assert caught.value.message_dict == {
        "non_field_errors": ["A workspace can have at most 20 scheduled reports."]
    }


# --- the page ----------------------------------------------------------------------------------------

PAGE = "/alignment/reports/schedules/"


def _post(client, path, data=None):
    response = client.post(path, data or {})
    connection.set_schema_to_public()
    return response


def test_leadership_creates_pauses_resumes_and_deletes_a_schedule(tenant_a):
    client = login("alpha", "leadership")
    response = _post(client, PAGE, {"frequency": "weekly", "recipients": "ceo@example.com\ncfo@example.com"})
    assert response.status_code == 302 and response["Location"] == PAGE
    with schema_context("alpha"):
        schedule = ReportSchedule.objects.get()
        assert (schedule.frequency, schedule.recipients, schedule.is_active) == (
            "weekly",
            "ceo@example.com\ncfo@example.com",
            True,
        )
        assert schedule.created_by == user_in("alpha", "leadership")
    page = client.get(PAGE).content.decode()
    assert "ceo@example.com" in page and "Weekly (Mondays)" in page and "schedule-form" in page
    assert _post(client, f"{PAGE}{schedule.pk}/pause/").status_code == 302
    with schema_context("alpha"):
        assert ReportSchedule.objects.get().is_active is False
    assert _post(client, f"{PAGE}{schedule.pk}/resume/").status_code == 302
    with schema_context("alpha"):
        assert ReportSchedule.objects.get().is_active is True
    assert _post(client, f"{PAGE}{schedule.pk}/delete/").status_code == 302
    with schema_context("alpha"):
        assert not ReportSchedule.objects.exists()


@pytest.mark.parametrize(
    ("data", "field", "text"),
    [
        ({"frequency": "weekly", "recipients": "x@example.com\nnope"}, "recipients", "nope"),
        ({"frequency": "weekly", "recipients": "x@example.com\x00"}, "recipients", "Null characters"),
        ({"frequency": "daily", "recipients": "x@example.com"}, "frequency", "valid choice"),
        (
            {"frequency": "weekly", "recipients": "".join(f"p{i}@example.com\n" for i in range(21))},
            "recipients",
            "21",
        ),
    ],
)
def test_bad_form_input_is_a_400_naming_the_field_and_stores_nothing(tenant_a, data, field, text):
    response = _post(login("alpha", "admin"), PAGE, data)
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert list(errors) == [field] and text in errors[field][0]
    with schema_context("alpha"):
        assert not ReportSchedule.objects.exists()


@pytest.mark.parametrize("role", ["marketing", "sales"])
def test_other_roles_read_the_list_but_cannot_change_it(tenant_a, role):
    with schema_context("alpha"):
        schedule = _schedule(recipients="readable@example.com")
    client = login("alpha", role)
    page = client.get(PAGE)
    connection.set_schema_to_public()
    html = page.content.decode()
    assert page.status_code == 200 and "readable@example.com" in html
    assert 'data-testid="read-only"' in html and "schedule-form" not in html and "/pause/" not in html
    for path, data in [
        (PAGE, {"frequency": "weekly", "recipients": "x@example.com"}),
        (f"{PAGE}{schedule.pk}/pause/", {}),
        (f"{PAGE}{schedule.pk}/delete/", {}),
        (f"{PAGE}preview/", {"frequency": "weekly"}),
    ]:
        assert _post(client, path, data).status_code == 403, path
    with schema_context("alpha"):
        assert list(ReportSchedule.objects.values_list("pk", "is_active")) == [(schedule.pk, True)]
    assert mail.outbox == []


def test_the_service_refuses_other_roles_too(alpha):
    with pytest.raises(schedules.PermissionDenied):
        schedules.schedule_create(
            actor=user_in("alpha", "marketing"), data={"frequency": "weekly", "recipients": "x@example.com"}
        )


def test_pages_are_isolated_between_workspaces(tenant_a, tenant_b):
    foreign = 987_654  # an id beta does not have
    with schema_context("alpha"):
        _schedule(recipients="alphacanary@example.com", id=foreign)
    with schema_context("beta"):
        _schedule(recipients="betacanary@example.com")
        assert not ReportSchedule.objects.filter(pk=foreign).exists()
    beta = login("beta", "admin")
    html = beta.get(PAGE).content.decode()
    connection.set_schema_to_public()
    assert "betacanary@example.com" in html and "alphacanary" not in html
    for action in ("pause", "resume", "delete"):
        assert _post(beta, f"{PAGE}{foreign}/{action}/").status_code == 404, action
    with schema_context("alpha"):
        assert ReportSchedule.objects.filter(pk=foreign, is_active=True).exists()
    assert beta.get(PAGE, HTTP_HOST="alpha.localhost").status_code == 302  # beta's session is not alpha's


def test_page_query_budget_does_not_grow_with_schedules(tenant_a):
    client = login("alpha", "leadership")

    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(PAGE)
        connection.set_schema_to_public()
        assert response.status_code == 200
        return len(ctx.captured_queries)

    with schema_context("alpha"):
        _schedule(created_by=user_in("alpha", "admin"))
    few = queries()
    with schema_context("alpha"):
        for i in range(15):
            _schedule("monthly", f"p{i}@example.com\nq{i}@example.com", created_by=user_in("alpha", "sales"))
    # SET search_path, the session, the user, then the schedules joined to their creators
    assert few == queries() == 4


# --- the preview -------------------------------------------------------------------------------------


def test_preview_goes_to_the_requester_only_and_is_rate_limited(tenant_a, django_capture_on_commit_callbacks):
    client = login("alpha", "leadership")
    for _ in range(schedules.PREVIEWS_PER_WINDOW):
        with django_capture_on_commit_callbacks(execute=True):
            response = _post(client, f"{PAGE}preview/", {"frequency": "monthly"})
        assert response.status_code == 302
    assert [m.to for m in mail.outbox] == [[member("alpha", "leadership").email]] * 3
    assert mail.outbox[0].subject.startswith("[Preview] Alpha Corp: monthly joint report")
    assert mail.outbox[0].attachments[0][1].startswith(b"%PDF")
    with django_capture_on_commit_callbacks(execute=True):
        throttled = _post(client, f"{PAGE}preview/", {"frequency": "monthly"})
    assert throttled.status_code == 429
    assert "try again in 10 minutes" in throttled.content.decode()
    assert len(mail.outbox) == 3
    bad = _post(client, f"{PAGE}preview/", {"frequency": "hourly"})
    assert bad.status_code == 400 and "frequency" in bad.context["preview_form"].errors
