"""Streaming CSV export: formula cells neutralised, the right rows of the right tenant, constant memory
(many small chunks, a fixed number of queries), a safe download response and a round trip through
the import."""

from __future__ import annotations

import csv
import datetime as dt
import io
import types
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.http import StreamingHttpResponse
from django_tenants.utils import schema_context

from marketing.exports import (
    CHUNK_ROWS,
    campaigns_export,
    companies_export,
    contacts_export,
    export_response,
    safe_cell,
    safe_filename,
    stream_csv,
)
from marketing.imports.runner import import_job_create, import_job_run
from marketing.models import Campaign, Company, Contact
from marketing.services.campaigns import cost_line_add
from tests.marketing import factories

pytestmark = pytest.mark.django_db


def read(chunks) -> list[list[str]]:
    text = b"".join(chunks).decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+x", "'+x"),
        ("-y", "'-y"),
        ("@z", "'@z"),
        ("\t=cmd", "'\t=cmd"),
        ("\rx", "'\rx"),
        ('=HYPERLINK("http://evil")', '\'=HYPERLINK("http://evil")'),
        ("plain", "plain"),
        ("a=b", "a=b"),
        ("", ""),
        (None, ""),
        (True, "true"),
        (-3, "-3"),
        (Decimal("-12.50"), "-12.50"),
        (Decimal("1E+3"), "1000"),
        (dt.date(2026, 3, 5), "2026-03-05"),
        (dt.datetime(2026, 3, 5, 9, 30, tzinfo=dt.UTC), "2026-03-05 09:30:00"),
        (["ai", "=cmd"], "ai, =cmd"),
        (["=cmd", "ai"], "'=cmd, ai"),
    ],
)
def test_safe_cell(value, expected):
    assert safe_cell(value) == expected


def test_stream_csv_neutralises_formulas_and_quotes_properly():
    rows = [("=1+1", "+x"), ("-y", "@z"), ('say "hi", then go', "line\nbreak")]

    assert read(stream_csv(rows, ["a", "b"])) == [
        ["a", "b"],
        ["'=1+1", "'+x"],
        ["'-y", "'@z"],
        ['say "hi", then go', "line\nbreak"],
    ]


def test_a_20000_row_export_streams_in_small_chunks():
    produced = 0

    def rows():
        nonlocal produced
        for n in range(20_000):
            produced += 1
            yield (n, f"person{n}@example.com", "=evil()")

    stream = stream_csv(rows(), ["n", "email", "note"])
    assert isinstance(stream, types.GeneratorType)
    header = next(stream)
    assert produced == 0  # nothing is read before it is needed
    first = next(stream)
    assert produced == CHUNK_ROWS  # one chunk at a time
    chunks = [header, first, *stream]

    assert len(chunks) == 1 + 20_000 // CHUNK_ROWS
    assert max(len(chunk) for chunk in chunks) < 100_000
    parsed = read(chunks)
    assert len(parsed) == 20_001 and parsed[-1] == ["19999", "person19999@example.com", "'=evil()"]


def test_contacts_export_streams_this_tenants_rows_only(alpha, tenant_b):
    with schema_context("beta"):
        factories.contact(email="bea@beta.example")
    acme = factories.company(name="=Acme")
    factories.contact(email="ann@example.com", first_name="@nn", company=acme, interests=["ai", "ml"])
    factories.contact(email="bob@example.com")

    header, rows = contacts_export(Contact.objects.order_by("email"))
    parsed = read(stream_csv(rows, header))

    assert parsed[0][:3] == ["email", "first_name", "last_name"]
    by_email = {row[0]: dict(zip(parsed[0], row, strict=True)) for row in parsed[1:]}
    assert set(by_email) == {"ann@example.com", "bob@example.com"}
    assert (by_email["ann@example.com"]["first_name"], by_email["ann@example.com"]["company"]) == (
        "'@nn",
        "'=Acme",
    )
    assert by_email["ann@example.com"]["interests"] == "ai, ml"


def clone_contacts(template: Contact, count: int) -> None:
    """``count`` copies of ``template`` with e-mails p1@example.com..., in one statement: this is about
    reading many rows, and creating them one by one (or with bulk_create) would take most of a minute."""
    names = [f.column for f in Contact._meta.concrete_fields if f.column not in ("id", "email")]
    listed = ", ".join(connection.ops.quote_name(name) for name in names)
    table = connection.ops.quote_name(Contact._meta.db_table)
    sql = (
        f"INSERT INTO {table} (email, {listed}) "  # noqa: S608 (names from the model, not from input)
        f"SELECT 'p' || n || '@example.com', {listed} FROM {table}, generate_series(1, %s) AS n WHERE id = %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [count, template.pk])


def test_a_large_queryset_export_costs_the_same_few_queries(alpha, django_assert_max_num_queries):
    clone_contacts(factories.contact(), 19_999)
    header, rows = contacts_export(Contact.objects.all())

    # One SELECT through a server-side cursor (its fetches are not queries), plus the cursor's
    # search_path statement: the count does not grow with the rows.
    with django_assert_max_num_queries(3):
        chunks = list(stream_csv(rows, header))

    assert len(chunks) == 1 + 20_000 // CHUNK_ROWS
    assert sum(chunk.count(b"\n") for chunk in chunks) == 20_001


def test_campaigns_export_includes_the_spend(alpha):
    spring = factories.campaign(name="Spring", utm_campaign="spring", budget="1000")
    factories.campaign(name="Quiet")
    cost_line_add(campaign=spring, data={"date": "2026-01-10", "amount": "100.50"})
    cost_line_add(campaign=spring, data={"date": "2026-01-11", "amount": "20"})

    header, rows = campaigns_export(Campaign.objects.order_by("name"))
    parsed = [dict(zip(header, row, strict=True)) for row in read(stream_csv(rows, header))[1:]]

    assert [(row["name"], row["budget"], row["spend"]) for row in parsed] == [
        ("Quiet", "0.00", "0"),
        ("Spring", "1000.00", "120.50"),
    ]


def test_export_response_is_a_streamed_attachment_with_a_safe_name():
    response = export_response('../"contacts"\r\n2026.csv', ["a"], [("=1",)])

    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="contacts-2026.csv"'
    assert "no-store" in response["Cache-Control"]
    assert read(response.streaming_content) == [["a"], ["'=1"]]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("contacts", "contacts.csv"),
        ("../../etc/passwd", "passwd.csv"),
        ("", "export.csv"),
        ("Ré sumé.CSV", "Ré sumé.CSV"),
    ],
)
def test_safe_filename(name, expected):
    assert safe_filename(name) == expected


def without_updated_at(row: dict) -> dict:
    return {key: value for key, value in row.items() if key != "updated_at"}


def test_exported_contacts_import_again_without_changes(alpha, media):
    acme = factories.company(name="=Acme")
    factories.contact(
        email="ann@example.com", first_name="Ann", phone="+1 555 0100", company=acme, interests=["ai", "ml"],
        consent_marketing=True, stage="mql",
    )  # fmt: skip
    factories.contact(email="bob@example.com", last_name="-Burns")
    before = list(Contact.objects.order_by("email").values())
    header, rows = contacts_export(Contact.objects.all())
    exported = b"".join(stream_csv(rows, header))
    assert b"'+1 555 0100" in exported and b"'=Acme" in exported

    job = import_job_create(kind="contacts", uploaded_file=SimpleUploadedFile("contacts.csv", exported))
    job = import_job_run(job_id=job.pk)

    assert (job.created_rows, job.updated_rows, job.error_rows) == (0, 2, 0)
    after = list(Contact.objects.order_by("email").values())
    assert [without_updated_at(row) for row in after] == [without_updated_at(row) for row in before]
    assert Company.objects.count() == 1


def test_exported_companies_import_again_without_changes(alpha, media):
    factories.company(name="Acme", domain="acme.com", size_band="51-200")
    factories.company(name="Globex", domain="globex.example")
    header, rows = companies_export(Company.objects.all())
    exported = b"".join(stream_csv(rows, header))

    job = import_job_create(kind="companies", uploaded_file=SimpleUploadedFile("companies.csv", exported))
    job = import_job_run(job_id=job.pk)

    assert (job.created_rows, job.updated_rows, job.error_rows) == (0, 2, 0)
    assert Company.objects.count() == 2
    assert "'is_customer' is not imported" in job.message
