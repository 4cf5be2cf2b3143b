"""Marketing's share of a contact's personal data (``accounts.personal_data``): the contact itself, their
visits and form fills, lifecycle history, list memberships, and the rows of imported CSV files.

Erasure deletes what is only about the person. Their touchpoints stay as anonymous visits (a fresh random
visitor id; the address, referrer and the UTM term and content, which can carry a person, are emptied),
so campaigns keep their counts and closed deals keep their attribution.
"""

from __future__ import annotations

import csv
import io
import logging
import os
import uuid

from django.core.files.storage import default_storage
from django.db.models import F, Q

from accounts.personal_data import (
    Part,
    Person,
    counts,
    deleted,
    mentioning,
    register,
    rows,
    scrub,
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
    """Their touchpoints, and the anonymous ones of the visitor ids they were identified by."""
    return Touchpoint.objects.filter(contact_id=person.id) | Touchpoint.objects.filter(
        anonymous_id__in=_touchpoints_identify(person)
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


def _submissions_export(person: Person) -> list[dict]:
    return rows(FormSubmission.objects.filter(contact_id=person.id).order_by("created_at", "id"))


def _submissions_erase(person: Person) -> dict[str, int]:
    addresses = _submissions_identify(person)
    gone = deleted(FormSubmission.objects.filter(contact_id=person.id))
    # Forms filled anonymously (no contact yet) that carry the person's e-mail or name.
    gone += deleted(mentioning(FormSubmission, ["data"], person).filter(contact__isnull=True))
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
    naming = mentioning(StageTransition, ["reason"], person).values("pk")
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
    return rows(
        mentioning(Segment, ["name", "description", "definition"], person), "id", "name", "definition"
    )


def _segments_erase(person: Person) -> dict[str, int]:
    return counts(scrubbed=scrub_rows(Segment, ["name", "description", "definition"], person))


# --- imported files ------------------------------------------------------------------------------------


def _named(text: str, person: Person) -> bool:
    lowered = text.lower()
    return any(identifier.lower() in lowered for identifier in person.identifiers)


def _hers(cells: list[str], person: Person) -> bool:
    """A record is hers when a cell holds one of her identifiers, or two cells are her first and last name."""
    if any(_named(cell, person) for cell in cells):
        return True
    return len(person.names) == 2 and person.names <= {cell.strip().lower() for cell in cells}


def _split(data: bytes, person: Person) -> tuple[str, list[str], list[list[str]], str] | None:
    """(encoding, the file's lines without the person's records, those records, header) or None when the
    file does not name them. A record spanning several lines goes as a whole."""
    text, encoding = decode(data)
    if not _named(text, person) and not (person.names and all(n in text.lower() for n in person.names)):
        return None
    lines = list(io.StringIO(text, newline=""))
    first = next((i for i, line in enumerate(lines) if line.strip()), 0)
    delimiter = sniff_delimiter(lines[first]) if lines else ","
    kept, removed = lines[: first + 1], []
    reader = csv.reader(lines[first + 1 :], delimiter=delimiter)
    body = lines[first + 1 :]
    consumed = 0
    try:
        for cells in reader:
            span = body[consumed : reader.line_num]
            consumed = reader.line_num
            if _hers(cells, person):
                removed.append(cells)
            else:
                kept.extend(span)
    except csv.Error:  # broken quotes: go on line by line
        for line in body[consumed:]:
            (removed.append([line]) if _named(line, person) else kept.append(line))
    header = next(csv.reader([lines[first]], delimiter=delimiter), []) if lines else []
    return encoding, kept, removed, header


def _files(person: Person):
    for job in ImportJob.objects.exclude(file="").order_by("id"):
        try:
            with job.file.open("rb") as handle:
                data = handle.read()
        except (FileNotFoundError, OSError):
            continue
        found = _split(data, person)
        if found is not None:
            yield job, found


def _imports_export(person: Person) -> list[dict]:
    found = []
    for job, (_encoding, _kept, removed, header) in _files(person):
        found.append(
            {
                "import_id": job.pk,
                "file": job.original_name,
                "created_at": job.created_at,
                "rows": [dict(zip(header, cells, strict=False)) for cells in removed],
            }
        )
    for job in mentioning(ImportJob, ["errors", "message", "original_name"], person):
        found.append({"import_id": job.pk, "file": job.original_name, "errors": scrub(job.errors, person)})
    return found


def _imports_erase(person: Person) -> dict[str, int]:
    rewritten = 0
    for job, (encoding, kept, removed, _header) in _files(person):
        content = "".join(kept).encode("utf-8" if encoding == "utf-8" else encoding)
        rewritten += len(removed)
        person.after_commit.append(lambda name=job.file.name, content=content: _replace(name, content))
    scrubbed = scrub_rows(ImportJob, ["errors", "message", "original_name"], person)
    return counts(deleted=rewritten, scrubbed=scrubbed)


def _replace(name: str, content: bytes) -> None:
    """Swap the file for its new content in one step (a new file renamed over it)."""
    path = default_storage.path(name)
    temporary = f"{path}.{uuid.uuid4().hex}.tmp"
    with open(temporary, "wb") as handle:
        handle.write(content)
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
