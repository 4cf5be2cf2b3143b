"""The joint reports (portal pages, CSV downloads and the JSON API) read the stored values: hand-seeded
MetricValue and AttributionCredit rows come back as the right numbers, NULL as "no data", filters narrow to
one dimension, bad filters are a 400 naming the parameter; tenants are isolated, every role reads, and the
number of queries does not grow with the stored rows."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import schema_context

from alignment import reports
from alignment.models import AttributionCredit, DefinitionVersion, EngineRun, MetricValue
from alignment.reports.filters import QUARTER, period_of
from alignment.services import current_definition
from marketing.models import StageTransition, Touchpoint
from marketing.models.campaigns import CampaignSend
from sales.models import Deal, Quota, Team
from sales.services.deals import deal_create
from tests.conftest import BREAKS_RULE, BREAKS_SCHEMA, api_client, api_key_for, login, refused, user_in
from tests.marketing import factories

pytestmark = pytest.mark.django_db

JAN, FEB, MAR = dt.date(2026, 1, 1), dt.date(2026, 2, 1), dt.date(2026, 3, 1)
RANGE = "granularity=month&start=2026-01-01&end=2026-03-31"
MODELS = ("first_touch", "last_touch", "linear", "u_shaped", "w_shaped", "time_decay")
PAGES = ["/alignment/reports/", "/alignment/reports/attribution/", "/alignment/reports/lead-quality/"]
APIS = ["/api/v1/reports/joint/", "/api/v1/reports/attribution/", "/api/v1/reports/lead-quality/"]


def value(metric, period, v, *, grain="month", dim="", dv="", model="", num=None, den=None, definition=None):
    return MetricValue(
        metric=metric,
        granularity=grain,
        period_start=period,
        dimension=dim,
        dimension_value=str(dv),
        model=model,
        definition=definition,
        value=None if v is None else Decimal(str(v)),
        numerator=None if num is None else Decimal(str(num)),
        denominator=None if den is None else Decimal(str(den)),
    )


# Whole-workspace funnel per month: visits, leads, MQLs, SQLs, opportunities, won (new customers).
FUNNEL = {
    JAN: (1000, 100, 40, 10, 5, 2),
    FEB: (1200, 120, 50, 20, 8, 3),
    MAR: (1100, 110, 44, 11, 6, 2),
}
STEPS = ("visits", "leads", "mqls", "sqls", "opportunities", "new_customers")


def seed(
    slug: str, *, base: int = 0, campaigns: int = 2, finished: bool = True, workspace: bool = True
) -> dict:
    """Stored values as the engine would write them, in ``slug``'s schema: the funnel above (plus ``base``
    leads in January, to tell tenants apart), an email-channel funnel, pipeline and economics, campaigns
    with spend and attributed revenue per model, lead quality, and a send with its lag."""
    with schema_context(slug):
        definition = current_definition()
        if finished:
            EngineRun.objects.create(
                kind=EngineRun.Kind.FULL, definition=definition, finished_at=timezone.now()
            )
        rows = []
        add = rows.append
        for period, counts in FUNNEL.items() if workspace else ():
            for key, n in zip(STEPS, counts, strict=True):
                add(value(key, period, n + (base if key == "leads" and period == JAN else 0)))
            add(
                value("mql_to_sql_rate", period, Decimal(counts[3]) / counts[2], num=counts[3], den=counts[2])
            )
            add(value("leads", period, 7 + base, dim="channel", dv="email"))
            add(value("pipeline_created", period, 50000, dim=""))
            add(value("marketing_sourced_pipeline", period, 20000))
            add(value("marketing_sourced_share", period, "0.4", num=20000, den=50000))
            add(value("cac", period, 1500))
            add(value("net_revenue_retention", period, "1.05", num=105, den=100))
            add(value("revenue_won", period, 9000))
            add(value("deals_won", period, 3))
        # February: no deal closed, so the win rate is NULL (no data), never 0.
        if workspace:
            add(value("win_rate", JAN, "0.5", num=1, den=2))
            add(value("win_rate", FEB, None, num=0, den=0))
            add(value("win_rate", MAR, "0.25", num=1, den=4))
        made = [
            factories.campaign(name=f"{slug}canary campaign {i}", channel="email") for i in range(campaigns)
        ]
        for i, campaign in enumerate(made):
            for period in FUNNEL:
                spend = 1000 * (i + 1)
                add(value("marketing_spend", period, spend, dim="campaign", dv=campaign.pk))
                add(value("leads", period, 10 * (i + 1), dim="campaign", dv=campaign.pk))
                for m, model in enumerate(MODELS):
                    revenue = 500 * (m + 1) * (i + 1)
                    add(
                        value(
                            "attributed_revenue", period, revenue, dim="campaign", dv=campaign.pk, model=model
                        )
                    )
                    add(
                        value(
                            "attributed_pipeline",
                            period,
                            2 * revenue,
                            dim="campaign",
                            dv=campaign.pk,
                            model=model,
                        )
                    )
                    add(
                        value(
                            "attributed_opportunities",
                            period,
                            "0.5",
                            dim="campaign",
                            dv=campaign.pk,
                            model=model,
                        )
                    )
                    add(
                        value(
                            "campaign_roi",
                            period,
                            Decimal(revenue - spend) / spend,
                            dim="campaign",
                            dv=campaign.pk,
                            model=model,
                            num=revenue - spend,
                            den=spend,
                        )
                    )
                for key, mine, average in [
                    ("mql_acceptance_rate", (3, 4), (1, 2)),
                    ("mql_to_sql_rate", (1, 4), (1, 4)),
                ]:
                    add(
                        value(
                            key,
                            period,
                            Decimal(mine[0]) / mine[1],
                            dim="campaign",
                            dv=campaign.pk,
                            num=mine[0],
                            den=mine[1],
                        )
                    )
                    if i == 0 and workspace and key == "mql_acceptance_rate":  # SQL rate: the funnel's
                        add(
                            value(
                                key, period, Decimal(average[0]) / average[1], num=average[0], den=average[1]
                            )
                        )
                add(
                    value(
                        "lead_quality_index",
                        period,
                        110 + i + (period.month if period == MAR else 0),
                        dim="campaign",
                        dv=campaign.pk,
                    )
                )
        send = CampaignSend.objects.create(
            campaign=made[0], name=f"{slug} newsletter", sent_at=dt.datetime(2026, 2, 3, 9, tzinfo=dt.UTC)
        )
        for key, v, num, den in [
            ("send_to_lead_lag_median", "2.5", None, None),
            ("send_to_lead_lag_p80", "6", None, None),
            ("send_to_lead_within_7d", "0.8", 4, 5),
            ("send_to_lead_within_30d", "1", 5, 5),
        ]:
            add(value(key, FEB, v, dim="send", dv=send.pk, num=num, den=den))
        for row in rows:
            row.definition = definition
        MetricValue.objects.bulk_create(rows)
        return {"definition": definition.pk, "campaigns": [c.pk for c in made], "send": send.pk}


def get(client, path):
    response = client.get(path)
    connection.set_schema_to_public()
    return response


def table(body: dict, key: str) -> list[dict]:
    return body["tables"][key]["rows"]


# --- What the reports show ------------------------------------------------------------------------------


def test_joint_report_json_reads_the_stored_values(tenant_a):
    ids = seed("alpha")
    client = api_client("alpha", api_key_for("alpha", ["alignment:read"]))
    response = get(client, f"/api/v1/reports/joint/?{RANGE}")
    assert response.status_code == 200, response.content[:400]
    body = response.json()
    assert body["definition"]["version"] == ids["definition"] and body["computed"] is True
    assert body["periods"] == ["2026-01-01", "2026-02-01", "2026-03-01"]
    funnel = {row["metric"]: row for row in table(body, "funnel")}
    # counts over the range are sums: leads 100 + 120 + 110
    assert funnel["visits"]["count"] == "3300" and funnel["leads"]["count"] == "330"
    assert funnel["leads"]["conversion"] == "0.1"  # 330 / 3300
    # MQL -> SQL uses the stored rate: sum of numerators over sum of denominators, 41 / 134
    assert Decimal(funnel["sqls"]["conversion"]) == (Decimal(41) / 134).quantize(Decimal("0.000001"))
    # trend: March 11 / 44 = 0.25 against February 20 / 50 = 0.4: down 0.15
    assert (funnel["sqls"]["last"], funnel["sqls"]["previous"], funnel["sqls"]["change"]) == (
        "0.25",
        "0.4",
        "-0.15",
    )
    assert funnel["visits"]["conversion"] is None  # the first step has no step before it
    trend = table(body, "funnel_trend")
    assert trend[1] == {
        "period": "2026-02-01",
        "visits": "1200",
        "leads": "120",
        "mqls": "50",
        "sqls": "20",
        "opportunities": "8",
        "new_customers": "3",
    }
    pipeline = table(body, "pipeline")
    assert pipeline[-1] == {
        "period": "Whole range",
        "pipeline_created": "150000",
        "marketing_sourced_pipeline": "60000",
        "marketing_sourced_share": "0.4",
        "marketing_influenced_pipeline": None,  # nothing stored: no data, never 0
    }
    economics = table(body, "economics")
    assert [(r["cac"], r["net_revenue_retention"], r["ltv"]) for r in economics] == [
        ("1500", "1.05", None)
    ] * 3


def test_null_is_no_data_on_the_page_and_in_json(tenant_a):
    ids = seed("alpha")
    quarter = period_of(reports.filters.today(), QUARTER)
    with schema_context("alpha"):  # this quarter so far: revenue stored, the win rate with nothing closed
        version = DefinitionVersion.objects.get(pk=ids["definition"])
        MetricValue.objects.bulk_create(
            [
                value("revenue_won", quarter, 123, grain=QUARTER, definition=version),
                value("win_rate", quarter, None, grain=QUARTER, num=0, den=0, definition=version),
            ]
        )
    client = api_client("alpha", api_key_for("alpha", ["alignment:read"]))
    body = get(client, f"/api/v1/reports/joint/?{RANGE}&horizon=12").json()
    stored = {r["key"]: r["value"] for r in body["headline"]}
    assert stored == {"revenue_won": "123", "deals_won": None, "win_rate": None, "pipeline_created": None}
    page = get(login("alpha", "leadership"), f"/alignment/reports/?{RANGE}")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-testid="headline-win_rate">no data<' in html
    assert 'data-testid="headline-revenue_won">123<' in html
    assert f"Definitions v{ids['definition']}" in html


def test_pages_render_the_numbers_and_definition_version(tenant_a):
    ids = seed("alpha")
    client = login("alpha", "leadership")
    joint = get(client, f"/alignment/reports/?{RANGE}").content.decode()
    assert "3,300" in joint and "330" in joint  # visits and leads in the range
    assert f"Definitions v{ids['definition']}" in joint
    assert (
        'data-testid="table-view-funnel"' in joint and 'id="chart-funnel"' in joint
    )  # a chart, and its table
    attribution = get(client, f"/alignment/reports/attribution/?{RANGE}&model=linear").content.decode()
    assert "alphacanary campaign 0" in attribution and f"Definitions v{ids['definition']}" in attribution
    quality = get(client, f"/alignment/reports/lead-quality/?{RANGE}").content.decode()
    assert "alpha newsletter" in quality and f"Definitions v{ids['definition']}" in quality


def test_channel_filter_reads_that_dimension_only(tenant_a):
    seed("alpha", base=5)
    client = api_client("alpha", api_key_for("alpha", ["alignment:read"]))
    body = get(client, f"/api/v1/reports/joint/?{RANGE}&channel=email").json()
    assert (
        body["filters"]["dimension"] == "channel" and body["filters"]["value_label"] == "Email / newsletter"
    )
    funnel = {row["metric"]: row for row in table(body, "funnel")}
    assert funnel["leads"]["count"] == "36"  # 12 a month by email, not the workspace's 335
    assert funnel["mqls"]["count"] is None  # nothing stored by email: no data
    # economics are not stored per channel: the columns say so instead of showing no data
    notes = {c["key"]: c["note"] for c in body["tables"]["economics"]["columns"]}
    assert notes["cac"] == "Not broken down by channel."
    assert table(body, "economics")[0]["cac"] is None
    # the page says why instead of a table of dashes
    html = get(login("alpha", "leadership"), f"/alignment/reports/?{RANGE}&channel=email").content.decode()
    assert 'data-testid="table-economics-unavailable"' in html
    assert "Not broken down by channel: CAC, CAC payback, LTV" in html


def test_week_granularity_marks_what_is_stored_by_month_only(tenant_a):
    seed("alpha")
    client = api_client("alpha", api_key_for("alpha", ["alignment:read"]))
    body = get(client, "/api/v1/reports/joint/?granularity=week&start=2026-01-05&end=2026-01-25").json()
    assert body["periods"] == ["2026-01-05", "2026-01-12", "2026-01-19"]
    notes = {c["key"]: c["note"] for c in body["tables"]["economics"]["columns"]}
    assert notes["net_revenue_retention"] == "Stored by month, quarter only."


def test_csv_download_of_a_table_with_the_same_filters(tenant_a):
    seed("alpha")
    client = login("alpha", "marketing")
    response = get(client, f"/alignment/reports/?{RANGE}&format=csv&table=funnel_trend")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == [
        "Period",
        "Visits (count)",
        "Leads (count)",
        "MQLs (count)",
        "SQLs (count)",
        "Opportunities (count)",
        "Won (new customers) (count)",
    ]
    assert rows[1:] == [
        ["2026-01-01", "1000", "100", "40", "10", "5", "2"],
        ["2026-02-01", "1200", "120", "50", "20", "8", "3"],
        ["2026-03-01", "1100", "110", "44", "11", "6", "2"],
    ]
    # a NULL stays empty in CSV (no data), never 0
    rows = list(
        csv.reader(
            io.StringIO(
                b"".join(
                    get(client, f"/alignment/reports/?{RANGE}&format=csv&table=pipeline").streaming_content
                ).decode("utf-8-sig")
            )
        )
    )
    assert rows[-1] == ["Whole range", "150000", "60000", "0.4", ""]


def test_every_table_of_every_page_downloads(tenant_a):
    seed("alpha")
    client = login("alpha", "leadership")
    for path in PAGES:
        html = get(client, f"{path}?{RANGE}").content.decode()
        links = [
            part.split('"')[0] for part in html.split('href="')[1:] if "format=csv" in part.split('"')[0]
        ]
        assert links, path
        for link in links:
            response = get(client, link.replace("&amp;", "&"))
            assert response.status_code == 200, link
            assert response["Content-Type"].startswith("text/csv"), link


def test_attribution_models_side_by_side_and_reconciled(tenant_a):
    ids = seed("alpha")
    with schema_context("alpha"):
        definition = current_definition()
        campaign = ids["campaigns"][0]
        touch = Touchpoint.objects.create(
            kind="email_click", anonymous_id="visitor-1", campaign_id=campaign, channel="email"
        )
        won = []
        for amount in ("6000", "3000"):
            deal = deal_create(data={"name": f"won {amount}", "amount": amount})
            Deal.objects.filter(pk=deal.pk).update(
                status="won", closed_at=dt.datetime(2026, 2, 10, tzinfo=dt.UTC)
            )
            won.append(deal)
        AttributionCredit.objects.bulk_create(
            AttributionCredit(
                deal=won[0],
                touchpoint=touch,
                model=model,
                definition=definition,
                weight=Decimal(1),
                credit=Decimal("6000"),
                campaign_id=campaign,
                channel="email",
                deal_created_at=dt.datetime(2026, 1, 5, tzinfo=dt.UTC),
                deal_won_at=dt.datetime(2026, 2, 10, tzinfo=dt.UTC),
            )
            for model in MODELS
        )
    client = api_client("alpha", api_key_for("alpha", ["alignment:read"]))
    body = get(
        client, f"/api/v1/reports/attribution/?{RANGE}&model=w_shaped&measure=attributed_revenue"
    ).json()
    recon = {row["model"]: row for row in table(body, "reconciliation")}
    # booked: revenue_won 9,000 a month = 27,000; credits of the deal won in February: 6,000 per model
    assert recon["Linear"] == {
        "model": "Linear",
        "attributed": "6000",
        "deals": 1,
        "booked": "27000",
        "unattributed": "21000",
        "unattributed_deals": "8",  # 9 won deals stored, 1 of them credited
        "share": "0.222222",
        "status": "Reconciled",
    }
    assert {row["attributed"] for row in recon.values()} == {"6000"}
    comparison = {row["name"]: row for row in table(body, "comparison")}
    second = comparison["alphacanary campaign 1"]
    # attributed revenue of campaign 1 (i = 1): 500 x (model index + 1) x 2 per month, three months
    assert [second[m] for m in MODELS] == [str(3000 * (m + 1)) for m in range(6)]
    detail = {row["name"]: row for row in table(body, "detail")}
    # W-shaped (index 4), campaign 0: revenue 2,500 a month, spend 1,000: ROI (7,500 - 3,000) / 3,000
    assert detail["alphacanary campaign 0"]["attributed_revenue"] == "7500"
    assert detail["alphacanary campaign 0"]["campaign_roi"] == "1.5"
    # cost per opportunity: spend 3,000 / 1.5 attributed opportunities
    assert detail["alphacanary campaign 0"]["cost_per_opportunity"] == "2000"
    # a single month: the stored ROI as it is
    body = get(
        client, "/api/v1/reports/attribution/?granularity=month&start=2026-02-01&end=2026-02-01"
    ).json()
    first = {row["name"]: row for row in table(body, "detail")}["alphacanary campaign 0"]
    assert first["campaign_roi"] == "0.5"  # linear (index 2): (1,500 - 1,000) / 1,000


def test_attribution_page_switches_models(tenant_a):
    seed("alpha")
    client = login("alpha", "leadership")
    html = get(client, f"/alignment/reports/attribution/?{RANGE}&model=first_touch").content.decode()
    assert 'data-testid="model-tab-first_touch" href=' in html
    assert "First touch: attributed pipeline" in html
    html = get(client, f"/alignment/reports/attribution/?{RANGE}&model=time_decay").content.decode()
    assert "Time decay: attributed pipeline" in html


def test_lead_quality_against_the_average_and_send_lag(tenant_a):
    ids = seed("alpha")
    client = api_client("alpha", api_key_for("alpha", ["alignment:read"]))
    body = get(client, f"/api/v1/reports/lead-quality/?{RANGE}").json()
    quality = {row["name"]: row for row in table(body, "quality")}
    mine = quality["alphacanary campaign 0"]
    assert mine["mql_acceptance_rate"] == "0.75" and mine["mql_acceptance_rate_vs_average"] == "1.5"
    assert mine["mql_to_sql_rate_vs_average"] == "0.817073"  # 3/12 against the funnel's 41/134
    assert mine["leads"] == "30" and mine["cost_per_lead"] == "100"  # spend 3,000 / 30 leads
    assert mine["lead_quality_index"] == "113" and mine["index_period"] == "Mar 2026"  # the latest stored
    assert quality["Workspace average"]["mql_acceptance_rate"] == "0.5"
    assert mine["win_rate"] is None  # nothing stored for the campaign: no data
    sends = table(body, "send_lag")
    assert sends == [
        {
            "send_id": ids["send"],
            "send": "alpha newsletter",
            "campaign": "alphacanary campaign 0",
            "sent_at": "2026-02-03T09:00:00+00:00",
            "leads": "5",
            "send_to_lead_lag_median": "2.5",
            "send_to_lead_lag_p80": "6",
            "send_to_lead_within_7d": "0.8",
            "send_to_lead_within_30d": "1",
        }
    ]


def test_send_curve_counts_the_sends_leads_by_day(tenant_a):
    ids = seed("alpha")
    with schema_context("alpha"):
        send = CampaignSend.objects.get(pk=ids["send"])
        for days in (0.5, 1.2, 1.9, 4, 40, -2):  # -2: a contact that was a lead before the send
            contact = factories.contact()
            StageTransition.objects.filter(contact=contact).delete()
            StageTransition.objects.create(
                contact=contact, to_stage="lead", at=send.sent_at + dt.timedelta(days=days)
            )
            Touchpoint.objects.create(kind="email_click", contact=contact, send=send, campaign=send.campaign)
    client = api_client("alpha", api_key_for("alpha", ["alignment:read"]))
    body = get(client, f"/api/v1/reports/lead-quality/?{RANGE}&send={ids['send']}").json()
    curve = table(body, "send_curve")
    assert [(r["day"], r["leads"], r["cumulative"]) for r in curve[:5]] == [
        (0, 1, 1),
        (1, 2, 3),
        (2, 0, 3),
        (3, 0, 3),
        (4, 1, 4),
    ]
    assert curve[-1] == {"day": 40, "leads": 1, "cumulative": 5, "share": "1"}
    assert curve[4]["share"] == "0.8"


def test_quarter_to_date_attainment_next_to_marketing_cohorts(tenant_a):
    seed("alpha")
    quarter = period_of(reports.filters.today(), QUARTER)
    with schema_context("alpha"):
        rep = user_in("alpha", "sales")
        team = Team.objects.create(name="Hunters")
        team.members.add(rep)
        Quota.objects.create(
            owner=rep, period="quarter", period_start=quarter, metric="revenue_won", target=10000
        )
        deal = deal_create(data={"name": "qtd", "amount": "2500"}, actor=rep)
        Deal.objects.filter(pk=deal.pk).update(status="won", closed_at=timezone.now(), owner=rep)
    client = api_client("alpha", api_key_for("alpha", ["alignment:read"]))
    body = get(client, f"/api/v1/reports/joint/?team={team.pk}&horizon=24").json()
    assert body["filters"]["horizon"] == "24" and body["filters"]["value_label"] == "Hunters"
    assert table(body, "attainment") == [
        {
            "who": "Sara Sales",
            "kind": "Rep",
            "metric": "Revenue won",
            "target": "10000",
            "actual": "2500",
            "attainment": "0.25",
        }
    ]
    assert len(table(body, "cohorts")) == 24
    # the funnel is not stored per team: the report says so rather than showing no data
    funnel = body["tables"]["funnel"]
    assert funnel["note"].startswith("Not broken down by team: Visits, Leads, MQLs")


def test_nothing_computed_yet_is_an_empty_state(tenant_a):
    client = login("alpha", "leadership")
    for path in PAGES:
        html = get(client, path).content.decode()
        assert 'data-testid="report-empty"' in html, path
        assert "refresh within a minute" in html, path
    body = get(api_client("alpha", api_key_for("alpha", ["alignment:read"])), APIS[0]).json()
    assert body["computed"] is False and body["computed_at"] is None


def test_alignment_home_shows_headline_figures_and_links(tenant_a):
    quarter = period_of(reports.filters.today(), QUARTER)
    with schema_context("alpha"):
        definition = current_definition()
        MetricValue.objects.bulk_create(
            [
                value("revenue_won", quarter, 123456, grain="quarter", definition=definition),
                value("win_rate", quarter, None, grain="quarter", num=0, den=0, definition=definition),
            ]
        )
    html = get(login("alpha", "sales"), "/alignment/").content.decode()
    assert 'data-testid="headline-revenue_won">123,456<' in html
    assert 'data-testid="headline-win_rate">no data<' in html
    for path in PAGES:
        assert f'href="{path}"' in html


# --- Bad filters -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "query", "field", "status"),
    [
        (APIS[0], "granularity=day", "granularity", BREAKS_SCHEMA),
        (APIS[0], "start=2026-13-01", "start", BREAKS_SCHEMA),
        (APIS[0], "end=yesterday", "end", BREAKS_SCHEMA),
        (APIS[0], "start=2026-03-01&end=2026-01-01", "end", BREAKS_RULE),
        (APIS[0], "granularity=month&start=2020-01-01&end=2026-03-01", "start", BREAKS_RULE),
        (APIS[0], "granularity=week&start=2020-01-01&end=2026-03-01", "start", BREAKS_RULE),
        (APIS[0], "start=0001-01-01", "start", BREAKS_RULE),
        (APIS[0], "channel=carrier_pigeon", "channel", BREAKS_SCHEMA),
        (APIS[0], "campaign=abc", "campaign", BREAKS_SCHEMA),
        (APIS[0], "campaign=999999", "campaign", BREAKS_RULE),
        (
            APIS[0],
            "campaign=%C2%B2",
            "campaign",
            BREAKS_SCHEMA,
        ),  # "²" is a digit to str.isdigit, not to int()
        (APIS[0], "segment=999999", "segment", BREAKS_RULE),
        (APIS[0], "team=-1", "team", BREAKS_SCHEMA),
        (APIS[0], "channel=email&campaign=1", "campaign", BREAKS_RULE),
        (APIS[0], "horizon=36", "horizon", BREAKS_SCHEMA),
        (APIS[0], "colour=red", "colour", BREAKS_SCHEMA),
        (APIS[0], "dimension=region", "dimension", BREAKS_SCHEMA),
        (APIS[1], "team=1", "team", BREAKS_SCHEMA),
        (APIS[1], "model=last_click", "model", BREAKS_SCHEMA),
        (APIS[1], "granularity=week", "granularity", BREAKS_SCHEMA),
        (APIS[2], "send=999999", "send", BREAKS_RULE),
        (APIS[2], "send=%C2%B2", "send", BREAKS_SCHEMA),
        (APIS[2], "by=rep", "by", BREAKS_SCHEMA),
    ],
)
def test_bad_filters_are_400_naming_the_parameter(tenant_a, path, query, field, status):
    seed("alpha")
    client = api_client("alpha", api_key_for("alpha", ["alignment:read"]))
    response = get(client, f"{path}?{query}")
    assert field in refused(response, status), response.json()


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("granularity=day", "granularity"),
        ("filter=region:north", "filter"),
        ("channel=email&team=1", "channel"),
        ("start=2026-02-30", "start"),
        ("format=xml", "format"),
        ("format=csv&table=nope", "table"),
    ],
)
def test_bad_filters_on_a_page_are_400_with_the_field_named(tenant_a, query, field):
    seed("alpha")
    response = get(login("alpha", "leadership"), f"/alignment/reports/?{query}")
    assert response.status_code == 400
    html = response.content.decode()
    assert 'data-testid="filter-errors"' in html and f"<code>{field}</code>" in html


# --- Isolation, roles, query budgets -----------------------------------------------------------------


def test_tenant_b_never_sees_tenant_a_values(tenant_a, tenant_b):
    seed("alpha", base=987654)  # alpha: 987,754 leads in January
    seed("beta", base=500)  # beta: 600
    beta = login("beta", "leadership")
    for path, own in zip(PAGES, ["830", "betacanary campaign 0", "betacanary campaign 0"], strict=True):
        html = get(beta, f"{path}?{RANGE}").content.decode()
        assert "alphacanary" not in html and "987," not in html, path
        assert own in html, path  # the positive control: beta's own values are there
    key = api_key_for("beta", ["alignment:read"])
    for path in APIS:
        text = get(api_client("beta", key), f"{path}?{RANGE}").content.decode()
        assert "alphacanary" not in text and "9877" not in text and "betacanary" in text, path
    body = get(api_client("beta", key), f"{APIS[0]}?{RANGE}").json()
    assert {r["metric"]: r["count"] for r in table(body, "funnel")}["leads"] == "830"  # 330 + 500
    # alpha's key is unknown on beta
    assert get(api_client("beta", api_key_for("alpha", ["alignment:read"])), APIS[0]).status_code == 401
    # a campaign of alpha is an unknown filter on beta
    with schema_context("alpha"):
        alpha_campaign = factories.campaign(name="only in alpha").pk
    assert get(api_client("beta", key), f"{APIS[0]}?campaign={alpha_campaign}").status_code == 422


@pytest.mark.parametrize("role", ["admin", "marketing", "sales", "leadership"])
def test_every_role_reads_every_report(tenant_a, role):
    seed("alpha")
    client = login("alpha", role)
    for path in [*PAGES, "/alignment/", *APIS]:
        assert get(client, f"{path}?{RANGE}" if "reports" in path else path).status_code == 200, path


def test_anonymous_is_sent_to_login_and_keys_need_alignment_read(tenant_a):
    anonymous = api_client("alpha")
    for path in [*PAGES, "/alignment/"]:
        response = get(anonymous, path)
        assert response.status_code == 302 and "/login/" in response["Location"], path
    for path in APIS:
        assert get(anonymous, path).status_code == 401, path
    others = api_client("alpha", api_key_for("alpha", ["marketing:read", "sales:read"]))
    for path in APIS:
        response = get(others, path)
        assert response.status_code == 403, path
        assert "alignment:read" in response.json()["error"]["message"]


def _queries(client, path) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(path)
    connection.set_schema_to_public()
    assert response.status_code == 200, (path, response.content[:300])
    return len(ctx.captured_queries)


def test_query_budgets_do_not_grow_with_stored_rows(tenant_a):
    page = login("alpha", "leadership")
    key = api_client("alpha", api_key_for("alpha", ["alignment:read"]))
    paths = [
        (page, f"/alignment/reports/?{RANGE}"),
        (page, f"/alignment/reports/?{RANGE}&channel=email"),
        (page, f"/alignment/reports/attribution/?{RANGE}"),
        (page, f"/alignment/reports/lead-quality/?{RANGE}"),
        (page, f"/alignment/reports/lead-quality/?{RANGE}&format=csv&table=quality"),
        (page, "/alignment/"),
        (key, f"/api/v1/reports/joint/?{RANGE}"),
        (key, f"/api/v1/reports/attribution/?{RANGE}&by=channel"),
        (key, f"/api/v1/reports/lead-quality/?{RANGE}"),
    ]
    get(key, "/api/v1/me/")  # the key's first use records last_used, once a minute
    seed("alpha", campaigns=2)
    small = {path: _queries(client, path) for client, path in paths}
    with schema_context("alpha"):
        before = MetricValue.objects.count()
    seed("alpha", campaigns=25, workspace=False)  # more than ten times the campaigns, each with its values
    with schema_context("alpha"):
        assert MetricValue.objects.count() >= 10 * before
    assert small == {path: _queries(client, path) for client, path in paths}
