"""Lead capture forms: the field spec, the public submit endpoint on the workspace host, spam control."""

from __future__ import annotations

import json

import pytest
from django.core.exceptions import ValidationError
from django_tenants.utils import schema_context

from accounts.tenancy.links import workspace_url
from marketing.models import Contact, FormSubmission, LeadForm, Touchpoint
from marketing.services.forms import (
    form_create,
    form_delete,
    form_embed_snippet,
    form_submit,
    form_update,
)
from tests.conftest import client_for
from tests.marketing import factories

pytestmark = pytest.mark.django_db

FIELDS = [
    {"name": "first_name", "label": "First name", "type": "text", "required": True},
    {"name": "last_name", "type": "text"},
    {"name": "company_size", "type": "select", "options": ["1-10", "11-50", "51+"], "required": True},
    {"name": "consent_marketing", "label": "Send me news", "type": "checkbox"},
    {"name": "notes", "type": "textarea"},
]


def make_form(slug: str, **data) -> LeadForm:
    with schema_context(slug):
        return form_create(data={"name": "Get the report", "fields": FIELDS, **data})


def answers(**extra) -> dict:
    return {"email": "ann@example.com", "first_name": "Ann", "company_size": "11-50", **extra}


def stored(slug: str) -> tuple[int, int, int]:
    with schema_context(slug):
        return Contact.objects.count(), Touchpoint.objects.count(), FormSubmission.objects.count()


def post_json(client, url: str, data: dict):
    return client.post(url, data, HTTP_ACCEPT="application/json")


# --- The form definition -------------------------------------------------------------------------------


def test_spec_is_normalised_with_email_first(alpha):
    form = form_create(data={"name": "Demo", "fields": [{"name": "seniority"}, {"name": "job_title"}]})
    assert [f["name"] for f in form.fields] == ["email", "seniority", "job_title"]
    email, seniority, job_title = form.fields
    assert email == {"name": "email", "label": "Email", "type": "email", "required": True}
    assert seniority["type"] == "select" and "director" in seniority["options"]
    assert job_title == {"name": "job_title", "label": "Job title", "type": "text", "required": False}
    assert len(form.key) <= 32 and form.key != form_create(data={"name": "Other"}).key


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ([{"name": "email"}, {"name": "born", "type": "date"}], "fields.1.type: unknown type 'date'"),
        ([{"name": "Bad Name"}], "fields.0.name: use a-z, 0-9 and _, starting with a letter"),
        ([{"name": "website"}], "fields.0.name: 'website' is reserved"),
        ([{"name": "utm_source"}], "fields.0.name: 'utm_source' is reserved"),
        ([{"name": "owner"}], "fields.0.name: 'owner' cannot be set from a form"),
        ([{"name": "size", "type": "select"}], "fields.0.options: give a list of 1 to 100 options"),
        ([{"name": "size", "type": "text", "options": ["a"]}], "fields.0.options: only select fields"),
        ([{"name": "size", "type": "select", "options": ["a", "a"]}], "fields.0.options.1: 'a' is repeated"),
        ([{"name": "seniority", "options": ["emperor"]}], "fields.0.options.0: 'emperor' is not one of"),
        ([{"name": "consent_marketing", "type": "text"}], "fields.0.type: 'consent_marketing' must be one"),
        ([{"name": "email", "required": False}], "fields.0.required: the email field is always required"),
        ([{"name": "email", "type": "text"}], "fields.0.type: 'email' must be one of email"),
        ([{"name": "notes"}, {"name": "notes"}], "fields.1.name: 'notes' is used twice"),
        ([{"name": "notes", "colour": "red"}], "fields.0: unknown key 'colour'"),
        ([{"name": "notes", "required": "yes"}], "fields.0.required: give true or false"),
        ([{"name": "notes", "label": "a\x00b"}], "fields.0.label: give text of at most 200 characters"),
        ([{"name": f"q{i}"} for i in range(30)], "fields: at most 30 fields, email included"),
        ("email", "fields: give a list of fields"),
        (["email"], "fields.0: each field must be an object"),
    ],
)
def test_bad_spec_is_refused_naming_the_item(alpha, fields, message):
    with pytest.raises(ValidationError) as info:
        form_create(data={"name": "Demo", "fields": fields})
    assert any(m.startswith(message) for m in info.value.message_dict["fields"]), info.value.message_dict
    assert LeadForm.objects.count() == 0


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"redirect_url": "javascript:alert(1)"}, "redirect_url"),
        ({"redirect_url": "ftp://files.example.com/"}, "redirect_url"),
        ({"redirect_url": "http://[broken/"}, "redirect_url"),
        ({"campaign": 999999}, "campaign"),
        ({"campaign": "abc"}, "campaign"),
        ({"name": ""}, "name"),
        ({"name": "x\x00y"}, "name"),
        ({"is_active": "yes"}, "is_active"),
        ({"thank_you_text": "x" * 5001}, "thank_you_text"),
        ({"key": "mine"}, "key"),
    ],
)
def test_bad_form_data_is_refused_naming_the_field(alpha, data, field):
    with pytest.raises(ValidationError) as info:
        form_create(data={"name": "Demo", **data})
    assert field in info.value.message_dict
    assert LeadForm.objects.count() == 0


def test_update_keeps_the_key_and_delete_removes_the_form(alpha):
    campaign = factories.campaign()
    form = form_create(data={"name": "Demo"})
    key = form.key
    form_update(
        form=form,
        data={"campaign": campaign.pk, "redirect_url": "https://example.com/thanks", "fields": FIELDS},
    )
    form.refresh_from_db()
    assert form.key == key and form.campaign == campaign and len(form.fields) == len(FIELDS) + 1
    with pytest.raises(ValidationError):
        form_update(form=form, data={"fields": [{"name": "x", "type": "date"}]})
    form_delete(form=form)
    assert LeadForm.objects.count() == 0


# --- Submitting ----------------------------------------------------------------------------------------


def test_submission_creates_contact_touchpoint_and_submission(tenant_a):
    with schema_context("alpha"):
        campaign = factories.campaign(channel="paid_social")
    form = make_form("alpha", campaign=campaign.pk, thank_you_text="Check your inbox.")

    response = client_for("alpha").post(
        f"/f/{form.key}/",
        answers(consent_marketing="on", notes="Call me", utm_source="linkedin", utm_medium="cpc"),
        HTTP_REFERER="https://www.customer.example/pricing",
        HTTP_USER_AGENT="Test browser",
    )

    assert response.status_code == 200
    assert b"Check your inbox." in response.content
    with schema_context("alpha"):
        contact = Contact.objects.get()
        assert (contact.email, contact.first_name, contact.source) == ("ann@example.com", "Ann", "form")
        assert contact.consent_marketing and contact.first_touch_campaign_id == campaign.pk
        touch = Touchpoint.objects.get()
        assert touch.kind == "form_submission" and touch.contact_id == contact.pk
        assert (touch.campaign_id, touch.channel) == (campaign.pk, "paid_social")
        assert (touch.utm_source, touch.utm_medium) == ("linkedin", "cpc")
        assert touch.referrer == touch.url == "https://www.customer.example/pricing"
        submission = FormSubmission.objects.get()
        assert submission.data == {"company_size": "11-50", "notes": "Call me"}
        assert (submission.contact_id, submission.touchpoint_id) == (contact.pk, touch.pk)
        assert (submission.ip_address, submission.user_agent) == ("127.0.0.1", "Test browser")
        assert submission.referrer == "https://www.customer.example/pricing"
        form.refresh_from_db()
        assert form.submission_count == 1


def test_utm_comes_from_the_page_address_and_referrer_from_the_hosted_page(tenant_a):
    form = make_form("alpha")

    response = client_for("alpha").post(
        f"/f/{form.key}/",
        answers(referrer="https://search.example/?q=report"),
        HTTP_REFERER=f"http://alpha.localhost/f/{form.key}/?utm_source=news&utm_campaign=spring",
    )

    assert response.status_code == 200
    with schema_context("alpha"):
        touch = Touchpoint.objects.get()
        assert (touch.utm_source, touch.utm_campaign, touch.utm_medium) == ("news", "spring", "")
        assert touch.referrer == "https://search.example/?q=report"


def test_a_malformed_referer_is_kept_but_yields_no_utm(tenant_a):
    form = make_form("alpha")

    response = client_for("alpha").post(
        f"/f/{form.key}/", answers(), HTTP_REFERER="http://[broken/?utm_source=x"
    )

    assert response.status_code == 200
    with schema_context("alpha"):
        touch = Touchpoint.objects.get()
        assert (touch.utm_source, touch.referrer) == ("", "http://[broken/?utm_source=x")


def test_the_same_email_twice_updates_one_contact(tenant_a):
    form = make_form("alpha")
    client = client_for("alpha")

    first = client.post(f"/f/{form.key}/", answers(email="Ann@Example.com"))
    second = client.post(f"/f/{form.key}/", answers(email="ANN@example.COM", last_name="Lee"))

    assert first.status_code == second.status_code == 200
    with schema_context("alpha"):
        contact = Contact.objects.get()
        assert (contact.email, contact.first_name, contact.last_name) == ("ann@example.com", "Ann", "Lee")
        assert contact.touchpoints.filter(kind="form_submission").count() == 2
        assert FormSubmission.objects.filter(contact=contact).count() == 2
        form.refresh_from_db()
        assert form.submission_count == 2


def test_another_workspaces_form_key_is_unknown(tenant_a, tenant_b):
    beta_form = make_form("beta")
    client = client_for("alpha")

    posted = client.post(f"/f/{beta_form.key}/", answers())
    shown = client.get(f"/f/{beta_form.key}/")
    as_json = post_json(client, f"/f/{beta_form.key}/", answers())

    assert posted.status_code == shown.status_code == as_json.status_code == 404
    assert as_json.json()["error"]["code"] == "not_found"
    assert stored("alpha") == stored("beta") == (0, 0, 0)
    with schema_context("alpha"), pytest.raises(LeadForm.DoesNotExist):
        form_submit(key=beta_form.key, data=answers(), meta={})
    with schema_context("beta"):
        beta_form.refresh_from_db()
        assert beta_form.submission_count == 0


def test_inactive_or_unknown_form_is_not_found(tenant_a):
    form = make_form("alpha", is_active=False)
    client = client_for("alpha")

    assert client.get(f"/f/{form.key}/").status_code == 404
    assert client.post(f"/f/{form.key}/", answers()).status_code == 404
    assert client.post("/f/no-such-key/", answers()).status_code == 404
    assert client.post(f"/f/{'k' * 40}/", answers()).status_code == 404
    assert stored("alpha") == (0, 0, 0)


def test_honeypot_pretends_success_and_stores_nothing(tenant_a):
    form = make_form("alpha", thank_you_text="Thanks a lot.")

    response = client_for("alpha").post(f"/f/{form.key}/", answers(website="http://spam.example"))

    assert response.status_code == 200 and b"Thanks a lot." in response.content
    assert stored("alpha") == (0, 0, 0)
    with schema_context("alpha"):
        form.refresh_from_db()
        assert form.submission_count == 0


def test_success_redirects_when_the_form_has_a_redirect_url(tenant_a):
    form = make_form("alpha", redirect_url="https://customer.example/thanks")

    response = client_for("alpha").post(f"/f/{form.key}/", answers())

    assert response.status_code == 303 and response["Location"] == "https://customer.example/thanks"
    assert stored("alpha") == (1, 1, 1)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        (answers(notes="x" * 2001), "notes"),
        (answers(first_name="An\x00n"), "first_name"),
        (answers(notes="a\x00b"), "notes"),
        (answers(**{f"extra_{i}": "x" for i in range(48)}), "non_field_errors"),
        (answers(**{f"extra_{i}": "x" * 1900 for i in range(11)}), "non_field_errors"),
        (answers(first_name="A" * 101), "first_name"),
        (answers(email="not-an-email"), "email"),
        (answers(company_size="1000+"), "company_size"),
        ({"email": "ann@example.com", "company_size": "1-10"}, "first_name"),
        ({"first_name": "Ann", "company_size": "1-10"}, "email"),
    ],
)
def test_bad_submission_is_refused_naming_the_field(tenant_a, data, field):
    form = make_form("alpha")

    response = post_json(client_for("alpha"), f"/f/{form.key}/", data)

    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["status"], error["code"]) == (400, "invalid")
    assert field in error["fields"], error
    assert stored("alpha") == (0, 0, 0)


def test_bad_submission_re_renders_the_page_with_the_errors(tenant_a):
    form = make_form("alpha")

    response = client_for("alpha").post(
        f"/f/{form.key}/", {"email": "ann@example.com", "first_name": "Ann", "utm_source": "x"}
    )

    assert response.status_code == 400
    page = response.content.decode()
    assert "This field is required." in page and 'value="ann@example.com"' in page
    assert 'name="utm_source" value="x"' in page
    assert stored("alpha") == (0, 0, 0)


def test_json_body_is_accepted(tenant_a):
    form = make_form("alpha")

    response = client_for("alpha").post(
        f"/f/{form.key}/", json.dumps(answers(consent_marketing=True)), content_type="application/json"
    )
    broken = client_for("alpha").post(f"/f/{form.key}/", "[1, 2]", content_type="application/json")

    assert response.status_code == 201 and response.json()["status"] == "received"
    assert broken.status_code == 400 and "non_field_errors" in broken.json()["error"]["fields"]
    with schema_context("alpha"):
        assert Contact.objects.get().consent_marketing is True


def test_oversized_body_is_refused_before_parsing(tenant_a):
    form = make_form("alpha")

    response = post_json(client_for("alpha"), f"/f/{form.key}/", answers(notes="x" * 70_000))

    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"non_field_errors": ["The submission is too large."]}
    assert stored("alpha") == (0, 0, 0)


def test_submissions_are_rate_limited_per_address_and_workspace(tenant_a, tenant_b):
    form = make_form("alpha")
    beta_form = make_form("beta")
    client = client_for("alpha")

    statuses = [client.post(f"/f/{form.key}/", answers(website="bot")).status_code for _ in range(20)]
    blocked = client.post(f"/f/{form.key}/", answers())
    other_address = client.post(f"/f/{form.key}/", answers(), REMOTE_ADDR="10.0.0.9")
    other_workspace = client_for("beta").post(f"/f/{beta_form.key}/", answers())

    assert statuses == [200] * 20
    assert blocked.status_code == 429 and b"Too many submissions" in blocked.content
    assert other_address.status_code == other_workspace.status_code == 200
    assert stored("alpha") == stored("beta") == (1, 1, 1)


# --- The pages ----------------------------------------------------------------------------------------


def test_hosted_page_can_be_framed_and_carries_utm_and_referrer(tenant_a):
    form = make_form("alpha")

    response = client_for("alpha").get(
        f"/f/{form.key}/?utm_source=news&utm_term=x%00y", HTTP_REFERER="https://search.example/"
    )

    assert response.status_code == 200
    assert "X-Frame-Options" not in response
    assert "Set-Cookie" not in response.headers
    page = response.content.decode()
    assert 'name="company_size"' in page and 'name="website"' in page
    assert 'name="utm_source" value="news"' in page and 'name="utm_term" value="xy"' in page
    assert 'name="referrer" value="https://search.example/"' in page


def test_portal_pages_still_refuse_framing(tenant_a):
    assert client_for("alpha").get("/login/")["X-Frame-Options"] == "DENY"


def test_embed_snippet_posts_to_the_workspace_host_without_script(alpha):
    form = form_create(data={"name": "Demo", "fields": [{"name": "notes", "label": "<script>x()</script>"}]})

    snippet = form_embed_snippet(form=form, base_url=workspace_url("alpha"))

    assert f'action="http://alpha.localhost/f/{form.key}/"' in snippet
    assert 'method="post"' in snippet and 'name="website"' in snippet and 'name="email"' in snippet
    assert "<script" not in snippet.lower()
    assert "&lt;script&gt;x()&lt;/script&gt;" in snippet


# --- Cost ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("existing", [5, 50])
def test_a_submission_costs_the_same_queries_however_many_contacts_exist(
    tenant_a, existing, django_assert_num_queries
):
    with schema_context("alpha"):
        for _ in range(existing):
            factories.contact()
    form = make_form("alpha", campaign=None)
    client = client_for("alpha")
    client.get(f"/f/{form.key}/")  # warms the host -> tenant cache

    # 25 = 14 + 11: search_path; the form; the contact by email; contact_create's exact and
    # case-insensitive email checks, contact and stage-transition inserts and its webhook subscribers;
    # touchpoints_record's contact lookup, touchpoint insert and first/last-touch update; the submission
    # insert; the counter update; the outbox row for the rescoring task; the audit entry; and SAVEPOINT +
    # RELEASE for form_submit, contact_upsert, contact_create, touchpoints_record and the audit entry.
    with django_assert_num_queries(25):
        response = client.post(f"/f/{form.key}/", answers(email="new@example.com"))

    assert response.status_code == 200
    assert stored("alpha") == (existing + 1, 1, 1)
