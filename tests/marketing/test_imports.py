"""CSV import: every bad row reported with its row and column, every good row imported, nothing with
all-or-nothing, no duplicates on a second import, vendor headers recognised, progress, the task and
tenant isolation. The files are built in each test."""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from django_tenants.utils import schema_context

from config.celery import send_to_tenant
from marketing.imports import columns, reader, runner
from marketing.imports.runner import errors_csv, import_job_create, import_job_run, mapping_resolve
from marketing.imports.tasks import run_import
from marketing.models import Company, Contact, CostLine, ImportJob, StageTransition, Touchpoint
from marketing.services.campaigns import cost_line_add
from marketing.services.touchpoints import TOUCH_FIELDS
from tests.marketing import factories

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(media):
    """Uploaded files go to a temporary MEDIA_ROOT (tests.conftest.media)."""


def upload(content: str | bytes, name: str = "import.csv") -> SimpleUploadedFile:
    data = content.encode("utf-8") if isinstance(content, str) else content
    return SimpleUploadedFile(name, data, content_type="text/csv")


def import_csv(kind: str, content: str | bytes, **options) -> ImportJob:
    job = import_job_create(kind=kind, uploaded_file=upload(content), **options)
    return import_job_run(job_id=job.pk)


def error_fields(job: ImportJob) -> dict[int, set[str]]:
    found: dict[int, set[str]] = {}
    for error in job.errors:
        found.setdefault(error["row"], set()).add(error["field"])
    return found


def emails() -> set[str]:
    return set(Contact.objects.values_list("email", flat=True))


CONTACTS_CSV = (
    "email,first_name,last_name,lifecycle_stage,consent_marketing\n"  # row 1
    "ann@example.com,Ann,Archer,lead,yes\n"  # 2 good
    "bob@example.com,Bob\n"  # 3 wrong number of cells
    "not-an-email,Carl,Cole,lead,no\n"  # 4 bad email
    'dora@example.com,"Dora ""D""",Diaz,Marketing Qualified Lead,true\n'  # 5 good, quotes doubled
    'eve@example.com,"Eve"x,Eden,lead,no\n'  # 6 broken quoting: text after the closing quote
    "fay@example.com,Fay,Fox,emperor,no\n"  # 7 unknown stage
    "gus@example.com,Gus,Gray,customer,maybe\n"  # 8 not a yes/no
    "\n"  # 9 blank: skipped, but counted like a spreadsheet does
    'hal@example.com,Hal,"Unclosed,lead,no\n'  # 10 broken quoting: a quote never closed
    "ivy@example.com,Ivy,Ives,customer,no\n"  # 11 good, after the unclosed quote
)
CONTACT_ERRORS = {3: {""}, 4: {"email"}, 6: {""}, 7: {"lifecycle_stage"}, 8: {"consent_marketing"}, 10: {""}}


def test_contacts_import_reports_every_bad_row_and_imports_every_good_row(alpha):
    job = import_csv("contacts", CONTACTS_CSV)

    assert job.status == ImportJob.Status.DONE
    assert error_fields(job) == CONTACT_ERRORS
    assert emails() == {"ann@example.com", "dora@example.com", "ivy@example.com"}
    assert (job.total_rows, job.processed_rows, job.created_rows, job.updated_rows, job.error_rows) == (
        9, 9, 3, 0, 6,
    )  # fmt: skip
    dora = Contact.objects.get(email="dora@example.com")
    assert (dora.first_name, dora.lifecycle_stage, dora.consent_marketing, dora.source) == (
        'Dora "D"', "mql", True, "import",
    )  # fmt: skip
    assert list(dora.transitions.values_list("from_stage", "to_stage")) == [("", "mql")]
    assert "2 cells" in next(e["message"] for e in job.errors if e["row"] == 3)
    assert "quotes" in next(e["message"] for e in job.errors if e["row"] == 10)


def test_all_or_nothing_imports_nothing_when_a_row_is_bad(alpha):
    job = import_csv("contacts", CONTACTS_CSV, all_or_nothing=True)

    assert job.status == ImportJob.Status.FAILED
    assert Contact.objects.count() == 0 and Company.objects.count() == 0
    assert error_fields(job) == CONTACT_ERRORS
    assert (job.created_rows, job.updated_rows, job.error_rows) == (0, 0, 6)
    assert job.message.startswith("Nothing was imported: 6 rows have errors")


def test_all_or_nothing_imports_everything_when_every_row_is_good(alpha):
    job = import_csv(
        "contacts", "email,company\nann@example.com,Acme\nbob@example.com,ACME\n", all_or_nothing=True
    )

    assert job.status == ImportJob.Status.DONE and job.created_rows == 2
    assert emails() == {"ann@example.com", "bob@example.com"}
    assert Company.objects.count() == 1  # matched by name, ignoring case


def test_a_refused_row_leaves_nothing_behind(alpha):
    content = "email,company,job_title\nann@example.com,NewCo," + "x" * 151 + "\nbob@example.com,Acme,CTO\n"

    job = import_csv("contacts", content)

    assert error_fields(job) == {2: {"job_title"}}
    assert list(Company.objects.values_list("name", flat=True)) == ["Acme"]  # not NewCo: rolled back


def test_importing_contacts_again_creates_no_duplicates(alpha):
    import_csv("contacts", CONTACTS_CSV)
    counts = (Contact.objects.count(), StageTransition.objects.count())

    again = import_csv("contacts", CONTACTS_CSV)

    assert (Contact.objects.count(), StageTransition.objects.count()) == counts
    assert (again.created_rows, again.updated_rows, again.error_rows) == (0, 3, 6)


def test_a_new_stage_on_reimport_is_recorded_as_a_transition(alpha):
    import_csv("contacts", "email,lifecycle_stage\nann@example.com,lead\n")
    import_csv("contacts", "Email,Lifecycle Stage\nANN@example.com,Sales Qualified Lead\n")

    ann = Contact.objects.get()
    assert ann.lifecycle_stage == "sql"
    assert list(ann.transitions.values_list("to_stage", "by_rule")) == [("lead", "import"), ("sql", "import")]


def test_dry_run_counts_and_reports_but_writes_nothing(alpha):
    job = import_csv("contacts", CONTACTS_CSV, dry_run=True)

    assert job.status == ImportJob.Status.DONE and job.message.startswith("Dry run")
    assert (job.created_rows, job.error_rows) == (3, 6)
    assert error_fields(job) == CONTACT_ERRORS
    assert Contact.objects.count() == 0 and StageTransition.objects.count() == 0


def test_dry_run_counts_a_row_repeated_in_a_later_chunk_as_an_update(alpha, monkeypatch):
    monkeypatch.setattr(runner, "CHUNK_ROWS", 2)
    content = "email\na@example.com\nb@example.com\nA@example.com\n"

    job = import_csv("contacts", content, dry_run=True)

    assert (job.created_rows, job.updated_rows) == (2, 1)
    assert Contact.objects.count() == 0


def test_companies_are_matched_by_domain_then_by_name(alpha):
    factories.company(name="Globex", domain="")
    factories.company(name="Old Acme name", domain="acme.com")
    content = (
        "name,domain,size_band,annual_revenue_band\n"
        "Acme,https://www.Acme.com/about,120,$5M\n"  # 2 updates the acme.com company
        "globex,,1-10,\n"  # 3 updates Globex, by name
        "Initech,initech.example,huge,\n"  # 4 bad size
        ",nameless.example,,\n"  # 5 no name
        "Umbrella,umbrella.example,5001+,<1m\n"  # 6 new
    )

    job = import_csv("companies", content)

    assert error_fields(job) == {4: {"size_band"}, 5: {"name"}}
    assert (job.created_rows, job.updated_rows) == (1, 2)
    acme = Company.objects.get(domain="acme.com")
    assert (acme.name, acme.size_band, acme.annual_revenue_band) == ("Acme", "51-200", "1m-10m")
    assert Company.objects.get(name="globex").size_band == "1-10"
    assert Company.objects.get(domain="umbrella.example").annual_revenue_band == "<1m"

    again = import_csv("companies", content)

    assert Company.objects.count() == 3
    assert (again.created_rows, again.updated_rows, again.error_rows) == (0, 3, 2)


TOUCHPOINTS_CSV = (
    "kind,email,occurred_at,utm_campaign,url\n"
    "Page visit,ann@example.com,2026-01-05T10:00:00Z,spring,https://x.example/a\n"  # 2 good, kind by label
    "email_open,Ann@Example.com,2026-01-06 09:00,,\n"  # 3 good
    "page_visit,bob@example.com,05/01/2026,,\n"  # 4 bad date
    "teleport,ann@example.com,2026-01-05,,\n"  # 5 unknown kind
    "page_visit,not-an-email,2026-01-05,,\n"  # 6 bad email
    "page_visit,ann@example.com,2026-01-05 10:00:00+00:00,spring,https://x.example/a\n"  # 7 = row 2
)


def test_touchpoints_import_reports_bad_rows_and_dedupes_on_reimport(alpha):
    spring = factories.campaign(utm_campaign="spring")

    job = import_csv("touchpoints", TOUCHPOINTS_CSV)

    assert error_fields(job) == {4: {"occurred_at"}, 5: {"kind"}, 6: {"email"}}
    assert (job.created_rows, job.error_rows, job.processed_rows) == (2, 3, 6)
    assert "already there" in job.message  # row 7 is row 2 again
    visit = Touchpoint.objects.get(kind="page_visit")
    assert visit.campaign == spring and visit.contact.email == "ann@example.com"
    assert visit.external_id.startswith("import:")

    again = import_csv("touchpoints", TOUCHPOINTS_CSV)

    assert Touchpoint.objects.count() == 2 and Contact.objects.count() == 1
    assert (again.created_rows, again.error_rows) == (0, 3)


def test_touchpoints_with_an_id_column_are_deduped_by_it(alpha):
    content = "Type,Email,Activity ID,Timestamp\nemail_click,ann@example.com,evt-1,2026-02-01T08:00:00Z\n"
    import_csv("touchpoints", content)
    import_csv("touchpoints", content.replace("08:00", "09:00"))  # same id, another time: the same event

    assert list(Touchpoint.objects.values_list("external_id", flat=True)) == ["evt-1"]


COSTS_CSV = (
    "campaign,date,amount,note\n"
    'Spring launch,2026-01-10,"1,250.00",Ads\n'  # 2 by name
    "spring-utm,2026-01-11T00:00:00,99.5,\n"  # 3 by UTM code, a date and time
    "{id},2026/01/12,10 EUR,\n"  # 4 by id
    "Spring launch,2026-13-01,10,\n"  # 5 bad date
    "Spring launch,2026-01-10,-5,\n"  # 6 negative
    "Nope,2026-01-10,5,\n"  # 7 unknown campaign
    'Spring launch,2026-01-10,"1,250.00",Ads\n'  # 8 = row 2
    "Spring launch,2026-01-10\n"  # 9 wrong number of cells
)


def test_costs_import_resolves_campaigns_and_skips_identical_lines(alpha):
    spring = factories.campaign(name="Spring launch", utm_campaign="spring-utm")
    content = COSTS_CSV.replace("{id}", str(spring.pk))

    job = import_csv("costs", content)

    assert error_fields(job) == {5: {"date"}, 6: {"amount"}, 7: {"campaign"}, 9: {""}}
    assert sorted(spring.costs.values_list("date", "amount", "note")) == [
        (dt.date(2026, 1, 10), Decimal("1250.00"), "Ads"),
        (dt.date(2026, 1, 11), Decimal("99.50"), ""),
        (dt.date(2026, 1, 12), Decimal("10.00"), ""),
    ]
    assert (job.created_rows, job.error_rows) == (3, 4)

    again = import_csv("costs", content)

    assert CostLine.objects.count() == 3
    assert (again.created_rows, again.error_rows) == (0, 4)


def test_a_cost_line_entered_by_hand_is_not_imported_twice(alpha):
    spring = factories.campaign(name="Spring launch")
    cost_line_add(campaign=spring, data={"date": "2026-01-10", "amount": "20", "note": "Flyers"})

    job = import_csv("costs", "Campaign Name,Day,Cost,Notes\nspring launch,2026-01-10,20.00,Flyers\n")

    assert CostLine.objects.count() == 1 and job.created_rows == 0


def test_costs_from_a_european_spreadsheet(alpha):
    spring = factories.campaign(name="Frühling")
    content = "campaign;date;amount\nFRÜHLING;2026-03-01;1.250,50 €\n".encode("cp1252")

    job = import_csv("costs", content)

    assert job.error_rows == 0

    assert spring.costs.get().amount == Decimal("1250.50")


def test_a_utf8_file_with_a_bom_is_read(alpha):
    content = codecs.BOM_UTF8 + "email,first_name\nzoe@example.com,Zoë\n".encode()

    job = import_csv("contacts", content)

    assert job.mapping == {"email": "email", "first_name": "first_name"}
    assert Contact.objects.get().first_name == "Zoë"


def test_a_cp1252_file_is_read(alpha):
    content = "email;first_name;last_name;company\r\nj@example.com;Jörg;Müller;Café Noir\r\n".encode("cp1252")
    with pytest.raises(UnicodeDecodeError):
        content.decode("utf-8")

    job = import_csv("contacts", content)

    assert job.error_rows == 0
    contact = Contact.objects.select_related("company").get()
    assert (contact.first_name, contact.last_name, contact.company.name) == ("Jörg", "Müller", "Café Noir")


def test_hubspot_contacts_export_imports_without_a_mapping(alpha):
    content = (
        "Record ID,First Name,Last Name,Email,Phone Number,Job Title,Company Name,Country/Region,"
        "Lifecycle Stage,Original Source\n"
        "101,Ann,Archer,ann@example.com,+1 555 0100,CMO,Acme,France,Marketing Qualified Lead,Organic Search\n"
    )

    job = import_csv("contacts", content)

    assert job.error_rows == 0
    assert "'Record ID' is not imported" in job.message and "'Original Source' is not imported" in job.message
    ann = Contact.objects.select_related("company").get()
    assert (ann.first_name, ann.phone, ann.job_title, ann.company.name, ann.country, ann.lifecycle_stage) == (
        "Ann", "+1 555 0100", "CMO", "Acme", "France", "mql",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("kind", "headers", "expected"),
    [
        (
            "contacts",
            ["Record ID", "First Name", "Last Name", "Email", "Phone Number", "Mobile Phone Number",
             "Job Title", "Company Name", "Country/Region", "State/Region", "Lifecycle Stage",
             "Original Source"],
            {"First Name": "first_name", "Last Name": "last_name", "Email": "email", "Phone Number": "phone",
             "Job Title": "job_title", "Company Name": "company", "Country/Region": "country",
             "State/Region": "region", "Lifecycle Stage": "lifecycle_stage"},
        ),
        (
            "contacts",
            ["Person - Name", "Person - Email - Work", "Person - Phone - Work", "Person - Organization",
             "Person - Owner"],
            {"Person - Name": "full_name", "Person - Email - Work": "email", "Person - Phone - Work": "phone",
             "Person - Organization": "company"},
        ),
        (
            "contacts",
            ["FirstName", "LastName", "Email", "Title", "Company", "MailingCountry", "LeadSource",
             "HasOptedOutOfEmail"],
            {"FirstName": "first_name", "LastName": "last_name", "Email": "email", "Title": "job_title",
             "Company": "company", "MailingCountry": "country", "HasOptedOutOfEmail": "unsubscribed"},
        ),
        (
            "companies",
            ["Account Name", "Website", "Industry", "NumberOfEmployees", "AnnualRevenue", "BillingCountry"],
            {"Account Name": "name", "Website": "domain", "Industry": "industry",
             "NumberOfEmployees": "size_band", "AnnualRevenue": "annual_revenue_band",
             "BillingCountry": "country"},
        ),
        (
            "companies",
            ["Organization - Name", "Organization - Website", "Organization - Number of employees"],
            {"Organization - Name": "name", "Organization - Website": "domain",
             "Organization - Number of employees": "size_band"},
        ),
        (
            "costs",
            ["Campaign", "Day", "Amount spent (USD)", "Notes"],
            {"Campaign": "campaign", "Day": "date", "Amount spent (USD)": "amount", "Notes": "note"},
        ),
    ],
)  # fmt: skip
def test_vendor_headers_are_recognised(kind, headers, expected):
    assert columns.suggest_mapping(kind, headers) == expected
    assert columns.missing_required(kind, expected.values()) == []


def test_pipedrive_and_salesforce_contacts_import_without_a_mapping(alpha):
    import_csv("contacts", "Person - Name,Person - Email - Work\nAnn Marie Archer,ann@example.com\n")
    import_csv("contacts", "FirstName,LastName,Email,HasOptedOutOfEmail\nBob,Burns,bob@example.com,1\n")

    ann, bob = Contact.objects.order_by("email")
    assert (ann.first_name, ann.last_name) == ("Ann", "Marie Archer")
    assert (bob.first_name, bob.last_name, bob.unsubscribed) == ("Bob", "Burns", True)


def test_no_column_name_means_two_fields_of_one_kind():
    for kind, table in columns.ALIASES.items():
        owners: dict[str, set[str]] = {}
        for field, aliases in table.items():
            for alias in aliases:
                owners.setdefault(columns.normalise(alias), set()).add(field)
        assert {alias: f for alias, f in owners.items() if len(f) > 1} == {}, kind
    assert set(columns.fields("touchpoints")) <= set(TOUCH_FIELDS)
    assert runner.CHUNK_ROWS <= 1000  # one touchpoints_record batch per chunk


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"kind": "unicorns"}, "kind"),
        ({"uploaded_file": None}, "file"),
        ({"uploaded_file": upload(b"")}, "file"),
        ({"uploaded_file": upload(b"PK\x03\x04 a workbook")}, "file"),
        ({"uploaded_file": upload(b"\x00\x01binary")}, "file"),
        ({"uploaded_file": upload("name,phone\nAnn,1\n")}, "mapping"),  # no email column
        ({"mapping": {"email": "email", "first_name": "favourite_colour"}}, "mapping"),
        ({"mapping": {"email": "email", "nope": "first_name"}}, "mapping"),
        ({"mapping": {"email": "email", "first_name": "email"}}, "mapping"),
        ({"mapping": {"first_name": "first_name"}}, "mapping"),
        ({"mapping": ["email"]}, "mapping"),
    ],
)
def test_create_refuses_bad_input_and_stores_nothing(alpha, settings, options, field):
    arguments = {
        "kind": "contacts",
        "uploaded_file": upload("email,first_name\na@example.com,A\n"),
        **options,
    }

    with pytest.raises(ValidationError) as info:
        import_job_create(**arguments)

    assert field in info.value.message_dict
    assert ImportJob.objects.count() == 0
    assert not (settings.MEDIA_ROOT / "alpha").exists()


def test_a_file_too_large_is_refused_before_it_is_read(alpha, monkeypatch):
    monkeypatch.setattr(runner, "MAX_FILE_BYTES", 30)

    with pytest.raises(ValidationError) as info:
        import_job_create(kind="contacts", uploaded_file=upload("email\n" + "a@example.com\n" * 5))

    assert "larger than" in info.value.message_dict["file"][0]


def test_the_mapping_error_names_what_is_missing(alpha):
    with pytest.raises(ValidationError) as info:
        mapping_resolve(kind="touchpoints", header=["Type", "Page"], mapping=None)

    assert info.value.message_dict["mapping"] == [
        "Map a column to email or contact_id or anonymous_id. The file's columns are 'Type', 'Page'."
    ]


def test_create_queues_the_task_which_runs_the_job(alpha, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        job = import_job_create(kind="contacts", uploaded_file=upload("email\nann@example.com\n"))

    assert len(callbacks) == 1
    job.refresh_from_db()
    assert job.status == ImportJob.Status.DONE and job.created_rows == 1
    assert emails() == {"ann@example.com"}


def test_the_task_runs_a_job_once(alpha):
    job = import_job_create(kind="contacts", uploaded_file=upload("email\nann@example.com\n"))

    result = send_to_tenant(run_import, "alpha", kwargs={"job_id": job.pk}).get()
    again = run_import(tenant_schema="alpha", job_id=job.pk)

    assert (run_import.name, run_import.acks_late) == ("marketing.run_import", True)
    assert result["status"] == "done" and result["created_rows"] == 1
    assert again["created_rows"] == 1  # the finished job was not run a second time
    job.refresh_from_db()
    assert job.started_at is not None and job.finished_at >= job.started_at


def test_progress_is_saved_after_every_chunk(alpha, monkeypatch):
    monkeypatch.setattr(runner, "CHUNK_ROWS", 2)
    seen: list[tuple[int, int, int]] = []
    save = runner._save_counters

    def spy(job, run):
        save(job, run)
        stored = ImportJob.objects.get(pk=job.pk)
        seen.append((stored.total_rows, stored.processed_rows, stored.error_rows))

    monkeypatch.setattr(runner, "_save_counters", spy)
    content = "email\na@example.com\nb@example.com\nbad\nc@example.com\nd@example.com\n"

    job = import_csv("contacts", content)

    # (total, processed, errors) after each chunk of 2 rows: rows 2-3, rows 4 (bad) and 5, row 6
    assert seen[:3] == [(5, 2, 0), (5, 4, 1), (5, 5, 1)]
    assert (job.total_rows, job.processed_rows, job.created_rows, job.error_rows) == (5, 5, 4, 1)


def test_an_unexpected_error_fails_the_job_and_keeps_the_chunks_before_it(alpha, monkeypatch):
    monkeypatch.setattr(runner, "CHUNK_ROWS", 1)
    original = runner.HANDLERS["contacts"]

    def breaks_on_the_second_chunk(run, items):
        if run.processed:
            raise RuntimeError("boom")
        original(run, items)

    monkeypatch.setitem(runner.HANDLERS, "contacts", breaks_on_the_second_chunk)
    job = import_job_create(kind="contacts", uploaded_file=upload("email\na@example.com\nb@example.com\n"))

    with pytest.raises(RuntimeError):
        import_job_run(job_id=job.pk)

    job.refresh_from_db()
    assert job.status == ImportJob.Status.FAILED and "unexpected error" in job.message
    assert (job.processed_rows, emails()) == (1, {"a@example.com"})


def test_all_or_nothing_rolls_back_when_a_row_fails_only_while_writing(alpha, monkeypatch):
    original = runner.HANDLERS["contacts"]

    def refuses_the_last_row_when_writing(run, items):
        original(run, items)
        if run.write:  # as if another user had changed the data since the check
            run.fail(items[-1].row, [("email", "Changed meanwhile.")])

    monkeypatch.setitem(runner.HANDLERS, "contacts", refuses_the_last_row_when_writing)

    job = import_csv("contacts", "email\na@example.com\nb@example.com\n", all_or_nothing=True)

    assert job.status == ImportJob.Status.FAILED and job.message.startswith("Nothing was imported")
    assert Contact.objects.count() == 0 and job.errors == [
        {"row": 3, "field": "email", "message": "Changed meanwhile."}
    ]


def test_a_running_job_is_left_alone_unless_its_worker_is_gone(alpha):
    job = import_job_create(kind="contacts", uploaded_file=upload("email\nann@example.com\n"))
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.RUNNING, started_at=timezone.now())

    assert import_job_run(job_id=job.pk).status == ImportJob.Status.RUNNING
    assert Contact.objects.count() == 0

    ImportJob.objects.filter(pk=job.pk).update(started_at=timezone.now() - dt.timedelta(hours=3))

    assert import_job_run(job_id=job.pk).status == ImportJob.Status.DONE
    assert emails() == {"ann@example.com"}


def test_a_job_whose_file_is_gone_fails_with_a_message(alpha):
    job = import_job_create(kind="contacts", uploaded_file=upload("email\nann@example.com\n"))
    job.file.storage.delete(job.file.name)

    job = import_job_run(job_id=job.pk)

    assert job.status == ImportJob.Status.FAILED and job.message == "The file is no longer available."


def test_a_touchpoints_dry_run_writes_no_touchpoint_and_no_contact(alpha):
    job = import_csv("touchpoints", TOUCHPOINTS_CSV, dry_run=True)

    assert (job.created_rows, job.error_rows) == (2, 3)
    assert Touchpoint.objects.count() == 0 and Contact.objects.count() == 0


def test_error_report_lists_every_error_and_neutralises_formulas(alpha):
    content = 'email,=HYPERLINK("x")\nnot-an-email,Ann\nb@example.com,' + "x" * 101 + "\n"
    job = import_csv("contacts", content, mapping={"email": "email", '=HYPERLINK("x")': "first_name"})

    report = list(csv.reader(io.StringIO(errors_csv(job).removeprefix("\ufeff"))))

    assert report[0] == ["row", "field", "message"]
    assert [(row, field) for row, field, _ in report[1:]] == [("2", "email"), ("3", '\'=HYPERLINK("x")')]


def test_errors_kept_on_the_job_are_capped(alpha, monkeypatch):
    monkeypatch.setattr(runner, "MAX_ERRORS", 3)

    job = import_csv("contacts", "email\n" + "bad\n" * 5)

    assert job.error_rows == 5 and len(job.errors) == 3
    assert "Only the first 3 errors" in errors_csv(job)


def test_a_job_of_another_tenant_cannot_be_run(alpha, tenant_b):
    with schema_context("beta"):
        theirs = import_job_create(kind="contacts", uploaded_file=upload("email\nbea@example.com\n"))
        assert "/beta/" in theirs.file.path
    assert not ImportJob.objects.filter(pk=theirs.pk).exists()

    with pytest.raises(ImportJob.DoesNotExist):
        import_job_run(job_id=theirs.pk)
    assert run_import(tenant_schema="alpha", job_id=theirs.pk) is None

    assert Contact.objects.count() == 0
    with schema_context("beta"):
        theirs.refresh_from_db()
        assert theirs.status == ImportJob.Status.PENDING and Contact.objects.count() == 0


# --- Reader --------------------------------------------------------------------------------------


def test_reader_sniffs_the_delimiter_and_numbers_rows_as_a_spreadsheet_does():
    content = 'a\tb\n1\t"two\nlines"\n\n3\t4\n5\n'
    parsed = reader.read_csv(content.encode())

    rows = list(parsed.rows())

    assert parsed.delimiter == "\t" and parsed.header == ["a", "b"]
    assert rows[:2] == [reader.Row(2, ("1", "two\nlines")), reader.Row(4, ("3", "4"))]
    assert isinstance(rows[2], reader.RowError) and rows[2].row == 5
    assert parsed.count() == 3


def test_an_unclosed_quote_costs_one_row_not_the_rest_of_the_file():
    # The quote opened in row 2 closes only at the end of row 4: one record of three lines and too few
    # cells. Reading starts again at row 3.
    content = (
        b"email,first_name,last_name\n"
        b'a@example.com,"Ann,Archer\n'
        b"b@example.com,Bob,Burns\n"
        b'c@example.com,Cy,Cole"\n'
    )

    rows = list(reader.read_csv(content).rows())

    assert [type(row).__name__ for row in rows] == ["RowError", "Row", "Row"]
    assert (rows[0].row, rows[1]) == (2, reader.Row(3, ("b@example.com", "Bob", "Burns")))
    assert "quotes" in rows[0].message


def test_reader_reads_utf16_and_accepts_trailing_empty_cells():
    parsed = reader.read_csv("a;b\r\n1;2;;\r\n".encode("utf-16"))

    assert parsed.encoding == "utf-16" and list(parsed.rows()) == [reader.Row(2, ("1", "2"))]


def test_reader_refuses_an_oversized_cell_but_reads_on(monkeypatch):
    monkeypatch.setattr(reader, "MAX_CELL_CHARS", 5)

    rows = list(reader.read_csv(b"a,b\n123456,1\n1,2\n").rows())

    assert rows == [
        reader.RowError(2, "a", "This cell is longer than 5 characters."),
        reader.Row(3, ("1", "2")),
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1,250.00", "1250.00"),
        ("$1,250.00", "1250.00"),
        ("1.250,50 €", "1250.50"),
        ("12,5", "12.5"),
        ("1 000", "1000"),
        ("1'000.25", "1000.25"),
        ("EUR 99", "99"),
        ("1.000.000", "1000000"),
        ("abc", "abc"),
    ],
)
def test_numbers_are_read_as_spreadsheets_write_them(text, expected):
    assert reader.normalise_number(text) == expected


def test_quantities_and_days():
    assert reader.parse_quantity("$2.5M") == Decimal("2500000")
    assert reader.parse_quantity("10k") == Decimal("10000")
    assert reader.parse_quantity("lots") is None
    assert reader.normalise_day("2026/3/5") == "2026-03-05"
    assert reader.normalise_day("2026-03-05T23:00:00Z") == "2026-03-05"
    assert reader.normalise_day("03/05/2026") == "03/05/2026"  # ambiguous: left for the service to refuse
