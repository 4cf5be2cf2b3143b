"""The objection loop in the portal: a rep logs an objection from the deal page and sees its answers there,
marketing links the answer and the teams talk in the thread; the gap report page; every role reads it;
isolation between workspaces and query budgets that do not grow with logs."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import schema_context

from alignment import objections
from alignment.models import Objection, ObjectionAnswer, ObjectionComment, ObjectionLog
from tests.alignment.helpers import deal
from tests.conftest import login
from tests.marketing import factories

pytestmark = pytest.mark.django_db

PAGE = "/alignment/objections/"


def _post(client, path, data=None):
    response = client.post(path, data or {})
    connection.set_schema_to_public()
    return response


def _get(client, path):
    response = client.get(path)
    connection.set_schema_to_public()
    return response


def _setup(slug="alpha", name="Too expensive"):
    import datetime as dt

    with schema_context(slug):
        objection = objections.objection_save(actor=None, data={"name": name, "category": "pricing"})
        opportunity = deal(1000, dt.datetime(2026, 6, 1, tzinfo=dt.UTC))
        asset = factories.content(title=f"{name} battlecard", url="https://example.com/card")
    return objection, opportunity, asset


def test_the_loop_from_the_deal_page_to_marketing_and_back(tenant_a):
    objection, opportunity, asset = _setup()
    rep = login("alpha", "sales")
    page = _get(rep, f"/sales/deals/{opportunity.pk}/").content.decode()
    assert 'data-testid="log-objection"' in page and "No objection logged" in page
    logged = _post(
        rep, f"{PAGE}log/", {"deal": opportunity.pk, "objection": objection.pk, "note": "Budget cut"}
    )
    assert logged.status_code == 302 and logged["Location"] == f"/sales/deals/{opportunity.pk}/#objections"
    with schema_context("alpha"):
        log = ObjectionLog.objects.get()
        assert (log.deal_id, log.note, log.logged_by.email) == (
            opportunity.pk,
            "Budget cut",
            "sara@alpha.example",
        )
    assert "No answer from marketing yet" in _get(rep, f"/sales/deals/{opportunity.pk}/").content.decode()
    marketer = login("alpha", "marketing")
    backlog = _get(marketer, PAGE).content.decode()
    assert 'data-testid="backlog"' in backlog and "Too expensive" in backlog
    assert (
        _post(marketer, f"{PAGE}{objection.pk}/", {"action": "answer", "content": asset.pk}).status_code
        == 302
    )
    assert (
        _post(marketer, f"{PAGE}{objection.pk}/", {"action": "comment", "body": "Card is live"}).status_code
        == 302
    )
    with schema_context("alpha"):
        assert ObjectionAnswer.objects.get().content_id == asset.pk
        assert ObjectionComment.objects.get().body == "Card is live"
    page = _get(rep, f"/sales/deals/{opportunity.pk}/").content.decode()
    assert 'data-testid="answer">Too expensive battlecard' in page
    # bad input is named, never a 500
    assert _post(marketer, f"{PAGE}{objection.pk}/", {"action": "comment", "body": ""}).status_code == 400
    assert _post(marketer, f"{PAGE}{objection.pk}/", {"action": "answer", "content": "x"}).status_code == 400
    assert _post(rep, f"{PAGE}log/", {"deal": "abc", "objection": objection.pk}).status_code == 404


@pytest.mark.parametrize("role", ["admin", "marketing", "sales", "leadership"])
def test_every_role_reads_the_objection_pages(tenant_a, role):
    objection, _, _ = _setup()
    client = login("alpha", role)
    assert _get(client, PAGE).status_code == 200
    assert _get(client, f"{PAGE}{objection.pk}/").status_code == 200
    added = _post(client, PAGE, {"name": f"Heard by {role}", "category": "product"})
    assert added.status_code == 302
    duplicate = _post(client, PAGE, {"name": "TOO EXPENSIVE", "category": "pricing"})
    assert duplicate.status_code == 400 and "already" in duplicate.content.decode()


def test_objection_pages_are_isolated_between_workspaces(tenant_a, tenant_b):
    for i in range(3):
        objection, opportunity, _ = _setup(name=f"alphacanary {i}")
    _setup("beta", name="betacanary")
    with schema_context("beta"):
        assert not Objection.objects.filter(pk=objection.pk).exists()
    beta = login("beta", "admin")
    html = _get(beta, PAGE).content.decode()
    assert "betacanary" in html and "alphacanary" not in html
    assert _get(beta, f"{PAGE}{objection.pk}/").status_code == 404
    assert _post(beta, f"{PAGE}{objection.pk}/", {"action": "comment", "body": "hi"}).status_code == 404
    assert _post(beta, f"{PAGE}log/", {"deal": opportunity.pk, "objection": objection.pk}).status_code == 404
    with schema_context("alpha"):
        assert not ObjectionComment.objects.exists() and not ObjectionLog.objects.exists()


def test_query_budgets_do_not_grow_with_logs(tenant_a):
    objection, opportunity, asset = _setup()
    client = login("alpha", "leadership")

    def queries(path) -> int:
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(path)
        connection.set_schema_to_public()
        assert response.status_code == 200
        return len(ctx.captured_queries)

    paths = [PAGE, f"{PAGE}{objection.pk}/", f"/sales/deals/{opportunity.pk}/"]
    with schema_context("alpha"):
        objections.objection_log(actor=None, objection=objection, deal=opportunity)
        objections.answer_add(actor=None, objection=objection, content=asset)
    few = [queries(p) for p in paths]
    with schema_context("alpha"):
        for i in range(12):
            other = objections.objection_save(actor=None, data={"name": f"Other {i}", "category": "other"})
            objections.objection_log(actor=None, objection=other, deal=opportunity)
            objections.objection_log(actor=None, objection=objection, deal=opportunity, note=str(i))
            objections.answer_add(actor=None, objection=other, content=factories.content())
    assert [queries(p) for p in paths] == few


def test_leadership_names_the_product_owner_and_others_cannot(tenant_a):
    from alignment.models import AlignmentSettings
    from tests.conftest import user_in

    with schema_context("alpha"):
        owner = user_in("alpha", "admin")
    for role in ("marketing", "sales"):
        response = _post(login("alpha", role), PAGE, {"action": "product_owner", "product_owner": owner.pk})
        assert response.status_code == 403, role
    bad = _post(login("alpha", "leadership"), PAGE, {"action": "product_owner", "product_owner": "x"})
    assert bad.status_code == 400
    assert (
        _post(
            login("alpha", "leadership"), PAGE, {"action": "product_owner", "product_owner": owner.pk}
        ).status_code
        == 302
    )
    with schema_context("alpha"):
        assert AlignmentSettings.objects.get(pk=1).product_owner_id == owner.pk
    page = _get(login("alpha", "sales"), PAGE).content.decode()
    assert 'data-testid="product-owner">Alice Admin' in page and 'data-testid="owner-form"' not in page
