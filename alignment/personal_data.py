"""Alignment's share of a contact's personal data (``accounts.personal_data``): the SLA clocks of their
hand-over to sales, objections logged against them, the revenue credited to their visits, and notes and
notifications that name them.

SLA clocks are about the person and are deleted. An objection logged on a deal stays, unlinked from the
person and scrubbed (the objection's count is marketing's feedback); one logged on the person alone is
deleted. Attribution credits stay as they are until the next metric run: the unlinking marks the deals
dirty, and their credits are rebuilt from the contacts that remain on them.
"""

from __future__ import annotations

from django.db.models import Q

from accounts.personal_data import Part, Person, counts, deleted, mention_ids, register, rows, scrub_rows

from .models import AttributionCredit, Notification, ObjectionComment, ObjectionLog, SlaClock


def _clocks_export(person: Person) -> list[dict]:
    return rows(SlaClock.objects.filter(contact_id=person.id).order_by("mql_at", "id"))


def _clocks_erase(person: Person) -> dict[str, int]:
    return counts(deleted=deleted(SlaClock.objects.filter(contact_id=person.id)))


def _logs_export(person: Person) -> list[dict]:
    found = mention_ids(ObjectionLog, ["note"], person)
    return rows(
        ObjectionLog.objects.filter(Q(contact_id=person.id) | Q(pk__in=found)).order_by("logged_at", "id"),
        "id", "objection__name", "deal_id", "contact_id", "stage", "note", "logged_at",
    )  # fmt: skip


def _logs_erase(person: Person) -> dict[str, int]:
    gone = deleted(ObjectionLog.objects.filter(contact_id=person.id, deal__isnull=True))
    unlinked = ObjectionLog.objects.filter(contact_id=person.id).update(contact=None)
    return counts(deleted=gone, anonymised=unlinked, scrubbed=scrub_rows(ObjectionLog, ["note"], person))


def _credits_export(person: Person) -> list[dict]:
    return rows(
        AttributionCredit.objects.filter(touchpoint__contact_id=person.id).order_by("deal_id", "model", "id"),
        "deal_id", "touchpoint_id", "model", "weight", "credit", "campaign_id", "channel",
    )  # fmt: skip


def _credits_erase(person: Person) -> dict[str, int]:
    return counts()  # rebuilt by the next metric run (the deal is marked dirty by the unlinking)


def _comments_export(person: Person) -> list[dict]:
    found = mention_ids(ObjectionComment, ["body"], person)
    return rows(ObjectionComment.objects.filter(pk__in=found).order_by("id"), "id", "objection_id", "body")


def _comments_erase(person: Person) -> dict[str, int]:
    return counts(scrubbed=scrub_rows(ObjectionComment, ["body"], person))


def _notifications_export(person: Person) -> list[dict]:
    found = mention_ids(Notification, ["title", "body"], person)
    return rows(Notification.objects.filter(pk__in=found).order_by("id"), "id", "title", "created_at")


def _notifications_erase(person: Person) -> dict[str, int]:
    return counts(scrubbed=scrub_rows(Notification, ["title", "body"], person))


register(
    Part(
        name="sla_clocks",
        model="alignment.SlaClock",
        export=_clocks_export,
        erase=_clocks_erase,
        description="The SLA clocks of their hand-over from marketing to sales (deleted).",
    ),
    Part(
        name="objection_logs",
        model="alignment.ObjectionLog",
        export=_logs_export,
        erase=_logs_erase,
        description="Objections logged against them (on a deal: kept, unlinked, scrubbed; else deleted).",
    ),
    Part(
        name="attribution_credits",
        model="alignment.AttributionCredit",
        export=_credits_export,
        erase=_credits_erase,
        stage=30,
        description="Revenue credited to their visits (rebuilt without them by the next metric run).",
    ),
    Part(
        name="objection_comments",
        model="alignment.ObjectionComment",
        export=_comments_export,
        erase=_comments_erase,
        description="Comments on objections that name them (scrubbed).",
    ),
    Part(
        name="notifications",
        model="alignment.Notification",
        export=_notifications_export,
        erase=_notifications_erase,
        description="Workspace users' notifications that name them (scrubbed).",
    ),
    unrelated={
        "alignment.DefinitionVersion": "metric definitions",
        "alignment.MetricValue": "aggregate figures per period",
        "alignment.DirtyDay": "days waiting for a metric recompute",
        "alignment.DirtyDeal": "deals waiting for an attribution recompute",
        "alignment.EngineRun": "metric engine runs",
        "alignment.RecomputeRequest": "recompute requests",
        "alignment.ReportSchedule": "scheduled reports",
        "alignment.Goal": "shared goals",
        "alignment.BusinessCalendar": "business hours and holidays",
        "alignment.SlaPolicy": "SLA policies",
        "alignment.Objection": "the objection library",
        "alignment.ObjectionAnswer": "content that answers an objection",
        "alignment.AlignmentSettings": "settings",
        "alignment.PageVisit": "workspace users' page views",
    },
)
