"""Alignment API: the registry, stored metric values, attribution credits and rollups, definitions and the
recompute request. Filters return the right rows, bad parameters are 400s naming them, keys of another
workspace are 401, lists hold only the workspace's rows, scopes are enforced, query budgets do not grow
with the rows, and definition changes are new versions (a no-op stores nothing)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import schema_context

from accounts.models import User
from alignment import registry
from alignment.models import (
    AttributionCredit,
    AttributionModel,
    DefinitionVersion,
    EngineRun,
    MetricValue,
    RecomputeRequest,
)
from alignment.services import current_definition, definition_values
from marketing.models import Touchpoint
from sales.services.deals import deal_create
from tests.conftest import BREAKS_RULE, BREAKS_SCHEMA, api_client, api_key_for, login, refused
from tests.marketing import factories

pytestmark = pytest.mark.django_db

ATTRIBUTED = ("attributed_pipeline", "attributed_revenue", "cost_per_opportunity", "campaign_roi")
ROLLUPS = "/api/v1/attribution/rollups/?from=2026-01-01&to=2026-12-31"


def at(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(12), dt.UTC)


def finished_full_run(version: DefinitionVersion) -> None:
    """Make ``version`` the one the reports show."""
    EngineRun.objects.create(kind="full", definition=version, finished_at=timezone.now())


def seed(slug: str, n: int, tag: str, marker: int = 10) -> dict:
    """n rows in every list: definition versions, daily values, campaigns with a credited deal each and
    their attributed values for January (``marker`` as every value, so numbers tell workspaces apart)."""
    with schema_context(slug):
        rep = User.objects.filter(roles__contains=["sales"]).first()
        DefinitionVersion.objects.bulk_create(
            [DefinitionVersion(created_by=rep, mql_rule=f"{tag} rule {i}") for i in range(n)]
        )
        version = current_definition()
        finished_full_run(version)
        values, credits = [], []
        for i in range(n):
            campaign = factories.campaign(name=f"{tag} campaign {i}")
            deal = deal_create(data={"name": f"{tag} deal {i}", "amount": "100"}, actor=rep)
            touch = Touchpoint.objects.create(
                kind="page_visit", contact=factories.contact(), campaign=campaign, channel="email"
            )
            credits.append(
                AttributionCredit(
                    deal=deal,
                    touchpoint=touch,
                    model="linear",
                    definition=version,
                    weight=1,
                    credit=100,
                    campaign=campaign,
                    channel="email",
                    deal_created_at=deal.created_at,
                )
            )
            values.append(
                MetricValue(
                    metric="leads",
                    granularity="day",
                    period_start=dt.date(2026, 1, 1) + dt.timedelta(days=i),
                    dimension="channel",
                    dimension_value=f"{tag}{i}",
                    definition=version,
                    value=marker,
                )
            )
            values += [
                MetricValue(
                    metric=metric,
                    granularity="month",
                    period_start=dt.date(2026, 1, 1),
                    dimension="campaign",
                    dimension_value=str(campaign.pk),
                    model="linear",
                    definition=version,
                    value=marker,
                    numerator=marker,
                    denominator=1,
                )
                for metric in ATTRIBUTED
            ]
        AttributionCredit.objects.bulk_create(credits)
        MetricValue.objects.bulk_create(values)
        return {"version": version.pk, "deal": deal.pk, "campaign": campaign.pk}


LISTS = [
    "/api/v1/metrics/",
    "/api/v1/metric-values/?metric=leads",
    "/api/v1/metric-values/?metric=leads&granularity=day&dimension=channel&from=2026-01-01&to=2026-12-31",
    "/api/v1/attribution/credits/",
    "/api/v1/attribution/credits/?model=linear&created_since=2020-01-01",
    ROLLUPS,
    "/api/v1/definitions/",
]


def _count(client, url) -> tuple[int, dict]:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    connection.set_schema_to_public()
    assert response.status_code == 200, (url, response.content[:300])
    return len(ctx.captured_queries), response.json()


def _ids(response) -> list[int]:
    assert response.status_code == 200, response.content[:300]
    return [row["id"] for row in response.json()["results"]]


def _bad(response, query) -> set[str]:
    """A refusal: a 422 for the cases in RULES (they fit the schema), a 400 for the others."""
    return refused(response, BREAKS_RULE if query in RULES else BREAKS_SCHEMA)


# Requests that fit the published schema but break a rule: an empty or too long range, a dimension value
# without its dimension, a long value, a definition version or campaign id that names nothing.
RULES = {
    "metric=leads&from=2026-03-01&to=2026-02-01",
    "metric=leads&from=2000-01-01&to=2026-01-01",
    "metric=leads&from=0001-01-01",
    "metric=leads&dimension_value=email",
    "metric=leads&dimension=total&dimension_value=email",
    "metric=leads&dimension=channel&dimension_value=" + "x" * 101,
    "metric=leads&definition=999999",
    "campaign=-1",
    "created_since=2026-03-01&created_until=2026-02-01",
    "definition=0",
    "from=2026-01-01&to=2036-12-31",
}


# --- Registry ---------------------------------------------------------------------------------------


def test_the_registry_lists_every_metric_with_its_meaning(tenant_a):
    client = api_client("alpha", api_key_for("alpha", ["alignment:read"]))
    rows = client.get("/api/v1/metrics/").json()["results"]
    assert [row["key"] for row in rows] == list(registry.REGISTRY)
    roi = next(row for row in rows if row["key"] == "campaign_roi")
    assert roi == {
        "key": "campaign_roi",
        "label": "Campaign ROI",
        "formula": registry.REGISTRY["campaign_roi"].formula,
        "unit": "ratio",
        "better": "up",
        "owners": ["marketing", "sales"],
        "periods": ["month", "quarter"],
        "dimensions": ["channel", "campaign"],
        "view": "period",
        "needs": "",
        "notes": "States the attribution model.",
    }
    assert refused(client.get("/api/v1/metrics/?owner=sales"), BREAKS_SCHEMA) == {"owner"}


# --- Metric values ----------------------------------------------------------------------------------


@pytest.fixture
def stored(alpha):
    """Values under two versions; v_new has the finished full run, so it is the one reports show."""
    old = current_definition()
    new = DefinitionVersion.objects.create(gross_margin=Decimal("0.5"))
    finished_full_run(new)

    def value(version, metric="leads", grain="month", day=(2026, 1, 1), dim="", dim_value="", model=""):
        return MetricValue.objects.create(
            metric=metric,
            granularity=grain,
            period_start=dt.date(*day),
            dimension=dim,
            dimension_value=dim_value,
            model=model,
            definition=version,
            value=Decimal("1.5"),
        ).pk

    rows = {
        "jan": value(new),
        "feb": value(new, day=(2026, 2, 1)),
        "mar": value(new, day=(2026, 3, 1)),
        "week": value(new, grain="week", day=(2026, 1, 5)),
        "email": value(new, dim="channel", dim_value="email"),
        "paid": value(new, dim="channel", dim_value="paid_social"),
        "camp": value(new, dim="campaign", dim_value="7"),
        "under_old": value(old),
        "mqls": value(new, metric="mqls"),
        "linear": value(new, metric="attributed_pipeline", dim="campaign", dim_value="7", model="linear"),
        "first": value(new, metric="attributed_pipeline", dim="campaign", dim_value="7", model="first_touch"),
    }
    connection.set_schema_to_public()
    return {"old_version": old.pk, "new_version": new.pk, **rows}


def test_metric_values_answer_the_rows_each_filter_asks_for(stored):
    client = api_client("alpha", api_key_for("alpha", ["alignment:read"]))
    url = "/api/v1/metric-values/?metric="
    s = stored
    monthly_totals = [s["jan"], s["email"], s["paid"], s["camp"], s["feb"], s["mar"]]
    assert sorted(_ids(client.get(url + "leads"))) == sorted([*monthly_totals, s["week"]])
    assert _ids(client.get(url + "leads&granularity=week")) == [s["week"]]
    assert _ids(client.get(url + "leads&dimension=total&granularity=month")) == [s["jan"], s["feb"], s["mar"]]
    assert _ids(client.get(url + "leads&dimension=total&granularity=month&ordering=-period")) == [
        s["mar"],
        s["feb"],
        s["jan"],
    ]
    assert _ids(client.get(url + "leads&dimension=total&from=2026-02-01&to=2026-02-28")) == [s["feb"]]
    assert sorted(_ids(client.get(url + "leads&dimension=channel"))) == sorted([s["email"], s["paid"]])
    assert _ids(client.get(url + "leads&dimension=channel&dimension_value=email")) == [s["email"]]
    assert _ids(client.get(url + "mqls")) == [s["mqls"]]
    assert _ids(client.get(url + "attributed_pipeline&model=linear")) == [s["linear"]]
    assert _ids(client.get(url + "leads&definition={}".format(s["old_version"]))) == [s["under_old"]]
    # a page of two, then the rest through the cursor
    first = client.get(url + "leads&dimension=total&granularity=month&limit=2").json()
    assert [row["id"] for row in first["results"]] == [s["jan"], s["feb"]]
    assert _ids(client.get(first["next"])) == [s["mar"]]
    row = client.get(url + "leads&dimension=channel&dimension_value=email").json()["results"][0]
    assert row == {
        "id": s["email"],
        "metric": "leads",
        "granularity": "month",
        "period_start": "2026-01-01",
        "dimension": "channel",
        "dimension_value": "email",
        "model": "",
        "definition": s["new_version"],
        "value": "1.500000",
        "numerator": None,
        "denominator": None,
        "computed_at": row["computed_at"],
    }


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ("", {"metric"}),
        ("metric=nope", {"metric"}),
        ("metric=leads&granularity=year", {"granularity"}),
        ("metric=leads&from=2026-13-01", {"from"}),
        ("metric=leads&to=yesterday", {"to"}),
        ("metric=leads&from=2026-03-01&to=2026-02-01", {"to"}),
        ("metric=leads&from=2000-01-01&to=2026-01-01", {"to"}),
        ("metric=leads&from=0001-01-01", {"from"}),
        ("metric=leads&dimension=planet", {"dimension"}),
        ("metric=leads&dimension_value=email", {"dimension_value"}),
        ("metric=leads&dimension=total&dimension_value=email", {"dimension_value"}),
        ("metric=leads&dimension=channel&dimension_value=" + "x" * 101, {"dimension_value"}),
        ("metric=leads&model=best_guess", {"model"}),
        ("metric=leads&definition=abc", {"definition"}),
        ("metric=leads&definition=999999", {"definition"}),
        ("metric=leads&ordering=value", {"ordering"}),
        ("metric=leads&color=red", {"color"}),
        (  # every parameter that breaks the schema is named at once (definition=0 fits it: checked after)
            "metric=nope&granularity=year&from=x&dimension=planet&model=y&definition=0",
            {"metric", "granularity", "from", "dimension", "model"},
        ),
    ],
)
def test_bad_metric_value_parameters_are_400s_naming_them(stored, query, named):
    client = api_client("alpha", api_key_for("alpha", ["alignment:read"]))
    assert _bad(client.get(f"/api/v1/metric-values/?{query}"), query) == named


# --- Attribution ------------------------------------------------------------------------------------


@pytest.fixture
def attributed(alpha):
    """Two deals in January and March, credited to campaigns A and B, under two models; January and
    February rollup values for campaigns A and B and the email channel."""
    version = current_definition()
    finished_full_run(version)
    a = factories.campaign(name="Alpha A", channel="email")
    b = factories.campaign(name="Alpha B", channel="paid_social")
    credits = {}
    for name, created, campaign in [("jan", dt.date(2026, 1, 10), a), ("mar", dt.date(2026, 3, 10), b)]:
        deal = deal_create(data={"name": f"deal {name}", "amount": "300"})
        touch = Touchpoint.objects.create(
            kind="ad_click", contact=factories.contact(), campaign=campaign, channel=campaign.channel
        )
        for model in ("linear", "first_touch"):
            credits[f"{name}_{model}"] = AttributionCredit.objects.create(
                deal=deal,
                touchpoint=touch,
                model=model,
                definition=version,
                weight=1,
                credit=300,
                campaign=campaign,
                channel=campaign.channel,
                deal_created_at=at(created),
            ).pk
        credits[f"{name}_deal"] = deal.pk
    values = []
    # (month, campaign, pipeline, revenue, cpo spend/opps, roi (revenue - spend)/spend)
    for month, campaign, pipeline, revenue, cpo, roi in [
        (1, a, 1000, 400, (300, 2), (100, 300)),
        (2, a, 500, 800, (100, 0), (700, 100)),
        (1, b, 50, None, (200, 1), (-200, 200)),
        (4, a, 99999, 99999, (1, 1), (1, 1)),  # outside the asked range
    ]:
        for dimension, dim_value in (("campaign", str(campaign.pk)), ("channel", campaign.channel)):
            for metric, num, den, val in [
                ("attributed_pipeline", None, None, pipeline),
                ("attributed_revenue", None, None, revenue),
                ("attributed_opportunities", None, None, cpo[1]),
                ("cost_per_opportunity", *cpo, None),
                ("campaign_roi", *roi, None),
            ]:
                values.append(
                    MetricValue(
                        metric=metric,
                        granularity="month",
                        period_start=dt.date(2026, month, 1),
                        dimension=dimension,
                        dimension_value=dim_value,
                        model="linear",
                        definition=version,
                        value=val,
                        numerator=num,
                        denominator=den,
                    )
                )
            values.append(  # the campaign's spend that month (stored without a model)
                MetricValue(
                    metric="marketing_spend",
                    granularity="month",
                    period_start=dt.date(2026, month, 1),
                    dimension=dimension,
                    dimension_value=dim_value,
                    definition=version,
                    value=cpo[0],
                )
            )
    values.append(  # another model, and a metric that is not attributed: neither mixes in
        MetricValue(
            metric="attributed_pipeline",
            granularity="month",
            period_start=dt.date(2026, 1, 1),
            dimension="campaign",
            dimension_value=str(a.pk),
            model="first_touch",
            definition=version,
            value=7,
        )
    )
    values.append(
        MetricValue(
            metric="leads",
            granularity="month",
            period_start=dt.date(2026, 1, 1),
            dimension="campaign",
            dimension_value=str(a.pk),
            definition=version,
            value=5,
        )
    )
    MetricValue.objects.bulk_create(values)
    connection.set_schema_to_public()
    return {"a": a.pk, "b": b.pk, "version": version.pk, **credits}


def test_credits_answer_the_rows_each_filter_asks_for(attributed):
    client = api_client("alpha", api_key_for("alpha", ["alignment:read"]))
    url, c = "/api/v1/attribution/credits/", attributed
    every = [c["mar_first_touch"], c["mar_linear"], c["jan_first_touch"], c["jan_linear"]]
    assert sorted(_ids(client.get(url))) == sorted(every)
    assert _ids(client.get(url))[:2] in (
        [c["mar_first_touch"], c["mar_linear"]],
        [c["mar_linear"], c["mar_first_touch"]],
    )
    assert sorted(_ids(client.get(f"{url}?deal={c['jan_deal']}"))) == sorted(
        [c["jan_linear"], c["jan_first_touch"]]
    )
    assert _ids(client.get(f"{url}?deal={c['jan_deal']}&model=linear")) == [c["jan_linear"]]
    assert sorted(_ids(client.get(f"{url}?campaign={c['b']}"))) == sorted(
        [c["mar_linear"], c["mar_first_touch"]]
    )
    assert sorted(_ids(client.get(f"{url}?created_since=2026-03-10"))) == sorted(
        [c["mar_linear"], c["mar_first_touch"]]
    )
    assert sorted(_ids(client.get(f"{url}?created_until=2026-01-10"))) == sorted(
        [c["jan_linear"], c["jan_first_touch"]]
    )
    assert _ids(client.get(f"{url}?created_since=2026-01-11&created_until=2026-03-09")) == []
    row = client.get(f"{url}?deal={c['jan_deal']}&model=linear").json()["results"][0]
    assert row["deal_name"] == "deal jan" and row["campaign_name"] == "Alpha A"
    assert row["credit"] == "300.00" and row["touchpoint_kind"] == "ad_click" and row["channel"] == "email"
    assert row["deal_created_at"].startswith("2026-01-10T12:00:00")


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ("deal=abc", {"deal"}),
        ("campaign=-1", {"campaign"}),
        ("model=nope", {"model"}),
        ("created_since=2026-02-30", {"created_since"}),
        ("created_since=2026-03-01&created_until=2026-02-01", {"created_until"}),
        ("definition=0", {"definition"}),
        ("touchpoint=1", {"touchpoint"}),
        ("deal=abc&model=nope&created_until=2026-99-01", {"deal", "model", "created_until"}),
    ],
)
def test_bad_credit_parameters_are_400s_naming_them(attributed, query, named):
    client = api_client("alpha", api_key_for("alpha", ["alignment:read"]))
    assert _bad(client.get(f"/api/v1/attribution/credits/?{query}"), query) == named


def test_rollups_sum_amounts_and_divide_summed_numerators(attributed):
    client = api_client("alpha", api_key_for("alpha", ["alignment:read"]))
    a, b = str(attributed["a"]), str(attributed["b"])
    url = "/api/v1/attribution/rollups/?from=2026-01-01&to=2026-02-28"
    rows = {(r["model"], r["dimension_value"]): r for r in client.get(url).json()["results"]}
    assert set(rows) == {("linear", a), ("linear", b), ("first_touch", a)}
    assert rows[("linear", a)] == {
        "model": "linear",
        "dimension": "campaign",
        "dimension_value": a,
        "campaign_name": "Alpha A",
        "definition": attributed["version"],
        "attributed_pipeline": "1500.00",
        "attributed_opportunities": "2.000000",
        "attributed_revenue": "1200.00",
        "cost_per_opportunity": "200.00",  # (300 + 100) / (2 + 0), not the mean of 150 and no data
        "campaign_roi": "2.000000",  # (100 + 700) / (300 + 100)
    }
    assert rows[("linear", b)]["attributed_revenue"] is None  # no data, never 0
    assert rows[("linear", b)]["campaign_roi"] == "-1.000000"
    assert rows[("first_touch", a)]["attributed_pipeline"] == "7.00"
    # spend is the campaign's over the range, whatever the model: 400 spent, none credited: (0 - 400) / 400
    assert rows[("first_touch", a)]["campaign_roi"] == "-1.000000"
    assert rows[("first_touch", a)]["cost_per_opportunity"] is None  # no opportunities: no data
    only_linear = client.get(url + "&model=linear").json()["results"]
    assert {r["dimension_value"] for r in only_linear} == {a, b}
    channels = client.get(url + "&by=channel&model=linear").json()["results"]
    assert {(r["dimension_value"], r["attributed_pipeline"], r["campaign_name"]) for r in channels} == {
        ("email", "1500.00", None),
        ("paid_social", "50.00", None),
    }
    assert client.get(url + "&granularity=quarter").json()["results"] == []


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ("", {"from", "to"}),
        ("from=2026-01-01", {"to"}),
        ("from=2026-01-01&to=2026-12-31&by=segment", {"by"}),
        ("from=2026-01-01&to=2026-12-31&granularity=day", {"granularity"}),
        ("from=2026-01-01&to=2026-12-31&model=all", {"model"}),
        ("from=2026-01-01&to=2036-12-31", {"to"}),
        ("from=2026-01-01&to=2026-12-31&campaign=3", {"campaign"}),
        ("to=2026-12-31&by=segment&granularity=week", {"from", "by", "granularity"}),
    ],
)
def test_bad_rollup_parameters_are_400s_naming_them(attributed, query, named):
    client = api_client("alpha", api_key_for("alpha", ["alignment:read"]))
    assert _bad(client.get(f"/api/v1/attribution/rollups/?{query}"), query) == named


def test_rollups_and_values_agree_with_what_the_engine_stores(alpha):
    """End to end: the engine credits a won deal and stores its rollups; the API reads them back."""
    from alignment import engine
    from marketing.models import Contact, CostLine
    from sales.models import Deal

    created, won = dt.datetime(2026, 6, 10, 12, tzinfo=dt.UTC), dt.datetime(2026, 6, 20, 12, tzinfo=dt.UTC)
    spring = factories.campaign(name="Spring", channel="email")
    contact = factories.contact()
    Contact.objects.filter(pk=contact.pk).update(created_at=created - dt.timedelta(days=9))
    for days in (8, 3):
        Touchpoint.objects.create(
            kind="email_click",
            contact=contact,
            campaign=spring,
            channel="email",
            occurred_at=created - dt.timedelta(days=days),
        )
    deal = deal_create(
        data={"name": "Engine deal", "amount": "1000"}, lead=Contact.objects.get(pk=contact.pk)
    )
    Deal.objects.filter(pk=deal.pk).update(created_at=created, status="won", closed_at=won)
    CostLine.objects.create(campaign=spring, date=dt.date(2026, 6, 1), amount=Decimal("400"))
    engine.run(full=True)
    connection.set_schema_to_public()
    client = api_client("alpha", api_key_for("alpha", ["alignment:read"]))
    # when
    rows = client.get("/api/v1/attribution/rollups/?from=2026-06-01&to=2026-06-30").json()["results"]
    # then every model credits the whole deal to the campaign: ROI (1000 - 400) / 400, cost 400 / 1 deal
    assert sorted(r["model"] for r in rows) == sorted(AttributionModel.values)
    for row in rows:
        assert row["dimension_value"] == str(spring.pk) and row["campaign_name"] == "Spring", row
        assert (row["attributed_pipeline"], row["attributed_revenue"]) == ("1000.00", "1000.00"), row
        assert (row["cost_per_opportunity"], row["campaign_roi"]) == ("400.00", "1.500000"), row
    credits = client.get(f"/api/v1/attribution/credits/?deal={deal.pk}&model=linear").json()["results"]
    assert sorted(c["credit"] for c in credits) == ["500.00", "500.00"]
    values = client.get(
        "/api/v1/metric-values/?metric=campaign_roi&granularity=month&dimension=campaign&model=u_shaped"
        "&from=2026-06-01&to=2026-06-01"
    ).json()["results"]
    assert [(v["dimension_value"], v["value"]) for v in values] == [(str(spring.pk), "1.500000")]


# --- Definitions ------------------------------------------------------------------------------------


def _snapshot(pk: int) -> dict:
    with schema_context("alpha"):
        version = DefinitionVersion.objects.get(pk=pk)
        return {**definition_values(version), "created_at": version.created_at, "by": version.created_by_id}


def test_a_definition_change_is_a_new_version_and_leaves_the_old_one_untouched(tenant_a):
    with schema_context("alpha"):
        old = current_definition()
        finished_full_run(old)
        versions = DefinitionVersion.objects.count()
    before = _snapshot(old.pk)
    client = api_client("alpha", api_key_for("alpha", ["alignment:write"]))
    # when
    response = client.post(
        "/api/v1/definitions/",
        {"gross_margin": "0.75", "cohort_window_days": 60, "mql_rule": "score >= 70"},
        content_type="application/json",
    )
    # then
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["id"] != old.pk and body["is_current"] and not body["is_reporting"]
    assert (body["gross_margin"], body["cohort_window_days"], body["mql_rule"]) == (
        "0.7500",
        60,
        "score >= 70",
    )
    assert body["created_by"] is None  # changed with an API key
    assert _snapshot(old.pk) == before
    with schema_context("alpha"):
        assert DefinitionVersion.objects.count() == versions + 1
    listed = client.get("/api/v1/definitions/").json()["results"]
    assert [(r["id"], r["is_current"], r["is_reporting"]) for r in listed[:2]] == [
        (body["id"], True, False),
        (old.pk, False, True),
    ]
    patched = client.patch("/api/v1/definitions/", {"gross_margin": 0.7}, content_type="application/json")
    assert patched.status_code == 201 and patched.json()["gross_margin"] == "0.7000"


def test_a_portal_user_changes_definitions_as_themselves(tenant_a):
    client = login("alpha", "leadership")
    response = client.post(
        "/api/v1/definitions/", {"trailing_window_days": 30}, content_type="application/json"
    )
    assert response.status_code == 201, response.content
    assert response.json()["created_by_name"] == "Leo Leadership"


def test_a_no_op_change_stores_nothing(tenant_a):
    with schema_context("alpha"):
        current = current_definition()
        versions = DefinitionVersion.objects.count()
        margin = str(current.gross_margin)
    client = api_client("alpha", api_key_for("alpha", ["alignment:write"]))
    for body in ({}, {"gross_margin": margin}, {"mql_rule": f"  {current.mql_rule} "}):
        response = client.post("/api/v1/definitions/", body, content_type="application/json")
        assert response.status_code == 200, (body, response.content)
        assert response.json()["id"] == current.pk
    with schema_context("alpha"):
        assert DefinitionVersion.objects.count() == versions


@pytest.mark.parametrize(
    ("body", "named", "status"),
    [
        ({"gross_margin": "2"}, {"gross_margin"}, BREAKS_RULE),  # out of range
        ({"gross_margin": "0.12345"}, {"gross_margin"}, BREAKS_RULE),  # too many decimals
        ({"cohort_window_days": "abc"}, {"cohort_window_days"}, BREAKS_SCHEMA),
        ({"cohort_window_days": 1.5}, {"cohort_window_days"}, BREAKS_SCHEMA),
        ({"cohort_window_days": True}, {"cohort_window_days"}, BREAKS_SCHEMA),
        ({"cohort_window_days": None}, {"cohort_window_days"}, BREAKS_SCHEMA),
        ({"cohort_window_days": ""}, {"cohort_window_days"}, BREAKS_SCHEMA),
        ({"sales_cost_per_month": "NaN"}, {"sales_cost_per_month"}, BREAKS_SCHEMA),
        ({"mql_rule": None}, {"mql_rule"}, BREAKS_SCHEMA),
        ({"mql_rule": 5}, {"mql_rule"}, BREAKS_SCHEMA),
        ({"mql_rule": "   "}, {"mql_rule"}, BREAKS_RULE),  # blank once trimmed
        ({"sql_rule": "x" * 201}, {"sql_rule"}, BREAKS_SCHEMA),
        ({"colour": "blue", "gross_margin": "0.5"}, {"colour"}, BREAKS_SCHEMA),
        (
            {
                "quality_weight_acceptance": 0,
                "quality_weight_sql_rate": 0,
                "quality_weight_win_rate": 0,
                "quality_weight_deal_size": 0,
            },
            {"quality_weight_acceptance"},
            BREAKS_RULE,  # one weight must be above 0
        ),
        (
            {"gross_margin": "2", "lifetime_cap_months": 0},
            {"gross_margin", "lifetime_cap_months"},
            BREAKS_RULE,
        ),
        (["gross_margin"], {"non_field_errors"}, BREAKS_SCHEMA),
    ],
)
def test_bad_definition_changes_are_400s_with_field_errors_and_store_nothing(tenant_a, body, named, status):
    with schema_context("alpha"):
        versions = DefinitionVersion.objects.count()
    client = api_client("alpha", api_key_for("alpha", ["alignment:write"]))
    assert (
        refused(client.post("/api/v1/definitions/", body, content_type="application/json"), status) == named
    )
    with schema_context("alpha"):
        assert DefinitionVersion.objects.count() == versions


# --- Recompute --------------------------------------------------------------------------------------


def test_recompute_is_accepted_once_then_429_until_the_interval_passes(tenant_a):
    client = api_client("alpha", api_key_for("alpha", ["alignment:write"]))
    first = client.post("/api/v1/metrics/recompute/")
    assert first.status_code == 202, first.content
    assert first.json()["requested_by"] is None
    second = client.post("/api/v1/metrics/recompute/")
    assert second.status_code == 429
    assert second.json()["error"]["code"] == "throttled"
    assert "try again in 10 min" in second.json()["error"]["message"]
    assert 1 <= int(second["Retry-After"]) <= 601
    with schema_context("alpha"):
        assert RecomputeRequest.objects.count() == 1
        RecomputeRequest.objects.update(requested_at=timezone.now() - dt.timedelta(minutes=11))
    connection.set_schema_to_public()
    assert client.post("/api/v1/metrics/recompute/").status_code == 202


# --- Scopes, isolation, budgets ---------------------------------------------------------------------


def test_reading_needs_alignment_read_and_changing_needs_alignment_write(tenant_a):
    ids = seed("alpha", 1, "scopes")
    other = api_client("alpha", api_key_for("alpha", ["marketing:write", "sales:write"]))
    reader = api_client("alpha", api_key_for("alpha", ["alignment:read"]))
    writer = api_client("alpha", api_key_for("alpha", ["alignment:write"]))
    for path in LISTS:
        assert other.get(path).status_code == 403, path
        assert reader.get(path).status_code == 200, path
        assert writer.get(path).status_code == 200, path
    with schema_context("alpha"):
        versions = DefinitionVersion.objects.count()
    for method in ("post", "patch"):
        response = getattr(reader, method)(
            "/api/v1/definitions/", {"gross_margin": "0.5"}, content_type="application/json"
        )
        assert response.status_code == 403
        assert "alignment:write" in response.json()["error"]["message"]
    assert reader.post("/api/v1/metrics/recompute/").status_code == 403
    with schema_context("alpha"):
        assert DefinitionVersion.objects.count() == versions
        assert not RecomputeRequest.objects.exists()
    changed = writer.post("/api/v1/definitions/", {"gross_margin": "0.5"}, content_type="application/json")
    assert changed.status_code == 201 and changed.json()["id"] > ids["version"]


def test_lists_are_isolated_between_tenants(tenant_a, tenant_b):
    alpha_ids = seed("alpha", 3, "alphacanary", marker=777001)
    beta_ids = seed("beta", 1, "betacanary", marker=555001)
    alpha_key = api_key_for("alpha", ["alignment:read"])
    beta = api_client("beta", api_key_for("beta", ["alignment:read"]))
    for path in LISTS:
        assert api_client("beta", alpha_key).get(path).status_code == 401, path
        response = beta.get(path)
        assert response.status_code == 200, path
        body = response.content.decode()
        assert "alphacanary" not in body and "777001" not in body, path
        if path != "/api/v1/metrics/":  # the registry is code, the same everywhere
            assert "betacanary" in body, path
        if "metric-values" in path or "rollups" in path:
            assert "555001" in body, path  # beta's own numbers
    # filtering by alpha's deal or campaign ids on beta never reaches alpha's rows
    for key in ("deal", "campaign"):
        response = beta.get(f"/api/v1/attribution/credits/?{key}={alpha_ids[key]}")
        assert response.status_code == 200 and "alphacanary" not in response.content.decode()
        own = beta.get(f"/api/v1/attribution/credits/?{key}={beta_ids[key]}")  # the positive control
        assert own.json()["results"] and "betacanary" in own.content.decode(), key


def test_list_query_budgets_are_equal_at_5_and_50_rows(tenant_a):
    client = api_client("alpha", api_key_for("alpha", ["alignment:read"]))
    client.get("/api/v1/me/")
    seed("alpha", 5, "few")
    few = {}
    for path in LISTS:
        few[path], body = _count(client, path)
        assert len(body["results"]) >= 5, path
    seed("alpha", 45, "many")
    many = {}
    for path in LISTS:
        many[path], body = _count(client, path)
        assert len(body["results"]) >= 45, path
    assert few == many
    # Every list: SET search_path, the key lookup and the rate-limit count (the registry needs nothing
    # else). Values and credits:
    # the reporting version (newest finished full run) and the page. Rollups: those, plus the campaign
    # names of the page. Definitions: the page, the current version and the reporting version.
    assert few["/api/v1/metrics/"] == 3
    assert few["/api/v1/metric-values/?metric=leads"] == few["/api/v1/attribution/credits/"] == 5
    assert few[ROLLUPS] == 6
    assert few["/api/v1/definitions/"] == 6
