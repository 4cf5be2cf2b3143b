"""One of each main object in alpha (through the services), and a crawler that finds every portal page an
admin can reach from the menu, one URL per route, so detail and edit pages are covered too."""

from __future__ import annotations

import datetime as dt
import re
from html.parser import HTMLParser
from urllib.parse import urlsplit

from django.urls import Resolver404, resolve
from django_tenants.utils import schema_context

from tests.conftest import user_in
from tests.security.routes import NOT_PORTAL, portal_routes


def build_world(tag: str = "") -> dict:
    """A company, contact, campaign with a cost and a send, content, segment, lead form, scoring rule,
    deal with an activity, objection with a log and a comment, goal, schedule, team and quota."""
    from alignment import goals, objections, schedules
    from marketing.services.forms import form_create
    from marketing.services.scoring import scoring_rule_create
    from marketing.services.segments import segment_create
    from sales.services.activities import activity_create
    from sales.services.deals import deal_create
    from sales.services.setup import team_create
    from tests.marketing import factories

    with schema_context("alpha"):
        company = factories.company(name="Acme" + tag)
        contact = factories.contact(first_name="Ada", last_name="Lovelace", company=company.pk, stage="mql")
        campaign = factories.campaign(name="Webinar" + tag, description="About the webinar")
        content = factories.content(title="Guide" + tag)
        segment = segment_create(data={"name": "Germans" + tag, "kind": "static"})
        lead_form = form_create(data={"name": "Get the report" + tag, "campaign": campaign.pk})
        rule = scoring_rule_create(
            data={
                "name": "Visits" + tag,
                "kind": "engagement",
                "touch_kind": "page_visit",
                "points": 5,
                "window_days": 30,
            }
        )
        deal = deal_create(data={"name": "Big deal" + tag, "amount": "1000"}, lead=contact)
        activity = activity_create(
            data={"kind": "call", "subject": "Intro call", "deal": deal.pk, "contact": contact.pk},
            actor=user_in("alpha", "sales"),
        )
        objection = objections.objection_save(
            actor=None, data={"name": "Too expensive" + tag, "category": "pricing"}
        )
        objections.objection_log(actor=None, objection=objection, deal=deal, note="They said so")
        objections.comment_add(actor=None, objection=objection, body="We should answer")
        goal = goals.goal_create(
            actor=None,
            data={
                "name": "Q3 revenue" + tag,
                "metric": "revenue_won",
                "period": "quarter",
                "period_start": dt.date(2026, 7, 1),
                "target": "100000",
                "owners": [user_in("alpha", "marketing").pk, user_in("alpha", "sales").pk],
            },
        )
        schedule = schedules.schedule_create(
            actor=None, data={"frequency": "weekly", "recipients": "x@example.com"}
        )
        team = team_create(name="Hunters" + tag)
    return {
        "company": company,
        "contact": contact,
        "campaign": campaign,
        "content": content,
        "segment": segment,
        "lead_form": lead_form,
        "rule": rule,
        "deal": deal,
        "activity": activity,
        "objection": objection,
        "goal": goal,
        "schedule": schedule,
        "team": team,
    }


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag, attrs):
        href = dict(attrs).get("href")
        if tag == "a" and href:
            self.hrefs.append(href)


def _route_of(path: str) -> str | None:
    try:
        match = resolve(path, urlconf="config.urls_tenants")
    except Resolver404:
        return None
    return match.route


def crawl(client, *, extra: tuple[str, ...] = ()) -> dict[str, str]:
    """route -> the first URL found for it (GET, same host, portal only), from every page without a
    parameter and ``extra``; exports and file downloads are skipped (not pages)."""
    start = [route.url() for route in portal_routes() if not route.has_params and route.accepts("get")]
    queue = [*start, *extra]
    found: dict[str, str] = {}
    while queue:
        url = queue.pop(0)
        path = urlsplit(url).path
        if (
            not path.startswith("/")
            or path.lstrip("/").startswith(NOT_PORTAL)
            or re.search(r"\.csv$|/file/$", path)
        ):
            continue
        route = _route_of(path)
        if route is None or route in found:
            continue
        response = client.get(url)
        assert response.status_code < 500, url
        found[route] = url
        if response.status_code == 200 and "html" in response.get("Content-Type", ""):
            parser = _Links()
            parser.feed(response.content.decode())
            queue.extend(href for href in parser.hrefs if href.startswith("/") or href.startswith("?"))
    return found
