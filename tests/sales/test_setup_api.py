"""The sales set-up through the API: the follow-up clock, pipelines and stages, loss and rejection reasons
and teams. Exact answers, 400s that break the schema and 422s that break a service rule (nothing stored),
isolation between workspaces, scopes and roles, and list query budgets that do not grow with rows."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.models import Max
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import schema_context

from accounts.models import User
from sales.models import LossReason, Pipeline, RejectionReason, SalesSettings, Stage, Team
from sales.services import setup
from sales.services.deals import deal_create, deal_move
from tests.conftest import BREAKS_RULE, BREAKS_SCHEMA, api_client, api_key_for, login, refused, user_in

pytestmark = pytest.mark.django_db

API = "/api/v1"
SETTINGS = f"{API}/sales-settings/"
PIPELINES = f"{API}/pipelines/"
STAGES = f"{API}/stages/"
LOSS = f"{API}/loss-reasons/"
REJECTION = f"{API}/rejection-reasons/"
TEAMS = f"{API}/teams/"
LISTS = [PIPELINES, f"{PIPELINES}?include_inactive=true", LOSS, REJECTION, TEAMS]


def call(client, method, path, data=None):
    response = getattr(client, method)(path, data, content_type="application/json")
    connection.set_schema_to_public()
    return response


def writer(slug: str = "alpha"):
    return api_client(slug, api_key_for(slug, ["sales:write"]))


def _stages(pipeline_id: int) -> list[tuple]:
    return list(
        Stage.objects.filter(pipeline=pipeline_id)
        .order_by("position")
        .values_list("name", "position", "kind", "probability", "expected_days")
    )


def _stored() -> tuple:
    """Everything the set-up can change, to show a refusal stored nothing."""
    return (
        list(SalesSettings.objects.values_list("pk", "mql_follow_up_hours")),
        list(
            Pipeline.objects.order_by("id").values_list("id", "name", "position", "is_active", "is_default")
        ),
        list(Stage.objects.order_by("id").values_list("id", "pipeline", "name", "position", "probability")),
        list(LossReason.objects.order_by("id").values_list("id", "category", "name", "is_active")),
        list(RejectionReason.objects.order_by("id").values_list("id", "name", "is_active")),
        list(Team.objects.order_by("id").values_list("id", "name")),
        list(Team.members.through.objects.order_by("id").values_list("team", "user")),
    )


# Happy paths -----------------------------------------------------------------------------------------------


def test_the_follow_up_clock_is_read_and_changed_even_before_its_row_exists(tenant_a):
    with schema_context("alpha"):
        SalesSettings.objects.all().delete()
    client = writer()
    assert call(client, "get", SETTINGS).json() == {"follow_up_hours": 24}  # the model's default
    changed = call(client, "patch", SETTINGS, {"follow_up_hours": 8})
    assert changed.status_code == 200 and changed.json() == {"follow_up_hours": 8}
    assert call(client, "patch", SETTINGS, {}).json() == {"follow_up_hours": 8}  # nothing to change
    assert call(client, "get", SETTINGS).json() == {"follow_up_hours": 8}
    with schema_context("alpha"):
        assert list(SalesSettings.objects.values_list("pk", "mql_follow_up_hours")) == [(1, 8)]


def test_a_pipeline_is_created_renamed_made_default_and_deactivated(tenant_a):
    client = writer()
    created = call(client, "post", PIPELINES, {"name": "  Partners "})
    assert created.status_code == 201, created.content
    body = created.json()
    with schema_context("alpha"):
        stage_ids = list(
            Stage.objects.filter(pipeline=body["id"]).order_by("position").values_list("pk", flat=True)
        )
        business = Pipeline.objects.get(name="New business")
    assert body == {
        "id": body["id"],
        "name": "Partners",
        "position": 3,  # after New business, Upsell and Renewals
        "is_default": False,
        "is_active": True,
        "stages": [
            {
                "id": stage_ids[0],
                "name": "New",
                "position": 0,
                "kind": "open",
                "probability": 10,
                "expected_days": 14,
            },
            {
                "id": stage_ids[1],
                "name": "Won",
                "position": 1,
                "kind": "won",
                "probability": 100,
                "expected_days": 0,
            },
            {
                "id": stage_ids[2],
                "name": "Lost",
                "position": 2,
                "kind": "lost",
                "probability": 0,
                "expected_days": 0,
            },
        ],
    }
    detail = f"{PIPELINES}{body['id']}/"
    assert call(client, "get", detail).json() == body
    renamed = call(client, "patch", detail, {"name": "Partner deals"})
    assert renamed.status_code == 200 and renamed.json() == {**body, "name": "Partner deals"}
    made_default = call(client, "patch", detail, {"is_default": True})
    assert made_default.json() == {**body, "name": "Partner deals", "is_default": True}
    # the old default gives way, and may now be switched off
    off = call(client, "patch", f"{PIPELINES}{business.pk}/", {"is_active": False})
    assert off.status_code == 200, off.content
    assert (off.json()["name"], off.json()["is_default"], off.json()["is_active"]) == (
        "New business",
        False,
        False,
    )
    listed = [p["name"] for p in call(client, "get", PIPELINES).json()["results"]]
    assert listed == ["Upsell", "Renewals", "Partner deals"]
    everything = call(client, "get", f"{PIPELINES}?include_inactive=true").json()["results"]
    assert [(p["name"], p["is_active"]) for p in everything] == [
        ("New business", False),
        ("Upsell", True),
        ("Renewals", True),
        ("Partner deals", True),
    ]
    assert call(client, "get", f"{PIPELINES}{business.pk}/").json()["is_active"] is False
    with schema_context("alpha"):
        assert list(Pipeline.objects.filter(is_default=True).values_list("name", flat=True)) == [
            "Partner deals"
        ]


def test_stages_are_added_changed_moved_and_removed(tenant_a):
    with schema_context("alpha"):
        pipeline = setup.pipeline_create(name="Partners")
        new = pipeline.stages.get(name="New").pk
    client = writer()
    added = call(
        client,
        "post",
        f"{PIPELINES}{pipeline.pk}/stages/",
        {"name": "Pilot", "probability": 50, "expected_days": 30},
    )
    assert added.status_code == 201, added.content
    pilot = added.json()
    assert pilot == {
        "id": pilot["id"],
        "pipeline": pipeline.pk,
        "name": "Pilot",
        "position": 1,
        "kind": "open",
        "probability": 50,
        "expected_days": 30,
    }
    contract = call(
        client, "post", f"{PIPELINES}{pipeline.pk}/stages/", {"name": "Contract", "probability": 80}
    ).json()
    assert (contract["position"], contract["expected_days"]) == (2, 14)
    changed = call(client, "patch", f"{STAGES}{contract['id']}/", {"name": "Contracting", "expected_days": 7})
    assert changed.status_code == 200 and changed.json() == {
        **contract,
        "name": "Contracting",
        "expected_days": 7,
    }
    assert call(client, "get", f"{STAGES}{contract['id']}/").json() == changed.json()
    moved = call(client, "post", f"{STAGES}{contract['id']}/move/", {"direction": "up"})
    assert moved.status_code == 200, moved.content
    assert [(s["name"], s["position"]) for s in moved.json()["stages"]] == [
        ("New", 0),
        ("Contracting", 1),
        ("Pilot", 2),
        ("Won", 3),
        ("Lost", 4),
    ]
    assert moved.json()["id"] == pipeline.pk
    down = call(
        client, "post", f"{STAGES}{pilot['id']}/move/", {"direction": "down"}
    )  # already the last open
    assert [s["name"] for s in down.json()["stages"]] == ["New", "Contracting", "Pilot", "Won", "Lost"]
    assert call(client, "delete", f"{STAGES}{new}/").status_code == 204
    with schema_context("alpha"):
        assert _stages(pipeline.pk) == [
            ("Contracting", 0, "open", 80, 7),
            ("Pilot", 1, "open", 50, 30),
            ("Won", 2, "won", 100, 0),
            ("Lost", 3, "lost", 0, 0),
        ]


def test_loss_and_rejection_reasons_are_listed_added_retired_and_brought_back(tenant_a):
    client = writer()
    created = call(client, "post", LOSS, {"category": "pricing", "name": "Discount too small"})
    assert created.status_code == 201, created.content
    loss = created.json()
    assert loss == {"id": loss["id"], "category": "pricing", "name": "Discount too small", "is_active": True}
    retired = call(client, "patch", f"{LOSS}{loss['id']}/", {"is_active": False})
    assert retired.status_code == 200 and retired.json() == {**loss, "is_active": False}
    assert call(client, "get", f"{LOSS}{loss['id']}/").json() == {**loss, "is_active": False}
    created = call(client, "post", REJECTION, {"name": "Wrong country"})
    assert created.status_code == 201, created.content
    rejection = created.json()
    assert rejection == {"id": rejection["id"], "name": "Wrong country", "is_active": True}
    assert (
        call(client, "patch", f"{REJECTION}{rejection['id']}/", {"is_active": False}).json()["is_active"]
        is False
    )
    back = call(client, "patch", f"{REJECTION}{rejection['id']}/", {"is_active": True})
    assert back.json() == rejection
    with schema_context("alpha"):
        assert not LossReason.objects.get(pk=loss["id"]).is_active
        assert RejectionReason.objects.get(pk=rejection["id"]).is_active
        losses = list(
            LossReason.objects.order_by("category", "name", "id").values(
                "id", "category", "name", "is_active"
            )
        )
        rejections = list(RejectionReason.objects.order_by("name", "id").values("id", "name", "is_active"))
    # the portal's order, retired ones included, page after page
    for path, expected in ((LOSS, losses), (REJECTION, rejections)):
        assert call(client, "get", path).json()["results"] == expected
        pages, url = [], f"{path}?limit=3"
        while url:
            page = call(client, "get", url).json()
            pages.extend(page["results"])
            url = page["next"].replace("http://alpha.localhost", "") if page["next"] else None
        assert pages == expected, path


def test_a_team_is_created_staffed_and_removed(tenant_a):
    sara, alice = user_in("alpha", "sales"), user_in("alpha", "admin")
    client = writer()
    created = call(client, "post", TEAMS, {"name": "Nordics"})
    assert created.status_code == 201, created.content
    team = created.json()
    assert team == {"id": team["id"], "name": "Nordics", "members": []}
    staffed = call(client, "patch", f"{TEAMS}{team['id']}/", {"members": [alice.pk, sara.pk, sara.pk]})
    assert staffed.status_code == 200, staffed.content
    assert staffed.json() == {**team, "members": sorted([sara.pk, alice.pk])}
    assert call(client, "get", f"{TEAMS}{team['id']}/").json() == staffed.json()
    assert staffed.json() in call(client, "get", TEAMS).json()["results"]
    assert call(client, "patch", f"{TEAMS}{team['id']}/", {"members": [sara.pk]}).json()["members"] == [
        sara.pk
    ]
    assert call(client, "delete", f"{TEAMS}{team['id']}/").status_code == 204
    assert call(client, "get", f"{TEAMS}{team['id']}/").status_code == 404
    with schema_context("alpha"):
        assert not Team.objects.filter(pk=team["id"]).exists()


# Bad input -------------------------------------------------------------------------------------------------


def _bad_input_ids() -> dict:
    with schema_context("alpha"):
        business = Pipeline.objects.get(name="New business")
        demo = business.stages.get(name="Demo")
        deal_move(deal=deal_create(data={"name": "Through demo", "amount": "1"}), stage=demo)
        single = setup.pipeline_create(name="Single")
        team = setup.team_create(name="Bad input team")
        setup.team_set_members(team=team, members=[User.objects.get(email="sara@alpha.example")])
        return {
            "business": business.pk,
            "demo": demo.pk,
            "proposal": business.stages.get(name="Proposal").pk,
            "won": business.stages.get(kind="won").pk,
            "single": single.pk,
            "single_new": single.stages.get(name="New").pk,
            "reason": LossReason.objects.get(name="Too expensive").pk,
            "rejection": RejectionReason.objects.get(name="Competitor").pk,
            "team": team.pk,
            "marketer": user_in("alpha", "marketing").pk,
        }


@pytest.mark.parametrize(
    ("method", "path", "data", "field", "status"),
    [
        ("patch", SETTINGS, {"follow_up_hours": "8"}, "follow_up_hours", BREAKS_SCHEMA),
        ("patch", SETTINGS, {"follow_up_hours": 0}, "follow_up_hours", BREAKS_SCHEMA),
        ("patch", SETTINGS, {"follow_up_hours": 721}, "follow_up_hours", BREAKS_SCHEMA),
        ("patch", SETTINGS, {"hours": 8}, "hours", BREAKS_SCHEMA),
        ("post", PIPELINES, {"name": 5}, "name", BREAKS_SCHEMA),
        ("post", PIPELINES, {"name": "x" * 101}, "name", BREAKS_SCHEMA),
        ("post", PIPELINES, {"name": "Extra", "is_default": True}, "is_default", BREAKS_SCHEMA),
        ("post", PIPELINES, {"name": "new BUSINESS"}, "name", BREAKS_RULE),
        ("post", PIPELINES, {"name": "   "}, "name", BREAKS_RULE),
        ("patch", PIPELINES + "{business}/", {"is_active": "no"}, "is_active", BREAKS_SCHEMA),
        ("patch", PIPELINES + "{business}/", {"is_default": False}, "is_default", BREAKS_RULE),
        ("patch", PIPELINES + "{business}/", {"is_active": False}, "is_active", BREAKS_RULE),
        ("patch", PIPELINES + "{single}/", {"name": "Upsell"}, "name", BREAKS_RULE),
        ("post", PIPELINES + "{single}/stages/", {"name": "Late"}, "probability", BREAKS_SCHEMA),
        (
            "post",
            PIPELINES + "{single}/stages/",
            {"name": "Late", "probability": 10, "expected_days": 0},
            "expected_days",
            BREAKS_SCHEMA,
        ),
        (
            "post",
            PIPELINES + "{single}/stages/",
            {"name": "Late", "probability": 100},
            "probability",
            BREAKS_RULE,
        ),
        ("post", PIPELINES + "{single}/stages/", {"name": "NEW", "probability": 10}, "name", BREAKS_RULE),
        ("patch", STAGES + "{proposal}/", {"probability": 100}, "probability", BREAKS_RULE),
        ("patch", STAGES + "{proposal}/", {"name": "demo"}, "name", BREAKS_RULE),
        ("patch", STAGES + "{proposal}/", {"kind": "won"}, "kind", BREAKS_SCHEMA),
        ("post", STAGES + "{proposal}/move/", {"direction": "left"}, "direction", BREAKS_SCHEMA),
        ("post", STAGES + "{won}/move/", {"direction": "up"}, "stage", BREAKS_RULE),
        ("delete", STAGES + "{single_new}/", None, "stage", BREAKS_RULE),  # the last open stage
        ("delete", STAGES + "{demo}/", None, "stage", BREAKS_RULE),  # a deal passed through it
        ("delete", STAGES + "{won}/", None, "stage", BREAKS_RULE),
        ("post", LOSS, {"category": "vibes", "name": "Bad vibes"}, "category", BREAKS_SCHEMA),
        ("post", LOSS, {"category": "pricing"}, "name", BREAKS_SCHEMA),
        ("post", LOSS, {"category": "pricing", "name": "too EXPENSIVE"}, "name", BREAKS_RULE),
        ("patch", LOSS + "{reason}/", {"is_active": "false"}, "is_active", BREAKS_SCHEMA),
        ("post", REJECTION, {"name": "x" * 151}, "name", BREAKS_SCHEMA),
        ("post", REJECTION, {"name": "competitor"}, "name", BREAKS_RULE),
        ("patch", REJECTION + "{rejection}/", {"is_active": None}, "is_active", BREAKS_SCHEMA),
        ("post", TEAMS, {"name": ""}, "name", BREAKS_SCHEMA),
        ("post", TEAMS, {"name": "bad INPUT team"}, "name", BREAKS_RULE),
        ("patch", TEAMS + "{team}/", {"members": "all"}, "members", BREAKS_SCHEMA),
        ("patch", TEAMS + "{team}/", {"members": ["x"]}, "members.0", BREAKS_SCHEMA),
        ("patch", TEAMS + "{team}/", {"members": [999_999_999]}, "members", BREAKS_RULE),
        ("patch", TEAMS + "{team}/", {"members": [2**70]}, "members", BREAKS_RULE),
        ("patch", TEAMS + "{team}/", {"members": ["@marketer"]}, "members", BREAKS_RULE),  # not a sales user
    ],
)
def test_bad_input_is_refused_naming_the_field_and_nothing_is_stored(
    tenant_a, method, path, data, field, status
):
    ids = _bad_input_ids()
    if data and data.get("members") == ["@marketer"]:
        data = {"members": [ids["marketer"]]}
    with schema_context("alpha"):
        before = _stored()
    response = call(writer(), method, path.format(**ids), data)
    assert field in refused(response, status), response.content
    with schema_context("alpha"):
        assert _stored() == before


# Isolation, scopes and roles -------------------------------------------------------------------------------


def _beyond_beta(model, make):
    """An alpha row whose id beta has no row for (both workspaces start from the same defaults)."""
    with schema_context("beta"):
        top = model.objects.aggregate(top=Max("pk"))["top"] or 0
    with schema_context("alpha"):
        i = 0
        while (row := make(i)).pk <= top:
            i += 1
    return row


def test_the_set_up_is_isolated_between_workspaces(tenant_a, tenant_b):
    pipeline = _beyond_beta(Pipeline, lambda i: setup.pipeline_create(name=f"alphacanary pipeline {i}"))
    stage = _beyond_beta(
        Stage,
        lambda i: setup.stage_create(
            pipeline=pipeline, data={"name": f"alphacanary stage {i}", "probability": 10}
        ),
    )
    loss = _beyond_beta(
        LossReason, lambda i: setup.loss_reason_create(category="other", name=f"alphacanary {i}")
    )
    rejection = _beyond_beta(
        RejectionReason, lambda i: setup.rejection_reason_create(name=f"alphacanary {i}")
    )
    team = _beyond_beta(Team, lambda i: setup.team_create(name=f"alphacanary team {i}"))
    with schema_context("alpha"):
        setup.sales_settings_update(follow_up_hours=99)
        before = _stored()
    beta = writer("beta")
    with schema_context("beta"):
        setup.team_create(name="betacanary team")
    for path in [*LISTS, SETTINGS]:
        response = call(beta, "get", path)
        assert response.status_code == 200, path
        assert "alphacanary" not in response.content.decode(), path
    assert "betacanary" in call(beta, "get", TEAMS).content.decode()
    assert call(beta, "get", SETTINGS).json() == {"follow_up_hours": 24}
    for method, path, data in [
        ("get", f"{PIPELINES}{pipeline.pk}/", None),
        ("patch", f"{PIPELINES}{pipeline.pk}/", {"name": "stolen"}),
        ("post", f"{PIPELINES}{pipeline.pk}/stages/", {"name": "stolen", "probability": 10}),
        ("get", f"{STAGES}{stage.pk}/", None),
        ("patch", f"{STAGES}{stage.pk}/", {"name": "stolen"}),
        ("delete", f"{STAGES}{stage.pk}/", None),
        ("post", f"{STAGES}{stage.pk}/move/", {"direction": "up"}),
        ("get", f"{LOSS}{loss.pk}/", None),
        ("patch", f"{LOSS}{loss.pk}/", {"is_active": False}),
        ("get", f"{REJECTION}{rejection.pk}/", None),
        ("patch", f"{REJECTION}{rejection.pk}/", {"is_active": False}),
        ("get", f"{TEAMS}{team.pk}/", None),
        ("patch", f"{TEAMS}{team.pk}/", {"members": []}),
        ("delete", f"{TEAMS}{team.pk}/", None),
    ]:
        assert call(beta, method, path, data).status_code == 404, (method, path)
    alpha_key = api_key_for("alpha", ["sales:write"])
    for method, path, data in [
        *[("get", path, None) for path in [*LISTS, SETTINGS]],
        ("patch", SETTINGS, {"follow_up_hours": 1}),
        ("post", TEAMS, {"name": "From alpha's key"}),
    ]:
        assert call(api_client("beta", alpha_key), method, path, data).status_code == 401, (method, path)
    with schema_context("alpha"):
        assert _stored() == before
    with schema_context("beta"):
        assert not Team.objects.filter(name="From alpha's key").exists()
        assert not Stage.objects.filter(name="stolen").exists()


def _every_operation(ids: dict) -> list[tuple[str, str, dict | None]]:
    return [
        ("patch", SETTINGS, {"follow_up_hours": 5}),
        ("post", PIPELINES, {"name": "Scoped"}),
        ("patch", f"{PIPELINES}{ids['pipeline']}/", {"name": "Scoped"}),
        ("post", f"{PIPELINES}{ids['pipeline']}/stages/", {"name": "Scoped", "probability": 10}),
        ("patch", f"{STAGES}{ids['stage']}/", {"name": "Scoped"}),
        ("post", f"{STAGES}{ids['stage']}/move/", {"direction": "up"}),
        ("delete", f"{STAGES}{ids['stage']}/", None),
        ("post", LOSS, {"category": "other", "name": "Scoped"}),
        ("patch", f"{LOSS}{ids['loss']}/", {"is_active": False}),
        ("post", REJECTION, {"name": "Scoped"}),
        ("patch", f"{REJECTION}{ids['rejection']}/", {"is_active": False}),
        ("post", TEAMS, {"name": "Scoped"}),
        ("patch", f"{TEAMS}{ids['team']}/", {"members": []}),
        ("delete", f"{TEAMS}{ids['team']}/", None),
    ]


def _reads(ids: dict) -> list[str]:
    return [
        *LISTS,
        SETTINGS,
        f"{PIPELINES}{ids['pipeline']}/",
        f"{STAGES}{ids['stage']}/",
        f"{LOSS}{ids['loss']}/",
        f"{REJECTION}{ids['rejection']}/",
        f"{TEAMS}{ids['team']}/",
    ]


def _scope_ids() -> dict:
    with schema_context("alpha"):
        pipeline = Pipeline.objects.get(name="Upsell")
        return {
            "pipeline": pipeline.pk,
            "stage": pipeline.stages.get(name="Proposal").pk,
            "loss": LossReason.objects.get(name="Not now").pk,
            "rejection": RejectionReason.objects.get(name="No budget").pk,
            "team": setup.team_create(name="Scope team").pk,
        }


def test_reading_needs_sales_read_and_writing_sales_write(tenant_a):
    ids = _scope_ids()
    with schema_context("alpha"):
        before = _stored()
    reader = api_client("alpha", api_key_for("alpha", ["sales:read"]))
    for path in _reads(ids):
        assert call(reader, "get", path).status_code == 200, path
    for method, path, data in _every_operation(ids):
        assert call(reader, method, path, data).status_code == 403, (method, path)
    marketer = api_client("alpha", api_key_for("alpha", ["marketing:read", "marketing:write"]))
    for path in _reads(ids):
        assert call(marketer, "get", path).status_code == 403, path
    nobody = api_client("alpha")
    for path in (SETTINGS, TEAMS):
        assert call(nobody, "get", path).status_code == 401, path
    assert call(nobody, "patch", SETTINGS, {"follow_up_hours": 5}).status_code == 401
    with schema_context("alpha"):
        assert _stored() == before


@pytest.mark.parametrize(
    ("role", "write"), [("sales", 201), ("admin", 201), ("marketing", 403), ("leadership", 403)]
)
def test_people_who_read_sales_see_the_set_up_and_only_sales_writers_change_it(tenant_a, role, write):
    client = login("alpha", role)
    for path in (SETTINGS, TEAMS, PIPELINES, LOSS, REJECTION):
        assert call(client, "get", path).status_code == 200, path
    assert call(client, "post", TEAMS, {"name": f"Team of {role}"}).status_code == write
    with schema_context("alpha"):
        assert Team.objects.filter(name=f"Team of {role}").exists() == (write == 201)


# Query budgets ---------------------------------------------------------------------------------------------


def test_list_query_budgets_do_not_grow_with_rows(tenant_a):
    client = api_client("alpha", api_key_for("alpha", ["sales:read"]))
    call(client, "get", f"{API}/me/")  # the host and the key's last use are cached after a first call

    def queries() -> dict[str, int]:
        counts = {}
        for path in LISTS:
            with CaptureQueriesContext(connection) as ctx:
                response = client.get(path)
            connection.set_schema_to_public()
            assert response.status_code == 200, path
            counts[path] = len(ctx.captured_queries)
        return counts

    def grow(tag: str, n: int) -> None:
        with schema_context("alpha"):
            members = list(User.objects.filter(email__in=["sara@alpha.example", "alice@alpha.example"]))
            for i in range(n):
                pipeline = setup.pipeline_create(name=f"{tag} {i}")
                setup.stage_create(pipeline=pipeline, data={"name": "Pilot", "probability": 40})
                setup.team_set_members(team=setup.team_create(name=f"{tag} {i}"), members=members)
                setup.loss_reason_create(category="other", name=f"{tag} {i}")
                setup.rejection_reason_create(name=f"{tag} {i}")

    grow("few", 2)
    few = queries()
    grow("many", 10)
    assert queries() == few
    # SET search_path, the key, the rate-limit count, the rows (and their stages or members)
    assert few == {PIPELINES: 5, f"{PIPELINES}?include_inactive=true": 5, LOSS: 4, REJECTION: 4, TEAMS: 5}
