"""Twelve months of sales history for the demo workspace, consistent with the marketing history: deals
come from the contacts marketing brought (their stage history says when), won and lost with reasons,
with activities, customers, subscriptions, renewals, expansions and some churn. Deterministic, in bulk."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django_tenants.utils import schema_context

from accounts.models import User
from marketing.models import Contact, ContentAsset, LifecycleStage, StageTransition

from .models import (
    Activity,
    CustomerAccount,
    Deal,
    DealContact,
    DealStageChange,
    LeadDecision,
    LossReason,
    Pipeline,
    Quota,
    Subscription,
    SubscriptionEvent,
    Team,
)

SEED = 4242
REPS = [
    ("rita.rep@acme.example", "Rita Rep"),
    ("omar.owner@acme.example", "Omar Owner"),
    ("lena.lead@acme.example", "Lena Lead"),
]
PLANS = ["Starter", "Team", "Business", "Enterprise"]


def seed(*, tenant) -> bool:
    with schema_context(tenant.schema_name):
        if Deal.objects.exists():
            return False
        with transaction.atomic():
            _generate(random.Random(SEED), timezone.now())
        return True


def _reps() -> list[User]:
    reps = list(User.objects.filter(email="sales@acme.example"))
    for email, name in REPS:
        user = User.objects.filter(email=email).first() or User.objects.create_user(
            email=email, full_name=name, roles=["sales"]
        )
        reps.append(user)
    team, _ = Team.objects.get_or_create(name="EMEA")
    team.members.set(reps)
    return reps


SUBJECTS = {
    "call": ("Discovery call", "Pricing call"),
    "email": ("Sent follow-up notes", "Sent material"),
    "meeting": ("Kick-off meeting", "Meeting with the buying team"),
    "demo": ("Product demo", "Technical deep-dive"),
    "follow_up": ("Follow-up", "Check-in"),
}


def _generate(rng: random.Random, now: dt.datetime) -> None:
    reps = _reps()
    pipeline = Pipeline.objects.get(name="New business")
    stages = {s.name: s for s in pipeline.stages.all()}
    open_stages = [stages[n] for n in ("Qualification", "Discovery", "Demo", "Proposal", "Negotiation")]
    reasons = list(LossReason.objects.all())
    # Collateral reps send: marketing's consideration and decision content (its share counters are the
    # marketing demo's own figures).
    collateral = list(
        ContentAsset.objects.filter(funnel_stage__in=["consideration", "decision"]).order_by("id")
    )
    entered = {
        (row["contact_id"], row["to_stage"]): row["at"]
        for row in StageTransition.objects.filter(
            to_stage__in=[LifecycleStage.SQL, LifecycleStage.OPPORTUNITY, LifecycleStage.CUSTOMER]
        ).values("contact_id", "to_stage", "at")
    }
    contacts = list(
        Contact.objects.filter(lifecycle_stage__in=["sql", "opportunity", "customer", "evangelist"])
        .select_related("company")
        .order_by("id")
    )
    decisions, deals, plans = [], [], []
    for contact in contacts:
        sql_at = entered.get((contact.pk, "sql"))
        if contact.mql_at and sql_at:
            decisions.append(
                LeadDecision(
                    contact=contact,
                    mql_at=contact.mql_at,
                    decision="accepted",
                    decided_by=rng.choice(reps),
                    decided_at=sql_at,
                    campaign_id=contact.first_touch_campaign_id,
                )
            )
        opened = entered.get((contact.pk, "opportunity"))
        if opened is None:
            continue
        won_at = entered.get((contact.pk, "customer"))
        amount = Decimal(rng.choice([4800, 7200, 9600, 12000, 18000, 24000, 36000, 60000]))
        if won_at:
            outcome, closed = "won", won_at
        elif rng.random() < 0.45 and opened < now - dt.timedelta(days=20):
            outcome, closed = "lost", min(now, opened + dt.timedelta(days=rng.uniform(10, 60)))
        else:
            outcome, closed = "open", None
        deal = Deal(
            name=contact.company.name if contact.company else contact.full_name,
            company=contact.company,
            amount=amount,
            pipeline=pipeline,
            stage=open_stages[0],
            owner=rng.choice(reps),
            # one deal in five was sourced by sales' own outreach (marketing may still have touched it)
            source_campaign_id=None if contact.pk % 5 == 0 else contact.first_touch_campaign_id,
            lead=contact,
            created_at=opened,
            expected_close_date=(opened + dt.timedelta(days=rng.randint(30, 120))).date(),
            forecast_category=rng.choice(["pipeline", "pipeline", "best_case", "commit"]),
        )
        deals.append(deal)
        plans.append((deal, contact, outcome, closed))
    LeadDecision.objects.bulk_create(decisions, ignore_conflicts=True)
    Deal.objects.bulk_create(deals, batch_size=500)
    links, changes, activities, updates = [], [], [], []
    for deal, contact, outcome, closed in plans:
        links.append(DealContact(deal=deal, contact=contact, is_primary=True))
        path_end = closed or now
        depth = len(open_stages) if outcome == "won" else rng.randint(1, len(open_stages))
        moments = sorted(
            deal.created_at + (path_end - deal.created_at) * rng.random() for _ in range(depth - 1)
        )
        previous, at = None, deal.created_at
        for stage, moment in zip(open_stages[:depth], [deal.created_at, *moments], strict=True):
            changes.append(
                DealStageChange(deal=deal, from_stage=previous, to_stage=stage, at=moment, by=deal.owner)
            )
            previous, at = stage, moment
        if outcome != "open":
            final = stages["Won" if outcome == "won" else "Lost"]
            changes.append(
                DealStageChange(deal=deal, from_stage=previous, to_stage=final, at=closed, by=deal.owner)
            )
            deal.stage, deal.status, deal.closed_at, deal.stage_entered_at = final, outcome, closed, closed
            if outcome == "lost":
                reason = rng.choice(reasons)
                deal.loss_category, deal.loss_reason = reason.category, reason
                deal.loss_note = rng.choice(
                    [
                        "Budget frozen until next year",
                        "Went with the incumbent",
                        "Needed a Salesforce sync",
                        "Champion left the company",
                    ]
                )
                deal.forecast_category = "omitted"
        else:
            deal.stage, deal.stage_entered_at = previous, at
        deal.version = depth + (outcome != "open")
        updates.append(deal)
        for n in range(rng.randint(2, 5)):
            done = deal.created_at + (path_end - deal.created_at) * rng.random()
            kind = rng.choice(["call", "email", "meeting", "demo", "follow_up"])
            activities.append(
                Activity(
                    kind=kind,
                    subject=f"{SUBJECTS[kind][n % 2]} with {contact.first_name}",
                    deal=deal,
                    contact=contact,
                    owner=deal.owner,
                    due_at=done,
                    done_at=done,
                    outcome="Went well",
                    content=rng.choice(collateral)
                    if collateral and kind == "email" and rng.random() < 0.6
                    else None,
                )
            )
        if outcome == "open" and rng.random() < 0.5:
            due = now + dt.timedelta(days=rng.uniform(-4, 7))
            activities.append(
                Activity(
                    kind="follow_up",
                    subject=f"Next step with {contact.first_name}",
                    deal=deal,
                    contact=contact,
                    owner=deal.owner,
                    due_at=due,
                )
            )
    DealContact.objects.bulk_create(links, batch_size=1000)
    DealStageChange.objects.bulk_create(changes, batch_size=2000)
    Deal.objects.bulk_update(
        updates,
        [
            "stage",
            "status",
            "closed_at",
            "stage_entered_at",
            "loss_category",
            "loss_reason",
            "loss_note",
            "forecast_category",
            "version",
        ],
        batch_size=500,
    )
    Activity.objects.bulk_create(activities, batch_size=2000)
    _customers(rng, [(d, c) for d, c, outcome, closed in plans if outcome == "won"], now)
    _quotas(reps, now)


def _customers(rng, won, now) -> None:
    accounts: dict[int, CustomerAccount] = {}
    for deal, _contact in won:
        if deal.company_id and deal.company_id not in accounts:
            accounts[deal.company_id] = CustomerAccount(
                company_id=deal.company_id, since=deal.closed_at, first_deal=deal
            )
    CustomerAccount.objects.bulk_create(list(accounts.values()), ignore_conflicts=True)
    by_company = {a.company_id: a for a in CustomerAccount.objects.all()}
    subscriptions, events = [], []
    for deal, _contact in won:
        account = by_company.get(deal.company_id)
        if account is None:
            continue
        mrr = (deal.amount / 12).quantize(Decimal("0.01"))
        start = deal.closed_at.date()
        renewal = start.replace(year=start.year + 1) if not (start.month == 2 and start.day == 29) else start
        sub = Subscription(
            account=account, plan=rng.choice(PLANS), mrr=mrr, start_date=start, renewal_date=renewal
        )
        subscriptions.append(sub)
        events.append((sub, deal, mrr))
    Subscription.objects.bulk_create(subscriptions, batch_size=500)
    rows, changed = [], []
    for sub, deal, mrr in events:
        rows.append(
            SubscriptionEvent(
                subscription=sub, kind="new", at=deal.closed_at, mrr_before=0, mrr_after=mrr, deal=deal
            )
        )
        later = deal.closed_at + dt.timedelta(days=rng.uniform(20, 200))
        if later < now and rng.random() < 0.35:
            kind = rng.choice(["expansion", "expansion", "contraction", "churn"])
            after = {
                "expansion": mrr * Decimal("1.5"),
                "contraction": mrr * Decimal("0.7"),
                "churn": Decimal("0"),
            }[kind]
            after = after.quantize(Decimal("0.01"))
            rows.append(
                SubscriptionEvent(
                    subscription=sub,
                    kind=kind,
                    at=later,
                    mrr_before=mrr,
                    mrr_after=after,
                    churn_reason="Budget cut" if kind == "churn" else "",
                )
            )
            sub.mrr = after
            sub.status = "cancelled" if kind == "churn" else "active"
            changed.append(sub)
    SubscriptionEvent.objects.bulk_create(rows, batch_size=2000)
    Subscription.objects.bulk_update(changed, ["mrr", "status"], batch_size=500)


def _quotas(reps, now) -> None:
    """Monthly revenue quotas per rep and a quarterly deal quota for the team, set a little above what each
    rep (and the team) won per month over the last half year, so attainment looks like a real quarter."""
    today = now.date()
    quarter_start = dt.date(today.year, (today.month - 1) // 3 * 3 + 1, 1)
    won = Deal.objects.filter(status="won", closed_at__gte=now - dt.timedelta(days=182))
    per_rep = dict(won.values("owner").annotate(total=Sum("amount")).values_list("owner", "total"))
    rows = []
    for offset in range(3):
        month = (quarter_start.month - 1 + offset) % 12 + 1
        year = quarter_start.year + (quarter_start.month - 1 + offset) // 12
        for rep in reps:
            monthly = (per_rep.get(rep.pk) or Decimal("60000")) / 6 * Decimal("1.15")
            rows.append(
                Quota(
                    owner=rep,
                    period="month",
                    period_start=dt.date(year, month, 1),
                    metric="revenue_won",
                    target=max(Decimal("10000"), (monthly / 5000).quantize(Decimal("1")) * 5000),
                )
            )
    team = Team.objects.get(name="EMEA")
    team_deals = won.filter(owner__sales_teams=team).count() / 2 * 1.15  # half a year: two quarters
    rows.append(
        Quota(
            team=team,
            period="quarter",
            period_start=quarter_start,
            metric="deals_won",
            target=Decimal(max(10, round(team_deals))),
        )
    )
    Quota.objects.bulk_create(rows, ignore_conflicts=True)
