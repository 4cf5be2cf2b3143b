"""The objection loop: the workspace's objection taxonomy, sales logging objections on deals and leads,
marketing linking content that answers them, a thread per objection, and the gap report that turns them
into marketing's prioritised content backlog.

The gap report, for a window (the last twelve months by default), per active objection:

- frequency: how often it was logged in the window (deals and leads);
- win rate with it: deals closed in the window on which it was logged, won / closed; without it: the other
  deals closed in the window; impact = without - with (how many points of win rate it costs);
- priority = frequency x impact (no data when either win rate has no closed deal);
- coverage: the content assets linked as answers; usage: sales activities that used one of them on a deal
  where the objection was logged.

The backlog is the uncovered objections, by priority (then frequency): linking an answer takes an objection
off it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from accounts import webhooks
from accounts.models import User

from .models import Objection, ObjectionAnswer, ObjectionCategory, ObjectionComment, ObjectionLog
from .notices import send as send_notices

MAX_NOTE = 5000
WINDOW = dt.timedelta(days=365)


def _text(value, field: str, errors: dict, *, limit: int, required: bool = False) -> str:
    text = "" if value is None else str(value).strip()
    if required and not text:
        errors[field] = ["This field is required."]
    elif len(text) > limit or "\x00" in text:
        errors[field] = [f"Use at most {limit} characters, without NUL characters."]
    return text


# --- The taxonomy ----------------------------------------------------------------------------------------


@transaction.atomic
def objection_save(*, actor: User | None, data: dict, objection: Objection | None = None) -> Objection:
    """Create or change a taxonomy entry; a name already used (in any case) is refused, naming the field."""
    objection = objection or Objection(created_by=actor)
    errors: dict[str, list[str]] = {}
    if "name" in data or objection.pk is None:
        objection.name = _text(data.get("name"), "name", errors, limit=150, required=True)
    if "category" in data or objection.pk is None:
        category = data.get("category")
        if category not in ObjectionCategory.values:
            errors["category"] = [f"Choose one of: {', '.join(ObjectionCategory.values)}."]
        else:
            objection.category = category
    if "description" in data:
        objection.description = _text(data.get("description"), "description", errors, limit=MAX_NOTE)
    if "is_active" in data:
        objection.is_active = bool(data["is_active"])
    if not errors and Objection.objects.filter(name__iexact=objection.name).exclude(pk=objection.pk).exists():
        errors["name"] = ["The taxonomy has an objection with this name already."]
    if errors:
        raise ValidationError(errors)
    objection.save()
    return objection


# --- Logging, answers and the thread ---------------------------------------------------------------------


def _stage_of(deal, contact) -> str:
    if deal is not None:
        return deal.stage.name if deal.stage_id else ""
    return contact.get_lifecycle_stage_display() if contact is not None else ""


@transaction.atomic
def objection_log(
    *,
    actor: User | None,
    objection: Objection,
    deal=None,
    contact=None,
    stage: str | None = None,
    note: str = "",
) -> ObjectionLog:
    """Sales heard ``objection`` on a deal or a lead; the stage defaults to where the deal or lead is now."""
    errors: dict[str, list[str]] = {}
    if not objection.is_active:
        errors["objection"] = ["This objection is no longer in the taxonomy."]
    if deal is None and contact is None:
        errors["deal"] = ["Log an objection on a deal or a lead."]
    note = _text(note, "note", errors, limit=MAX_NOTE)
    stage = _text(stage, "stage", errors, limit=100) if stage else _stage_of(deal, contact)
    if errors:
        raise ValidationError(errors)
    if deal is not None and contact is None:
        contact = deal.lead
    log = ObjectionLog.objects.create(
        objection=objection, deal=deal, contact=contact, stage=stage, note=note, logged_by=actor
    )
    webhooks.emit(
        "objection.logged",
        {
            "log": {"id": log.pk, "stage": log.stage, "note": log.note, "logged_at": log.logged_at,
                    "logged_by": log.logged_by_id, "deal": log.deal_id, "contact": log.contact_id},
            "objection": {"id": objection.pk, "name": objection.name, "category": objection.category},
        },
    )  # fmt: skip
    return log


@transaction.atomic
def answer_add(*, actor: User | None, objection: Objection, content) -> ObjectionAnswer:
    try:
        with transaction.atomic():
            return ObjectionAnswer.objects.create(objection=objection, content=content, added_by=actor)
    except IntegrityError as exc:
        raise ValidationError({"content": ["This asset answers the objection already."]}) from exc


@transaction.atomic
def answer_remove(*, actor: User | None, answer: ObjectionAnswer) -> None:
    answer.delete()


@transaction.atomic
def comment_add(*, actor: User | None, objection: Objection, body: str) -> ObjectionComment:
    errors: dict[str, list[str]] = {}
    body = _text(body, "body", errors, limit=MAX_NOTE, required=True)
    if errors:
        raise ValidationError(errors)
    return ObjectionComment.objects.create(objection=objection, author=actor, body=body)


def answers_for_deal(deal) -> list[tuple[Objection, list]]:
    """The objections logged on ``deal`` with the content that answers each (two queries)."""
    logged = list(
        Objection.objects.filter(logs__deal=deal)
        .distinct()
        .order_by("name")
        .prefetch_related("answers__content")
    )
    return [(o, [a.content for a in o.answers.all()]) for o in logged]


# --- The gap report --------------------------------------------------------------------------------------

GAP = """
WITH closed AS (
    SELECT d.id, d.status = 'won' AS won FROM sales_deal d
    WHERE d.status IN ('won', 'lost') AND d.closed_at >= %(since)s AND d.closed_at < %(until)s
),
totals AS (SELECT count(*) AS n, count(*) FILTER (WHERE won) AS won FROM closed),
hit AS (  -- the closed deals each objection was logged on
    SELECT DISTINCT l.objection_id, c.id, c.won
    FROM alignment_objectionlog l JOIN closed c ON c.id = l.deal_id
),
with_it AS (SELECT objection_id, count(*) AS n, count(*) FILTER (WHERE won) AS won FROM hit GROUP BY 1),
frequency AS (
    SELECT objection_id, count(*) AS n FROM alignment_objectionlog
    WHERE logged_at >= %(since)s AND logged_at < %(until)s GROUP BY 1
),
coverage AS (SELECT objection_id, count(*) AS n FROM alignment_objectionanswer GROUP BY 1),
usage AS (  -- activities that used an answering asset on a deal where the objection was logged
    SELECT a.objection_id, count(DISTINCT act.id) AS n
    FROM alignment_objectionanswer a
    JOIN sales_activity act ON act.content_id = a.content_id AND act.deal_id IS NOT NULL
    WHERE EXISTS (
        SELECT 1 FROM alignment_objectionlog l
        WHERE l.objection_id = a.objection_id AND l.deal_id = act.deal_id
    )
    GROUP BY 1
)
SELECT o.id, o.name, o.category, COALESCE(f.n, 0), COALESCE(w.n, 0), COALESCE(w.won, 0),
       t.n - COALESCE(w.n, 0), t.won - COALESCE(w.won, 0), COALESCE(cv.n, 0), COALESCE(u.n, 0)
FROM alignment_objection o
CROSS JOIN totals t
LEFT JOIN frequency f ON f.objection_id = o.id
LEFT JOIN with_it w ON w.objection_id = o.id
LEFT JOIN coverage cv ON cv.objection_id = o.id
LEFT JOIN usage u ON u.objection_id = o.id
WHERE o.is_active
"""


@dataclass(frozen=True)
class Gap:
    objection_id: int
    name: str
    category: str
    frequency: int
    closed_with: int
    won_with: int
    closed_without: int
    won_without: int
    coverage: int
    usage: int

    @property
    def win_rate_with(self) -> Decimal | None:
        return _rate(self.won_with, self.closed_with)

    @property
    def win_rate_without(self) -> Decimal | None:
        return _rate(self.won_without, self.closed_without)

    @property
    def impact(self) -> Decimal | None:
        if self.win_rate_with is None or self.win_rate_without is None:
            return None
        return self.win_rate_without - self.win_rate_with

    @property
    def priority(self) -> Decimal | None:
        return None if self.impact is None else (self.frequency * self.impact).quantize(Decimal("0.0001"))


def _rate(won: int, closed: int) -> Decimal | None:
    return None if not closed else (Decimal(won) / Decimal(closed)).quantize(Decimal("0.0001"))


def _rank(gap: Gap) -> tuple:
    # highest priority first; no priority after every known one, then by frequency
    return (gap.priority is None, -(gap.priority or 0), -gap.frequency, gap.name.lower())


def gap_report(*, until: dt.datetime | None = None, window: dt.timedelta = WINDOW) -> dict[str, list[Gap]]:
    """``{"backlog": uncovered objections ranked, "covered": the answered ones ranked}`` (one query)."""
    until = until or timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(GAP, {"since": until - window, "until": until})
        gaps = [Gap(*row) for row in cursor.fetchall()]
    gaps.sort(key=_rank)
    return {"backlog": [g for g in gaps if not g.coverage], "covered": [g for g in gaps if g.coverage]}


# --- The monthly routing digest --------------------------------------------------------------------------

MARKETING, LEADERSHIP, PRODUCT = "marketing", "leadership", "product"
# Objection and loss-reason categories to the team that owns them; the rest goes to leadership.
ROUTES = {"positioning": MARKETING, "packaging": MARKETING, "pricing": LEADERSHIP, "product": PRODUCT}

DIGEST = """
SELECT 'objection', o.category, o.name, count(*)
FROM alignment_objectionlog l JOIN alignment_objection o ON o.id = l.objection_id
WHERE l.logged_at >= %(start)s AND l.logged_at < %(end)s
GROUP BY o.category, o.name
UNION ALL
SELECT 'loss reason', d.loss_category, COALESCE(r.name, d.loss_category), count(*)
FROM sales_deal d LEFT JOIN sales_lossreason r ON r.id = d.loss_reason_id
WHERE d.status = 'lost' AND d.closed_at >= %(start)s AND d.closed_at < %(end)s AND d.loss_category <> ''
GROUP BY d.loss_category, COALESCE(r.name, d.loss_category)
ORDER BY 4 DESC, 3
"""


def digest(start: dt.date, end: dt.date) -> dict[str, list[str]]:
    """The month's objections and loss reasons by owning team: ``{team: ["12 x Too expensive (objection,
    pricing)", ...]}`` (one query)."""
    bounds = {
        "start": dt.datetime.combine(start, dt.time(), dt.UTC),
        "end": dt.datetime.combine(end, dt.time(), dt.UTC),
    }
    with connection.cursor() as cursor:
        cursor.execute(DIGEST, bounds)
        rows = cursor.fetchall()
    routed: dict[str, list[str]] = {}
    for kind, category, name, count in rows:
        routed.setdefault(ROUTES.get(category, LEADERSHIP), []).append(
            f"{count} x {name} ({kind}, {category})"
        )
    return routed


def _owners(team: str) -> list[User]:
    from accounts.roles import Role

    active = User.objects.filter(is_active=True)
    if team == MARKETING:
        return list(active.filter(roles__contains=[Role.MARKETING]))
    if team == PRODUCT:
        owner = product_owner()
        if owner is not None and owner.is_active:
            return [owner]
    return list(active.filter(roles__contains=[Role.LEADERSHIP]))  # pricing, the rest, and product unowned


def digest_send(*, month: dt.date) -> int:
    """Send the digest of the month starting ``month`` to each owning team, once (a second call finds it
    sent); returns the notices created."""
    from accounts.locks import workspace_lock

    from .goals import period_end
    from .models import GoalPeriod, Notification

    start = month.replace(day=1)
    end = period_end(GoalPeriod.MONTH, start)
    label = start.strftime("%B %Y")
    title = f"Objections and loss reasons, {label}"
    with transaction.atomic(), connection.cursor() as cursor:
        workspace_lock(cursor, "alignment.objection_digest")
        if Notification.objects.filter(kind="objection_digest", title__startswith=title).exists():
            return 0
        notices = []
        for team, lines in digest(start, end).items():
            body = "\n".join(lines)
            for user in _owners(team):
                notices.append(
                    Notification(
                        user=user, kind="objection_digest", title=f"{title} for {team}", body=body,
                        link="/alignment/objections/",
                    )
                )  # fmt: skip
        send_notices(notices)
        return len(notices)


# --- Settings --------------------------------------------------------------------------------------------


def product_owner() -> User | None:
    """Who owns product objections, if anyone is named (one query; nothing is written)."""
    from .models import AlignmentSettings

    row = AlignmentSettings.objects.select_related("product_owner").filter(pk=1).first()
    return row.product_owner if row else None


@transaction.atomic
def product_owner_set(*, actor: User | None, user: User | None):
    """Name who owns product objections (None: leadership). Leadership and admins only."""
    from django.core.exceptions import PermissionDenied

    from .sla import can_manage

    if actor is not None and not can_manage(actor):
        raise PermissionDenied("Only leadership and admins name the product owner.")
    if user is not None and not user.is_active:
        raise ValidationError({"product_owner": ["Choose an active user of this workspace."]})
    from .models import AlignmentSettings

    row, _ = AlignmentSettings.objects.update_or_create(pk=1, defaults={"product_owner": user})
    return row
