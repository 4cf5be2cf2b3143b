"""Sales set-up: follow-up clock, pipelines and stages, loss and rejection reasons, teams; the pages'
roles, isolation, bad input and query budget."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import schema_context

from accounts.models import User
from sales.models import LossReason, Pipeline, RejectionReason, SalesSettings, Stage, Team
from sales.services import setup
from sales.services.deals import deal_create, deal_move
from tests.conftest import login

pytestmark = pytest.mark.django_db


def _names(pipeline: Pipeline) -> list[tuple[str, str]]:
    return list(pipeline.stages.order_by("position").values_list("name", "kind"))


def test_a_new_stage_goes_after_the_open_ones_and_moves_never_pass_won_or_lost(alpha):
    pipeline = setup.pipeline_create(name="Partners")
    assert _names(pipeline) == [("New", "open"), ("Won", "won"), ("Lost", "lost")]
    setup.stage_create(pipeline=pipeline, data={"name": "Pilot", "probability": "50", "expected_days": "30"})
    contract = setup.stage_create(pipeline=pipeline, data={"name": "Contract", "probability": "80"})
    assert [n for n, _ in _names(pipeline)] == ["New", "Pilot", "Contract", "Won", "Lost"]
    setup.stage_move(stage=contract, direction="up")
    assert [n for n, _ in _names(pipeline)] == ["New", "Contract", "Pilot", "Won", "Lost"]
    setup.stage_move(
        stage=Stage.objects.get(pipeline=pipeline, name="Pilot"), direction="down"
    )  # already last
    assert [n for n, _ in _names(pipeline)] == ["New", "Contract", "Pilot", "Won", "Lost"]
    with pytest.raises(ValidationError) as info:
        setup.stage_move(stage=Stage.objects.get(pipeline=pipeline, name="Won"), direction="up")
    assert "stage" in info.value.message_dict


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"name": "", "probability": "10"}, "name"),
        ({"name": "New", "probability": "10"}, "name"),  # a clash, whatever the case
        ({"name": "Late", "probability": "100"}, "probability"),  # only won is certain
        ({"name": "Late", "probability": "-1"}, "probability"),
        ({"name": "Late", "probability": "ten"}, "probability"),
        ({"name": "Late"}, "probability"),
        ({"name": "Late", "probability": "10", "expected_days": "0"}, "expected_days"),
        ({"name": "Nul\x00", "probability": "10"}, "name"),
    ],
)
def test_bad_stages_are_refused_and_nothing_is_stored(alpha, data, field):
    pipeline = setup.pipeline_create(name="Refusals")
    before = _names(pipeline)
    with pytest.raises(ValidationError) as info:
        setup.stage_create(pipeline=pipeline, data=data)
    assert field in info.value.message_dict
    assert _names(pipeline) == before


def test_a_stage_with_history_cannot_be_removed_and_the_last_open_one_stays(alpha):
    pipeline = Pipeline.objects.get(name="New business")
    used = pipeline.stages.get(name="Demo")
    deal_move(deal=deal_create(data={"name": "D", "amount": "1"}), stage=used)
    with pytest.raises(ValidationError):
        setup.stage_delete(stage=used)
    fresh = setup.pipeline_create(name="Single")
    with pytest.raises(ValidationError):
        setup.stage_delete(stage=fresh.stages.get(name="New"))
    extra = setup.stage_create(pipeline=fresh, data={"name": "Extra", "probability": "30"})
    setup.stage_delete(stage=fresh.stages.get(name="New"))
    assert _names(fresh) == [("Extra", "open"), ("Won", "won"), ("Lost", "lost")]
    assert list(fresh.stages.order_by("position").values_list("position", flat=True)) == [0, 1, 2]
    assert list(fresh.stages.filter(kind="open").values_list("pk", flat=True)) == [extra.pk]


def test_default_pipeline_moves_and_stays_active(alpha):
    upsell = Pipeline.objects.get(name="Upsell")
    setup.pipeline_update(pipeline=upsell, name="Upsell", is_active=True, is_default=True)
    assert list(Pipeline.objects.filter(is_default=True).values_list("name", flat=True)) == ["Upsell"]
    with pytest.raises(ValidationError) as info:
        setup.pipeline_update(pipeline=upsell, name="Upsell", is_active=False, is_default=True)
    assert "is_active" in info.value.message_dict
    with pytest.raises(ValidationError):
        setup.pipeline_update(pipeline=upsell, name="Renewals", is_active=True, is_default=True)


def test_reasons_teams_and_follow_up_hours(alpha):
    reason = setup.loss_reason_create(category="pricing", name="Discount too small")
    with pytest.raises(ValidationError):
        setup.loss_reason_create(category="pricing", name="discount TOO small")
    with pytest.raises(ValidationError) as info:
        setup.loss_reason_create(category="vibes", name="x")
    assert "category" in info.value.message_dict
    setup.reason_set_active(reason=reason, active=False)
    assert not LossReason.objects.get(pk=reason.pk).is_active
    rejection = setup.rejection_reason_create(name="Wrong country")
    assert RejectionReason.objects.get(pk=rejection.pk).is_active
    team = setup.team_create(name="Nordics")
    sara = User.objects.get(email="sara@alpha.example")
    marketer = User.objects.filter(roles=["marketing"]).first()
    setup.team_set_members(team=team, members=[sara])
    with pytest.raises(ValidationError) as info:
        setup.team_set_members(team=team, members=[sara, marketer])
    assert "members" in info.value.message_dict
    assert list(team.members.all()) == [sara]
    for bad in ("0", "721", "soon", None):
        with pytest.raises(ValidationError):
            setup.sales_settings_update(follow_up_hours=bad)
    setup.sales_settings_update(follow_up_hours="8")
    assert SalesSettings.objects.get(pk=1).mql_follow_up_hours == 8


def test_retired_reasons_are_no_longer_offered(tenant_a):
    from marketing.services.contacts import contact_change_stage
    from tests.marketing import factories

    with schema_context("alpha"):
        reason = setup.loss_reason_create(category="timing", name="Fiscal year end")
        rejection = setup.rejection_reason_create(name="Duplicate lead")
        deal = deal_create(data={"name": "Offer", "amount": "1"})
        contact_change_stage(contact=factories.contact(), to_stage="mql")
    client = login("alpha", "sales")

    def offered() -> tuple[bool, bool]:
        deal_page = client.get(f"/sales/deals/{deal.pk}/").content.decode()
        connection.set_schema_to_public()
        queue = client.get("/sales/leads/").content.decode()
        connection.set_schema_to_public()
        return "Fiscal year end" in deal_page, "Duplicate lead" in queue

    assert offered() == (True, True)
    for action, pk in (("loss_active", reason.pk), ("rejection_active", rejection.pk)):
        assert (
            client.post("/sales/setup/", {"action": action, "reason": pk, "active": "0"}).status_code == 302
        )
        connection.set_schema_to_public()
    assert offered() == (False, False)


@pytest.mark.parametrize(
    ("role", "status"), [("sales", 200), ("admin", 200), ("marketing", 403), ("leadership", 403)]
)
def test_only_sales_writers_open_the_set_up(tenant_a, role, status):
    with schema_context("alpha"):
        pipeline = Pipeline.objects.get(name="New business").pk
    client = login("alpha", role)
    assert client.get("/sales/setup/").status_code == status
    connection.set_schema_to_public()
    assert client.get(f"/sales/setup/pipelines/{pipeline}/").status_code == status
    connection.set_schema_to_public()
    posted = client.post("/sales/setup/", {"action": "team_create", "name": f"Team of {role}"})
    assert posted.status_code == (302 if status == 200 else 403)
    with schema_context("alpha"):
        assert Team.objects.filter(name=f"Team of {role}").exists() == (status == 200)


def test_set_up_pages_name_the_field_on_bad_input(tenant_a):
    with schema_context("alpha"):
        pipeline = Pipeline.objects.get(name="New business")
        stage = pipeline.stages.get(name="Demo")
        team = setup.team_create(name="Bad input team")
    client = login("alpha", "sales")
    for path, data, label in [
        ("/sales/setup/", {"action": "hours", "follow_up_hours": "abc"}, "Follow-up hours"),
        ("/sales/setup/", {"action": "loss_reason", "category": "pricing", "name": ""}, "Name"),
        ("/sales/setup/", {"action": "team_members", "team": team.pk, "members": ["x"]}, "Members"),
        (
            f"/sales/setup/pipelines/{pipeline.pk}/",
            {"action": "stage_create", "name": "X", "probability": "100"},
            "Probability",
        ),
        (
            f"/sales/setup/pipelines/{pipeline.pk}/",
            {"action": "stage_update", "stage": stage.pk, "expected_days": "-4"},
            "Expected days",
        ),
        (
            f"/sales/setup/pipelines/{pipeline.pk}/",
            {"action": "stage_move", "stage": stage.pk, "direction": "left"},
            "Direction",
        ),
    ]:
        response = client.post(path, data)
        connection.set_schema_to_public()
        assert response.status_code == 400, data
        assert f"{label}:" in response.content.decode(), data
    assert (
        client.post(
            f"/sales/setup/pipelines/{pipeline.pk}/", {"action": "stage_delete", "stage": "abc"}
        ).status_code
        == 404
    )


def test_set_up_is_isolated_between_tenants(tenant_a, tenant_b):
    with schema_context("alpha"):
        setup.loss_reason_create(category="other", name="alphacanary reason")
        # a pipeline of alpha's own: its ids are beyond any beta has (both start from the same defaults)
        alpha_only = setup.pipeline_create(name="Alpha partners")
        stage = setup.stage_create(pipeline=alpha_only, data={"name": "Pilot", "probability": "40"})
    with schema_context("beta"):
        beta_pipeline = Pipeline.objects.get(name="New business").pk
        assert not Stage.objects.filter(pk=stage.pk).exists() and not Pipeline.objects.filter(
            pk=alpha_only.pk
        )
    beta = login("beta", "sales")
    page = beta.get("/sales/setup/")
    assert page.status_code == 200 and "alphacanary" not in page.content.decode()
    assert "Too expensive" in page.content.decode()  # beta's own reasons are shown
    connection.set_schema_to_public()
    # alpha's stage id posted on beta's pipeline, and alpha's pipeline on beta: the 404 of a missing row
    foreign = beta.post(
        f"/sales/setup/pipelines/{beta_pipeline}/",
        {"action": "stage_update", "stage": stage.pk, "name": "Hijack"},
    )
    assert foreign.status_code == 404
    connection.set_schema_to_public()
    assert beta.get(f"/sales/setup/pipelines/{alpha_only.pk}/").status_code == 404
    with schema_context("alpha"):
        assert Stage.objects.get(pk=stage.pk).name == "Pilot"
    with schema_context("beta"):
        assert not Stage.objects.filter(name="Hijack").exists()
    connection.set_schema_to_public()


def test_set_up_query_budget_does_not_grow_with_rows(tenant_a):
    client = login("alpha", "sales")
    with schema_context("alpha"):
        pipeline = Pipeline.objects.get(name="New business").pk

    def counts() -> tuple[int, int]:
        result = []
        for path in ("/sales/setup/", f"/sales/setup/pipelines/{pipeline}/"):
            with CaptureQueriesContext(connection) as ctx:
                assert client.get(path).status_code == 200
            connection.set_schema_to_public()
            result.append(len(ctx.captured_queries))
        return tuple(result)

    def grow(tag: str, n: int) -> None:
        with schema_context("alpha"):
            sara = User.objects.get(email="sara@alpha.example")
            p = Pipeline.objects.get(pk=pipeline)
            for i in range(n):
                setup.loss_reason_create(category="other", name=f"{tag} {i}")
                setup.rejection_reason_create(name=f"{tag} {i}")
                setup.team_set_members(team=setup.team_create(name=f"{tag} {i}"), members=[sara])
                setup.pipeline_create(name=f"{tag} {i}")
                setup.stage_create(pipeline=p, data={"name": f"{tag} {i}", "probability": "50"})
                deal_create(data={"name": f"{tag} {i}", "amount": "1", "pipeline": pipeline})

    grow("few", 3)
    few = counts()
    grow("many", 20)
    assert counts() == few
