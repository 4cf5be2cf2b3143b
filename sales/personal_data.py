"""Sales' share of a contact's personal data (``accounts.personal_data``): the deals they are linked to,
activities with them, and sales' decisions on them as a lead.

Deals are the company's business records and stay: the person is unlinked (as lead and as deal contact)
and their identifiers are scrubbed from the deal's text. An activity on a deal stays unlinked and
scrubbed; an activity with the person alone is deleted, like the lead decisions about them.
"""

from __future__ import annotations

from django.db.models import F, Q

from accounts.personal_data import Part, Person, counts, deleted, mention_ids, register, rows, scrub_rows

from .models import Activity, Deal, DealContact, LeadDecision

DEAL_TEXT = ["name", "loss_note"]
ACTIVITY_TEXT = ["subject", "notes", "outcome"]


def _deals_export(person: Person) -> list[dict]:
    linked = Q(lead_id=person.id) | Q(deal_contacts__contact_id=person.id)
    return rows(
        Deal.objects.filter(linked).distinct().order_by("id"),
        "id", "name", "company__name", "amount", "stage__name", "status", "lead_id", "created_at",
        "closed_at",
    )  # fmt: skip


def _deals_erase(person: Person) -> dict[str, int]:
    unlinked = Deal.objects.filter(lead_id=person.id).update(lead=None, version=F("version") + 1)
    return counts(anonymised=unlinked, scrubbed=scrub_rows(Deal, DEAL_TEXT, person))


def _deal_links_export(person: Person) -> list[dict]:
    return rows(DealContact.objects.filter(contact_id=person.id).order_by("id"))


def _deal_links_erase(person: Person) -> dict[str, int]:
    return counts(deleted=deleted(DealContact.objects.filter(contact_id=person.id)))


def _activities_export(person: Person) -> list[dict]:
    found = mention_ids(Activity, ACTIVITY_TEXT, person)
    return rows(Activity.objects.filter(Q(contact_id=person.id) | Q(pk__in=found)).order_by("id"))


def _activities_erase(person: Person) -> dict[str, int]:
    gone = deleted(Activity.objects.filter(contact_id=person.id, deal__isnull=True))
    unlinked = Activity.objects.filter(contact_id=person.id).update(contact=None)
    return counts(deleted=gone, anonymised=unlinked, scrubbed=scrub_rows(Activity, ACTIVITY_TEXT, person))


def _decisions_export(person: Person) -> list[dict]:
    return rows(LeadDecision.objects.filter(contact_id=person.id).order_by("decided_at", "id"))


def _decisions_erase(person: Person) -> dict[str, int]:
    return counts(deleted=deleted(LeadDecision.objects.filter(contact_id=person.id)))


register(
    Part(
        name="deals",
        model="sales.Deal",
        export=_deals_export,
        erase=_deals_erase,
        description="Deals they are the lead or a contact of (kept, unlinked, text scrubbed).",
    ),
    Part(
        name="deal_contacts",
        model="sales.DealContact",
        export=_deal_links_export,
        erase=_deal_links_erase,
        description="Their place on deals' buying committees (deleted).",
    ),
    Part(
        name="activities",
        model="sales.Activity",
        export=_activities_export,
        erase=_activities_erase,
        description="Calls, meetings, e-mails and tasks with them (on a deal: kept, unlinked; else deleted).",
    ),
    Part(
        name="lead_decisions",
        model="sales.LeadDecision",
        export=_decisions_export,
        erase=_decisions_erase,
        description="Sales' accept or reject decisions on them as a lead (deleted).",
    ),
    unrelated={
        "sales.CustomerAccount": "a customer company's account",
        "sales.Subscription": "a customer account's subscription",
        "sales.SubscriptionEvent": "a subscription's changes",
        "sales.LossReason": "the list of loss reasons",
        "sales.DealStageChange": "a deal's stage history (no person but the workspace user)",
        "sales.SalesSettings": "settings",
        "sales.Team": "sales teams of workspace users",
        "sales.RejectionReason": "the list of rejection reasons",
        "sales.Pipeline": "pipelines",
        "sales.Stage": "pipeline stages",
        "sales.Quota": "quotas of workspace users and teams",
    },
)
