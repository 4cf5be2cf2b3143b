"""The two-sided SLA: the workspace's business calendar, its policies, and the sales side's clocks.

Every MQL entry (a stage transition to MQL) gets a clock under the most specific active policy: the
policy of a segment the contact is in, else of a team its owner is in, else the workspace's. The clock keeps
the hours that policy allowed when it started. ``sla_check`` (every minute, per workspace, with ``now``
given so tests can freeze the clock) then, each step one set-based statement:

1. opens clocks for new MQL entries and follows the contact's owner while the clock runs;
2. records the first touch (the first sales activity done on the contact since the MQL, or the decision
   if that came first) and the decision (accepted or rejected in the lead queue);
3. warns the owner once when a clock has used ``at_risk_share`` of its business hours;
4. records a breach once when a clock ran over (a touch or decision that came late counts too), notifies
   the owner and escalates to the team lead (leadership when the owner's team has no lead), and, when the
   policy says so, deals the MQL to the next member of the owner's team;
5. escalates to leadership once a breach stays open ``escalate_after_hours`` business hours.

Business hours are counted by ``alignment_business_hours_in`` (``alignment.business_time``) on the
calendar, inside the database.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from accounts import webhooks
from accounts.models import User
from accounts.roles import Role

from .business_time import HOURS_SQL, Calendar
from .models import BusinessCalendar, Notification, SlaClock, SlaPolicy
from .notices import send as send_notices
from .schedules import can_manage  # leadership and admins set the calendar and the policies too

logger = logging.getLogger(__name__)

HORIZON = dt.timedelta(days=60)  # clocks are opened and watched for MQL entries this recent


# --- The calendar ----------------------------------------------------------------------------------------


def calendar_row() -> BusinessCalendar:
    row, _ = BusinessCalendar.objects.get_or_create(pk=1, defaults={"working_days": [1, 2, 3, 4, 5]})
    return row


def calendar() -> Calendar:
    row = calendar_row()
    return Calendar(
        time_zone=row.time_zone,
        working_days=tuple(row.working_days) or (1, 2, 3, 4, 5),
        day_start=row.day_start,
        day_end=row.day_end,
        holidays=frozenset(row.holidays),
    )


@transaction.atomic
def calendar_update(*, data: dict, actor: User | None = None) -> BusinessCalendar:
    """Change the calendar; every field is checked together and a bad one named (``Calendar.clean``).
    Running clocks count on the new calendar from their next check."""
    from django.core.exceptions import PermissionDenied

    if actor is not None and not can_manage(actor):
        raise PermissionDenied("Only leadership and admins set the business calendar.")
    row = BusinessCalendar.objects.select_for_update().get(pk=calendar_row().pk)
    fields = ("time_zone", "working_days", "day_start", "day_end", "holidays")
    values = {name: data.get(name, getattr(row, name)) for name in fields}
    try:
        checked = Calendar(
            time_zone=values["time_zone"],
            working_days=tuple(values["working_days"] or ()),
            day_start=values["day_start"],
            day_end=values["day_end"],
            holidays=frozenset(values["holidays"] or ()),
        )
    except TypeError as exc:
        raise ValidationError({"working_days": ["Give ISO weekday numbers, Monday = 1."]}) from exc
    row.time_zone, row.day_start, row.day_end = checked.time_zone, checked.day_start, checked.day_end
    row.working_days, row.holidays = list(checked.working_days), sorted(checked.holidays)
    row.updated_at = timezone.now()
    row.save()
    # speed to lead counts business hours on the calendar: every period is computed again
    from .services import _queue_full_recompute

    _queue_full_recompute()
    return row


# --- The clocks ------------------------------------------------------------------------------------------


def _hours(a: str, b: str) -> str:
    return HOURS_SQL.format(a=a, b=b)


# New MQL entries get a clock under the most specific active policy: a segment the contact is in (the
# run's membership table), a team its owner is in, the workspace's.
OPEN = """
INSERT INTO alignment_slaclock
    (contact_id, mql_at, policy_id, owner_id, first_touch_hours, decision_hours, at_risk_share,
     escalate_after_hours, escalation_level, created_at)
SELECT t.contact_id, t.at, p.id, c.owner_id, p.first_touch_hours, p.decision_hours, p.at_risk_share,
       p.escalate_after_hours, 0, %(now)s
FROM marketing_stagetransition t
JOIN marketing_contact c ON c.id = t.contact_id
CROSS JOIN LATERAL (
    SELECT p.* FROM alignment_slapolicy p
    WHERE p.is_active AND (
        (p.segment_id IS NULL AND p.team_id IS NULL)
        OR p.segment_id IN (SELECT s.segment_id FROM _sla_segments s WHERE s.contact_id = t.contact_id)
        OR p.team_id IN (SELECT m.team_id FROM sales_team_members m WHERE m.user_id = c.owner_id)
    )
    ORDER BY (p.segment_id IS NOT NULL) DESC, (p.team_id IS NOT NULL) DESC, p.id
    LIMIT 1
) p
WHERE t.to_stage = 'mql' AND t.at >= %(since)s AND t.at <= %(now)s
  AND NOT EXISTS (SELECT 1 FROM alignment_slaclock k WHERE k.contact_id = t.contact_id AND k.mql_at = t.at)
ON CONFLICT (contact_id, mql_at) DO NOTHING
"""

NEW_CONTACTS = """
INSERT INTO _sla_new (contact_id)
SELECT DISTINCT t.contact_id FROM marketing_stagetransition t
WHERE t.to_stage = 'mql' AND t.at >= %(since)s AND t.at <= %(now)s
  AND NOT EXISTS (SELECT 1 FROM alignment_slaclock k WHERE k.contact_id = t.contact_id AND k.mql_at = t.at)
"""

# The facts of running clocks: the owner (while undecided), the first touch, the decision.
FACTS = """
UPDATE alignment_slaclock k
SET owner_id = CASE WHEN k.decided_at IS NULL THEN f.owner_id ELSE k.owner_id END,
    decided_at = COALESCE(k.decided_at, f.decided_at),
    first_touch_at = COALESCE(k.first_touch_at, LEAST(f.done_at, f.decided_at))
FROM (
    SELECT k2.id, c.owner_id, d.decided_at,
           (SELECT min(a.done_at) FROM sales_activity a
            WHERE a.contact_id = k2.contact_id AND a.done_at >= k2.mql_at AND a.done_at <= %(now)s) AS done_at
    FROM alignment_slaclock k2
    JOIN marketing_contact c ON c.id = k2.contact_id
    LEFT JOIN sales_leaddecision d ON d.contact_id = k2.contact_id AND d.mql_at = k2.mql_at
         AND d.decided_at <= %(now)s
    WHERE k2.mql_at >= %(since)s AND (k2.first_touch_at IS NULL OR k2.decided_at IS NULL)
) f
WHERE k.id = f.id
  AND (k.owner_id IS DISTINCT FROM f.owner_id AND k.decided_at IS NULL
       OR k.decided_at IS NULL AND f.decided_at IS NOT NULL
       OR k.first_touch_at IS NULL AND LEAST(f.done_at, f.decided_at) IS NOT NULL)
"""

# One statement per side and step; each sets its mark only where it is unset, so a rerun (or a second
# worker) finds nothing to do and nobody is told twice.
WARN = """
UPDATE alignment_slaclock k SET {side}_warned_at = %(now)s
WHERE k.mql_at >= %(since)s AND k.{side}_warned_at IS NULL AND k.{side}_breached_at IS NULL
  AND k.{done} IS NULL
  AND {used} >= k.{side}_hours * k.at_risk_share AND {used} <= k.{side}_hours
RETURNING k.id
"""
BREACH = """
UPDATE alignment_slaclock k SET {side}_breached_at = %(now)s,
    escalation_level = GREATEST(k.escalation_level, 1), escalated_at = COALESCE(k.escalated_at, %(now)s)
WHERE k.mql_at >= %(since)s AND k.{side}_breached_at IS NULL
  AND {late} > k.{side}_hours
RETURNING k.id
"""
ESCALATE = """
UPDATE alignment_slaclock k SET escalation_level = 2, escalated_at = %(now)s
WHERE k.mql_at >= %(since)s AND k.escalation_level = 1
  AND (k.first_touch_breached_at IS NOT NULL AND k.first_touch_at IS NULL
       OR k.decision_breached_at IS NOT NULL AND k.decided_at IS NULL)
  AND {open_for} >= k.escalate_after_hours
RETURNING k.id
"""

SIDES = {"first_touch": "first_touch_at", "decision": "decided_at"}


def _statements() -> dict[str, str]:
    statements = {}
    for side, done in SIDES.items():
        used = _hours("k.mql_at", "%(now)s")
        statements[f"warn {side}"] = WARN.format(side=side, done=done, used=used)
        late = _hours("k.mql_at", f"COALESCE(k.{done}, %(now)s)")
        statements[f"breach {side}"] = BREACH.format(side=side, late=late)
    # the team lead was told at the breach; leadership follows the policy's hours later
    statements["escalate"] = ESCALATE.format(open_for=_hours("k.escalated_at", "%(now)s"))
    return statements


STATEMENTS = _statements()


@dataclass
class CheckResult:
    opened: int = 0
    warned: list[int] = field(default_factory=list)  # clock ids
    breached: list[int] = field(default_factory=list)
    escalated: list[int] = field(default_factory=list)
    reassigned: int = 0


def sla_check(*, now: dt.datetime | None = None, notify: bool = True) -> CheckResult:
    """One pass over the workspace's clocks at ``now`` (see the module docstring). ``notify=False`` records
    the marks without telling anyone or reassigning (a replay of history, as the demo's)."""
    from .engine import fill_segments

    now = now or timezone.now()
    params = {"now": now, "since": now - HORIZON, **calendar().sql_params()}
    result = CheckResult()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE IF NOT EXISTS _sla_new (contact_id bigint) ON COMMIT DROP;"
            "CREATE TEMP TABLE IF NOT EXISTS _sla_segments (segment_id bigint, contact_id bigint)"
            " ON COMMIT DROP; TRUNCATE _sla_new"
        )
        cursor.execute(NEW_CONTACTS, params)
        if cursor.rowcount:
            fill_segments(cursor, "_sla_segments", active="_sla_new")
        else:
            cursor.execute("TRUNCATE _sla_segments")
        cursor.execute(OPEN, params)
        result.opened = cursor.rowcount
        cursor.execute(FACTS, params)
        warned, breached = [], []
        for side in SIDES:
            cursor.execute(STATEMENTS[f"warn {side}"], params)
            warned += [(row[0], side) for row in cursor.fetchall()]
            cursor.execute(STATEMENTS[f"breach {side}"], params)
            breached += [(row[0], side) for row in cursor.fetchall()]
        cursor.execute(STATEMENTS["escalate"], params)
        escalated = [row[0] for row in cursor.fetchall()]
        result.warned = [pk for pk, _ in warned]
        result.breached = [pk for pk, _ in breached]
        result.escalated = escalated
        if notify:
            result.reassigned = _notify(warned, breached, escalated)
            _breach_events(breached)
    return result


def _notify(warned: list, breached: list, escalated: list[int]) -> int:
    """The notices of one check, and the reassignments its breaches ask for; returns how many MQLs were
    dealt to someone else."""
    ids = {pk for pk, _ in warned} | {pk for pk, _ in breached} | set(escalated)
    if not ids:
        return 0
    clocks = {
        k.pk: k for k in SlaClock.objects.filter(pk__in=ids).select_related("contact", "owner", "policy")
    }
    notices: list[Notification] = []
    leadership = list(User.objects.filter(is_active=True, roles__contains=[Role.LEADERSHIP]))
    link = "/alignment/sla/"
    for pk, side in warned:
        clock = clocks[pk]
        if clock.owner is not None:
            notices.append(
                _notice(clock.owner, "sla_at_risk", f"SLA at risk: {_what(clock, side)}", clock, link)
            )
    reassigned = 0
    leads_of = _team_leads({clocks[pk].owner_id for pk, _ in breached if clocks[pk].owner_id})
    for pk, side in breached:
        clock = clocks[pk]
        title = f"SLA breached: {_what(clock, side)}"
        leads = leads_of.get(clock.owner_id, [])
        for user in [clock.owner, *leads] if clock.owner else []:
            notices.append(_notice(user, "sla_breached", title, clock, link))
        if not leads:
            notices += [_notice(user, "sla_breached", title, clock, link) for user in leadership]
        if clock.policy is not None and clock.policy.reassign_on_breach and _reassign(clock):
            reassigned += 1
    for pk in escalated:
        clock = clocks[pk]
        title = f"SLA breach still open: {clock.contact}"
        notices += [_notice(user, "sla_escalated", title, clock, link) for user in leadership]
    send_notices(notices)
    return reassigned


def _breach_events(breached: list) -> None:
    """One ``sla.breached`` webhook per breach of this check (a step of a clock)."""
    if not breached or not webhooks.subscribed("sla.breached"):
        return
    clocks = {k.pk: k for k in SlaClock.objects.filter(pk__in={pk for pk, _ in breached})}
    events = [
        {
            "clock": {
                "id": pk, "contact": clocks[pk].contact_id, "owner": clocks[pk].owner_id,
                "mql_at": clocks[pk].mql_at, "policy": clocks[pk].policy_id,
            },
            "step": side,
            "hours_allowed": getattr(clocks[pk], f"{side}_hours"),
        }
        for pk, side in breached
    ]  # fmt: skip
    webhooks.emit_all({"sla.breached": events})


def _what(clock: SlaClock, side: str) -> str:
    if side == "first_touch":
        return f"first touch of MQL {clock.contact} within {clock.first_touch_hours:g} business hours"
    return f"accept or reject MQL {clock.contact} within {clock.decision_hours:g} business hours"


def _notice(user: User, kind: str, title: str, clock: SlaClock, link: str) -> Notification:
    body = f"MQL since {clock.mql_at:%Y-%m-%d %H:%M} UTC."
    return Notification(user=user, kind=kind, title=title[:200], body=body, link=link)


def _team_leads(owners: set[int]) -> dict[int, list[User]]:
    """The active leads of each owner's teams (not the owner), in one query."""
    from sales.models import Team

    leads: dict[int, list[User]] = {}
    rows = (
        Team.members.through.objects.filter(user_id__in=owners, team__lead__is_active=True)
        .select_related("team__lead")
        .order_by("team_id")
    )
    for row in rows:
        if row.team.lead_id != row.user_id:
            leads.setdefault(row.user_id, []).append(row.team.lead)
    return leads


def _reassign(clock: SlaClock) -> bool:
    """Deal the breached MQL to the next member of its owner's first team (round robin)."""
    from marketing.models import LifecycleStage
    from sales.models import Team
    from sales.services.leads import lead_assign

    contact = clock.contact
    if clock.owner is None or contact.lifecycle_stage != LifecycleStage.MQL:
        return False
    team = Team.objects.filter(members=clock.owner).order_by("name", "id").first()
    if team is None or team.members.filter(is_active=True).count() < 2:
        return False
    try:
        with transaction.atomic():
            user = lead_assign(contact=contact, team=team)
    except ValidationError:
        logger.info("SLA breach of clock %s: no one to reassign it to.", clock.pk)
        return False
    return user.pk != clock.owner_id


def open_breaches() -> QuerySet[SlaClock]:
    """Clocks breached on a side whose step is still not done."""
    return SlaClock.objects.filter(
        Q(first_touch_at__isnull=True, first_touch_breached_at__isnull=False)
        | Q(decided_at__isnull=True, decision_breached_at__isnull=False)
    )


# --- Policies --------------------------------------------------------------------------------------------

POLICY_FIELDS = (
    "name", "segment", "team", "first_touch_hours", "decision_hours", "at_risk_share", "escalate_after_hours",
    "reassign_on_breach", "mql_commitment", "commitment_period", "min_acceptance_rate",
)  # fmt: skip


def _policy_errors(policy: SlaPolicy) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if not (policy.name or "").strip():
        errors["name"] = ["Give the policy a name."]
    for name in ("first_touch_hours", "decision_hours", "escalate_after_hours"):
        value = getattr(policy, name)
        if value is None or not Decimal(0) < Decimal(value) <= Decimal(1000):
            errors[name] = ["Give business hours above 0 and at most 1000."]
    share = policy.at_risk_share
    if share is None or not Decimal(0) < Decimal(share) <= Decimal(1):
        errors["at_risk_share"] = ["Give a share above 0 and at most 1 (0.75 = at risk at three quarters)."]
    rate = policy.min_acceptance_rate
    if rate is not None and not Decimal(0) <= Decimal(rate) <= Decimal(1):
        errors["min_acceptance_rate"] = ["Give a rate from 0 to 1 (0.6 = 60%)."]
    if policy.segment_id and policy.team_id:
        errors["team"] = ["A policy is for the workspace, one segment or one team, not both."]
    clash = SlaPolicy.objects.filter(is_active=True).exclude(pk=policy.pk)
    if policy.is_active:
        if policy.segment_id and clash.filter(segment_id=policy.segment_id).exists():
            errors["segment"] = ["This segment has a policy already."]
        elif policy.team_id and clash.filter(team_id=policy.team_id).exists():
            errors["team"] = ["This team has a policy already."]
        elif not policy.segment_id and not policy.team_id and clash.filter(segment=None, team=None).exists():
            errors["segment"] = ["The workspace has a policy already: choose a segment or a team."]
    return errors


@transaction.atomic
def policy_save(*, actor: User | None, data: dict, policy: SlaPolicy | None = None) -> SlaPolicy:
    """Create or change a policy; every bad field is named. New clocks take it; running ones keep theirs."""
    from django.core.exceptions import PermissionDenied

    if actor is not None and not can_manage(actor):
        raise PermissionDenied("Only leadership and admins set SLA policies.")
    policy = policy or SlaPolicy()
    for name in POLICY_FIELDS:
        if name in data:
            value = data[name]
            if name in ("segment", "team"):
                setattr(policy, f"{name}_id", getattr(value, "pk", value) or None)
            else:
                setattr(policy, name, value)
    errors = _policy_errors(policy)
    if errors:
        raise ValidationError(errors)
    policy.save()
    _workspace_policy_changed(policy)
    return policy


def _workspace_policy_changed(policy: SlaPolicy) -> None:
    """The marketing side of the SLA is judged on the workspace policy in every period: a change to it is
    followed by a full recompute (as a calendar change)."""
    if policy.segment_id is None and policy.team_id is None:
        from .services import _queue_full_recompute

        _queue_full_recompute()


@transaction.atomic
def policy_deactivate(*, actor: User | None, policy: SlaPolicy) -> None:
    from django.core.exceptions import PermissionDenied

    if actor is not None and not can_manage(actor):
        raise PermissionDenied("Only leadership and admins set SLA policies.")
    policy.is_active = False
    policy.save(update_fields=["is_active"])
    _workspace_policy_changed(policy)
