"""Twelve months of marketing history for the demo workspace, generated deterministically.

About 20 campaigns with budgets, spend and sends, content, segments, 3,000 contacts at 400 companies and
tens of thousands of touchpoints. Rows are written in bulk; derived fields (first and last touch,
scores) are then computed by the same SQL the product uses.
"""

from __future__ import annotations

import datetime as dt
import random
import unicodedata
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django_tenants.utils import schema_context

from .models import (
    Campaign,
    CampaignSend,
    Company,
    Contact,
    ContentAsset,
    CostLine,
    LifecycleStage,
    ScoringRule,
    StageTransition,
    Touchpoint,
)
from .models import contacts as c
from .services.contacts import contacts_refresh_touches
from .services.scoring import mql_rule_update, scores_recompute
from .services.segments import segment_add_members, segment_create

SEED = 20261122
N_COMPANIES = 400
N_CONTACTS = 3000

CAMPAIGNS = [
    ("Monthly newsletter", "email", "nurture", "newsletter"),
    ("Product launch: Pipelines 2.0", "paid_social", "launch", "ad_flight"),
    ("Google Ads: CRM alignment", "paid_search", "lead_generation", "ad_flight"),
    ("SEO: revenue operations guide", "seo_content", "awareness", "post"),
    ("LinkedIn thought leadership", "organic_social", "awareness", "post"),
    ("Webinar: fixing the MQL handoff", "webinar", "lead_generation", "webinar"),
    ("Webinar: attribution that sales trusts", "webinar", "nurture", "webinar"),
    ("SaaStr Europa booth", "event", "lead_generation", "event_day"),
    ("Customer referral programme", "referral", "lead_generation", "email"),
    ("Partner co-marketing: Northwind", "partner", "lead_generation", "email"),
    ("YouTube explainer series", "video", "awareness", "post"),
    ("Retargeting: pricing page", "paid_social", "lead_generation", "ad_flight"),
    ("Trade magazine print ad", "print", "awareness", "broadcast"),
    ("Podcast sponsorship", "radio", "awareness", "broadcast"),
    ("Airport billboards", "outdoor", "awareness", "broadcast"),
    ("Q3 nurture sequence", "email", "nurture", "email"),
    ("Regional roadshow", "event", "lead_generation", "event_day"),
    ("Competitor comparison ads", "paid_search", "lead_generation", "ad_flight"),
    ("Case study campaign", "seo_content", "nurture", "post"),
    ("End-of-year offer", "email", "launch", "email"),
]
TOUCH_KINDS = {
    "email": ["email_open", "email_click", "email_click", "page_visit"],
    "paid_social": ["ad_click", "page_visit"],
    "paid_search": ["ad_click", "page_visit", "page_visit"],
    "seo_content": ["page_visit", "content_download"],
    "organic_social": ["social_engagement", "page_visit"],
    "webinar": ["form_submission", "event_attendance", "page_visit"],
    "event": ["event_attendance", "call"],
    "referral": ["referral", "page_visit"],
    "partner": ["referral", "form_submission"],
    "video": ["page_visit", "social_engagement"],
    "print": ["page_visit"],
    "radio": ["page_visit", "call"],
    "outdoor": ["page_visit"],
}
INDUSTRIES = [
    "Software",
    "Manufacturing",
    "Retail",
    "Financial services",
    "Healthcare",
    "Logistics",
    "Education",
]
COUNTRIES = [
    "Germany",
    "France",
    "United Kingdom",
    "Netherlands",
    "Spain",
    "United States",
    "Sweden",
    "Poland",
]
FIRST = [
    "Anna",
    "Ben",
    "Clara",
    "David",
    "Elena",
    "Felix",
    "Greta",
    "Hugo",
    "Ines",
    "Jonas",
    "Katrin",
    "Lukas",
    "Marta",
    "Nico",
    "Olga",
    "Paul",
    "Quentin",
    "Rosa",
    "Sven",
    "Tara",
    "Uwe",
    "Vera",
    "Will",
    "Yara",
    "Zoe",
]
LAST = [
    "Schmidt",
    "Martin",
    "Smith",
    "de Vries",
    "García",
    "Johnson",
    "Andersson",
    "Nowak",
    "Müller",
    "Dubois",
    "Brown",
    "Jansen",
    "López",
    "Williams",
    "Berg",
    "Kowalski",
    "Weber",
    "Laurent",
    "Taylor",
    "Bakker",
]
TITLES = [
    ("Marketing Manager", "manager"),
    ("Head of Sales", "director"),
    ("VP Marketing", "vp"),
    ("Sales Representative", "entry"),
    ("CRO", "c_level"),
    ("Demand Generation Lead", "senior"),
    ("RevOps Analyst", "mid"),
    ("CEO", "c_level"),
    ("Account Executive", "mid"),
    ("CMO", "c_level"),
]
INTERESTS = ["crm", "analytics", "automation", "ai", "attribution", "forecasting", "content", "events"]


def _ascii(email: str) -> str:
    """An address anyone's validator takes: "lópez" becomes "lopez" (names keep their accents)."""
    return unicodedata.normalize("NFKD", email).encode("ascii", "ignore").decode()


def seed(*, tenant) -> bool:
    """Create the history once; returns False when the workspace already has campaigns."""
    with schema_context(tenant.schema_name):
        if Campaign.objects.exists():
            return False
        with transaction.atomic():
            _generate(random.Random(SEED), timezone.now())
        return True


def _generate(rng: random.Random, now: dt.datetime) -> None:
    start = now - dt.timedelta(days=365)
    campaigns = _campaigns(rng, start, now)
    assets = _content(rng, campaigns, start)
    companies = _companies(rng)
    contacts = _contacts(rng, companies, campaigns, start, now)
    _touchpoints(rng, contacts, campaigns, assets, now)
    contacts_refresh_touches([contact.pk for contact, _ in contacts])
    _scoring()
    scores_recompute(now=now)
    _segments(rng, campaigns, [contact for contact, _ in contacts])


def _campaigns(rng, start, now) -> list[Campaign]:
    rows = []
    for index, (name, channel, objective, _) in enumerate(CAMPAIGNS):
        begin = (start + dt.timedelta(days=rng.randint(0, 300))).date()
        length = rng.choice([30, 45, 60, 90, 120, 365])
        end = min(begin + dt.timedelta(days=length), (now + dt.timedelta(days=60)).date())
        status = "completed" if end < now.date() else ("active" if begin <= now.date() else "planned")
        budget = Decimal(rng.choice([2500, 5000, 8000, 12000, 20000, 35000, 50000]))
        rows.append(
            Campaign(
                name=name,
                channel=channel,
                objective=objective,
                status=status,
                start_date=begin,
                end_date=end,
                utm_campaign=f"c{index + 1:02d}-{channel}",
                budget=budget,
                description=f"{name}: a {channel.replace('_', ' ')} campaign.",
            )
        )
    campaigns = Campaign.objects.bulk_create(rows)
    costs, sends = [], []
    for campaign, (_, _, _, send_kind) in zip(campaigns, CAMPAIGNS, strict=True):
        day = campaign.start_date
        last = min(campaign.end_date, now.date())
        weekly = campaign.budget / Decimal(max(1, (campaign.end_date - campaign.start_date).days // 7 + 1))
        while day <= last:
            amount = (weekly * Decimal(rng.uniform(0.6, 1.3))).quantize(Decimal("0.01"))
            costs.append(CostLine(campaign=campaign, date=day, amount=amount, note="Weekly spend"))
            if send_kind and rng.random() < 0.5:
                sent_at = dt.datetime.combine(day, dt.time(9, 0), tzinfo=dt.UTC)
                sends.append(
                    CampaignSend(
                        campaign=campaign,
                        name=f"{campaign.name} · {day:%d %b}",
                        kind=send_kind,
                        sent_at=sent_at,
                        audience_size=rng.randint(500, 20000),
                    )
                )
            day += dt.timedelta(days=7)
    CostLine.objects.bulk_create(costs)
    CampaignSend.objects.bulk_create(sends)
    return campaigns


def _content(rng, campaigns, start) -> list[ContentAsset]:
    specs = [
        ("The alignment playbook", "whitepaper", "awareness"),
        ("How Acme cut CAC by 30%", "case_study", "decision"),
        ("Battlecard: Pipedrive", "battlecard", "decision"),
        ("Battlecard: HubSpot", "battlecard", "decision"),
        ("Pricing one-pager", "one_pager", "decision"),
        ("MQL definitions explained", "blog_post", "awareness"),
        ("Attribution models compared", "blog_post", "consideration"),
        ("ROI calculator", "landing_page", "consideration"),
        ("Product tour", "video", "consideration"),
        ("Security overview", "one_pager", "decision"),
        ("Webinar recording: handoff", "webinar", "consideration"),
        ("State of RevOps report", "whitepaper", "awareness"),
        ("Onboarding guide", "other", "decision"),
        ("Newsletter template", "email", "awareness"),
        ("Launch announcement", "social_post", "awareness"),
    ]
    assets = ContentAsset.objects.bulk_create(
        [
            ContentAsset(
                title=title,
                kind=kind,
                funnel_stage=stage,
                url=f"https://acme.example/content/{i + 1}",
                tags=rng.sample(INTERESTS, 2),
                view_count=rng.randint(50, 4000),
                download_count=rng.randint(5, 600),
                share_count=rng.randint(0, 80),
                created_at=start + dt.timedelta(days=rng.randint(0, 200)),
            )
            for i, (title, kind, stage) in enumerate(specs)
        ]
    )
    through = ContentAsset.campaigns.through
    through.objects.bulk_create(
        [
            through(contentasset_id=asset.pk, campaign_id=campaign.pk)
            for asset in assets
            for campaign in rng.sample(campaigns, 2)
        ]
    )
    return assets


def _companies(rng) -> list[Company]:
    names = [
        "Northwind",
        "Contoso",
        "Globex",
        "Initech",
        "Umbrella",
        "Stark",
        "Wayne",
        "Tyrell",
        "Cyberdyne",
        "Soylent",
        "Hooli",
        "Pied Piper",
        "Vandelay",
        "Wonka",
        "Acme Widgets",
        "Oscorp",
        "Aperture",
        "Massive",
    ]
    return Company.objects.bulk_create(
        [
            Company(
                name=f"{rng.choice(names)} {suffix}",
                domain=f"company{i + 1}.example",
                industry=rng.choice(INDUSTRIES),
                size_band=rng.choice(c.SizeBand.values),
                country=rng.choice(COUNTRIES),
                annual_revenue_band=rng.choice(c.RevenueBand.values),
            )
            for i, suffix in enumerate(
                f"{kind} {n}"
                for n in range(1, N_COMPANIES + 1)
                for kind in [rng.choice(["GmbH", "Ltd", "Inc", "BV", "SA", "AB"])]
            )
        ]
    )


# Where a contact's history ends, and the share of contacts that end there.
PATHS = [
    ([LifecycleStage.SUBSCRIBER], 0.10),
    ([LifecycleStage.LEAD], 0.50),
    ([LifecycleStage.LEAD, LifecycleStage.DISQUALIFIED], 0.06),
    ([LifecycleStage.LEAD, LifecycleStage.MQL], 0.14),
    ([LifecycleStage.LEAD, LifecycleStage.MQL, LifecycleStage.SQL], 0.08),
    ([LifecycleStage.LEAD, LifecycleStage.MQL, LifecycleStage.SQL, LifecycleStage.OPPORTUNITY], 0.06),
    (
        [
            LifecycleStage.LEAD,
            LifecycleStage.MQL,
            LifecycleStage.SQL,
            LifecycleStage.OPPORTUNITY,
            LifecycleStage.CUSTOMER,
        ],
        0.05,
    ),
    (
        [
            LifecycleStage.LEAD,
            LifecycleStage.MQL,
            LifecycleStage.SQL,
            LifecycleStage.OPPORTUNITY,
            LifecycleStage.CUSTOMER,
            LifecycleStage.EVANGELIST,
        ],
        0.01,
    ),
]


def _contacts(rng, companies, campaigns, start, now) -> list[tuple[Contact, list[tuple[str, dt.datetime]]]]:
    rows, histories = [], []
    paths, weights = zip(*PATHS, strict=True)
    for i in range(N_CONTACTS):
        created = start + dt.timedelta(seconds=rng.randint(0, int((now - start).total_seconds() * 0.97)))
        path = rng.choices(paths, weights)[0]
        history, moment = [], created
        for stage in path:
            if moment > now:  # a young contact has not got that far yet (no pile-up of stages "today")
                break
            history.append((stage, moment))
            moment = moment + dt.timedelta(days=rng.uniform(1, 30))
        title, seniority = rng.choice(TITLES)
        first, last = rng.choice(FIRST), rng.choice(LAST)
        stage, changed = history[-1]
        mql_at = next((at for s, at in reversed(history) if s == LifecycleStage.MQL), None)
        rows.append(
            Contact(
                email=_ascii(f"{first}.{last}.{i + 1}@{rng.choice(companies).domain}".lower())
                .replace(" ", "")
                .replace("í", "i")
                .replace("ü", "u"),
                first_name=first,
                last_name=last,
                job_title=title,
                seniority=seniority,
                company=rng.choice(companies),
                country=rng.choice(COUNTRIES),
                consent_marketing=rng.random() < 0.7,
                unsubscribed=rng.random() < 0.04,
                age_band=rng.choice(c.AgeBand.values),
                interests=rng.sample(INTERESTS, rng.randint(0, 3)),
                lifecycle_stage=stage,
                lifecycle_changed_at=changed,
                mql_at=mql_at,
                created_at=created,
                source=rng.choice(["form", "form", "import", "api", "manual"]),
            )
        )
        histories.append(history)
    contacts = Contact.objects.bulk_create(rows, batch_size=1000)
    transitions = []
    for contact, history in zip(contacts, histories, strict=True):
        previous = ""
        for stage, at in history:
            rule = "mql-rule" if stage == LifecycleStage.MQL else ("import" if not previous else "sales")
            transitions.append(
                StageTransition(
                    contact=contact,
                    from_stage=previous,
                    to_stage=stage,
                    at=at,
                    by_rule=rule,
                    rule_version=1 if stage == LifecycleStage.MQL else None,
                )
            )
            previous = stage
    StageTransition.objects.bulk_create(transitions, batch_size=2000)
    return list(zip(contacts, histories, strict=True))


def _touchpoints(rng, contacts, campaigns, assets, now) -> None:
    rows = []
    for contact, history in contacts:
        home = rng.choice(campaigns)
        first_moment = history[0][1] - dt.timedelta(days=rng.uniform(0, 20))
        for n in range(rng.randint(3, 18)):
            campaign = home if n == 0 or rng.random() < 0.45 else rng.choice(campaigns)
            at = first_moment + dt.timedelta(days=rng.uniform(0, 200) if n else 0)
            opened = dt.datetime.combine(campaign.start_date, dt.time(8, 0), tzinfo=dt.UTC)
            at = max(at, opened + dt.timedelta(hours=rng.uniform(0, 72)))
            if at > now:
                continue
            kind = rng.choice(TOUCH_KINDS[campaign.channel])
            rows.append(
                Touchpoint(
                    kind=kind,
                    contact=contact,
                    campaign=campaign,
                    channel=campaign.channel,
                    content=rng.choice(assets) if kind == "content_download" else None,
                    utm_source=campaign.channel.replace("_", "-"),
                    utm_medium=campaign.channel,
                    utm_campaign=campaign.utm_campaign,
                    occurred_at=at,
                    url="https://acme.example/",
                )
            )
    for i in range(2000):  # visitors not yet identified
        campaign = rng.choice(campaigns)
        rows.append(
            Touchpoint(
                kind="page_visit",
                anonymous_id=f"anon-{i % 700}",
                campaign=campaign,
                channel=campaign.channel,
                utm_campaign=campaign.utm_campaign,
                occurred_at=now - dt.timedelta(days=rng.uniform(0, 365)),
            )
        )
    Touchpoint.objects.bulk_create(rows, batch_size=5000)


def _scoring() -> None:
    ScoringRule.objects.bulk_create(
        [
            ScoringRule(
                name="Decision makers",
                kind="fit",
                points=20,
                condition={"field": "seniority", "op": "in", "value": ["director", "vp", "c_level"]},
            ),
            ScoringRule(
                name="Large companies",
                kind="fit",
                points=15,
                condition={"field": "company.size_band", "op": "in", "value": ["1001-5000", "5001+"]},
            ),
            ScoringRule(
                name="Software industry",
                kind="fit",
                points=10,
                condition={"field": "company.industry", "op": "eq", "value": "Software"},
            ),
            ScoringRule(
                name="Form submission",
                kind="engagement",
                touch_kind="form_submission",
                points=30,
                half_life_days=30,
            ),
            ScoringRule(
                name="Event attendance",
                kind="engagement",
                touch_kind="event_attendance",
                points=25,
                half_life_days=45,
            ),
            ScoringRule(
                name="Content download",
                kind="engagement",
                touch_kind="content_download",
                points=15,
                half_life_days=30,
            ),
            ScoringRule(
                name="Email click", kind="engagement", touch_kind="email_click", points=5, half_life_days=14
            ),
            ScoringRule(
                name="Page visit", kind="engagement", touch_kind="page_visit", points=2, half_life_days=7
            ),
        ]
    )
    mql_rule_update(score_threshold=60, note="Raised after the Q2 review: fewer, better MQLs")


def _segments(rng, campaigns, contacts) -> None:
    newsletter = campaigns[0]
    definitions = [
        (
            "DACH decision makers",
            {
                "match": "all",
                "conditions": [
                    {"field": "country", "op": "in", "value": ["Germany"]},
                    {"field": "seniority", "op": "in", "value": ["director", "vp", "c_level"]},
                ],
            },
        ),
        (
            "Enterprise accounts",
            {
                "match": "all",
                "conditions": [{"field": "company.size_band", "op": "in", "value": ["1001-5000", "5001+"]}],
            },
        ),
        (
            "Clicked the newsletter in the last 30 days",
            {
                "match": "all",
                "conditions": [
                    {
                        "field": "touchpoint",
                        "op": "exists",
                        "value": {"kind": "email_click", "campaign": newsletter.pk, "within_days": 30},
                    }
                ],
            },
        ),
        (
            "Hot leads",
            {
                "match": "all",
                "conditions": [
                    {"field": "score", "op": "gte", "value": 40},
                    {"field": "lifecycle_stage", "op": "in", "value": ["lead", "mql"]},
                ],
            },
        ),
        (
            "AI-curious or attribution fans",
            {
                "match": "any",
                "conditions": [
                    {"field": "interests", "op": "has", "value": "ai"},
                    {"field": "interests", "op": "has", "value": "attribution"},
                ],
            },
        ),
    ]
    segments = [
        segment_create(data={"name": name, "definition": definition}) for name, definition in definitions
    ]
    vip = segment_create(
        data={
            "name": "Conference VIP list",
            "kind": "static",
            "description": "Hand-picked for the roadshow dinner.",
        }
    )
    segment_add_members(segment=vip, contact_ids=[contact.pk for contact in rng.sample(contacts, 40)])
    for campaign, segment in zip(campaigns[:5], segments, strict=True):
        campaign.target_segments.add(segment)
