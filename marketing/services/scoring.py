"""Lead scoring and the MQL rule, computed in SQL for any number of contacts at once."""

from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Case, IntegerField, Value, When
from django.utils import timezone

from accounts import webhooks
from config.validation import clean_into, full_clean, unknown_fields

from ..models import Contact, LifecycleStage, MqlRule, ScoringRule, TouchpointKind
from ..segments import compile_definition
from .contacts import contact_event_data, stage_events

DEFAULT_MQL_THRESHOLD = 50
PROMOTABLE = (LifecycleStage.SUBSCRIBER, LifecycleStage.LEAD)
RULE_FIELDS = (
    "name",
    "kind",
    "condition",
    "touch_kind",
    "points",
    "window_days",
    "half_life_days",
    "is_active",
)


def mql_rule_current() -> MqlRule:
    rule = MqlRule.objects.order_by("-version").first()
    if rule is None:
        rule, _ = MqlRule.objects.get_or_create(
            version=1, defaults={"score_threshold": DEFAULT_MQL_THRESHOLD, "note": "Default rule"}
        )
    return rule


@transaction.atomic
def mql_rule_update(*, score_threshold, criteria: dict | None = None, note: str = "", actor=None) -> MqlRule:
    """A new version of the MQL rule; earlier transitions keep the version that decided them."""
    errors: dict[str, list[str]] = {}
    if (
        isinstance(score_threshold, bool)
        or not isinstance(score_threshold, int)
        or not 0 <= score_threshold <= 10_000
    ):
        errors["score_threshold"] = ["Give a whole number between 0 and 10000."]
    criteria = criteria or {}
    if criteria:
        try:
            compile_definition(criteria)
        except ValidationError as exc:
            errors["criteria"] = exc.message_dict["definition"]
    if errors:
        raise ValidationError(errors)
    # Serialise version numbers: lock the current head.
    head = MqlRule.objects.select_for_update().order_by("-version").first()
    rule = MqlRule(
        version=(head.version + 1) if head else 1,
        score_threshold=score_threshold,
        criteria=criteria,
        note=note,
        created_by=actor,
    )
    full_clean(rule)
    rule.save()
    return rule


def _apply_rule(rule: ScoringRule, data: dict) -> dict:
    errors = unknown_fields(data, RULE_FIELDS)
    for key, value in data.items():
        if key not in errors:
            setattr(rule, key, value.strip() if isinstance(value, str) else value)
    clean_into(rule, errors)
    if rule.kind == ScoringRule.Kind.FIT and "condition" not in errors:
        try:
            compile_definition({"match": "all", "conditions": [rule.condition]})
        except ValidationError as exc:
            errors["condition"] = [
                m.replace("conditions.0", "condition") for m in exc.message_dict["definition"]
            ]
    if rule.kind == ScoringRule.Kind.ENGAGEMENT and rule.touch_kind not in TouchpointKind.values:
        errors["touch_kind"] = [f"Choose one of {', '.join(TouchpointKind.values)}."]
    if isinstance(rule.points, int) and not -1000 <= rule.points <= 1000:
        errors["points"] = ["Give points between -1000 and 1000."]
    return errors


@transaction.atomic
def scoring_rule_create(*, data: dict) -> ScoringRule:
    rule = ScoringRule()
    errors = _apply_rule(rule, data)
    if errors:
        raise ValidationError(errors)
    rule.save()
    return rule


@transaction.atomic
def scoring_rule_update(*, rule: ScoringRule, data: dict) -> ScoringRule:
    errors = _apply_rule(rule, data)
    if errors:
        raise ValidationError(errors)
    rule.save()
    return rule


@transaction.atomic
def scoring_rule_delete(*, rule: ScoringRule) -> None:
    """Remove a rule; scores change at the next recompute."""
    rule.delete()


def _fit_select(ids: list[int] | None):
    """SELECT id, fit points per contact: one CASE per active fit rule, joins allowed."""
    rules = list(ScoringRule.objects.filter(kind=ScoringRule.Kind.FIT, is_active=True))
    qs = Contact.objects.all() if ids is None else Contact.objects.filter(pk__in=ids)
    fit = Value(0)
    for rule in rules:
        q = compile_definition({"match": "all", "conditions": [rule.condition]})
        fit = fit + Case(When(q, then=Value(rule.points)), default=Value(0), output_field=IntegerField())
    return qs.annotate(fit=fit).values("pk", "fit").query.sql_with_params()


def scores_recompute(*, contact_ids: Iterable[int] | None = None, now=None) -> int:
    """Recompute fit, engagement and total score for the given contacts (all when None), then promote
    those that meet the current MQL rule. Three UPDATE statements and one INSERT; no per-row Python."""
    ids = None if contact_ids is None else sorted({int(i) for i in contact_ids})
    if ids == []:
        return 0
    now = now or timezone.now()
    fit_sql, fit_params = _fit_select(ids)
    where_ids = "" if ids is None else "WHERE c.id = ANY(%s)"
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            # Only Django-compiled SQL is interpolated; its parameters travel separately.
            f"UPDATE marketing_contact c SET fit_score = f.fit FROM ({fit_sql}) AS f(id, fit) "  # noqa: S608
            "WHERE c.id = f.id",
            fit_params,
        )
        cursor.execute(
            f"""
            UPDATE marketing_contact c SET engagement_score = COALESCE((
                SELECT ROUND(SUM(r.points * CASE WHEN r.half_life_days > 0
                    THEN power(0.5, EXTRACT(EPOCH FROM (%s - t.occurred_at)) / 86400.0 / r.half_life_days)
                    ELSE 1 END))::int
                FROM marketing_touchpoint t
                JOIN marketing_scoringrule r
                  ON r.kind = 'engagement' AND r.is_active AND r.touch_kind = t.kind
                WHERE t.contact_id = c.id
                  AND t.occurred_at <= %s
                  AND t.occurred_at > %s - r.window_days * INTERVAL '1 day'
            ), 0)
            {where_ids}
            """,  # noqa: S608 - constant SQL text; every value is a parameter
            [now, now, now] + ([ids] if ids is not None else []),
        )
        cursor.execute(
            f"""UPDATE marketing_contact c SET score = c.fit_score + c.engagement_score, score_updated_at = %s
            {where_ids}""",  # noqa: S608 - constant SQL text; every value is a parameter
            [now] + ([ids] if ids is not None else []),
        )
        updated = cursor.rowcount
    mql_promote(contact_ids=ids, now=now)
    return updated


def mql_promote(*, contact_ids: list[int] | None = None, now=None) -> int:
    """Move leads and subscribers that meet the current MQL rule to MQL, recording each transition with
    the rule's version, in two statements. Contacts already past lead are never moved back."""
    now = now or timezone.now()
    rule = mql_rule_current()
    candidates = Contact.objects.filter(lifecycle_stage__in=PROMOTABLE, score__gte=rule.score_threshold)
    if rule.criteria:
        candidates = candidates.filter(compile_definition(rule.criteria))
    if contact_ids is not None:
        candidates = candidates.filter(pk__in=contact_ids)
    cand_sql, cand_params = candidates.values("pk").query.sql_with_params()
    reason = f"score >= {rule.score_threshold}" + (" and criteria" if rule.criteria else "")
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH cand AS (
                SELECT c.id, c.lifecycle_stage AS old_stage FROM marketing_contact c
                WHERE c.id IN ({cand_sql}) FOR UPDATE
            ), moved AS (
                UPDATE marketing_contact c
                SET lifecycle_stage = 'mql', lifecycle_changed_at = %s, mql_at = %s, updated_at = %s
                FROM cand WHERE c.id = cand.id AND c.lifecycle_stage IN ('subscriber', 'lead')
                RETURNING c.id, cand.old_stage
            )
            INSERT INTO marketing_stagetransition
                (contact_id, from_stage, to_stage, at, by_rule, rule_version, reason)
            SELECT id, old_stage, 'mql', %s, 'mql-rule', %s, %s FROM moved
            RETURNING contact_id, from_stage
            """,  # noqa: S608 - Django-compiled candidate query; every value is a parameter
            [*cand_params, now, now, now, now, rule.version, reason],
        )
        moved = dict(cursor.fetchall())
        if moved and webhooks.subscribed("contact.lifecycle_changed", "contact.mql"):
            contacts = Contact.objects.filter(pk__in=list(moved)).order_by("pk")
            stage_events(
                [
                    {
                        "contact": contact_event_data(c),
                        "from_stage": moved[c.pk],
                        "to_stage": "mql",
                        "at": now,
                    }
                    for c in contacts
                ]
            )
        return len(moved)


def enqueue_rescore(*, contact_ids: Iterable[int]) -> None:
    """Rescore these contacts after the current transaction commits (touchpoints just arrived)."""
    from config.outbox import enqueue

    from ..tasks import rescore_contacts

    ids = sorted({int(i) for i in contact_ids})
    enqueue(rescore_contacts, connection.schema_name, kwargs={"contact_ids": ids})
