"""Services of CSV imports: create a job from an upload, then run it (in the worker) chunk by chunk.

Every row goes through the ordinary services (``contact_upsert``, ``company_create``/``company_update``,
``touchpoints_record``, ``cost_line_add``), each in its own savepoint, so one bad row never breaks the
rest and the rules are the same as everywhere else. A run is safe to repeat: contacts are matched by
e-mail, companies by domain and then by name, touchpoints by their external id (derived from the row's
content when the file has none) and cost lines by campaign, date, amount and note.

Modes:
- normal: each chunk of rows is committed, and the job's counters after it (visible progress);
- dry run: each chunk is rolled back; the job reports what would happen and writes nothing;
- all or nothing: a dry run first (with progress); only if every row passed, the file is imported
  again in one transaction, rolled back as a whole if any row fails then.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import re
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, timedelta
from decimal import Decimal
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile, File
from django.core.validators import validate_email
from django.db import DataError, IntegrityError, connection, transaction
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone

from accounts import audit

from ..exports import FORMULA_STARTS, stream_csv
from ..models import Campaign, Company, Contact, CostLine, ImportJob, LifecycleStage, TouchpointKind
from ..models.campaigns import Channel
from ..models.contacts import (
    AgeBand,
    Education,
    Gender,
    IncomeBand,
    MaritalStatus,
    RevenueBand,
    Seniority,
    SizeBand,
    Source,
)
from ..services.campaigns import cost_line_add, parse_day, parse_moment, parse_money
from ..services.contacts import (
    DUPLICATE_EMAIL,
    clean_domain,
    company_create,
    company_update,
    contact_change_stage,
    contact_create,
    contact_upsert,
)
from ..services.touchpoints import touchpoints_record
from . import columns
from .reader import (
    MAX_FILE_BYTES,
    CsvFile,
    Row,
    RowError,
    normalise_day,
    normalise_number,
    parse_bool,
    parse_choice,
    parse_quantity,
    read_csv,
)

if TYPE_CHECKING:
    from accounts.models import User

logger = logging.getLogger(__name__)

CHUNK_ROWS = 1000  # rows per transaction and per progress update; one touchpoints_record batch
MAX_ERRORS = 1000  # errors kept on the job; error_rows counts them all
STALE_AFTER = timedelta(hours=2)  # a job "running" this long lost its worker and may be claimed again

T = TypeVar("T")
Problems = dict[str, list[str]]


# --- Creating a job --------------------------------------------------------------------------------


def import_job_create(
    *,
    kind: str,
    uploaded_file: File | None,
    mapping: dict[str, str] | None = None,
    dry_run: bool = False,
    all_or_nothing: bool = False,
    actor: User | None = None,
) -> ImportJob:
    """Check the upload and its mapping ({column: field}; recognised from the column names when None),
    store it and queue the import once committed. Raises ValidationError on kind, file or mapping."""
    errors: Problems = {}
    if kind not in ImportJob.Kind.values:
        errors["kind"] = [f"Choose one of {', '.join(ImportJob.Kind.values)}."]
    data = _read_upload(uploaded_file, errors)
    csv_file = None
    if data is not None:
        try:
            csv_file = read_csv(data)
        except ValidationError as exc:
            errors.update(exc.message_dict)
    resolved: dict[str, str] = {}
    if csv_file is not None and "kind" not in errors:
        try:
            resolved = mapping_resolve(kind=kind, header=csv_file.header, mapping=mapping)
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if errors or csv_file is None or data is None:
        raise ValidationError(errors)
    job = ImportJob(
        kind=kind,
        original_name=_display_name(uploaded_file),
        mapping=resolved,
        dry_run=bool(dry_run),
        all_or_nothing=bool(all_or_nothing),
        created_by=actor,
        message=" ".join(columns.not_imported(kind, csv_file.header, resolved)),
    )
    with transaction.atomic():
        job.file.save(f"{uuid.uuid4().hex}.csv", ContentFile(data), save=False)
        job.save()
        _enqueue(job)
    return job


def mapping_resolve(*, kind: str, header: list[str], mapping: dict[str, str] | None) -> dict[str, str]:
    """The mapping to use: ``mapping`` checked against the file's header and the kind's fields, or the
    one recognised from the column names. Columns mapped to "" or None are left out."""
    if mapping is None:
        resolved = columns.suggest_mapping(kind, header)
    elif not isinstance(mapping, dict):
        raise ValidationError({"mapping": ["Give the mapping as {column: field}."]})
    else:
        resolved = {column: target for column, target in mapping.items() if target not in (None, "")}
    problems = _mapping_problems(kind, header, resolved)
    if problems:
        raise ValidationError({"mapping": problems})
    return resolved


def _mapping_problems(kind: str, header: list[str], mapping: dict[str, str]) -> list[str]:
    known = columns.fields(kind)
    problems: list[str] = []
    filled: dict[str, str] = {}
    for column, target in mapping.items():
        if not isinstance(column, str) or column not in header:
            problems.append(f"The file has no column {column!r}.")
        elif header.count(column) > 1:
            problems.append(
                f"The file has {header.count(column)} columns named {column!r}; rename all but one."
            )
        if not isinstance(target, str) or target not in known:
            problems.append(
                f"Unknown field {target!r} for column {column!r}. Choose from {', '.join(known)}."
            )
        elif target in filled:
            problems.append(f"Columns {filled[target]!r} and {column!r} both fill {target}; map only one.")
        else:
            filled[target] = column
    for group in columns.missing_required(kind, filled):
        wanted = " or ".join(group)
        shown = ", ".join(repr(name) for name in header[:20]) + (", ..." if len(header) > 20 else "")
        problems.append(f"Map a column to {wanted}. The file's columns are {shown}.")
    return problems


def _read_upload(uploaded_file: File | None, errors: Problems) -> bytes | None:
    if uploaded_file is None or not hasattr(uploaded_file, "read"):
        errors["file"] = ["Choose a CSV file."]
        return None
    too_large = f"The file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB. Split it into parts."
    if (getattr(uploaded_file, "size", None) or 0) > MAX_FILE_BYTES:
        errors["file"] = [too_large]
        return None
    if hasattr(uploaded_file, "seek"):
        uploaded_file.seek(0)
    data = uploaded_file.read(MAX_FILE_BYTES + 1)
    if isinstance(data, str):
        data = data.encode("utf-8")
    if len(data) > MAX_FILE_BYTES:
        errors["file"] = [too_large]
        return None
    return data


def _display_name(uploaded_file: File) -> str:
    name = str(getattr(uploaded_file, "name", "") or "upload.csv").replace("\\", "/").rsplit("/", 1)[-1]
    return "".join(ch for ch in name if ch.isprintable())[:255] or "upload.csv"


def _enqueue(job: ImportJob) -> None:
    from config.outbox import enqueue

    from .tasks import run_import

    enqueue(run_import, connection.schema_name, kwargs={"job_id": job.pk})


# --- Running a job ---------------------------------------------------------------------------------


@dataclass
class Item:
    """One parsed row: Tandem field -> the trimmed, non-empty text of its cell."""

    row: int
    values: dict[str, str]


@dataclass(frozen=True)
class Plan:
    kind: str
    mapping: dict[str, str]  # column -> field
    indexes: dict[str, int]  # field -> position of its column

    @classmethod
    def build(cls, kind: str, header: list[str], mapping: dict[str, str]) -> Plan:
        return cls(kind, mapping, {target: header.index(column) for column, target in mapping.items()})

    def item(self, row: Row) -> Item | RowError:
        values = {}
        for target, index in self.indexes.items():
            text = row.cells[index].strip()
            if text[:1] == "'" and text[1:2] and text[1:2] in FORMULA_STARTS:
                text = text[1:]  # neutralised by an export (ours among others): "'+1 555 0100"
            if "\x00" in text:
                return RowError(row.number, self.column(target), "This cell contains a NUL character.")
            if text:
                values[target] = text
        return Item(row.number, values)

    def column(self, name: str) -> str:
        """The column an error on ``name`` (a field, or a model field a service named) belongs to."""
        by_field = {target: column for column, target in self.mapping.items()}
        for candidate in (name, *_ERROR_FIELD_FALLBACKS.get(name, ())):
            if candidate in by_field:
                return by_field[candidate]
        return "" if name in ("__all__", "non_field_errors") else name


_ERROR_FIELD_FALLBACKS = {
    "first_name": ("full_name",),
    "last_name": ("full_name",),
    "contact": ("contact_id", "email"),
    "campaign": ("campaign_id", "utm_campaign"),
    "content": ("content_id",),
    "send": ("send_id",),
}


@dataclass
class Run:
    """Counters and errors of one pass over the file."""

    job: ImportJob
    plan: Plan
    write: bool
    processed: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    seen: set[Any] = field(default_factory=set)  # keys done earlier in this pass, across chunks

    @property
    def actor(self) -> User | None:
        return self.job.created_by

    def done(self, *, created: bool, key: Any = None) -> None:
        """One row saved. A key seen earlier in the pass makes it an update: a dry run rolls each chunk
        back, and must still count a row repeated further down the file as an update."""
        if created and (key is None or key not in self.seen):
            self.created += 1
        else:
            self.updated += 1
        if key is not None:
            self.seen.add(key)

    def fail(self, row: int, problems: Iterable[tuple[str, str]]) -> None:
        """``problems``: (column, message) pairs."""
        self.failed += 1
        for column, message in problems:
            if len(self.errors) < MAX_ERRORS:
                self.errors.append({"row": row, "field": column, "message": message})

    def fail_fields(self, row: int, problems: Problems) -> None:
        self.fail(
            row, [(self.plan.column(name), msg) for name, messages in problems.items() for msg in messages]
        )

    def fail_exception(self, row: int, exc: ValidationError) -> None:
        if hasattr(exc, "error_dict"):
            self.fail_fields(row, exc.message_dict)
        else:
            self.fail(row, [("", message) for message in exc.messages])


def import_job_run(*, job_id: int) -> ImportJob:
    """Run the job once; a job already done, or running elsewhere, is returned as it is.
    Raises ImportJob.DoesNotExist for an id unknown in the current tenant."""
    claimed = _claim(job_id)
    job = ImportJob.objects.select_related("created_by").get(pk=job_id)
    if not claimed:
        return job
    try:
        return _run(job)
    except Exception:
        logger.exception("Import job %s stopped unexpectedly", job.pk)
        if job.dry_run or job.all_or_nothing:
            outcome = "Nothing was written."
        else:
            outcome = "Rows imported before it are kept; importing the file again does not duplicate them."
        message = f"The import stopped because of an unexpected error. {outcome}"
        _finish(job, status=ImportJob.Status.FAILED, message=message)
        raise


def _claim(job_id: int) -> bool:
    """Mark the job running unless another worker has it: the conditional update decides races. A job
    left running for ``STALE_AFTER`` lost its worker and is taken over (runs are safe to repeat)."""
    now = timezone.now()
    claimable = Q(status=ImportJob.Status.PENDING) | Q(
        status=ImportJob.Status.RUNNING, started_at__lt=now - STALE_AFTER
    )
    claimed = ImportJob.objects.filter(claimable, pk=job_id).update(
        status=ImportJob.Status.RUNNING, started_at=now, finished_at=None
    )
    return bool(claimed)


def _run(job: ImportJob) -> ImportJob:
    try:
        csv_file, plan = _open(job)
    except (ValidationError, OSError, ValueError) as exc:
        reason = (
            " ".join(exc.messages) if isinstance(exc, ValidationError) else "The file is no longer available."
        )
        return _finish(job, status=ImportJob.Status.FAILED, message=reason)
    job.total_rows = csv_file.count()
    job.save(update_fields=["total_rows"])
    notes = columns.not_imported(job.kind, csv_file.header, plan.mapping)
    if job.dry_run:
        run = _pass(job, csv_file, plan, write=False)
        return _finish(
            job, run=run, status=ImportJob.Status.DONE, message=_summary(run, dry=True), notes=notes
        )
    if not job.all_or_nothing:
        run = _pass(job, csv_file, plan, write=True)
        return _finish(job, run=run, status=ImportJob.Status.DONE, message=_summary(run), notes=notes)
    check = _pass(job, csv_file, plan, write=False)
    if check.failed:
        return _finish_nothing(job, check, notes)
    job.message = f"All {check.processed:,} rows are valid; importing them."
    job.save(update_fields=["message"])
    with transaction.atomic():
        run = _pass(job, csv_file, plan, write=True, report=False)
        if run.failed:
            transaction.set_rollback(True)
    if run.failed:
        return _finish_nothing(job, run, notes)
    return _finish(job, run=run, status=ImportJob.Status.DONE, message=_summary(run), notes=notes)


def _open(job: ImportJob) -> tuple[CsvFile, Plan]:
    with job.file.open("rb") as handle:
        data = handle.read(MAX_FILE_BYTES + 1)
    csv_file = read_csv(data)
    mapping = mapping_resolve(kind=job.kind, header=csv_file.header, mapping=job.mapping)
    return csv_file, Plan.build(job.kind, csv_file.header, mapping)


def _pass(job: ImportJob, csv_file: CsvFile, plan: Plan, *, write: bool, report: bool = True) -> Run:
    """One pass over the rows, a chunk per transaction (rolled back unless ``write``)."""
    run = Run(job=job, plan=plan, write=write)
    handler = HANDLERS[job.kind]
    for chunk in _chunks(run, csv_file.rows()):
        with transaction.atomic():
            handler(run, chunk)
            if not write:
                transaction.set_rollback(True)
        run.processed += len(chunk)
        if report:
            _save_counters(job, run)
    return run


def _chunks(run: Run, rows: Iterator[Row | RowError]) -> Iterator[list[Item]]:
    """Chunks of good rows; bad ones are recorded (and counted as processed) on the way."""
    chunk: list[Item] = []
    for entry in rows:
        item = entry if isinstance(entry, RowError) else run.plan.item(entry)
        if isinstance(item, RowError):
            run.processed += 1
            run.fail(item.row, [(item.field, item.message)])
            continue
        chunk.append(item)
        if len(chunk) >= CHUNK_ROWS:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _save_counters(job: ImportJob, run: Run) -> None:
    job.processed_rows, job.created_rows, job.updated_rows = run.processed, run.created, run.updated
    job.error_rows = run.failed
    job.errors = sorted(run.errors, key=lambda error: error["row"])
    job.save(update_fields=["processed_rows", "created_rows", "updated_rows", "error_rows", "errors"])


def _summary(run: Run, *, dry: bool = False) -> str:
    verb = "would be" if dry else "were"
    parts = [f"{run.created:,} rows {verb} created", f"{run.updated:,} updated"]
    if run.unchanged:
        parts.append(f"{run.unchanged:,} already there")
    text = ("Dry run, nothing was written: " if dry else "Import done: ") + ", ".join(parts) + "."
    if run.failed:
        text += f" {run.failed:,} rows have errors; download the error report."
    return text


def _finish_nothing(job: ImportJob, run: Run, notes: list[str]) -> ImportJob:
    run.created = run.updated = 0
    message = (
        f"Nothing was imported: {run.failed:,} rows have errors. Fix them (see the error report) and "
        "import the file again."
    )
    return _finish(job, run=run, status=ImportJob.Status.FAILED, message=message, notes=notes)


def _finish(
    job: ImportJob, *, status: str, message: str, run: Run | None = None, notes: list[str] | None = None
) -> ImportJob:
    if run is not None:
        _save_counters(job, run)
    job.status = status
    job.message = " ".join([message, *(notes or [])])
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "message", "finished_at"])
    # the import's audit entry: the job as its object, the person who uploaded it as its actor
    audit.note(
        object_type="marketing.ImportJob",
        object_id=job.pk,
        actor=job.created_by,
        status=status,
        created=job.created_rows,
        updated=job.updated_rows,
    )
    return job


def _attempt(run: Run, row: int, action: Callable[[], T]) -> T | None:
    """``action()`` in a savepoint; a refusal is recorded on the row and None returned."""
    try:
        with transaction.atomic():
            return action()
    except ValidationError as exc:
        run.fail_exception(row, exc)
    except (IntegrityError, DataError) as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        run.fail(row, [("", f"The database refused this row ({first_line}). Import the file again.")])
    return None


# --- Contacts --------------------------------------------------------------------------------------

STAGE_SYNONYMS = {
    "marketingqualifiedlead": LifecycleStage.MQL,
    "salesqualifiedlead": LifecycleStage.SQL,
    "closedwon": LifecycleStage.CUSTOMER,
    "unqualified": LifecycleStage.DISQUALIFIED,
}
CONTACT_CHOICES: dict[str, tuple[list[tuple[str, str]], dict[str, str]]] = {
    "seniority": (Seniority.choices, {"vicepresident": Seniority.VP, "junior": Seniority.ENTRY}),
    "age_band": (AgeBand.choices, {}),
    "gender": (
        Gender.choices,
        {"f": Gender.FEMALE, "m": Gender.MALE, "woman": Gender.FEMALE, "man": Gender.MALE},
    ),
    "marital_status": (MaritalStatus.choices, {}),
    "income_band": (IncomeBand.choices, {}),
    "education": (Education.choices, {}),
}
CONTACT_TEXT = (
    "first_name",
    "last_name",
    "phone",
    "job_title",
    "country",
    "region",
    "occupation",
    "interests",
)


@dataclass
class ContactRow:
    data: dict[str, Any]
    stage: str | None
    company_name: str
    problems: Problems


def _contacts(run: Run, items: list[Item]) -> None:
    companies = _companies_named({item.values["company"] for item in items if "company" in item.values})
    owners = _owners({item.values["owner"] for item in items if "owner" in item.values})
    emails = {item.values.get("email", "").lower() for item in items}
    existing = set(Contact.objects.filter(email__in=emails).values_list("email", flat=True))
    for item in items:
        parsed = _contact_row(item.values, owners)
        if parsed.problems:
            run.fail_fields(item.row, parsed.problems)
            continue
        email = parsed.data["email"]
        company = companies.get(parsed.company_name.lower()) if parsed.company_name else None
        save = partial(
            _contact_save, parsed=parsed, company=company, actor=run.actor, is_new=email not in existing
        )
        result = _attempt(run, item.row, save)
        if result is not None:
            contact, created = result
            existing.add(email)
            if contact.company is not None and parsed.company_name:
                companies.setdefault(parsed.company_name.lower(), contact.company)
            run.done(created=created, key=("contact", email))


def _contact_row(values: dict[str, str], owners: dict[str, User | None]) -> ContactRow:
    problems: Problems = {}
    email = values.get("email", "").lower()
    try:
        if not email:
            raise ValidationError("This field is required.")
        if len(email) > 254:
            raise ValidationError("Enter a valid email address.")
        validate_email(email)
    except ValidationError as exc:
        problems["email"] = exc.messages
    data: dict[str, Any] = {"email": email}
    data.update({name: values[name] for name in CONTACT_TEXT if name in values})
    if "full_name" in values and not ({"first_name", "last_name"} & values.keys()):
        first, _, last = values["full_name"].partition(" ")
        data.update(first_name=first, last_name=last.strip())
    for name, (choices, synonyms) in CONTACT_CHOICES.items():
        if name in values:
            data[name] = _choose(name, values[name], choices, synonyms, problems)
    for name in ("consent_marketing", "unsubscribed"):
        if name in values:
            flag = parse_bool(values[name])
            if flag is None:
                problems[name] = ["Give yes or no (true or false)."]
            data[name] = flag
    if "owner" in values:
        owner = owners.get(values["owner"].lower())
        if owner is None:
            problems["owner"] = ["No active user (or several) has this e-mail address or name."]
        data["owner"] = owner
    stage = None
    if "lifecycle_stage" in values:
        text = values["lifecycle_stage"]
        stage = _choose("lifecycle_stage", text, LifecycleStage.choices, STAGE_SYNONYMS, problems)
    return ContactRow(data, stage, values.get("company", ""), problems)


def _choose(
    name: str, text: str, choices: list[tuple[str, str]], synonyms: dict[str, str], problems: Problems
) -> str | None:
    """The choice ``text`` names, or None with a problem on ``name`` listing the choices."""
    value = parse_choice(choices, text, {key: str(value) for key, value in synonyms.items()})
    if value is None:
        problems[name] = [f"Choose one of {_labels(choices)}."]
    return value


def _contact_save(
    *, parsed: ContactRow, company: Company | None, actor: User | None, is_new: bool
) -> tuple[Contact, bool]:
    data = dict(parsed.data)
    if parsed.company_name:
        data["company"] = company or _company_for_contact(parsed.company_name)
    if is_new and parsed.stage:
        try:
            return contact_create(data=data, actor=actor, source=Source.IMPORT, stage=parsed.stage), True
        except ValidationError as exc:
            if exc.message_dict.get("email") != [DUPLICATE_EMAIL]:
                raise  # else saved meanwhile by someone else: update it below
    contact, created = contact_upsert(data=data, actor=actor, source=Source.IMPORT)
    if parsed.stage and contact.lifecycle_stage != parsed.stage:
        contact_change_stage(
            contact=contact, to_stage=parsed.stage, actor=actor, rule="import", reason="CSV import"
        )
    return contact, created


def _company_for_contact(name: str) -> Company:
    """A company named in a contacts file and not known yet: created, its errors put on the column."""
    try:
        return company_create(data={"name": name})
    except ValidationError as exc:
        raise ValidationError({"company": exc.messages}) from exc


def _companies_named(names: set[str]) -> dict[str, Company]:
    """lower-case name -> the oldest company of that name."""
    found: dict[str, Company] = {}
    lowered = {name.lower() for name in names}
    for company in Company.objects.annotate(lname=Lower("name")).filter(lname__in=lowered).order_by("id"):
        found.setdefault(company.name.lower(), company)
    return found


def _owners(keys: set[str]) -> dict[str, User | None]:
    """lower-case e-mail or full name -> the active user; None where a name belongs to several."""
    from accounts.models import User

    if not keys:
        return {}
    lowered = {key.lower() for key in keys}
    users = User.objects.annotate(lemail=Lower("email"), lname=Lower("full_name")).filter(
        Q(lemail__in=lowered) | Q(lname__in=lowered), is_active=True
    )
    found: dict[str, User | None] = {}
    for user in users:
        found[user.email.lower()] = user
        name = user.full_name.lower()
        found[name] = None if name in found and found[name] != user else user
    return found


# --- Companies -------------------------------------------------------------------------------------

# (most employees in the band, band); more than the last is 5001+
SIZE_BANDS = (
    (10, SizeBand.S1),
    (50, SizeBand.S2),
    (200, SizeBand.S3),
    (1000, SizeBand.S4),
    (5000, SizeBand.S5),
)
# (revenue below which the band applies, band); more is 1b+
REVENUE_BANDS = ((10**6, RevenueBand.R1), (10**7, RevenueBand.R2), (5 * 10**7, RevenueBand.R3),
                 (25 * 10**7, RevenueBand.R4), (10**9, RevenueBand.R5))  # fmt: skip
COMPANY_TEXT = ("name", "industry", "country", "region")


def _companies(run: Run, items: list[Item]) -> None:
    rows = [(item, *_company_row(item.values)) for item in items]
    domains = {data["domain"] for _, data, _ in rows if data.get("domain")}
    names = {data["name"].lower() for _, data, _ in rows if data.get("name")}
    by_domain = {
        company.domain.lower(): company
        for company in Company.objects.annotate(ldomain=Lower("domain")).filter(ldomain__in=domains)
    }
    by_name = _companies_named(names)
    for item, data, problems in rows:
        if problems:
            run.fail_fields(item.row, problems)
            continue
        match = _company_match(data, by_domain, by_name)
        result = _attempt(run, item.row, partial(_company_save, company=match, data=data))
        if result is not None:
            company, created = result
            by_name.setdefault(company.name.lower(), company)
            if company.domain:
                by_domain[company.domain.lower()] = company
            run.done(created=created, key=("company", company.domain or company.name.lower()))


def _company_row(values: dict[str, str]) -> tuple[dict[str, str], Problems]:
    problems: Problems = {}
    data = {name: values[name] for name in COMPANY_TEXT if name in values}
    if "domain" in values:
        data["domain"] = clean_domain(values["domain"])
    if "size_band" in values:
        band = _size_band(values["size_band"])
        if band is None:
            problems["size_band"] = [f"Give a number of employees or one of {_labels(SizeBand.choices)}."]
        data["size_band"] = band or ""
    if "annual_revenue_band" in values:
        band = _revenue_band(values["annual_revenue_band"])
        if band is None:
            problems["annual_revenue_band"] = [f"Give an amount or one of {_labels(RevenueBand.choices)}."]
        data["annual_revenue_band"] = band or ""
    return data, problems


def _labels(choices: list[tuple[str, str]]) -> str:
    return ", ".join(str(label) for _, label in choices)


_HEADCOUNT = re.compile(r"\d[\d\s.,']*\+?")


def _size_band(text: str) -> str | None:
    """From a number of employees ("110" is 51-200, not the band "1-10"), else a band's value or label."""
    if _HEADCOUNT.fullmatch(text.strip()):
        count = parse_quantity(text)
        if count is None or count < 0:
            return None
        return next((str(band) for most, band in SIZE_BANDS if count <= most), str(SizeBand.S6))
    return parse_choice(SizeBand.choices, text)


def _revenue_band(text: str) -> str | None:
    """From a band's value or label ("<1m", "Under 1M"), else an amount ("$2.5M", "2,500,000")."""
    band = parse_choice(RevenueBand.choices, text)
    if band is not None:
        return band
    amount = parse_quantity(text)
    if amount is None or amount < 0:
        return None
    return next((str(band) for below, band in REVENUE_BANDS if amount < below), str(RevenueBand.R6))


def _company_match(
    data: dict[str, str], by_domain: dict[str, Company], by_name: dict[str, Company]
) -> Company | None:
    """The company a row updates: the one with its domain, else the one with its name (unless both
    have different domains: two companies of one name)."""
    domain = data.get("domain", "")
    if domain and domain in by_domain:
        return by_domain[domain]
    named = by_name.get(data.get("name", "").lower())
    if named is not None and not (domain and named.domain and named.domain.lower() != domain):
        return named
    return None


def _company_save(*, company: Company | None, data: dict[str, str]) -> tuple[Company, bool]:
    if company is None:
        return company_create(data=data), True
    # A copy: a refused update must not leave its values on the instance the next rows match against.
    return company_update(company=copy.copy(company), data=data), False


# --- Touchpoints -----------------------------------------------------------------------------------


def _touchpoints(run: Run, items: list[Item]) -> None:
    batch: list[tuple[Item, dict[str, str]]] = []
    for item in items:
        payload = _touchpoint_payload(item.values)
        key = ("touchpoint", payload["external_id"])
        if key in run.seen:  # the same row again further down the file
            run.unchanged += 1
            continue
        run.seen.add(key)
        batch.append((item, payload))
    if not batch:
        return
    try:
        with transaction.atomic():
            results = touchpoints_record(items=[payload for _, payload in batch], source=Source.IMPORT)
    except (IntegrityError, DataError):
        message = (
            "This row could not be saved together with touchpoints saved at the same time. Import again."
        )
        for item, _ in batch:
            run.fail(item.row, [("", message)])
        return
    for (item, _), result in zip(batch, results, strict=True):
        if result["status"] == "created":
            run.created += 1
        elif result["status"] == "duplicate":
            run.unchanged += 1
        else:
            run.fail_fields(item.row, result["errors"])


def _touchpoint_payload(values: dict[str, str]) -> dict[str, str]:
    payload = dict(values)
    for name, choices in (("kind", TouchpointKind.choices), ("channel", Channel.choices)):
        if name in payload:
            payload[name] = parse_choice(choices, payload[name]) or payload[name]
    if "email" in payload:
        payload["email"] = payload["email"].lower()
    if not payload.get("external_id"):
        payload["external_id"] = derived_external_id(payload)
    return payload


def derived_external_id(payload: dict[str, str]) -> str:
    """A stable id for a row without one: the same content gives the same id, so importing the file
    again finds the touchpoints already there. The time is compared as an instant, not as text."""
    basis = dict(payload)
    if basis.get("occurred_at"):
        moment = parse_moment(basis["occurred_at"], "occurred_at", {})
        if moment is not None:
            basis["occurred_at"] = moment.astimezone(UTC).isoformat()
    text = json.dumps(basis, sort_keys=True, ensure_ascii=False)
    return "import:" + hashlib.sha256(text.encode()).hexdigest()[:40]


# --- Cost lines ------------------------------------------------------------------------------------


class CampaignIndex:
    """The campaigns a chunk refers to, by id, UTM code or exact name (ignoring case), in one query."""

    def __init__(self, refs: set[str]):
        ids = {int(ref) for ref in refs if ref.isascii() and ref.isdigit() and len(ref) < 18}
        lowered = {ref.lower() for ref in refs}
        found = Campaign.objects.annotate(code=Lower("utm_campaign"), lname=Lower("name")).filter(
            Q(pk__in=ids) | Q(code__in=lowered) | Q(lname__in=lowered)
        )
        self.by_id: dict[int, Campaign] = {}
        self.by_code: dict[str, Campaign] = {}
        self.by_name: dict[str, list[Campaign]] = defaultdict(list)
        for campaign in found.order_by("id"):
            self.by_id[campaign.pk] = campaign
            if campaign.utm_campaign:
                self.by_code[campaign.utm_campaign.lower()] = campaign
            self.by_name[campaign.name.lower()].append(campaign)

    def get(self, ref: str, problems: Problems) -> Campaign | None:
        if ref.isascii() and ref.isdigit() and int(ref) in self.by_id:
            return self.by_id[int(ref)]
        if ref.lower() in self.by_code:
            return self.by_code[ref.lower()]
        named = self.by_name.get(ref.lower(), [])
        if len(named) == 1:
            return named[0]
        problems["campaign"] = [
            f"Several campaigns are named {ref!r}; give the campaign's id or UTM code instead."
            if named
            else "No campaign has this id, UTM code or name."
        ]
        return None


@dataclass
class CostRow:
    item: Item
    campaign: Campaign | None
    day: date | None
    amount: Decimal | None
    note: str
    problems: Problems

    @property
    def key(self) -> tuple:
        """What makes two cost lines the same."""
        return (self.campaign.pk if self.campaign else None, self.day, self.amount, self.note)


def _costs(run: Run, items: list[Item]) -> None:
    campaigns = CampaignIndex({item.values["campaign"] for item in items if "campaign" in item.values})
    rows = [_cost_row(item, campaigns) for item in items]
    existing = set(
        CostLine.objects.filter(
            campaign__in={row.campaign.pk for row in rows if row.campaign},
            date__in={row.day for row in rows if row.day},
        ).values_list("campaign_id", "date", "amount", "note")
    )
    for row in rows:
        if row.problems or row.campaign is None:
            run.fail_fields(row.item.row, row.problems)
            continue
        if row.key in existing or ("cost", row.key) in run.seen:
            run.unchanged += 1
            continue
        line = {"date": row.day, "amount": row.amount, "note": row.note}
        add = partial(cost_line_add, campaign=row.campaign, data=line, actor=run.actor)
        if _attempt(run, row.item.row, add) is not None:
            existing.add(row.key)
            run.done(created=True, key=("cost", row.key))


def _cost_row(item: Item, campaigns: CampaignIndex) -> CostRow:
    values, problems = item.values, Problems()
    campaign = None
    if "campaign" in values:
        campaign = campaigns.get(values["campaign"], problems)
    else:
        problems["campaign"] = ["This field is required."]
    day = parse_day(normalise_day(values.get("date", "")), "date", problems)
    amount = parse_money(normalise_number(values.get("amount", "")), "amount", problems)
    return CostRow(item, campaign, day, amount, values.get("note", ""), problems)


HANDLERS: dict[str, Callable[[Run, list[Item]], None]] = {
    columns.CONTACTS: _contacts,
    columns.COMPANIES: _companies,
    columns.TOUCHPOINTS: _touchpoints,
    columns.COSTS: _costs,
}


# --- Error report ----------------------------------------------------------------------------------


def errors_csv(job: ImportJob) -> str:
    """The job's errors as CSV text (row, field, message) for download, with a BOM so that Excel reads
    it as UTF-8. Cells are neutralised against formula injection: they echo the file's own text."""
    rows: list[list[object]] = [[e.get("row"), e.get("field", ""), e.get("message", "")] for e in job.errors]
    if len(job.errors) >= MAX_ERRORS:
        rows.append(["", "", f"Only the first {MAX_ERRORS:,} errors are listed; fix them and import again."])
    return b"".join(stream_csv(rows, ["row", "field", "message"])).decode("utf-8")
