"""The objection loop end to end: a rep logs a pricing objection on a deal from the deal page; a marketer
finds it at the top of the content backlog and links a battlecard that answers it; the rep sees the answer on
the deal; leadership watches the scorecard's feedback closure move from 0% to 100% as the real worker's
metric refresh picks each change up."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from django_tenants.utils import schema_context

from tests.browser.conftest import alpha_url
from tests.conftest import PASSWORD, member

pytestmark = [pytest.mark.browser, pytest.mark.integration]

OBJECTION = "Journey: too expensive for five seats"
BATTLECARD = "Journey pricing battlecard"
DEAL = "Journey pricing deal"


@pytest.fixture
def alpha_objection_scene(django_db_blocker):
    """The taxonomy holds the pricing objection, marketing has a battlecard, the rep has an open deal, and
    the metrics have had their full run; everything the journey adds is removed afterwards."""
    from alignment import engine
    from alignment.models import DirtyDay, DirtyDeal, EngineRun, MetricValue, Objection

    with django_db_blocker.unblock(), schema_context("alpha"):
        from accounts.models import User
        from alignment.objections import objection_save
        from marketing.services.content import content_create
        from sales.services.deals import deal_create

        rep = User.objects.get(email=member("alpha", "sales").email)
        objection = objection_save(actor=None, data={"name": OBJECTION, "category": "pricing"})
        card = content_create(
            data={"title": BATTLECARD, "kind": "battlecard", "funnel_stage": "decision",
                  "url": "https://example.com/journey-battlecard"}
        )  # fmt: skip
        deal = deal_create(data={"name": DEAL, "amount": "9000"}, actor=rep)
        before = {
            model: model.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
            for model in (EngineRun, MetricValue)
        }
        engine.run(full=True)
        ids = {"deal": deal.pk, "objection": objection.pk, "card": card.pk, "before": before}
    connection.set_schema_to_public()
    yield ids
    with django_db_blocker.unblock(), schema_context("alpha"):
        from marketing.models import ContentAsset
        from sales.models import Deal

        Objection.objects.filter(pk=ids["objection"]).first().logs.all().delete()
        Objection.objects.filter(pk=ids["objection"]).delete()  # its answers and thread with it
        Deal.objects.filter(pk=ids["deal"]).delete()
        ContentAsset.objects.filter(pk=ids["card"]).delete()
        for model, last in ids["before"].items():  # values and runs the journey's engine runs added
            model.objects.filter(pk__gt=last).delete()
        DirtyDay.objects.all().delete()  # the marks the clean-up itself left
        DirtyDeal.objects.all().delete()
    connection.set_schema_to_public()


def _refresh_in_the_worker(queue_name: str) -> None:
    """What beat does every 45 s: the incremental metric refresh, sent to the real worker (from a plain
    thread: Playwright's event loop in this one refuses Django's blocking calls)."""
    from alignment.tasks import refresh_metrics
    from config.celery import send_to_tenant
    from tests.processes import real_broker

    def send() -> None:
        with real_broker():
            send_to_tenant(refresh_metrics, "alpha", queue=queue_name).get(timeout=120)

    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(send).result()


def _log_in(page, web_server: str, role: str) -> None:
    page.context.clear_cookies()
    page.goto(alpha_url(web_server, "/login/"))
    page.fill("#id_username", member("alpha", role).email)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")


def _feedback_closure(page, web_server: str) -> str:
    page.goto(alpha_url(web_server, "/alignment/scorecard/"))
    return page.locator("[data-testid=value-feedback]").inner_text()


def test_objection_loop_journey(alpha_objection_scene, web_server, browser_page, queue_name):
    from playwright.sync_api import expect

    page, ids = browser_page, alpha_objection_scene
    deal_url = alpha_url(web_server, f"/sales/deals/{ids['deal']}/")

    # leadership's scorecard before: no objection logged this month, so no data (never 0)
    _log_in(page, web_server, "leadership")
    assert _feedback_closure(page, web_server) == "no data"

    # the rep logs the pricing objection from the deal page: choose it, log it
    _log_in(page, web_server, "sales")
    page.goto(deal_url)
    panel = page.locator("[data-testid=deal-objections]")
    expect(panel).to_contain_text("No objection logged on this deal.")
    panel.locator("#log-objection-choice").select_option(str(ids["objection"]))
    panel.locator("button[type=submit]").click()
    expect(page).to_have_url(deal_url + "#objections")
    logged = page.locator(f"[data-objection='{ids['objection']}']")
    expect(logged).to_contain_text(OBJECTION)
    expect(logged).to_contain_text("No answer from marketing yet.")

    # the worker's refresh: leadership sees it logged and unanswered
    _refresh_in_the_worker(queue_name)
    _log_in(page, web_server, "leadership")
    assert _feedback_closure(page, web_server) == "0.0%"
    page.click("[data-testid=drill-feedback]")
    row = page.locator("[data-testid=drill-rows] tr", has_text=OBJECTION)
    expect(row).to_contain_text("pricing")

    # the marketer finds it at the top of the backlog and links the battlecard
    _log_in(page, web_server, "marketing")
    page.goto(alpha_url(web_server, "/alignment/objections/"))
    backlog = page.locator("[data-testid=backlog]")
    expect(backlog).to_contain_text(OBJECTION)
    backlog.get_by_role("link", name=OBJECTION).click()
    form = page.locator("[data-testid=answer-form]")
    form.locator("select[name=content]").select_option(str(ids["card"]))
    form.locator("button[type=submit]").click()
    expect(page.locator("[data-testid=answers]")).to_contain_text(BATTLECARD)

    # the rep sees the answer on the deal
    _log_in(page, web_server, "sales")
    page.goto(deal_url)
    expect(page.locator(f"[data-objection='{ids['objection']}'] [data-testid=answer]")).to_have_text(
        BATTLECARD
    )

    # and leadership sees feedback closure move once the worker has refreshed the metrics
    _refresh_in_the_worker(queue_name)
    _log_in(page, web_server, "leadership")
    assert _feedback_closure(page, web_server) == "100.0%"
    expect(page.locator("[data-testid=points-feedback]")).not_to_have_text("—")
