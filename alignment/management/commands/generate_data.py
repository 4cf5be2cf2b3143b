"""Generate a deterministic, realistic workspace for benchmarks and load tests.

``manage.py generate_data --tenant S --scale N [--seed X] [--tenants K] [--as-of YYYY-MM-DD]``

At scale 1 a workspace holds about 200 campaigns (every channel; weekly cost lines and sends over two
years), 20,000 companies, 100,000 contacts, 1,000,000 touchpoints, 80,000 funnel transitions, 20,000 deals
in the tenant's pipelines (stage history, contacts, activities, won and lost with reasons), lead decisions,
customers, subscriptions and their MRR events, quotas, teams and segments. Scale N multiplies the counts
(fractions are allowed: 0.01 for tests).

Every row is written by set-based SQL (``INSERT ... SELECT`` over ``generate_series``); each pseudo-random
choice is a hash of the row's number, the seed and a salt (``hashint8extended``), so one (scale, seed,
as-of date) always yields the same data. History ends at the as-of date (today, UTC, by default): nothing
is dated after it, and a contact stops at the stage it reached by then.

The workspace is provisioned as ``accounts`` does (``tenant_create``, host ``S.<base domain>``) when it
does not exist. A second run with the same scale and seed does nothing (the parameters are kept as the
schema's comment); a workspace that holds any other data is refused, so nothing is ever mixed or lost.
``--tenants K`` also fills K small workspaces ``S1`` .. ``SK`` at a tiny scale.

``generate_batch`` adds a recent slice of the same kinds of facts to an existing workspace (the metric
benchmark's 1% increment), through the same code.
"""

# ruff: noqa: S608 - every statement is built from this module's constants and numbers; values are parameters

from __future__ import annotations

import datetime as dt
import json
import secrets
from dataclasses import dataclass

from django.contrib.auth.hashers import make_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django_tenants.utils import schema_context

from accounts.tenancy.models import Tenant
from accounts.tenancy.validators import normalize_slug, validate_slug
from marketing.demo import COUNTRIES, FIRST, INDUSTRIES, INTERESTS, LAST, TITLES, TOUCH_KINDS
from marketing.models import Channel

# Counts at scale 1.
CONTACTS = 100_000
COMPANIES = 20_000
CAMPAIGNS = 200
OUTBOUND_DEALS = 13_000  # deals sales opened on contacts marketing never qualified
ANONYMOUS_TOUCHES = 50_000
REPS = 8
TINY_SCALE = 0.005  # the extra workspaces of --tenants
MAX_TENANTS = 1000
MAX_SCALE = 50
HISTORY_DAYS = 730
GAP_DAYS = 12.0  # the typical time between two funnel steps

# The funnel: conditional chances of each step.
P_LEAD = 0.41  # the rest are subscribers and imported contacts with no funnel history
P_MQL = 0.375
P_DISQUALIFIED = 0.06  # of leads that never became MQLs
P_ACCEPT, P_REJECT = 0.55, 0.30  # of MQLs; the rest wait in the lead queue
P_OPPORTUNITY = 0.70
P_WON, P_LOST = 0.35, 0.75  # of opportunities; P_LOST of those not won
P_OUT_WON, P_OUT_LOST = 0.25, 0.60
P_UPSELL, P_UPSELL_WON = 0.40, 0.65
P_RENEWED = 0.85
P_CONTRACTION = 0.12

SEND_KINDS = {
    "email": "newsletter",
    "paid_search": "ad_flight",
    "paid_social": "ad_flight",
    "seo_content": "post",
    "organic_social": "post",
    "video": "post",
    "webinar": "webinar",
    "event": "event_day",
    "print": "broadcast",
    "radio": "broadcast",
    "tv": "broadcast",
    "outdoor": "broadcast",
    "referral": "email",
    "partner": "email",
}
THEMES = [
    "CRM alignment",
    "Revenue operations guide",
    "Fixing the MQL handoff",
    "Attribution sales trusts",
    "Pipeline reviews",
    "Forecasting basics",
    "Customer stories",
    "Product launch",
    "Pricing page",
    "Competitor comparison",
    "Year-end offer",
    "Partner co-marketing",
]
COMPANY_NAMES = ["Northwind", "Contoso", "Globex", "Initech", "Umbrella", "Hooli", "Vandelay", "Wonka"]
COMPANY_SUFFIXES = ["GmbH", "Ltd", "Inc", "BV", "SA", "AB"]
NEW_BUSINESS_AMOUNTS = [4800, 7200, 9600, 12000, 18000, 24000, 36000, 60000]
UPSELL_AMOUNTS = [1200, 2400, 3600, 6000, 9600]
ACTIVITY_KINDS = ["call", "email", "meeting", "demo", "follow_up"]
LOSS_NOTES = [
    "Budget frozen until next year",
    "Went with the incumbent",
    "Needed a Salesforce sync",
    "Champion left the company",
]
CONTENT = [
    ("The alignment playbook", "whitepaper", "awareness"),
    ("Customer story: cutting CAC by a third", "case_study", "decision"),
    ("Battlecard: the incumbent CRM", "battlecard", "decision"),
    ("Pricing one-pager", "one_pager", "decision"),
    ("MQL definitions explained", "blog_post", "awareness"),
    ("Attribution models compared", "blog_post", "consideration"),
    ("ROI calculator", "landing_page", "consideration"),
    ("Product tour", "video", "consideration"),
    ("Security overview", "one_pager", "decision"),
    ("Webinar recording: the handoff", "webinar", "consideration"),
    ("State of RevOps report", "whitepaper", "awareness"),
    ("Launch announcement", "social_post", "awareness"),
]
RULE_SEGMENTS = [
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
    ("AI-curious", {"match": "any", "conditions": [{"field": "interests", "op": "has", "value": "ai"}]}),
]
# A deal's pipeline (new business, upsell, renewals) from its plan's part (0, 1: new business, 2: upsell,
# 3: renewal).
PIPELINE_OF_PART = "CASE d.part WHEN 0 THEN 0 WHEN 1 THEN 0 WHEN 2 THEN 1 ELSE 2 END"
# The contacts sales won outbound deals with: they become customers with the first.
WON_OUTBOUND = """SELECT contact_id, min(closed_at) AS at, min(owner_id) AS owner_id FROM g_deal
                  WHERE part = 1 AND status = 'won' GROUP BY contact_id"""
STATIC_SEGMENTS = [("Conference VIP list", 0.02), ("Webinar attendees (imported)", 0.08)]


@dataclass(frozen=True)
class Spec:
    """What to generate: counts are the scale-1 counts times ``scale``; facts are dated in [start, end)."""

    scale: float
    seed: int
    start: dt.datetime
    end: dt.datetime
    slug: str
    stream: int = 0  # 0: the workspace itself; later batches draw other numbers
    gap_days: float = GAP_DAYS
    fresh: bool = True  # a new workspace: users, campaigns, companies, content, quotas and segments too

    def count(self, base: int, minimum: int = 0) -> int:
        return max(minimum, round(base * self.scale))


def marker(*, scale: float, seed: int) -> str:
    return f"tandem generate_data scale={scale:g} seed={seed}"


def _sql_text(values: list[str]) -> str:
    return "ARRAY[" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + "]"


def _pick(values: list, u: str) -> str:
    """SQL: one of ``values`` chosen by the uniform number ``u`` in [0, 1)."""
    array = _sql_text([str(v) for v in values]) if isinstance(values[0], str) else f"ARRAY{list(values)}"
    return f"({array})[1 + floor(({u}) * {len(values)})::int]"


def week(ts: str) -> str:
    """SQL: the number of the Monday-based UTC week holding ``ts`` (week 0 starts on 1970-01-05)."""
    return f"floor((extract(epoch FROM {ts}) - 345600) / 604800)::int"


def monday(w: str) -> str:
    return f"(date '1970-01-05' + 7 * ({w}))"


class Generator:
    """Writes one workspace (or one batch) in the current schema, inside the caller's transaction."""

    def __init__(self, cursor, spec: Spec):
        self.cursor = cursor
        self.spec = spec
        self.params = {
            "start": spec.start,
            "end": spec.end,
            "span_secs": (spec.end - spec.start).total_seconds(),
            "gap": spec.gap_days,
        }

    def r(self, key: str, salt: int) -> str:
        """SQL: a uniform number in [0, 1), a pure function of (key, seed, stream, salt)."""
        seed = (self.spec.seed * 1000 + self.spec.stream) * 1000 + salt
        return f"((hashint8extended(({key})::bigint, {seed}) & 4294967295)::float8 / 4294967296.0)"

    def days(self, factor: str) -> str:
        """SQL: an interval of ``factor`` times the funnel gap, in days."""
        return f"(interval '1 day' * %(gap)s * ({factor}))"

    def x(self, sql: str, **params) -> int:
        if "%(" in sql:
            self.cursor.execute(sql, {**self.params, **params})
        else:
            self.cursor.execute(sql)  # several statements at once, or none with parameters
        return self.cursor.rowcount

    def one(self, sql: str, **params):
        self.cursor.execute(sql, {**self.params, **params})
        return self.cursor.fetchone()[0]

    def base(self, table: str) -> int:
        return self.one(f"SELECT COALESCE(max(id), 0) FROM {table}")  # noqa: S608 - a constant name

    def run(self) -> None:
        self.x("SET LOCAL TIME ZONE 'UTC'")
        self.x("SET LOCAL work_mem = '256MB'")
        for table in [
            "g_rep",
            "g_company",
            "g_active",
            "g_wcount",
            "g_send",
            "g_content",
            "g_reason",
            "g_rejection",
            "g_stage",
            "g_contact",
            "g_ends",
            "g_deal",
            "g_sub",
        ]:
            self.x(f"DROP TABLE IF EXISTS pg_temp.{table}")
        if self.spec.fresh:
            self.campaigns()
            self.content()
            self.companies()
        self.costs()
        self.lookups()
        self.contact_plan()
        self.deal_plan()
        self.contacts()
        self.transitions()
        self.touchpoints()
        self.decisions()
        self.deals()
        self.customers()
        if self.spec.fresh:
            self.quotas()
            self.segments()
        for table in [
            "marketing_campaign",
            "marketing_contentasset",
            "marketing_company",
            "marketing_contact",
            "sales_deal",
            "sales_subscription",
        ]:
            self.x(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT COALESCE(max(id), 1) FROM {table}))"  # noqa: S608 - constant names
            )

    # --- Marketing set-up ----------------------------------------------------------------------------

    def campaigns(self) -> None:
        r, n = self.r, "n"
        channels = [c.value for c in Channel]
        count = self.spec.count(CAMPAIGNS, minimum=len(channels))
        base = self.base("marketing_campaign")
        channel = f"(ARRAY{channels})[1 + mod(n - 1, {len(channels)})]".replace('"', "'")
        first_week = week("%(start)s::timestamptz")
        weeks = f"({week('%(end)s::timestamptz')} - {first_week})"
        # The first campaign of every channel runs all along; the others start on a Monday and last whole
        # weeks, so a campaign is active for entire weeks.
        self.x(
            f"""
            INSERT INTO marketing_campaign (id, name, channel, objective, status, start_date, end_date,
                utm_campaign, budget, description, created_at, updated_at, owner_id)
            SELECT {base} + n, p.label || ': ' || {_pick(THEMES, r(n, 1))} || ' #' || n, p.channel,
                   {_pick(["awareness", "lead_generation", "lead_generation", "nurture", "launch"], r(n, 2))},
                   CASE WHEN p.end_date < %(end)s::date THEN 'completed' ELSE 'active' END,
                   p.start_date, p.end_date, 'g' || ({base} + n) || '-' || replace(p.channel, '_', '-'),
                   {_pick([2500, 5000, 8000, 12000, 20000, 35000, 50000, 80000], r(n, 3))}
                       * CASE WHEN n <= {len(channels)} THEN 4 ELSE 1 END,
                   '', p.start_date - 7 + time '09:00', p.start_date - 7 + time '09:00',
                   mk.ids[1 + mod(n, GREATEST(1, cardinality(mk.ids)))]
            FROM generate_series(1, {count}) n
            CROSS JOIN (SELECT array_agg(id ORDER BY id) AS ids FROM accounts_user
                        WHERE 'marketing' = ANY(roles)) mk
            CROSS JOIN LATERAL (
                SELECT {channel} AS channel,
                       {
                monday(
                    f"{first_week} + CASE WHEN n <= {len(channels)} THEN 0 ELSE "
                    f"floor({r(n, 4)} * ({weeks} - 2))::int END"
                )
            } AS start_date
            ) s
            CROSS JOIN LATERAL (
                SELECT s.channel, s.start_date, initcap(replace(s.channel, '_', ' ')) AS label,
                       CASE WHEN n > {len(channels)}
                            THEN s.start_date + 7 * {_pick([4, 6, 8, 13, 17, 26, 52], r(n, 5))} - 1 END
                           AS end_date
            ) p
            """
        )
        kinds = "CASE c.channel " + " ".join(f"WHEN '{ch}' THEN '{k}'" for ch, k in SEND_KINDS.items())
        self.x(
            f"""
            INSERT INTO marketing_campaignsend (campaign_id, name, kind, sent_at, audience_size, created_at)
            SELECT c.id, c.name || ' · ' || to_char(s.at, 'DD Mon YYYY'), {kinds} END, s.at,
                   500 + floor({r("c.id * 100000 + w", 6)} * 20000)::int, s.at - interval '2 days'
            FROM marketing_campaign c
            CROSS JOIN LATERAL generate_series({week("c.start_date::timestamptz")},
                {week("LEAST(COALESCE(c.end_date, %(end)s::date), %(end)s::date)::timestamptz")}) w
            CROSS JOIN LATERAL (SELECT ({monday("w")} + 1 + time '09:00')::timestamptz AS at) s
            WHERE c.id > {base} AND c.channel IN ({", ".join(f"'{ch}'" for ch in SEND_KINDS)})
              AND {r("c.id * 100000 + w", 7)} < 0.5
              AND s.at >= %(start)s AND s.at < %(end)s AND s.at::date >= c.start_date
              AND (c.end_date IS NULL OR s.at::date <= c.end_date)
            """
        )

    def content(self) -> None:
        base = self.base("marketing_contentasset")
        rows = ", ".join(
            f"({i}, '{title}', '{kind}', '{stage}')" for i, (title, kind, stage) in enumerate(CONTENT, 1)
        )
        self.x(
            f"""
            INSERT INTO marketing_contentasset (id, title, kind, funnel_stage, description, url, file, tags,
                view_count, download_count, share_count, created_at, updated_at, created_by_id)
            SELECT {base} + i, title, kind, stage, '', 'https://www.' || %(slug)s || '.example/content/' || i,
                   '', ARRAY[{_pick(INTERESTS, self.r("i", 10))}],
                   50 + floor({self.r("i", 11)} * 4000)::int, 5 + floor({self.r("i", 12)} * 600)::int,
                   floor({self.r("i", 13)} * 80)::int, %(start)s::timestamptz + i * interval '3 days',
                   %(start)s::timestamptz + i * interval '3 days', NULL
            FROM (VALUES {rows}) AS v(i, title, kind, stage)
            """,
            slug=self.spec.slug,
        )
        self.x(
            f"""
            INSERT INTO marketing_contentasset_campaigns (contentasset_id, campaign_id)
            WITH c AS (SELECT row_number() OVER (ORDER BY id) - 1 AS i, id, count(*) OVER () AS n
                       FROM marketing_campaign)
            SELECT DISTINCT a.id, c.id FROM marketing_contentasset a
            CROSS JOIN generate_series(1, 2) k
            JOIN c ON c.i = floor({self.r("a.id * 10 + k", 14)} * c.n)::int
            WHERE a.id > {base}
            """
        )

    def companies(self) -> None:
        r, n = self.r, "n"
        base = self.base("marketing_company")
        self.x(
            f"""
            INSERT INTO marketing_company (id, name, domain, industry, size_band, country, region,
                annual_revenue_band, is_customer, created_at, updated_at)
            SELECT {base} + n,
                   {_pick(COMPANY_NAMES, r(n, 20))} || ' ' || {_pick(COMPANY_SUFFIXES, r(n, 21))} || ' ' || n,
                   'company' || ({base} + n) || '.example', {_pick(INDUSTRIES, r(n, 22))},
                   {_pick(["1-10", "11-50", "51-200", "201-1000", "1001-5000", "5001+"], r(n, 23))},
                   {_pick(COUNTRIES, r(n, 24))}, '',
                   {_pick(["<1m", "1m-10m", "10m-50m", "50m-250m", "250m-1b", "1b+"], r(n, 25))}, FALSE,
                   %(start)s::timestamptz - interval '1 day' * floor({r(n, 26)} * 365),
                   %(start)s::timestamptz - interval '1 day' * floor({r(n, 26)} * 365)
            FROM generate_series(1, {self.spec.count(COMPANIES, minimum=5)}) n
            """
        )

    def costs(self) -> None:
        """Spend: a line per campaign and active week (in a batch: per active week within it)."""
        r = self.r
        lo = f"GREATEST({monday('w')}, %(start)s::date)"
        hi = f"LEAST({monday('w')} + 6, (%(end)s::timestamptz - interval '1 second')::date)"
        self.x(
            f"""
            INSERT INTO marketing_costline (campaign_id, date, amount, note, created_by_id, created_at)
            SELECT c.id, x.day,
                   round((c.budget / GREATEST(1, COALESCE((c.end_date - c.start_date + 1) / 7, 52))
                          * (0.6 + 0.7 * {r("c.id * 100000 + w", 30)}))::numeric, 2),
                   'Weekly spend', NULL, x.day + time '18:00'
            FROM marketing_campaign c
            CROSS JOIN LATERAL generate_series({week("%(start)s::timestamptz")},
                {week("%(end)s::timestamptz")}) w
            CROSS JOIN LATERAL (
                SELECT {lo} + floor({r("c.id * 100000 + w", 31)} * ({hi} - {lo} + 1))::int AS day,
                       {hi} - {lo} AS room
            ) x
            WHERE x.room >= 0 AND x.day >= c.start_date AND (c.end_date IS NULL OR x.day <= c.end_date)
            """
        )

    def lookups(self) -> None:
        """Small tables the fact statements draw from: reps, companies, the campaigns active each week,
        sends, content, reasons and stages."""
        x = self.x
        x("""CREATE TEMP TABLE g_rep ON COMMIT DROP AS
             SELECT (row_number() OVER (ORDER BY id) - 1)::int AS i, id FROM accounts_user
             WHERE 'sales' = ANY(roles) AND is_active""")
        x("""CREATE TEMP TABLE g_company ON COMMIT DROP AS
             SELECT row_number() OVER (ORDER BY id)::int AS i, id FROM marketing_company""")
        x(f"""CREATE TEMP TABLE g_active ON COMMIT DROP AS
              SELECT w, (row_number() OVER (PARTITION BY w ORDER BY c.id) - 1)::int AS slot,
                     c.id AS campaign_id, c.channel, c.utm_campaign
              FROM generate_series({week("%(start)s::timestamptz")}, {week("%(end)s::timestamptz")}) w
              JOIN marketing_campaign c ON c.start_date <= {monday("w")}
                   AND (c.end_date IS NULL OR c.end_date >= {monday("w")} + 6)""")
        x(
            "CREATE TEMP TABLE g_wcount ON COMMIT DROP AS "
            "SELECT w, count(*)::int AS cnt FROM g_active GROUP BY w"
        )
        x(f"""CREATE TEMP TABLE g_send ON COMMIT DROP AS
              SELECT campaign_id, {week("sent_at")} AS w, min(id) AS id, min(sent_at) AS sent_at
              FROM marketing_campaignsend
              WHERE sent_at >= %(start)s::timestamptz - interval '7 days' AND sent_at < %(end)s
              GROUP BY 1, 2""")
        x("""CREATE TEMP TABLE g_content ON COMMIT DROP AS
             SELECT (row_number() OVER (ORDER BY id) - 1)::int AS i, id,
                    (row_number() OVER (PARTITION BY funnel_stage IN ('consideration', 'decision')
                                        ORDER BY id) - 1)::int AS ci,
                    funnel_stage IN ('consideration', 'decision') AS collateral
             FROM marketing_contentasset""")
        x("""CREATE TEMP TABLE g_reason ON COMMIT DROP AS
             SELECT (row_number() OVER (ORDER BY id) - 1)::int AS i, id, category FROM sales_lossreason
             WHERE is_active""")
        x("""CREATE TEMP TABLE g_rejection ON COMMIT DROP AS
             SELECT (row_number() OVER (ORDER BY id) - 1)::int AS i, id, name FROM sales_rejectionreason
             WHERE is_active""")
        # Pipelines in their order: new business, upsell, renewals (the defaults every workspace starts
        # with); a workspace with fewer uses its first pipeline for the rest.
        x("""CREATE TEMP TABLE g_stage ON COMMIT DROP AS
             WITH p AS (SELECT (row_number() OVER (ORDER BY is_default DESC, position, id) - 1)::int AS i, id
                        FROM sales_pipeline WHERE is_active),
             kinds AS (SELECT k FROM generate_series(0, 2) k)
             SELECT k.k AS part, pl.id AS pipeline_id, s.id AS stage_id, s.kind,
                    (row_number() OVER (PARTITION BY k.k, s.kind ORDER BY s.position) - 1)::int AS pos,
                    count(*) FILTER (WHERE s.kind = 'open') OVER (PARTITION BY k.k)::int AS n_open
             FROM kinds k
             JOIN p pl ON pl.i = CASE WHEN k.k < (SELECT count(*) FROM p) THEN k.k ELSE 0 END
             JOIN sales_stage s ON s.pipeline_id = pl.id""")
        self.reps = self.one("SELECT count(*) FROM g_rep")
        self.ncompanies = self.one("SELECT count(*) FROM g_company")
        self.ncontent = self.one("SELECT count(*) FROM g_content")
        self.ncollateral = self.one("SELECT count(*) FROM g_content WHERE collateral")
        self.nreasons = self.one("SELECT count(*) FROM g_reason")
        self.nrejections = self.one("SELECT count(*) FROM g_rejection")
        if not self.reps or not self.nreasons or not self.nrejections:
            raise CommandError("The workspace needs sales users, loss reasons and rejection reasons.")

    # --- Contacts and their funnel -------------------------------------------------------------------

    def contact_plan(self) -> None:
        """One row per contact: when it was created and when it reached each funnel step (NULL: never, or
        not by the end of the history), its rep, company and how many touchpoints it has."""
        r, d = self.r, self.days
        count = self.spec.count(CONTACTS, minimum=50)
        offset = 0 if self.spec.fresh else self.spec.stream * 7919
        self.x(
            f"""
            CREATE TEMP TABLE g_contact ON COMMIT DROP AS
            WITH b AS (
                SELECT n, {self.base("marketing_contact")} + n AS id,
                       %(start)s::timestamptz + make_interval(secs => %(span_secs)s * sqrt({r("n", 40)}))
                           AS created_at,
                       {r("n", 41)} AS u_lead, {r("n", 42)} AS u_mql, {r("n", 43)} AS u_dec,
                       {r("n", 44)} AS u_opp, {r("n", 45)} AS u_won, {r("n", 46)} AS u_lost
                FROM generate_series(1, {count}) n
            ),
            raw AS (
                SELECT b.*, CASE WHEN u_lead < {P_LEAD} THEN created_at END AS lead_at FROM b
            ),
            mql AS (
                SELECT raw.*,
                       CASE WHEN u_mql < {P_MQL} THEN lead_at + {d(f"0.1 + 1.9 * {r('n', 47)}")} END AS
                           mql_at,
                       CASE WHEN u_mql >= {P_MQL} AND {r("n", 48)} < {P_DISQUALIFIED}
                            THEN lead_at + {d(f"0.5 + 3 * {r('n', 49)}")} END AS dq_at,
                       interval '1 hour' * (1 + 95 * power({r("n", 50)}, 2)) AS decision_lag
                FROM raw
            ),
            decided AS (
                SELECT mql.*,
                       CASE WHEN u_dec < {P_ACCEPT} THEN mql_at + decision_lag END AS sql_at,
                       CASE WHEN u_dec >= {P_ACCEPT} AND u_dec < {P_ACCEPT + P_REJECT}
                            THEN mql_at + decision_lag END AS rej_at
                FROM mql
            ),
            opp AS (
                SELECT decided.*,
                       CASE WHEN u_opp < {P_OPPORTUNITY} THEN sql_at + {d(f"0.2 + 1.5 * {r('n', 51)}")} END
                           AS opp_at
                FROM decided
            ),
            raw_path AS (
                SELECT opp.*,
                       CASE WHEN u_won < {P_WON} THEN opp_at + {d(f"1.5 + 6 * {r('n', 52)}")} END AS won_at,
                       CASE WHEN u_won >= {P_WON} AND u_lost < {P_LOST}
                            THEN opp_at + {d(f"1 + 5 * {r('n', 53)}")} END AS lost_at
                FROM opp
            ),
            path AS (  -- nothing after the end of the history
                SELECT n, id, created_at, lead_at,
                       CASE WHEN mql_at < %(end)s THEN mql_at END AS mql_at,
                       CASE WHEN dq_at < %(end)s THEN dq_at END AS dq_at,
                       CASE WHEN sql_at < %(end)s THEN sql_at END AS sql_at,
                       CASE WHEN rej_at < %(end)s THEN rej_at END AS rej_at,
                       CASE WHEN opp_at < %(end)s THEN opp_at END AS opp_at,
                       CASE WHEN won_at < %(end)s THEN won_at END AS won_at,
                       CASE WHEN lost_at < %(end)s THEN lost_at END AS lost_at
                FROM raw_path
            )
            SELECT p.*, co.id AS company_id, rep.id AS rep_id,
                   3 + floor({r("n", 54)} * 11)::int + CASE WHEN p.lead_at IS NOT NULL THEN 2 ELSE 0 END
                     + CASE WHEN p.mql_at IS NOT NULL THEN 3 ELSE 0 END
                     + CASE WHEN p.opp_at IS NOT NULL THEN 4 ELSE 0 END AS touches,
                   GREATEST(%(start)s::timestamptz, p.created_at - {d(f"1.5 * {r('n', 55)}")}) AS first_at,
                   LEAST(%(end)s::timestamptz - interval '1 second',
                         p.created_at + {d(f"5 + 25 * {r('n', 56)}")}) AS span_end
            FROM path p
            LEFT JOIN g_company co ON {r("n", 57)} < 0.9
                 AND co.i = 1 + mod(p.n - 1 + {offset}, {self.ncompanies})
            JOIN g_rep rep ON rep.i = floor({r("n", 58)} * {self.reps})::int
            """
        )
        self.x("ALTER TABLE g_contact ADD PRIMARY KEY (n)")
        self.x(f"CREATE TEMP TABLE g_ends ON COMMIT DROP AS {self._touches('ends')}")
        self.x("CREATE INDEX ON g_ends (contact_id, j)")

    def _touches(self, which: str) -> str:
        """SQL selecting the touchpoints of the planned contacts (``which``: 'all', or 'ends' for each
        contact's first and last): times rise with the touch's number, so touch 1 is the first touch and
        the last number the last; each goes to a campaign active in its week."""
        r = self.r
        key = "c.n * 64 + j.j"
        numbers = "generate_series(1, c.touches)" if which == "all" else "(VALUES (1), (c.touches))"
        kinds = "CASE a.channel " + " ".join(
            f"WHEN '{channel}' THEN {_pick(kinds, r(key, 60))}" for channel, kinds in TOUCH_KINDS.items()
        )
        referrer = (
            "CASE WHEN a.channel IN ('paid_search', 'seo_content') THEN 'https://www.google.com/' "
            "WHEN a.channel IN ('paid_social', 'organic_social') THEN 'https://www.linkedin.com/' ELSE '' END"
        )
        return f"""
            SELECT c.id AS contact_id, j.j, x.at, a.campaign_id, COALESCE(a.channel, '') AS channel,
                   COALESCE(a.utm_campaign, '') AS utm_campaign,
                   COALESCE(replace(a.channel, '_', '-'), '') AS utm_source, {referrer} AS referrer,
                   {kinds} ELSE 'page_visit' END AS kind, {r(key, 61)} AS u_content, {r(key, 62)} AS u_send,
                   wc.w
            FROM g_contact c
            CROSS JOIN LATERAL {numbers} AS j(j)
            CROSS JOIN LATERAL (
                SELECT CASE WHEN j.j = 1 THEN c.first_at
                       ELSE c.first_at + (c.span_end - c.first_at) * ((j.j - 1 + 0.999 * {r(key, 63)}) /
                           c.touches)
                       END AS at
            ) x
            LEFT JOIN g_wcount wc ON wc.w = {week("x.at")}
            LEFT JOIN g_active a ON a.w = wc.w AND a.slot = floor({r(key, 64)} * wc.cnt)::int
        """  # noqa: S608 - built from constants

    def deal_plan(self) -> None:
        """One row per deal: new business from the funnel's opportunities (marketing-sourced) and from
        contacts sales found itself (outbound), then upsells and renewals of the won ones, with the
        subscription each won deal starts."""
        r, d = self.r, self.days
        self.x(
            f"""
            CREATE TEMP TABLE g_deal ON COMMIT DROP AS
            WITH outbound AS (
                SELECT c.*, row_number() OVER (ORDER BY c.n) AS o FROM g_contact c WHERE c.lead_at IS NULL
            ),
            planned AS (
                SELECT 0 AS part, c.n AS contact_n, c.id AS contact_id, c.company_id, c.rep_id AS owner_id,
                       c.opp_at AS created_at, COALESCE(c.won_at, c.lost_at) AS closed_at,
                       CASE WHEN c.won_at IS NOT NULL THEN 'won' WHEN c.lost_at IS NOT NULL THEN 'lost'
                            ELSE 'open' END AS status,
                       {_pick(NEW_BUSINESS_AMOUNTS, r("c.n", 70))}::numeric AS amount,
                       e.campaign_id AS source_campaign_id, c.id AS lead_id, NULL::bigint AS parent
                FROM g_contact c JOIN g_ends e ON e.contact_id = c.id AND e.j = 1
                WHERE c.opp_at IS NOT NULL
                UNION ALL
                SELECT 1, o.n, o.id, o.company_id, rep.id, x.created_at,
                       CASE WHEN x.closes < %(end)s AND x.u < {P_OUT_WON + P_OUT_LOST} THEN x.closes END,
                       CASE WHEN x.closes >= %(end)s OR x.u >= {P_OUT_WON + P_OUT_LOST} THEN 'open'
                            WHEN x.u < {P_OUT_WON} THEN 'won' ELSE 'lost' END,
                       {_pick(NEW_BUSINESS_AMOUNTS, r("o.n", 71))}::numeric, NULL, NULL, NULL
                FROM outbound o
                CROSS JOIN LATERAL (
                    SELECT o.created_at + {d(f"0.5 + 4 * {r('o.n', 72)}")} AS created_at, {r("o.n", 73)} AS u,
                           o.created_at + {d(f"0.5 + 4 * {r('o.n', 72)} + 1.5 + 7 * {r('o.n', 74)}")} AS
                               closes
                ) x
                JOIN g_rep rep ON rep.i = floor({r("o.n", 75)} * {self.reps})::int
                WHERE o.o <= {self.spec.count(OUTBOUND_DEALS)} AND x.created_at < %(end)s
            )
            SELECT {self.base("sales_deal")} + row_number() OVER (ORDER BY part, contact_n) AS id, *
            FROM planned
            """
        )
        # Upsells of won new business at a company, some months after the win.
        self.x(
            f"""
            INSERT INTO g_deal
            SELECT (SELECT max(id) FROM g_deal) + row_number() OVER (ORDER BY w.id), 2, w.contact_n,
                   w.contact_id, w.company_id, w.owner_id, x.created_at,
                   CASE WHEN x.closes < %(end)s THEN x.closes END,
                   CASE WHEN x.closes >= %(end)s THEN 'open' WHEN {r("w.id", 80)} < {P_UPSELL_WON} THEN 'won'
                        ELSE 'lost' END,
                   {_pick(UPSELL_AMOUNTS, r("w.id", 81))}::numeric, NULL, NULL, w.id
            FROM g_deal w
            CROSS JOIN LATERAL (
                SELECT w.closed_at + {d(f"2.5 + 10 * {r('w.id', 82)}")} AS created_at,
                       w.closed_at + {d(f"2.5 + 10 * {r('w.id', 82)} + 1 + 3 * {r('w.id', 83)}")} AS closes
            ) x
            WHERE w.status = 'won' AND w.company_id IS NOT NULL AND {r("w.id", 84)} < {P_UPSELL}
              AND x.created_at < %(end)s
            """
        )
        # The subscription each won new-business deal at a company starts, and its MRR moves: the upsell
        # won, a contraction, then the renewal a year on.
        self.x(
            f"""
            CREATE TEMP TABLE g_sub ON COMMIT DROP AS
            SELECT {self.base("sales_subscription")} + row_number() OVER (ORDER BY w.id) AS id, w.id AS
                deal_id,
                   w.company_id, w.closed_at, w.amount, round(w.amount / 12, 2) AS mrr0,
                   up.id AS upsell_id, up.closed_at AS upsell_at, round(up.amount / 12, 2) AS upsell_mrr,
                   CASE WHEN {r("w.id", 85)} < {P_CONTRACTION}
                             AND w.closed_at + interval '1 day' * (210 + 110 * {r("w.id", 86)}) < %(end)s
                        THEN w.closed_at + interval '1 day' * (210 + 110 * {r("w.id", 86)}) END AS
                            contraction_at
            FROM g_deal w
            LEFT JOIN g_deal up ON up.parent = w.id AND up.part = 2 AND up.status = 'won'
            WHERE w.part IN (0, 1) AND w.status = 'won' AND w.company_id IS NOT NULL
            """
        )
        self.x(
            """
            ALTER TABLE g_sub ADD COLUMN mrr1 numeric, ADD COLUMN mrr2 numeric;
            UPDATE g_sub SET mrr1 = mrr0 + COALESCE(upsell_mrr, 0);
            UPDATE g_sub SET mrr2 = CASE WHEN contraction_at IS NOT NULL THEN round(mrr1 * 0.7, 2) ELSE mrr1
                END;
            """
        )
        self.x(
            f"""
            INSERT INTO g_deal
            SELECT (SELECT max(id) FROM g_deal) + row_number() OVER (ORDER BY s.deal_id), 3, w.contact_n,
                   w.contact_id, w.company_id, w.owner_id, s.closed_at + interval '300 days',
                   CASE WHEN x.closes < %(end)s THEN x.closes END,
                   CASE WHEN x.closes >= %(end)s THEN 'open' WHEN {r("w.id", 87)} < {P_RENEWED} THEN 'won'
                        ELSE 'lost' END,
                   12 * s.mrr2, NULL, NULL, w.id
            FROM g_sub s JOIN g_deal w ON w.id = s.deal_id
            CROSS JOIN LATERAL (
                SELECT s.closed_at + interval '1 day' * (330 + 35 * {r("w.id", 88)}) AS closes
            ) x
            WHERE s.closed_at + interval '300 days' < %(end)s
            """
        )
        # How far each deal went through its pipeline's open stages, and when it entered the last one.
        self.x("ALTER TABLE g_deal ADD COLUMN depth int, ADD COLUMN last_move timestamptz")
        self.x(
            f"""
            UPDATE g_deal d SET depth = CASE WHEN d.status = 'won' THEN s.n_open
                                             ELSE 1 + floor({r("d.id", 89)} * s.n_open)::int END
            FROM (SELECT DISTINCT part, n_open FROM g_stage) s WHERE s.part = {PIPELINE_OF_PART}
            """
        )
        self.x(f"UPDATE g_deal d SET last_move = {self._move_at('d', 'd.depth - 1')}")
        self.x("ALTER TABLE g_deal ADD PRIMARY KEY (id)")

    def _move_at(self, deal: str, i: str) -> str:
        """SQL: when deal ``deal`` entered its ``i``-th open stage (0: at its creation)."""
        return (
            f"CASE WHEN ({i}) = 0 THEN {deal}.created_at ELSE {deal}.created_at + "
            f"(COALESCE({deal}.closed_at, %(end)s::timestamptz) - {deal}.created_at) "
            f"* ((({i}) + 0.9 * {self.r(f'{deal}.id * 16 + ({i})', 90)}) / {deal}.depth) END"
        )

    def contacts(self) -> None:
        r = self.r
        stage = """CASE WHEN c.won_at IS NOT NULL OR ow.at IS NOT NULL THEN 'customer'
                    WHEN c.opp_at IS NOT NULL THEN 'opportunity' WHEN c.sql_at IS NOT NULL THEN 'sql'
                    WHEN c.rej_at IS NOT NULL THEN 'lead' WHEN c.mql_at IS NOT NULL THEN 'mql'
                    WHEN c.dq_at IS NOT NULL THEN 'disqualified' WHEN c.lead_at IS NOT NULL THEN 'lead'
                    ELSE 'subscriber' END"""
        changed = "COALESCE(c.won_at, ow.at, c.opp_at, c.sql_at, c.rej_at, c.mql_at, c.dq_at, c.created_at)"
        first, last = _pick(FIRST, r("c.n", 100)), _pick(LAST, r("c.n", 101))
        title = _pick([t for t, _ in TITLES], r("c.n", 102))
        seniority = _pick([s for _, s in TITLES], r("c.n", 102))
        domain = f"COALESCE(co.domain, {_pick(['gmail.com', 'outlook.com', 'proton.me'], r('c.n', 103))})"
        engagement = (
            f"CASE WHEN c.mql_at IS NOT NULL THEN 40 + floor({r('c.n', 104)} * 50)::int "
            f"WHEN c.lead_at IS NOT NULL THEN floor({r('c.n', 104)} * 45)::int "
            f"ELSE floor({r('c.n', 104)} * 15)::int END"
        )
        self.x(
            f"""
            INSERT INTO marketing_contact (id, email, first_name, last_name, phone, job_title, seniority,
                country, region, consent_marketing, consent_at, unsubscribed, unsubscribed_at, age_band,
                    gender,
                marital_status, income_band, education, occupation, interests, lifecycle_stage,
                lifecycle_changed_at, mql_at, fit_score, engagement_score, score, score_updated_at,
                first_touch_source, first_touch_medium, first_touch_referrer, first_touch_at,
                last_touch_source, last_touch_medium, last_touch_referrer, last_touch_at, source, created_at,
                updated_at, company_id, first_touch_campaign_id, last_touch_campaign_id, owner_id)
            SELECT c.id,
                   translate(lower(p.first || '.' || p.last || '.' || c.id || '@' || {domain}), 'íüóé ',
                       'iuoe'),
                   p.first, p.last, '', {title}, {seniority}, COALESCE(co.country,
                       {_pick(COUNTRIES, r("c.n", 105))}),
                   '', p.consent, CASE WHEN p.consent THEN c.created_at END, p.unsubscribed,
                   CASE WHEN p.unsubscribed THEN c.created_at + (%(end)s::timestamptz - c.created_at) * 0.5
                       END,
                   {_pick(["18-24", "25-34", "35-44", "45-54", "55-64", "", ""], r("c.n", 106))},
                   {_pick(["female", "male", "non_binary", "undisclosed", "", ""], r("c.n", 107))}, '', '',
                       '',
                   '', CASE WHEN {r("c.n", 108)} < 0.6
                            THEN ARRAY[{_pick(INTERESTS, r("c.n", 109))}] ELSE '{{}}'::text[] END,
                   {stage}, {changed}, c.mql_at, p.fit, p.engagement, p.fit + p.engagement, %(end)s,
                   f.utm_source, f.channel, f.referrer, f.at, l.utm_source, l.channel, l.referrer, l.at,
                   CASE WHEN c.lead_at IS NULL THEN 'import'
                        ELSE {_pick(["form", "form", "form", "api", "manual"], r("c.n", 110))} END,
                   c.created_at, {changed}, c.company_id, f.campaign_id, l.campaign_id,
                   CASE WHEN c.mql_at IS NOT NULL THEN c.rep_id END
            FROM g_contact c
            LEFT JOIN marketing_company co ON co.id = c.company_id
            LEFT JOIN ({WON_OUTBOUND}) ow ON ow.contact_id = c.id
            JOIN g_ends f ON f.contact_id = c.id AND f.j = 1
            JOIN g_ends l ON l.contact_id = c.id AND l.j = c.touches
            CROSS JOIN LATERAL (
                SELECT {first} AS first, {last} AS last, {r("c.n", 111)} < 0.7 AS consent,
                       {r("c.n", 112)} < 0.04 AS unsubscribed, 10 * floor({r("c.n", 113)} * 5)::int AS fit,
                       {engagement} AS engagement
            ) p
            """
        )

    def transitions(self) -> None:
        rule_version = "(SELECT max(version) FROM marketing_mqlrule)"
        reason = (
            f"(SELECT name FROM g_rejection WHERE i = floor({self.r('c.n', 120)} * {self.nrejections})::int)"
        )
        self.x(
            f"""
            INSERT INTO marketing_stagetransition (contact_id, from_stage, to_stage, at, by_user_id, by_rule,
                rule_version, reason)
            SELECT c.id, v.from_stage, v.to_stage, v.at, v.by_user, v.rule, v.version, v.reason
            FROM g_contact c
            LEFT JOIN ({WON_OUTBOUND}) ow ON ow.contact_id = c.id
            CROSS JOIN LATERAL (VALUES
                ('', 'lead', c.lead_at, NULL::bigint, 'form', NULL::int, ''),
                ('lead', 'mql', c.mql_at, NULL, 'mql-rule', {rule_version}, ''),
                ('lead', 'disqualified', c.dq_at, NULL, 'manual', NULL, 'Not a fit'),
                ('mql', 'sql', c.sql_at, c.rep_id, 'lead-accepted', NULL, ''),
                ('mql', 'lead', c.rej_at, c.rep_id, 'lead-rejected', NULL, {reason}),
                ('sql', 'opportunity', c.opp_at, c.rep_id, 'deal-opened', NULL, ''),
                ('opportunity', 'customer', c.won_at, c.rep_id, 'deal-won', NULL, 'Won a deal'),
                ('subscriber', 'customer', ow.at, ow.owner_id, 'deal-won', NULL, 'Won a deal')
            ) AS v(from_stage, to_stage, at, by_user, rule, version, reason)
            WHERE v.at IS NOT NULL
            """
        )

    def touchpoints(self) -> None:
        r = self.r
        content = f"(SELECT id FROM g_content WHERE i = floor(t.u_content * {max(1, self.ncontent)})::int)"
        path = _pick(["/", "/pricing", "/blog", "/product", "/demo"], "t.u_content")
        columns = """(kind, contact_id, anonymous_id, campaign_id, content_id, send_id, channel, utm_source,
            utm_medium, utm_campaign, utm_term, utm_content, referrer, url, occurred_at, external_id,
            created_at)"""
        self.x(
            f"""
            INSERT INTO marketing_touchpoint {columns}
            SELECT t.kind, t.contact_id, '', t.campaign_id,
                   CASE WHEN t.kind = 'content_download' THEN {content} END,
                   CASE WHEN t.u_send < 0.7 AND s.sent_at <= t.at THEN s.id END,
                   t.channel, t.utm_source, t.channel, t.utm_campaign, '', '', t.referrer,
                   'https://www.' || %(slug)s || '.example' || {path}, t.at, '', t.at
            FROM ({self._touches("all")}) t
            LEFT JOIN g_send s ON s.campaign_id = t.campaign_id AND s.w = t.w
            """,
            slug=self.spec.slug,
        )
        anonymous = self.spec.count(ANONYMOUS_TOUCHES)
        self.x(
            f"""
            INSERT INTO marketing_touchpoint {columns}
            SELECT CASE WHEN {r("i", 130)} < 0.8 THEN 'page_visit' ELSE 'ad_click' END, NULL,
                   'anon-' || {self.spec.stream} || '-' || mod(i, GREATEST(1, {anonymous // 3})),
                       a.campaign_id,
                   NULL, NULL, COALESCE(a.channel, ''), COALESCE(replace(a.channel, '_', '-'), ''),
                   COALESCE(a.channel, ''), COALESCE(a.utm_campaign, ''), '', '', '',
                   'https://www.' || %(slug)s || '.example/', x.at, '', x.at
            FROM generate_series(1, {anonymous}) i
            CROSS JOIN LATERAL (
                SELECT %(start)s::timestamptz + (%(end)s::timestamptz - %(start)s::timestamptz) *
                    {r("i", 131)} AS at
            ) x
            LEFT JOIN g_wcount wc ON wc.w = {week("x.at")}
            LEFT JOIN g_active a ON a.w = wc.w AND a.slot = floor({r("i", 132)} * wc.cnt)::int
            """,
            slug=self.spec.slug,
        )

    def decisions(self) -> None:
        reason = (
            f"(SELECT id FROM g_rejection WHERE i = floor({self.r('c.n', 120)} * {self.nrejections})::int)"
        )
        self.x(
            f"""
            INSERT INTO sales_leaddecision (contact_id, mql_at, decision, reason_id, note, campaign_id,
                decided_by_id, decided_at)
            SELECT c.id, c.mql_at, CASE WHEN c.sql_at IS NOT NULL THEN 'accepted' ELSE 'rejected' END,
                   CASE WHEN c.sql_at IS NULL THEN {reason} END, '', f.campaign_id, c.rep_id,
                   COALESCE(c.sql_at, c.rej_at)
            FROM g_contact c JOIN g_ends f ON f.contact_id = c.id AND f.j = 1
            WHERE c.sql_at IS NOT NULL OR c.rej_at IS NOT NULL
            """
        )
        # The first sales touch of each MQL (speed to lead): done before the decision, or for a waiting
        # MQL done or still due.
        self.x(
            f"""
            INSERT INTO sales_activity (kind, subject, due_at, done_at, outcome, notes, created_at,
                contact_id,
                owner_id, deal_id, content_id)
            SELECT x.kind, x.subject, x.at, CASE WHEN x.done THEN x.at END,
                   CASE WHEN x.done THEN 'Reached' ELSE '' END, '', c.mql_at, c.id, c.rep_id, NULL, NULL
            FROM g_contact c
            CROSS JOIN LATERAL (
                SELECT CASE WHEN {self.r("c.n", 121)} < 0.6 THEN 'call' ELSE 'email' END AS kind,
                       'First touch after MQL' AS subject,
                       c.mql_at + (COALESCE(c.sql_at, c.rej_at, c.mql_at + interval '3 days') - c.mql_at)
                                  * {self.r("c.n", 122)} AS at,
                       c.sql_at IS NOT NULL OR c.rej_at IS NOT NULL OR {self.r("c.n", 123)} < 0.5 AS done
            ) x
            WHERE c.mql_at IS NOT NULL AND (x.at < %(end)s OR NOT x.done)
            """
        )

    # --- Sales ---------------------------------------------------------------------------------------

    def deals(self) -> None:
        r = self.r
        part = PIPELINE_OF_PART
        reason = f"(SELECT id FROM g_reason WHERE i = floor({r('d.id', 140)} * {self.nreasons})::int)"
        category = f"(SELECT category FROM g_reason WHERE i = floor({r('d.id', 140)} * {self.nreasons})::int)"
        kind_of = "CASE d.status WHEN 'won' THEN 'won' WHEN 'lost' THEN 'lost' ELSE 'open' END"
        name = """COALESCE(co.name, ct.first_name || ' ' || ct.last_name)
                  || CASE d.part WHEN 2 THEN ' (upsell)' WHEN 3 THEN ' (renewal)' ELSE '' END"""
        deal_type = (
            f"CASE d.part WHEN 2 THEN CASE WHEN {r('d.id', 141)} < 0.7 THEN 'upsell' ELSE 'cross_sell' END "
            "WHEN 3 THEN 'renewal' ELSE 'new_business' END"
        )
        forecast = (
            "CASE d.status WHEN 'won' THEN 'commit' WHEN 'lost' THEN 'omitted' ELSE "
            f"{_pick(['pipeline', 'pipeline', 'best_case', 'commit'], r('d.id', 142))} END"
        )
        self.x(
            f"""
            INSERT INTO sales_deal (id, name, amount, deal_type, expected_close_date, forecast_category,
                probability_override, status, closed_at, loss_category, loss_note, stage_entered_at, version,
                created_at, updated_at, company_id, lead_id, owner_id, source_campaign_id, loss_reason_id,
                pipeline_id, stage_id)
            SELECT d.id, {name}, d.amount, {deal_type},
                   COALESCE(d.closed_at, d.created_at + interval '1 day' * (30 + 90 *
                       {r("d.id", 143)}))::date,
                   {forecast}, NULL, d.status, d.closed_at,
                   CASE WHEN d.status = 'lost' THEN {category} ELSE '' END,
                   CASE WHEN d.status = 'lost' THEN {_pick(LOSS_NOTES, r("d.id", 144))} ELSE '' END,
                   COALESCE(d.closed_at, d.last_move), d.depth + CASE WHEN d.closed_at IS NULL THEN 0 ELSE 1
                       END,
                   d.created_at, COALESCE(d.closed_at, d.last_move), d.company_id, d.lead_id, d.owner_id,
                   d.source_campaign_id, CASE WHEN d.status = 'lost' THEN {reason} END, s.pipeline_id,
                       s.stage_id
            FROM g_deal d
            JOIN marketing_contact ct ON ct.id = d.contact_id
            LEFT JOIN marketing_company co ON co.id = d.company_id
            JOIN g_stage s ON s.part = {part} AND s.kind = {kind_of}
                 AND s.pos = CASE WHEN d.status = 'open' THEN d.depth - 1 ELSE 0 END
            """
        )
        # Contacts: the deal's contact, and for open and lost new business up to two colleagues (a won deal
        # makes every contact a customer, so won deals keep to the contact whose history says so).
        self.x(
            f"""
            INSERT INTO sales_dealcontact (deal_id, contact_id, is_primary)
            SELECT d.id, d.contact_id, TRUE FROM g_deal d
            UNION ALL
            SELECT d.id, c.id, FALSE FROM g_deal d
            CROSS JOIN LATERAL generate_series(1, floor({r("d.id", 145)} * 3)::int) k
            JOIN g_contact c ON c.n = d.contact_n + k * {self.ncompanies} AND c.company_id = d.company_id
            WHERE d.part IN (0, 1) AND d.status <> 'won' AND c.created_at <= d.created_at
            """
        )
        self.x(
            f"""
            INSERT INTO sales_dealstagechange (deal_id, from_stage_id, to_stage_id, at, by_id)
            SELECT d.id, prev.stage_id, s.stage_id, {self._move_at("d", "i")}, d.owner_id
            FROM g_deal d
            CROSS JOIN LATERAL generate_series(0, d.depth - 1) i
            JOIN g_stage s ON s.part = {part} AND s.kind = 'open' AND s.pos = i
            LEFT JOIN g_stage prev ON prev.part = s.part AND prev.kind = 'open' AND prev.pos = i - 1
            UNION ALL
            SELECT d.id, last.stage_id, s.stage_id, d.closed_at, d.owner_id
            FROM g_deal d
            JOIN g_stage last ON last.part = {part} AND last.kind = 'open' AND last.pos = d.depth - 1
            JOIN g_stage s ON s.part = last.part AND s.kind = d.status AND s.pos = 0
            WHERE d.status IN ('won', 'lost')
            ORDER BY 1, 4
            """
        )
        subjects = (
            "CASE x.kind WHEN 'call' THEN 'Discovery call' WHEN 'email' THEN 'Sent material' "
            "WHEN 'meeting' THEN 'Meeting with the buying team' WHEN 'demo' THEN 'Product demo' "
            "ELSE 'Follow-up' END"
        )
        collateral = (
            "(SELECT id FROM g_content WHERE collateral "
            f"AND ci = floor({r('d.id * 8 + k', 146)} * {max(1, self.ncollateral)})::int)"
        )
        self.x(
            f"""
            INSERT INTO sales_activity (kind, subject, due_at, done_at, outcome, notes, created_at,
                contact_id,
                owner_id, deal_id, content_id)
            SELECT x.kind, {subjects} || ' with ' || ct.first_name, x.at, x.at, 'Went well', '', x.at,
                   d.contact_id, d.owner_id, d.id,
                   CASE WHEN x.kind = 'email' AND {r("d.id * 8 + k", 147)} < 0.6 THEN {collateral} END
            FROM g_deal d
            JOIN marketing_contact ct ON ct.id = d.contact_id
            CROSS JOIN LATERAL generate_series(1, 2 + floor({r("d.id", 148)} * 4)::int) k
            CROSS JOIN LATERAL (
                SELECT {_pick(ACTIVITY_KINDS, r("d.id * 8 + k", 149))} AS kind,
                       d.created_at + (COALESCE(d.closed_at, %(end)s::timestamptz) - d.created_at)
                                      * {r("d.id * 8 + k", 150)} AS at
            ) x
            UNION ALL
            SELECT 'follow_up', 'Next step with ' || ct.first_name,
                   %(end)s::timestamptz + interval '1 day' * (-4 + 11 * {r("d.id", 151)}), NULL, '', '',
                   d.last_move, d.contact_id, d.owner_id, d.id, NULL
            FROM g_deal d JOIN marketing_contact ct ON ct.id = d.contact_id
            WHERE d.status = 'open' AND {r("d.id", 152)} < 0.5
            """
        )

    def customers(self) -> None:
        self.x(
            """
            INSERT INTO sales_customeraccount (company_id, since, first_deal_id)
            SELECT DISTINCT ON (company_id) company_id, closed_at, id FROM g_deal
            WHERE part IN (0, 1) AND status = 'won' AND company_id IS NOT NULL
            ORDER BY company_id, closed_at, id
            ON CONFLICT (company_id) DO NOTHING
            """
        )
        self.x(
            """
            UPDATE marketing_company co SET is_customer = TRUE, updated_at = a.since
            FROM sales_customeraccount a WHERE a.company_id = co.id AND NOT co.is_customer
            """
        )
        plan = (
            "CASE WHEN s.amount < 9600 THEN 'Starter' WHEN s.amount < 18000 THEN 'Team' "
            "WHEN s.amount < 36000 THEN 'Business' ELSE 'Enterprise' END"
        )
        self.x(
            f"""
            INSERT INTO sales_subscription (id, plan, mrr, start_date, renewal_date, status, account_id)
            SELECT s.id, {plan}, CASE WHEN ren.status = 'lost' THEN 0 ELSE s.mrr2 END, s.closed_at::date,
                   (s.closed_at + CASE WHEN ren.status = 'won' THEN interval '2 years' ELSE interval '1 year'
                       END)::date,
                   CASE WHEN ren.status = 'lost' THEN 'cancelled' ELSE 'active' END, a.id
            FROM g_sub s
            JOIN sales_customeraccount a ON a.company_id = s.company_id
            LEFT JOIN g_deal ren ON ren.parent = s.deal_id AND ren.part = 3
            """
        )
        self.x(
            """
            INSERT INTO sales_subscriptionevent (subscription_id, kind, at, mrr_before, mrr_after,
                churn_reason,
                deal_id)
            SELECT s.id, v.kind, v.at, v.before, v.after, v.reason, v.deal_id
            FROM g_sub s
            LEFT JOIN g_deal ren ON ren.parent = s.deal_id AND ren.part = 3 AND ren.status IN ('won', 'lost')
            CROSS JOIN LATERAL (VALUES
                ('new', s.closed_at, 0::numeric, s.mrr0, '', s.deal_id),
                ('expansion', s.upsell_at, s.mrr0, s.mrr1, '', s.upsell_id),
                ('contraction', s.contraction_at, s.mrr1, s.mrr2, '', NULL),
                (CASE WHEN ren.status = 'won' THEN 'renewal' ELSE 'churn' END, ren.closed_at, s.mrr2,
                 CASE WHEN ren.status = 'won' THEN s.mrr2 ELSE 0 END,
                 CASE WHEN ren.status = 'lost' THEN 'Did not renew' ELSE '' END, ren.id)
            ) AS v(kind, at, before, after, reason, deal_id)
            WHERE v.at IS NOT NULL
            """
        )

    # --- Set-up that belongs to a new workspace only ----------------------------------------------------

    def quotas(self) -> None:
        """Monthly revenue quotas per rep, a little above what reps won on average; a quarterly deal quota
        per team."""
        self.x(
            f"""
            WITH won AS (
                SELECT COALESCE(sum(amount), 0) / GREATEST(1, {self.reps}) / 24.0 AS monthly, count(*) / 8.0
                    AS quarterly
                FROM sales_deal WHERE status = 'won'
            )
            INSERT INTO sales_quota (period, period_start, metric, target, owner_id, team_id)
            SELECT 'month', m::date, 'revenue_won',
                   GREATEST(10000, round(w.monthly * (0.9 + 0.4 *
                       {self.r("rep.id * 1000 + extract(month FROM m)", 160)}) / 5000) * 5000),
                   rep.id, NULL
            FROM won w CROSS JOIN g_rep rep
            CROSS JOIN generate_series(date_trunc('month', %(start)s::timestamptz),
                                       date_trunc('month', %(end)s::timestamptz), interval '1 month') m
            UNION ALL
            SELECT 'quarter', q::date, 'deals_won', GREATEST(10, round(w.quarterly * 1.1 / GREATEST(1, t.n))),
                   NULL, t.id
            FROM won w CROSS JOIN (SELECT id, count(*) OVER () AS n FROM sales_team) t
            CROSS JOIN generate_series(date_trunc('quarter', %(start)s::timestamptz),
                                       date_trunc('quarter', %(end)s::timestamptz), interval '3 months') q
            ON CONFLICT DO NOTHING
            """
        )

    def segments(self) -> None:
        rows = [(name, "rule", json.dumps(definition), 0.0) for name, definition in RULE_SEGMENTS]
        rows += [(name, "static", "{}", share) for name, share in STATIC_SEGMENTS]
        for index, (name, kind, definition, share) in enumerate(rows):
            segment = self.one(
                """
                INSERT INTO marketing_segment (name, description, kind, definition, created_at, updated_at)
                VALUES (%(name)s, '', %(kind)s, %(definition)s::jsonb, %(start)s, %(start)s) RETURNING id
                """,
                name=name,
                kind=kind,
                definition=definition,
            )
            if kind == "static":
                self.x(
                    f"""
                    INSERT INTO marketing_segmentmember (segment_id, contact_id, added_at)
                    SELECT %(segment)s, c.id, c.created_at FROM g_contact c
                    WHERE {self.r(f"c.n * 16 + {index}", 170)} < %(share)s
                    """,
                    segment=segment,
                    share=share,
                )


# --- Entry points ------------------------------------------------------------------------------------


def history_window(as_of: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """Two years of history ending at the start of ``as_of`` (UTC), starting on a Monday."""
    end = dt.datetime.combine(as_of, dt.time(0), tzinfo=dt.UTC)
    first = (end - dt.timedelta(days=HISTORY_DAYS)).date()
    start = dt.datetime.combine(first - dt.timedelta(days=first.weekday()), dt.time(0), tzinfo=dt.UTC)
    return start, end


def schema_marker(schema: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT obj_description(oid, 'pg_namespace') FROM pg_namespace WHERE nspname = %s", [schema]
        )
        row = cursor.fetchone()
    return (row[0] or "") if row else ""


def has_data() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT EXISTS (SELECT 1 FROM marketing_campaign) OR EXISTS (SELECT 1 FROM marketing_contact) "
            "OR EXISTS (SELECT 1 FROM sales_deal)"
        )
        return cursor.fetchone()[0]


def _users(slug: str, scale: float) -> None:
    """A handful of sales reps in two teams, two marketers and a leader (existing ones are kept)."""
    from accounts.models import User
    from accounts.services import user_create
    from sales.models import Team
    from sales.services.setup import team_create, team_set_members

    people = [
        (f"rep{i}@{slug}.example", f"{FIRST[i % len(FIRST)]} {LAST[i % len(LAST)]}", ["sales"])
        for i in range(1, max(3, round(REPS * scale**0.5)) + 1)
    ]
    people += [
        (f"marketer1@{slug}.example", "Mara Marketer", ["marketing"]),
        (f"marketer2@{slug}.example", "Milo Marketer", ["marketing"]),
        (f"leader@{slug}.example", "Lee Leader", ["leadership"]),
    ]
    reps = []
    for email, name, roles in people:
        user = User.objects.filter(email=email).first() or user_create(
            email=email, full_name=name, roles=roles
        )
        if "sales" in roles:
            reps.append(user)
    for index, team_name in enumerate(["Team North", "Team South"]):
        team = Team.objects.filter(name=team_name).first() or team_create(name=team_name)
        team_set_members(team=team, members=reps[index::2])


def generate(*, schema: str, spec: Spec) -> None:
    """Fill an empty workspace (in one transaction) and mark its schema with the parameters."""
    with schema_context(schema), transaction.atomic():
        _users(spec.slug, spec.scale)
        with connection.cursor() as cursor:
            Generator(cursor, spec).run()
            # Utility statements take no parameters; the marker is made of digits and constant words.
            cursor.execute(f"COMMENT ON SCHEMA \"{schema}\" IS '{marker(scale=spec.scale, seed=spec.seed)}'")


def generate_batch(
    *, fraction: float, seed: int, days: float, stream: int, now: dt.datetime, slug: str
) -> None:
    """Add ``fraction`` of a scale-1 workspace's facts, dated in the ``days`` before ``now``, to the current
    (already generated) workspace: contacts with their funnel and touchpoints, decisions, deals with their
    history, customers, and spend on the campaigns active then. Runs in the caller's transaction."""
    spec = Spec(
        scale=fraction,
        seed=seed,
        start=now - dt.timedelta(days=days),
        end=now,
        slug=slug,
        stream=stream,
        gap_days=GAP_DAYS * days / HISTORY_DAYS * 8,
        fresh=False,
    )
    with connection.cursor() as cursor:
        Generator(cursor, spec).run()


def analyze(schema: str) -> None:
    with schema_context(schema), connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def counts(schema: str) -> dict[str, int]:
    tables = {
        "campaigns": "marketing_campaign",
        "cost lines": "marketing_costline",
        "sends": "marketing_campaignsend",
        "companies": "marketing_company",
        "contacts": "marketing_contact",
        "touchpoints": "marketing_touchpoint",
        "transitions": "marketing_stagetransition",
        "lead decisions": "sales_leaddecision",
        "deals": "sales_deal",
        "deal stage changes": "sales_dealstagechange",
        "activities": "sales_activity",
        "customers": "sales_customeraccount",
        "subscriptions": "sales_subscription",
        "subscription events": "sales_subscriptionevent",
    }
    with schema_context(schema), connection.cursor() as cursor:
        result = {}
        for label, table in tables.items():
            cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 - constant names
            result[label] = cursor.fetchone()[0]
    return result


class Command(BaseCommand):
    help = (
        "Fill a workspace with deterministic, realistic data for benchmarks "
        "(manage.py generate_data --tenant bench --scale 1 --seed 42)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True, help="The workspace's slug; created when missing")
        parser.add_argument("--scale", required=True, type=float, help="1 = 100k contacts, 1M touchpoints")
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--tenants", type=int, default=0, help="Also fill K tiny workspaces S1..SK")
        parser.add_argument("--as-of", default=None, help="The day the history ends (YYYY-MM-DD, UTC)")

    def handle(self, *args, tenant: str, scale: float, seed: int, tenants: int, as_of: str | None, **options):
        if not (0 < scale <= MAX_SCALE):
            raise CommandError(f"--scale must be above 0 and at most {MAX_SCALE}, not {scale:g}.")
        if not (0 <= seed < 2**31):
            raise CommandError(f"--seed must be between 0 and {2**31 - 1}, not {seed}.")
        if not (0 <= tenants <= MAX_TENANTS):
            raise CommandError(f"--tenants must be between 0 and {MAX_TENANTS}, not {tenants}.")
        try:
            day = dt.date.fromisoformat(as_of) if as_of else dt.datetime.now(dt.UTC).date()
        except ValueError as exc:
            raise CommandError(f"--as-of must be a date like 2026-01-31, not {as_of!r}.") from exc
        slug = normalize_slug(tenant)
        slugs = [slug] + [f"{slug}{i}" for i in range(1, tenants + 1)]
        for value in slugs:
            try:
                validate_slug(value)
            except ValidationError as exc:
                raise CommandError(f"--tenant: {value!r}: {' '.join(exc.messages)}") from exc
        start, end = history_window(day)
        # the small workspaces' admins share one password, hashed once (hashing took longer than a copy)
        self.shared_password = secrets.token_urlsafe(12)
        self.shared_hash = make_password(self.shared_password) if tenants else ""
        for index, value in enumerate(slugs):
            spec = Spec(
                scale=scale if index == 0 else TINY_SCALE, seed=seed + index, start=start, end=end, slug=value
            )
            self._one(spec)

    def _one(self, spec: Spec) -> None:
        from accounts.tenancy.services import tenant_create, tenant_provision

        tenant = Tenant.objects.filter(slug=spec.slug).first()
        if tenant is None:
            small = spec.scale == TINY_SCALE and bool(self.shared_hash)
            password = self.shared_password if small else secrets.token_urlsafe(12)
            try:
                tenant = tenant_create(
                    slug=spec.slug,
                    name=f"Generated {spec.slug}",
                    admin_email=f"admin@{spec.slug}.example",
                    admin_password=password,
                    admin_password_hash=self.shared_hash if small else "",
                )
            except ValidationError as exc:
                lines = [f"{field}: {' '.join(msgs)}" for field, msgs in exc.message_dict.items()]
                raise CommandError(f"Workspace {spec.slug} not created.\n" + "\n".join(lines)) from exc
            self.stdout.write(f"Created workspace {spec.slug}: admin@{spec.slug}.example / {password}")
        elif not tenant.ready:
            tenant = tenant_provision(tenant_id=tenant.pk)
        schema = tenant.schema_name
        found = schema_marker(schema)
        if found == marker(scale=spec.scale, seed=spec.seed):
            self.stdout.write(f"{spec.slug}: already generated ({found}); nothing to do.")
            return
        with schema_context(schema):
            filled = has_data()
        if filled:
            raise CommandError(
                f"Workspace {spec.slug} already holds data"
                + (f" ({found})" if found else "")
                + "; generate_data fills only an empty workspace. Use another --tenant."
            )
        generate(schema=schema, spec=spec)
        analyze(schema)
        summary = ", ".join(f"{n:,} {label}" for label, n in counts(schema).items())
        self.stdout.write(
            self.style.SUCCESS(f"{spec.slug} (scale {spec.scale:g}, seed {spec.seed}): {summary}")
        )


__all__ = ["Spec", "generate", "generate_batch", "history_window", "marker"]
