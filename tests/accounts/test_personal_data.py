"""Personal data of one contact (accounts.personal_data): every table of the workspace is a part of it or
declared unrelated; the export, from the portal and the API, holds every part; erasure leaves no trace of
the person in any column of any table, any file or the cache, keeps the business records without them, and
is logged; the pages and operations are admin-only and isolated per workspace."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path

import pytest
from django.apps import apps
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import schema_context

from accounts import personal_data
from accounts.models import AuditEntry, WebhookAttempt, WebhookDelivery, WebhookEvent
from accounts.throttle import address_bucket
from accounts.webhooks import EVENTS, subscription_save
from alignment import engine, objections, sla
from alignment.models import (
    AttributionCredit,
    Notification,
    ObjectionComment,
    ObjectionLog,
    SlaClock,
)
from marketing.imports.runner import import_job_create, import_job_run
from marketing.models import Contact, FormSubmission, ImportJob, LeadForm, Segment, Touchpoint
from marketing.public_views import FORM_THROTTLE
from marketing.services.contacts import contact_change_stage
from marketing.services.forms import form_create
from marketing.services.segments import segment_add_members, segment_create
from marketing.services.touchpoints import contact_identify, touchpoint_create
from sales.models import Activity, Deal, DealContact, LeadDecision
from sales.services.activities import activity_create
from sales.services.deals import deal_close_won
from sales.services.leads import lead_accept
from tests.conftest import api_client, api_key_for, client_for, login, user_in
from tests.marketing import factories

pytestmark = pytest.mark.django_db

TENANT_APP_LABELS = ("contenttypes", "auth", "sessions", "accounts", "marketing", "sales", "alignment")
# Rows keyed to these are about one person: a table pointing at them must be a part, not "unrelated".
PERSON_TABLES = {"marketing.Contact", "marketing.Touchpoint", "marketing.FormSubmission"}

EMAIL = "zora.quillfeather@example.org"
FIRST, LAST = "Zora", "Quillfeather"
NAME = f"{FIRST} {LAST}"
PHONE = "+44 20 7946 0958"
ADDRESS = "203.0.113.77"
VISITOR = "anon-zq-4711"
IDENTIFIERS = (EMAIL, NAME, PHONE, ADDRESS, VISITOR, LAST)  # the surname alone must be gone too, here
OTHER = "someone.else@example.org"
# Decoys: her identifiers inside someone else's, which must be left alone.
DECOY_EMAIL = f"li{EMAIL}"
DECOY_TEXT = f"Call {NAME}son back"


# --- every table is declared --------------------------------------------------------------------------


def _workspace_models():
    for label in TENANT_APP_LABELS:
        yield from apps.get_app_config(label).get_models()


def test_every_workspace_table_is_a_part_or_declared_unrelated():
    covered = {part.model for part in personal_data.parts()}
    unrelated = personal_data.unrelated()
    assert not covered & set(unrelated), "a table is both a part and unrelated"
    problems = []
    for model in _workspace_models():
        label = model._meta.label
        if label not in covered and label not in unrelated:
            problems.append(f"{label}: holds a contact's data? register a Part or declare it unrelated")
        points_at_person = {
            f.related_model._meta.label
            for f in model._meta.get_fields()
            if f.is_relation and f.concrete and f.related_model is not None
        } & PERSON_TABLES
        if points_at_person and label not in covered:
            problems.append(f"{label}: refers to {sorted(points_at_person)}, so it must be a Part")
    stale = (covered | set(unrelated)) - {m._meta.label for m in _workspace_models()}
    assert not problems and not stale, problems + [f"{s}: no such table" for s in stale]


# --- one person in every table ------------------------------------------------------------------------


def _call(client, method: str, path: str, body=None, **extra):
    kwargs = {"content_type": "application/json"} if body is not None else {}
    response = getattr(client, method)(
        path, json.dumps(body) if body is not None else None, **kwargs, **extra
    )
    connection.set_schema_to_public()
    return response


def _person_everywhere(media) -> dict:
    """Zora, through the product's own doors wherever there is one: an anonymous visit, a hosted form filled
    from her address, identification, an import, an API change with an Idempotency-Key, MQL and an SLA
    clock, accepted with a deal she leads, activities, objections, a static list, a won deal's attribution,
    webhook events with a receiver that echoed her, a notification and a comment naming her, and an audit
    entry naming her. Another person in the same import file and lists stays."""
    admin_key = api_key_for("alpha", ["admin:write", "marketing:write", "sales:write"])
    with schema_context("alpha"):
        subscription_save(
            data={"url": "https://hooks.example.com/", "events": list(EVENTS), "allow_private": True}
        )
        campaign = factories.campaign(name="Spring webinar")
        form = form_create(
            data={
                "name": "Webinar sign-up",
                "campaign": campaign.pk,
                "fields": [
                    {"name": "first_name", "type": "text"},
                    {"name": "last_name", "type": "text"},
                    {"name": "phone", "type": "text"},
                    {"name": "message", "type": "textarea"},
                ],
            }
        )
        touchpoint_create(
            data={"kind": "page_visit", "anonymous_id": VISITOR, "url": f"https://x.test/?who={EMAIL}"}
        )
    submitted = client_for("alpha").post(
        f"/f/{form.key}/",
        {
            "email": EMAIL,
            "first_name": FIRST,
            "last_name": LAST,
            "phone": PHONE,
            "message": f"Call {NAME} at 5",
        },
        REMOTE_ADDR=ADDRESS,
    )
    connection.set_schema_to_public()
    assert submitted.status_code in (200, 303), submitted.content[:300]
    assert _in_schema(lambda: cache.get(address_bucket(FORM_THROTTLE, ADDRESS))) == 1
    with schema_context("alpha"):
        person = Contact.objects.get(email=EMAIL)
        contact_identify(anonymous_id=VISITOR, contact=person)
        job = import_job_create(
            kind="contacts",
            uploaded_file=_upload(
                "email,first_name,last_name,phone\n"
                f"{OTHER},Sam,Else,+1 555 0100\n"
                f"{DECOY_EMAIL},Liz,Quill,\n"
                f'{EMAIL},{FIRST},"{LAST}",{PHONE}\n'
                f"not-an-email,{FIRST},{LAST},\n"
            ),
        )
        import_job_run(job_id=job.pk)
        other = Contact.objects.get(email=OTHER)
    patched = _call(
        api_client("alpha", admin_key),
        "patch",
        f"/api/v1/contacts/{person.pk}/",
        {"job_title": "Head of Growth"},
        HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
    )
    assert patched.status_code == 200, patched.content[:300]
    with schema_context("alpha"):
        admin, rep = user_in("alpha", "admin"), user_in("alpha", "sales")
        contact_change_stage(contact=person, to_stage="mql", actor=admin)
        sla.sla_check(notify=False)  # opens her clock
        assert SlaClock.objects.filter(contact=person).exists()
        _, deal = lead_accept(contact=Contact.objects.get(pk=person.pk), actor=rep, open_deal=True)
        DealContact.objects.get_or_create(deal=deal, contact=person)
        DealContact.objects.get_or_create(deal=deal, contact=other)
        activity_create(
            data={
                "kind": "call",
                "subject": f"Call {NAME}",
                "deal": deal.pk,
                "contact": person.pk,
                "notes": f"{FIRST} {LAST} wants a demo; {PHONE}",
            },
            actor=rep,
        )
        activity_create(data={"kind": "email", "subject": "Intro", "contact": person.pk}, actor=rep)
        heard = objections.objection_save(actor=None, data={"name": "Too dear", "category": "pricing"})
        objections.objection_log(actor=rep, objection=heard, contact=person, note=f"{NAME} finds it dear")
        objections.objection_log(
            actor=rep, objection=heard, deal=deal, contact=person, note=f"again, {EMAIL}"
        )
        ObjectionComment.objects.create(objection=heard, author=rep, body=f"Heard from {NAME} twice")
        static = segment_create(data={"name": "VIPs", "kind": "static"}, actor=admin)
        segment_add_members(segment=static, contact_ids=[person.pk, other.pk])
        segment_create(
            data={
                "name": "Zora's rule",
                "definition": {
                    "match": "all",
                    "conditions": [{"field": "email", "op": "eq", "value": EMAIL}],
                },
            },
            actor=admin,
        )
        Deal.objects.filter(pk=deal.pk).update(source_campaign=campaign)
        deal_close_won(deal=Deal.objects.get(pk=deal.pk), actor=rep)
        engine.run(full=True)
        Notification.objects.create(user=rep, kind="sla", title=f"Call {NAME} now", body=EMAIL)
        Notification.objects.create(user=rep, kind="sla", title=DECOY_TEXT, body=DECOY_EMAIL)
        event = WebhookEvent.objects.filter(type="contact.created").latest("id")
        delivery = WebhookDelivery.objects.filter(event=event).first()
        WebhookAttempt.objects.create(delivery=delivery, status_code=500, response=f'{{"echo": "{EMAIL}"}}')
        AuditEntry.objects.create(
            source="task",
            actor_kind="system",
            action="task note",
            changes=[{"details": {"email": EMAIL, "name": NAME}}],
        )
        counted = {"touchpoints": Touchpoint.objects.count(), "credits": AttributionCredit.objects.count()}
        return {
            "person": person.pk,
            "other": other.pk,
            "deal": deal.pk,
            "job": job.pk,
            "form": form.pk,
            **counted,
        }


def _in_schema(read):
    with schema_context("alpha"):
        return read()


def _upload(text: str):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("people.csv", text.encode(), content_type="text/csv")


def _traces(schema: str) -> list[str]:
    """Every column of every table of ``schema`` that can hold text, searched for each identifier."""
    found = []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name, column_name, data_type FROM information_schema.columns"
            " WHERE table_schema = %s AND data_type IN"
            " ('text', 'character varying', 'jsonb', 'json', 'inet', 'ARRAY', 'bytea')",
            [schema],
        )
        for table, column, kind in cursor.fetchall():
            text = f"encode(\"{column}\", 'escape')" if kind == "bytea" else f'"{column}"::text'
            for identifier in IDENTIFIERS:
                cursor.execute(
                    f'SELECT count(*) FROM "{schema}"."{table}" WHERE {text} ~* %s',  # noqa: S608 - names from the catalogue
                    [_whole(identifier)],
                )
                if cursor.fetchone()[0]:
                    found.append(f"{table}.{column} holds {identifier!r}")
        cursor.execute(
            "SELECT count(*) FROM public.tenancy_outboxmessage WHERE schema_name = %s AND"
            " (strpos(lower(kwargs::text), lower(%s)) > 0 OR strpos(kwargs::text, %s) > 0)",
            [schema, EMAIL, ADDRESS],
        )
        if cursor.fetchone()[0]:
            found.append("public.tenancy_outboxmessage holds her")
    return found


def _whole(identifier: str) -> str:
    """A regular expression (PostgreSQL's and Python's alike) for ``identifier`` as a whole: not inside a
    longer address or name, so the decoys (lizora.quillfeather@..., Quillfeatherson) are not her."""
    return rf"(^|[^[:alnum:]_.+@-]){re.escape(identifier)}($|[^[:alnum:]_@-])"


def _files_naming_her(media: Path) -> list[str]:
    hits = []
    for path in Path(media).rglob("*"):
        if path.is_file():
            content = path.read_bytes().decode("utf-8", "replace")
            for identifier in IDENTIFIERS:
                pattern = _whole(identifier).replace("[:alnum:]", "a-zA-Z0-9")
                if re.search(pattern, content, re.IGNORECASE):
                    hits.append(f"{path.name} holds {identifier!r}")
    return hits


def test_export_holds_every_part_and_erasure_leaves_no_trace(
    tenant_a, tenant_b, media, django_capture_on_commit_callbacks
):
    world = _person_everywhere(media)
    pk = world["person"]
    # Before: she is everywhere the scan looks (the scan can find her).
    with schema_context("alpha"):
        before = _traces("alpha")
    assert {t.split(" holds")[0] for t in before} >= {
        "marketing_contact.email", "marketing_formsubmission.data", "marketing_touchpoint.anonymous_id",
        "accounts_webhookevent.data", "accounts_idempotencyrecord.body", "sales_activity.notes",
        "sales_deal.name", "accounts_auditentry.changes", "marketing_segment.definition",
    }, before  # fmt: skip
    assert _files_naming_her(media), "the import file should name her before the erasure"

    # Export, from the portal and from the API: every part has rows, and each export is logged.
    admin = login("alpha", "admin")
    download = admin.get(f"/marketing/contacts/{pk}/personal-data.json")
    connection.set_schema_to_public()
    assert download.status_code == 200 and "attachment" in download["Content-Disposition"]
    assert download["Cache-Control"] == "private, no-store"
    exported = json.loads(download.content)
    empty = [part.name for part in personal_data.parts() if not exported.get(part.name)]
    assert not empty, f"parts with nothing exported: {empty}"
    assert exported["contact"][0]["email"] == EMAIL and exported["form_submissions"][0]["data"]["message"]
    assert exported["imports"][0]["rows"] == [  # her row, and a refused row with her first and last name
        {"email": EMAIL, "first_name": FIRST, "last_name": LAST, "phone": PHONE},
        {"email": "not-an-email", "first_name": FIRST, "last_name": LAST, "phone": ""},
    ]
    reader = api_client("alpha", api_key_for("alpha", ["admin:read"]))
    by_api = _call(reader, "get", f"/api/v1/contacts/{pk}/personal-data/")
    assert by_api.status_code == 200 and "no-store" in by_api["Cache-Control"]
    assert {k for k, v in by_api.json().items() if v} >= {p.name for p in personal_data.parts()}
    with schema_context("alpha"):
        exports = AuditEntry.objects.filter(action__contains="personal", object_id=str(pk))
        assert exports.count() == 2 and {e.source for e in exports} == {"portal", "api"}
        assert all(e.count > 10 for e in exports)

    # A wrong confirmation erases nothing and names the field.
    eraser = api_client("alpha", api_key_for("alpha", ["admin:write"]))
    wrong = _call(eraser, "post", f"/api/v1/contacts/{pk}/erasure/", {"email": OTHER})
    assert wrong.status_code in (400, 422) and set(wrong.json()["error"]["fields"]) == {"email"}
    assert _in_schema(lambda: Contact.objects.filter(pk=pk).exists())

    with django_capture_on_commit_callbacks(execute=True):
        erased = _call(eraser, "post", f"/api/v1/contacts/{pk}/erasure/", {"email": EMAIL.upper()})
    assert erased.status_code == 200, erased.content[:500]
    body = erased.json()
    assert body["erased"] and body["deleted"] > 5 and body["anonymised"] > 3 and body["scrubbed"] > 5, body

    # No trace of her in any column of any table, in any file, or in the cache.
    with schema_context("alpha"):
        assert _traces("alpha") == []
    assert _files_naming_her(media) == []
    assert _in_schema(lambda: cache.get(address_bucket(FORM_THROTTLE, ADDRESS))) is None

    with schema_context("alpha"):
        # The business records stay, without her.
        assert (
            not Contact.objects.filter(pk=pk).exists() and Contact.objects.filter(pk=world["other"]).exists()
        )
        deal = Deal.objects.get(pk=world["deal"])
        assert deal.lead_id is None and deal.status == "won" and deal.name == "[erased]"
        assert list(DealContact.objects.filter(deal=deal).values_list("contact_id", flat=True)) == [
            world["other"]
        ]
        assert Touchpoint.objects.count() == world["touchpoints"]
        assert not Touchpoint.objects.filter(anonymous_id=VISITOR).exists()
        assert AttributionCredit.objects.count() == world["credits"] > 0
        assert LeadForm.objects.get(pk=world["form"]).submission_count == 1
        assert not FormSubmission.objects.exists() and not LeadDecision.objects.exists()
        assert not SlaClock.objects.filter(contact_id=pk).exists()
        assert (
            ObjectionLog.objects.get().contact_id is None
        )  # the deal's log stays; the lead-only one is gone
        assert Activity.objects.get().contact_id is None  # the deal's call stays; the lone e-mail is gone
        assert Segment.objects.get(name="VIPs").memberships.get().contact_id == world["other"]
        # The other person's row of the import file is still there, and the file still imports.
        job = ImportJob.objects.get(pk=world["job"])
        with job.file.open("rb") as handle:
            rest = handle.read().decode()
        assert OTHER in rest and DECOY_EMAIL in rest and rest.startswith("email,first_name,last_name,phone")
        # Decoys that contain her identifiers inside someone else's are untouched.
        assert Contact.objects.filter(email=DECOY_EMAIL).exists()
        assert Notification.objects.filter(title=DECOY_TEXT, body=DECOY_EMAIL).exists()
        # One audit entry for the erasure, naming no one; partners are told.
        entry = AuditEntry.objects.get(action__contains="erasure")
        assert (entry.object_type, entry.object_id, entry.source) == ("marketing.Contact", str(pk), "api")
        # the bulk updates noted, the deleted rows seen by the signals, nothing counted twice
        updated = body["anonymised"] + body["scrubbed"]
        assert updated < entry.count <= updated + body["deleted"], (entry.count, body)
        assert WebhookEvent.objects.filter(type="contact.erased", data__contact__id=pk).exists()
    # Beta was never touched.
    with schema_context("beta"):
        assert not WebhookEvent.objects.filter(type="contact.erased").exists()

    # Gone means gone: both doors answer 404.
    assert _call(reader, "get", f"/api/v1/contacts/{pk}/personal-data/").status_code == 404
    assert _call(eraser, "post", f"/api/v1/contacts/{pk}/erasure/", {"email": EMAIL}).status_code == 404


# --- the portal's erase page ------------------------------------------------------------------------------


def test_the_portal_erases_after_the_email_is_typed(tenant_a, media, django_capture_on_commit_callbacks):
    with schema_context("alpha"):
        person = factories.contact(email="lea.portal@example.org", first_name="Lea", last_name="Portalova")
    admin = login("alpha", "admin")
    detail = admin.get(f"/marketing/contacts/{person.pk}/")
    assert b'data-testid="personal-data"' in detail.content
    page = admin.get(f"/marketing/contacts/{person.pk}/erase/")
    assert page.status_code == 200 and b"This cannot be undone" in page.content
    refused = admin.post(f"/marketing/contacts/{person.pk}/erase/", {"email": "lea@example.org"})
    assert refused.status_code == 400 and b"This is not the contact" in refused.content
    assert _in_schema(lambda: Contact.objects.filter(pk=person.pk).exists())
    with django_capture_on_commit_callbacks(execute=True):
        done = admin.post(f"/marketing/contacts/{person.pk}/erase/", {"email": "Lea.Portal@example.org"})
    assert done.status_code == 302 and done["Location"].endswith("/marketing/contacts/")
    listing = admin.get(done["Location"])
    assert (
        f"Contact #{person.pk} was erased".encode() in listing.content and b"Portalova" not in listing.content
    )
    with schema_context("alpha"):
        assert not Contact.objects.filter(pk=person.pk).exists()
        entry = AuditEntry.objects.get(action__contains="contact_erase")
        assert (entry.source, entry.object_id) == ("portal", str(person.pk))


# --- roles, isolation, query budget ------------------------------------------------------------------------


def test_only_admins_reach_them_and_only_in_their_workspace(tenant_a, tenant_b):
    with schema_context("alpha"):
        person = factories.contact(email="rita.roles@example.org")
    pages = (f"/marketing/contacts/{person.pk}/personal-data.json", f"/marketing/contacts/{person.pk}/erase/")
    for role in ("marketing", "sales", "leadership"):
        client = login("alpha", role)
        for page in pages:
            assert client.get(page).status_code == 403, (role, page)
        assert client.post(pages[1], {"email": person.email}).status_code == 403
        detail = client.get(f"/marketing/contacts/{person.pk}/")
        assert b'data-testid="personal-data"' not in detail.content
    for scopes in (["marketing:write", "sales:write", "alignment:write"], ["admin:read"]):
        key = api_client("alpha", api_key_for("alpha", scopes))
        assert (
            _call(key, "post", f"/api/v1/contacts/{person.pk}/erasure/", {"email": person.email}).status_code
            == 403
        )
    assert _call(api_client("alpha", api_key_for("alpha", ["marketing:write"])), "get",
                 f"/api/v1/contacts/{person.pk}/personal-data/").status_code == 403  # fmt: skip
    # Beta's admin, by portal and key, with alpha's id: nothing there; alpha's key on beta's host: unknown.
    beta_admin = login("beta", "admin")
    assert beta_admin.get(pages[0]).status_code == 404
    assert beta_admin.post(pages[1], {"email": person.email}).status_code == 404
    beta_key = api_client("beta", api_key_for("beta", ["admin:write"]))
    assert (
        _call(beta_key, "post", f"/api/v1/contacts/{person.pk}/erasure/", {"email": person.email}).status_code
        == 404
    )
    alpha_key_on_beta = api_client("beta", api_key_for("alpha", ["admin:write"]))
    assert _call(alpha_key_on_beta, "get", f"/api/v1/contacts/{person.pk}/personal-data/").status_code == 401
    assert _in_schema(lambda: Contact.objects.filter(pk=person.pk).exists())


def _export_queries(client, pk: int) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert _call(client, "get", f"/api/v1/contacts/{pk}/personal-data/").status_code == 200
    return len(queries)


def test_the_export_costs_the_same_queries_for_a_long_history(tenant_a):
    reader = api_client("alpha", api_key_for("alpha", ["admin:read"]))
    with schema_context("alpha"):
        short = factories.contact(email="short.history@example.org", first_name="Sho", last_name="Rtly")
        long = factories.contact(email="long.history@example.org", first_name="Lon", last_name="Gly")
        for n in range(30):
            touchpoint_create(
                data={"kind": "page_visit", "contact_id": long.pk, "url": f"https://x.test/{n}"}
            )
            contact_change_stage(contact=long, to_stage=["mql", "lead"][n % 2])
    _export_queries(reader, short.pk)  # the first request of the process looks the workspace up
    assert _export_queries(reader, long.pk) == _export_queries(reader, short.pk)


# --- edges ---------------------------------------------------------------------------------------------


def test_a_visitor_id_shared_with_another_contact_stays_theirs(alpha):
    her = factories.contact(email="shared.visitor@example.org")
    him = factories.contact(email="other.visitor@example.org")
    touchpoint_create(data={"kind": "page_visit", "contact_id": her.pk, "anonymous_id": "v-shared-1"})
    his = touchpoint_create(data={"kind": "page_visit", "contact_id": him.pk, "anonymous_id": "v-shared-1"})
    personal_data.erase(her)
    his.refresh_from_db()
    assert (his.contact_id, his.anonymous_id) == (him.pk, "v-shared-1")


def test_a_retry_after_the_erasure_replays_instead_of_creating_her_again(tenant_a):
    client = api_client("alpha", api_key_for("alpha", ["admin:write", "marketing:write"]))
    key = str(uuid.uuid4())
    body = {"email": "retry.me@example.org", "first_name": "Retta", "last_name": "Mewes"}
    created = _call(client, "post", "/api/v1/contacts/", body, HTTP_IDEMPOTENCY_KEY=key)
    assert created.status_code == 201
    erased = _call(
        client, "post", f"/api/v1/contacts/{created.json()['id']}/erasure/", {"email": body["email"]}
    )
    assert erased.status_code == 200 and erased.json()["parts"]["stored_api_answers"]["scrubbed"] == 1
    again = _call(client, "post", "/api/v1/contacts/", body, HTTP_IDEMPOTENCY_KEY=key)
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert "retry.me" not in again.content.decode() and "Mewes" not in again.content.decode()
    assert not _in_schema(lambda: Contact.objects.filter(email=body["email"]).exists())


def test_a_second_erasure_of_the_same_contact_finds_nothing(alpha):
    person = factories.contact(email="twice@example.org")
    stale = Contact.objects.get(pk=person.pk)
    personal_data.erase(person)
    with pytest.raises(Contact.DoesNotExist):
        personal_data.erase(stale)


def test_a_long_text_naming_her_is_cut_to_its_column(alpha):
    person = factories.contact(email="ann.lee@ex.io", first_name="Ann", last_name="Lee")
    title = ("x" * 192) + " Ann Lee"  # 200 characters: "[erased]" is one longer than "Ann Lee"
    note = Notification.objects.create(user=user_in("alpha", "admin"), kind="x", title=title)
    personal_data.erase(person)
    note.refresh_from_db()
    assert note.title == ("x" * 192) + " [erased" and len(note.title) == 200


def test_a_broken_quote_in_an_import_file_costs_its_own_line_only(alpha):
    from marketing import personal_data as marketing_part

    person = personal_data.person_of(
        factories.contact(email="zed@example.org", first_name="Zed", last_name="Z")
    )
    data = (
        b"email,first_name,last_name\n"
        b"a@example.org,Al,Able\n"
        b'b@example.org,"Bea,Broken\n'  # an unclosed quote
        b"zed@example.org,Zed,Z\n"
        b"c@example.org,Cy,Cole\n"
    )
    new, removed = marketing_part._split(data, person)
    assert removed == [{"email": "zed@example.org", "first_name": "Zed", "last_name": "Z"}]
    assert new.decode().splitlines() == [
        "email,first_name,last_name",
        "a@example.org,Al,Able",
        'b@example.org,"Bea,Broken',
        "c@example.org,Cy,Cole",
    ]
