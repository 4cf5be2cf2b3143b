"""The lead queue: MQLs handed over by marketing, assigned to reps, accepted or rejected."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q

from accounts import webhooks
from accounts.models import Role, User
from config.validation import is_id
from marketing.models import Contact, LifecycleStage
from marketing.services.contacts import contact_change_stage, contact_event_data

from ..models import LeadDecision, RejectionReason, Team
from .deals import _get, deal_create


def _locked_mql(contact: Contact) -> Contact:
    locked = Contact.objects.select_for_update().get(pk=contact.pk)
    if locked.lifecycle_stage != LifecycleStage.MQL or locked.mql_at is None:
        raise ValidationError({"contact": ["This contact is not waiting in the lead queue."]})
    return locked


@transaction.atomic
def lead_assign(*, contact: Contact, rep: User | int | str | None = None, team: Team | None = None) -> User:
    """Give an MQL to a rep: the one named, or the next member of ``team`` in turn (round robin)."""
    locked = _locked_mql(contact)
    if rep is not None:
        user = _get(reps(), rep, "rep", {})
        if user is None:
            raise ValidationError({"rep": ["Choose an active sales rep."]})
    elif team is not None:
        team = Team.objects.select_for_update().get(pk=team.pk)
        members = list(team.members.filter(is_active=True).order_by("id"))
        if not members:
            raise ValidationError({"team": ["This team has no active members."]})
        after = [m for m in members if team.last_assigned_id is not None and m.pk > team.last_assigned_id]
        user = after[0] if after else members[0]
        team.last_assigned = user
        team.save(update_fields=["last_assigned"])
    else:
        raise ValidationError({"rep": ["Choose a rep or a team."]})
    locked.owner = user
    locked.save(update_fields=["owner", "updated_at"])
    contact.owner = user
    return user


@transaction.atomic
def lead_accept(*, contact: Contact, actor=None, open_deal: bool = False, deal_data: dict | None = None):
    """Accept an MQL: the contact becomes SQL (recorded once) and, if asked, a deal is opened."""
    locked = _locked_mql(contact)
    try:
        with transaction.atomic():
            decision = LeadDecision.objects.create(
                contact=locked,
                mql_at=locked.mql_at,
                decision=LeadDecision.Decision.ACCEPTED,
                decided_by=actor,
                campaign_id=locked.first_touch_campaign_id,
            )
    except IntegrityError as exc:
        raise ValidationError({"contact": ["This MQL has already been decided."]}) from exc
    contact_change_stage(contact=locked, to_stage=LifecycleStage.SQL, actor=actor, rule="lead-accepted")
    if locked.owner_id is None and actor is not None:
        Contact.objects.filter(pk=locked.pk).update(owner=actor)
    deal = None
    if open_deal:
        data = {
            "name": f"{locked.company.name if locked.company else locked.full_name or locked.email}",
            **(deal_data or {}),
        }
        deal = deal_create(data=data, actor=actor, lead=locked)
        contact_change_stage(
            contact=locked, to_stage=LifecycleStage.OPPORTUNITY, actor=actor, rule="deal-opened"
        )
    contact.refresh_from_db()
    webhooks.emit("lead.accepted", _decision_data(decision, contact, deal=deal))
    return decision, deal


def _decision_data(decision: LeadDecision, contact: Contact, *, deal=None) -> dict:
    return {
        "contact": contact_event_data(contact),
        "decision": {
            "id": decision.pk,
            "decision": decision.decision,
            "mql_at": decision.mql_at,
            "decided_at": decision.decided_at,
            "decided_by": decision.decided_by_id,
            "reason": decision.reason.name if decision.reason_id else "",
            "note": decision.note,
        },
        "deal": deal.pk if deal is not None else None,
    }


@transaction.atomic
def lead_reject(
    *, contact: Contact, reason: RejectionReason | int, note: str = "", actor=None
) -> LeadDecision:
    """Send an MQL back to marketing for nurture, with a reason marketing sees on the contact and campaign."""
    errors: dict[str, list[str]] = {}
    chosen = (
        reason
        if isinstance(reason, RejectionReason)
        else RejectionReason.objects.filter(
            pk=reason if isinstance(reason, int) or is_id(str(reason)) else 0, is_active=True
        ).first()
    )
    if chosen is None:
        errors["reason"] = ["Choose a rejection reason from the list."]
    if not isinstance(note, str) or "\x00" in note or len(note) > 5000:
        errors["note"] = ["Use at most 5000 characters, without NUL characters."]
    if errors:
        raise ValidationError(errors)
    locked = _locked_mql(contact)
    try:
        with transaction.atomic():
            decision = LeadDecision.objects.create(
                contact=locked,
                mql_at=locked.mql_at,
                decision=LeadDecision.Decision.REJECTED,
                reason=chosen,
                note=note.strip(),
                decided_by=actor,
                campaign_id=locked.first_touch_campaign_id,
            )
    except IntegrityError as exc:
        raise ValidationError({"contact": ["This MQL has already been decided."]}) from exc
    contact_change_stage(
        contact=locked,
        to_stage=LifecycleStage.LEAD,
        actor=actor,
        rule="lead-rejected",
        reason=f"{chosen.name}: {note.strip()}" if note.strip() else chosen.name,
    )
    contact.refresh_from_db()
    webhooks.emit("lead.rejected", _decision_data(decision, contact))
    return decision


def lead_queue():
    """MQLs waiting for sales, oldest first."""
    return (
        Contact.objects.filter(lifecycle_stage=LifecycleStage.MQL, mql_at__isnull=False)
        .select_related("company", "owner", "first_touch_campaign")
        .order_by("mql_at", "id")
    )


def reps():
    return User.objects.filter(
        Q(roles__contains=[Role.SALES]) | Q(roles__contains=[Role.ADMIN]), is_active=True
    )
