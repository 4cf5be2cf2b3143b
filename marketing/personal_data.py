"""Marketing's share of a contact's personal data (``accounts.personal_data``): the contact itself, their
visits and form fills, lifecycle history, list memberships, and the rows of imported CSV files.

Erasure deletes what is only about the person. Their touchpoints stay as anonymous visits (a fresh random
visitor id; the address, referrer and the UTM term and content, which can carry a person, are emptied),
so campaigns keep their visit counts. Attribution is recomputed by the next metric run from the deals'
remaining contacts (``alignment.attribution``): the erased person's touches no longer earn credit.
"""

from __future__ import annotations

import codecs
import csv
import functools
import io
import logging
import os
import uuid

from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import F, Q

from accounts.personal_data import (
    Part,
    Person,
    counts,
    deleted,
    mention_ids,
    register,
    rows,
    scrub_rows,
)
from accounts.throttle import address_bucket

from .imports.reader import decode, sniff_delimiter
from .models import (
    Contact,
    FormSubmission,
    ImportJob,
    Segment,
    SegmentMember,
    StageTransition,
    Touchpoint,
)
from .public_views import FORM_THROTTLE

logger = logging.getLogger(__name__)


# --- the contact ---------------------------------------------------------------------------------------


def _contact_identify(person: Person) -> list[str]:
    c = person.contact
    digits = sum(ch.isdigit() for ch in c.phone)
    return [c.email, c.full_name, c.phone if digits >= 6 else ""]


def _contact_export(person: Person) -> list[dict]:
    return rows(Contact.objects.filter(pk=person.id).annotate(company_name=F("company__name")))


def _contact_erase(person: Person) -> dict[str, int]:
    return counts(deleted=deleted(Contact.objects.filter(pk=person.id)))


# --- visits and form fills -----------------------------------------------------------------------------


def _touchpoints(person: Person):
    """Their touchpoints, and the unclaimed ones of the visitor ids they were identified by (a visitor id
    can also be on another contact's touchpoints: those stay theirs)."""
    return Touchpoint.objects.filter(contact_id=person.id) | Touchpoint.objects.filter(
        anonymous_id__in=_touchpoints_identify(person), contact__isnull=True
    )


def _touchpoints_identify(person: Person) -> list[str]:
    return list(
        Touchpoint.objects.filter(contact_id=person.id)
        .exclude(anonymous_id="")
        .values_list("anonymous_id", flat=True)
        .distinct()
    )


def _touchpoints_export(person: Person) -> list[dict]:
    return rows(_touchpoints(person).order_by("occurred_at", "id"))


def _touchpoints_erase(person: Person) -> dict[str, int]:
    visitor = f"erased-{uuid.uuid4().hex}"
    changed = _touchpoints(person).update(
        contact=None, anonymous_id=visitor, url="", referrer="", utm_term="", utm_content="", external_id=""
    )
    return counts(anonymised=changed)


def _submissions_identify(person: Person) -> list[str]:
    return [
        str(ip)
        for ip in FormSubmission.objects.filter(contact_id=person.id, ip_address__isnull=False)
        .values_list("ip_address", flat=True)
        .distinct()
    ]


def _submissions(person: Person):
    """Hers, and forms filled anonymously (no contact yet) that carry her e-mail, name or phone."""
    naming = FormSubmission.objects.filter(
        contact__isnull=True, pk__in=mention_ids(FormSubmission, ["data"], person)
    )
    return FormSubmission.objects.filter(contact_id=person.id) | naming


def _submissions_export(person: Person) -> list[dict]:
    return rows(_submissions(person).order_by("created_at", "id"))


def _submissions_erase(person: Person) -> dict[str, int]:
    addresses = _submissions_identify(person)
    gone = deleted(_submissions(person))
    if addresses:
        keys = [address_bucket(FORM_THROTTLE, ip) for ip in addresses]
        person.after_commit.append(lambda: _forget_counters(keys))
    return counts(deleted=gone)


def _forget_counters(keys: list[str]) -> None:
    from django.core.cache import cache

    from config.cache import CacheUnavailable

    try:
        cache.delete_many(keys)
    except CacheUnavailable:  # the counters expire within the throttle's window anyway
        logger.warning("cache unavailable: the erased person's form counters expire by themselves")


# --- lifecycle and lists -------------------------------------------------------------------------------


def _transitions_export(person: Person) -> list[dict]:
    # Hers, and other contacts' whose reason names her (a won deal named after her moves its contacts).
    naming = mention_ids(StageTransition, ["reason"], person)
    return rows(
        StageTransition.objects.filter(Q(contact_id=person.id) | Q(pk__in=naming)).order_by("at", "id")
    )


def _transitions_erase(person: Person) -> dict[str, int]:
    gone = deleted(StageTransition.objects.filter(contact_id=person.id))
    return counts(deleted=gone, scrubbed=scrub_rows(StageTransition, ["reason"], person))


def _memberships_export(person: Person) -> list[dict]:
    return rows(
        SegmentMember.objects.filter(contact_id=person.id).order_by("segment__name", "id"),
        "segment_id", "segment__name", "added_at",
    )  # fmt: skip


def _memberships_erase(person: Person) -> dict[str, int]:
    return counts(deleted=deleted(SegmentMember.objects.filter(contact_id=person.id)))


def _segments_export(person: Person) -> list[dict]:
    found = mention_ids(Segment, ["name", "description", "definition"], person)
    return rows(Segment.objects.filter(pk__in=found), "id", "name", "definition")


def _segments_erase(person: Person) -> dict[str, int]:
    return counts(scrubbed=scrub_rows(Segment, ["name", "description", "definition"], person))


# --- imported files ------------------------------------------------------------------------------------


def _hers(cells: list[str], person: Person) -> bool:
    """A record is hers when a cell holds one of her identifiers whole, or, in a record with no e-mail
    address (a refused row), two cells are her first and last name."""
    if person.found_in(cells):
        return True
    folded = {cell.strip().casefold() for cell in cells}
    has_email = any("@" in cell for cell in folded)
    return len(person.names) == 2 and person.names <= folded and not has_email


def _records(lines: list[str], start: int, delimiter: str, width: int):
    """(first line, end line, cells) of each record from ``lines[start:]``, read strictly: a broken quote
    costs its own line only (cells None), never the rest of the file (as in ``imports.reader``)."""
    position = start
    while position < len(lines):
        reader = csv.reader(iter(lines[position:]), delimiter=delimiter, strict=True)
        consumed = 0
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error:
                cells = None
            end = reader.line_num
            if cells is None or (end - consumed > 1 and len(cells) != width):
                yield position + consumed, position + consumed + 1, None
                position += consumed + 1
                break
            yield position + consumed, position + end, cells
            consumed = end


def _split(data: bytes, person: Person) -> tuple[bytes, list[dict]] | None:
    """(the file without her records, her records) or None when the file has none of hers."""
    text, encoding = decode(data)
    lowered = text.casefold()
    if not any(i.casefold() in lowered for i in person.identifiers) and not (
        person.names and all(n in lowered for n in person.names)
    ):
        return None
    lines = list(io.StringIO(text, newline=""))
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is None:
        return None
    delimiter = sniff_delimiter(lines[first])
    header = next(csv.reader([lines[first]], delimiter=delimiter), [])
    kept, removed = lines[: first + 1], []
    for begin, end, cells in _records(lines, first + 1, delimiter, len(header)):
        span = lines[begin:end]
        if cells is None:
            hers = person.found_in(span[0]) or _hers(span[0].split(delimiter), person)
            (removed.append({"line": span[0].rstrip("\r\n")}) if hers else kept.extend(span))
        elif _hers(cells, person):
            removed.append(dict(zip(header, cells, strict=False)))
        else:
            kept.extend(span)
    if not removed:
        return None
    content = "".join(kept)
    if encoding == "utf-8":
        new = (codecs.BOM_UTF8 if data.startswith(codecs.BOM_UTF8) else b"") + content.encode("utf-8")
    else:
        new = content.encode(encoding)
    return new, removed


def _read(job: ImportJob) -> bytes | None:
    try:
        with job.file.open("rb") as handle:
            return handle.read()
    except OSError:  # gone from storage: nothing of hers left in it
        return None


def _files(person: Person):
    for job in ImportJob.objects.exclude(file="").order_by("id"):
        data = _read(job)
        found = _split(data, person) if data else None
        if found is not None:
            yield job, found


def _imports_export(person: Person) -> list[dict]:
    found = [
        {"import_id": job.pk, "file": job.original_name, "created_at": job.created_at, "rows": removed}
        for job, (_new, removed) in _files(person)
    ]
    for job in ImportJob.objects.filter(pk__in=mention_ids(ImportJob, ["errors", "message"], person)):
        errors = [entry for entry in job.errors if person.found_in(entry)]
        found.append({"import_id": job.pk, "file": job.original_name, "errors": errors})
    return found


def _imports_erase(person: Person) -> dict[str, int]:
    removed = 0
    for job, (_new, records) in _files(person):
        removed += len(records)
        person.after_commit.append(functools.partial(_rewrite, job.pk, person))
    scrubbed = scrub_rows(ImportJob, ["errors", "message", "original_name"], person)
    return counts(deleted=removed, scrubbed=scrubbed)


def _rewrite(job_id: int, person: Person) -> None:
    """After the commit: read the file again under the job's row lock (another erasure may have rewritten
    it meanwhile) and swap it for its content without her records in one step (a new file renamed over)."""
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().filter(pk=job_id).first()
        data = _read(job) if job is not None else None
        found = _split(data, person) if data else None
        if found is None:
            return
        path = default_storage.path(job.file.name)
        temporary = f"{path}.{uuid.uuid4().hex}.tmp"
        with open(temporary, "wb") as handle:
            handle.write(found[0])
        os.replace(temporary, path)


register(
    Part(
        name="contact",
        model="marketing.Contact",
        export=_contact_export,
        erase=_contact_erase,
        identify=_contact_identify,
        stage=100,
        description="The contact row and its company's name (deleted).",
    ),
    Part(
        name="touchpoints",
        model="marketing.Touchpoint",
        export=_touchpoints_export,
        erase=_touchpoints_erase,
        identify=_touchpoints_identify,
        stage=40,
        description="Visits, opens, clicks, calls (kept as anonymous visits, emptied of addresses).",
    ),
    Part(
        name="form_submissions",
        model="marketing.FormSubmission",
        export=_submissions_export,
        erase=_submissions_erase,
        identify=_submissions_identify,
        description="Forms they filled, with the answers and address (deleted; the form's counter stays).",
    ),
    Part(
        name="stage_transitions",
        model="marketing.StageTransition",
        export=_transitions_export,
        erase=_transitions_erase,
        description="Their lifecycle history (deleted).",
    ),
    Part(
        name="segment_memberships",
        model="marketing.SegmentMember",
        export=_memberships_export,
        erase=_memberships_erase,
        description="Static lists they were added to (deleted).",
    ),
    Part(
        name="segments_naming_them",
        model="marketing.Segment",
        export=_segments_export,
        erase=_segments_erase,
        description="Segment rules that name the person, e.g. an e-mail condition (scrubbed).",
    ),
    Part(
        name="imports",
        model="marketing.ImportJob",
        export=_imports_export,
        erase=_imports_erase,
        description="Their rows in imported CSV files (removed from the files) and in error reports.",
    ),
    unrelated={
        "marketing.Company": "organisations, not people (a contact's company is named in the export)",
        "marketing.Campaign": "campaigns",
        "marketing.CostLine": "campaign spend",
        "marketing.CampaignSend": "a newsletter or mailing as a whole, with its audience size",
        "marketing.ContentAsset": "content and its files",
        "marketing.LeadForm": "form definitions (the answers are in FormSubmission)",
        "marketing.ScoringRule": "scoring rules",
        "marketing.MqlRule": "MQL rules",
        "marketing.SegmentSnapshot": "a segment's size on a day",
    },
)
