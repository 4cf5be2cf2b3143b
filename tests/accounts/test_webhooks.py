"""Webhooks: subscriptions through the API (admin scope, fields named, isolated), events written to the
outbox in the writer's transaction, signed deliveries to a receiver on loopback, retries with backoff and a
day's limit, the delivery log with each attempt, redelivery, and private addresses refused unless allowed."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.db import connection, transaction
from django.utils import timezone
from django_tenants.utils import schema_context

from accounts import webhooks
from accounts.models import WebhookAttempt, WebhookDelivery, WebhookEvent, WebhookSubscription
from tests.conftest import api_client, api_key_for, user_in
from tests.marketing import factories
from tests.webhook_receiver import receiver

pytestmark = pytest.mark.django_db

API = "/api/v1/webhooks/"


def _call(client, method: str, path: str, body: dict | None = None):
    kwargs = {"content_type": "application/json"} if body is not None else {}
    response = getattr(client, method)(path, json.dumps(body) if body is not None else None, **kwargs)
    connection.set_schema_to_public()
    return response


def _subscribe(url: str, events: list[str], *, allow_private: bool = True) -> WebhookSubscription:
    return webhooks.subscription_save(data={"url": url, "events": events, "allow_private": allow_private})


def test_an_admin_key_manages_subscriptions_and_fields_are_named(tenant_a, tenant_b):
    admin = api_client("alpha", api_key_for("alpha", ["admin:write"]))
    created = _call(admin, "post", API, {"url": "https://hooks.example.com/tandem", "events": ["deal.won"]})
    assert created.status_code == 201
    body = created.json()
    assert (
        body["secret"].startswith("whsec_")
        and body["events"] == ["deal.won"]
        and body["allow_private"] is False
    )
    hook = "https://hooks.example.com/"
    bad = _call(admin, "post", API, {"url": hook, "events": ["deal.won", "deal.sold"]})
    assert bad.status_code == 400 and set(bad.json()["error"]["fields"]) == {"events.1"}  # not in the enum
    for url in (
        "ftp://x",
        "https://user:pw@hooks.example.com/",
        "https://hooks.example.com:99999/",
        "http://",
    ):
        refused = _call(admin, "post", API, {"url": url, "events": ["deal.won"]})
        assert refused.status_code == 422 and set(refused.json()["error"]["fields"]) == {"url"}, url
    changed = _call(admin, "patch", f"{API}{body['id']}/", {"events": ["deal.won", "deal.lost"]})
    assert changed.status_code == 200 and changed.json()["events"] == ["deal.lost", "deal.won"]
    events = _call(admin, "get", f"{API}events/").json()
    assert [e["type"] for e in events] == list(webhooks.EVENTS)
    # another role's key, another workspace's key, another workspace's subscription
    assert (
        _call(api_client("alpha", api_key_for("alpha", ["marketing:write"])), "get", API).status_code == 403
    )
    assert _call(api_client("beta", api_key_for("alpha", ["admin:write"])), "get", API).status_code == 401
    beta = api_client("beta", api_key_for("beta", ["admin:write"]))
    assert _call(beta, "get", f"{API}{body['id']}/").status_code == 404
    assert _call(beta, "get", API).json()["results"] == []
    assert _call(admin, "delete", f"{API}{body['id']}/").status_code == 204


def test_events_are_written_in_the_writers_transaction_and_only_when_subscribed(alpha):
    assert webhooks.emit("contact.created", {"contact": {"id": 1}}) == 0  # nobody listens: nothing written
    assert not WebhookEvent.objects.exists()
    _subscribe("https://hooks.example.com/", ["contact.created"])

    def failing_change() -> None:
        with transaction.atomic():
            factories.contact(email="rolled-back@example.com")
            raise RuntimeError("the change fails after the event")

    with pytest.raises(RuntimeError):
        failing_change()
    assert not WebhookEvent.objects.exists()  # gone with the change
    factories.contact(email="kept@example.com")
    event = WebhookEvent.objects.get()
    assert (event.type, event.data["contact"]["email"]) == ("contact.created", "kept@example.com")
    assert WebhookDelivery.objects.get().status == "pending"


def test_every_event_type_comes_from_its_service(alpha):
    from accounts import personal_data
    from alignment import objections
    from marketing.services.contacts import contact_change_stage
    from sales.models import LossReason, RejectionReason
    from sales.services.deals import deal_close_lost, deal_close_won, deal_create, deal_move
    from sales.services.leads import lead_accept, lead_reject

    _subscribe("https://hooks.example.com/", list(webhooks.EVENTS))
    rep = user_in("alpha", "sales")
    first, second = factories.contact(), factories.contact()
    contact_change_stage(contact=first, to_stage="mql")
    contact_change_stage(contact=second, to_stage="mql")
    lead_accept(contact=first, actor=rep)
    lead_reject(contact=second, reason=RejectionReason.objects.first(), actor=rep)
    won = deal_create(data={"name": "Won", "amount": "100"}, actor=rep)
    deal_move(deal=won, stage=won.pipeline.stages.filter(kind="open").order_by("position")[1])
    deal_close_won(deal=won, actor=rep)
    lost = deal_create(data={"name": "Lost", "amount": "50"}, actor=rep)
    reason = LossReason.objects.filter(category="pricing").first()
    deal_close_lost(deal=lost, category="pricing", reason=reason, note="Too dear", actor=rep)
    heard = objections.objection_save(actor=None, data={"name": "Too dear", "category": "pricing"})
    objections.objection_log(actor=rep, objection=heard, deal=lost)
    erased = factories.contact()
    personal_data.erase(erased)
    types = set(WebhookEvent.objects.values_list("type", flat=True))
    expected = set(webhooks.EVENTS) - {"goal.status_changed", "sla.breached"}  # time-driven: below
    assert types == expected
    won_event = WebhookEvent.objects.get(type="deal.won")
    assert won_event.data["deal"]["status"] == "won" and won_event.data["deal"]["amount"] == "100.00"
    lost_event = WebhookEvent.objects.get(type="deal.lost")
    assert lost_event.data["deal"]["loss_reason"] == reason.name


def test_goal_status_changes_and_sla_breaches_are_events_too(alpha):
    from decimal import Decimal

    from alignment import goals, sla
    from alignment.models import Goal, MetricValue
    from alignment.services import reporting_definition

    _subscribe("https://hooks.example.com/", ["goal.status_changed", "sla.breached"])
    owners = [user_in("alpha", "marketing").pk, user_in("alpha", "sales").pk]
    start = dt.date(2026, 4, 1)
    goal = goals.goal_create(
        actor=None,
        data={"name": "Leads", "metric": "leads", "period": "month", "period_start": start, "target": 100,
              "owners": owners},
    )  # fmt: skip
    MetricValue.objects.create(
        metric="leads", granularity="month", period_start=start, definition=reporting_definition(), value=200
    )
    goals.goals_refresh(goals=[Goal.objects.get(pk=goal.pk)], now=dt.datetime(2026, 4, 20, tzinfo=dt.UTC))
    event = WebhookEvent.objects.get(type="goal.status_changed")
    assert event.data["goal"]["status"] == "on_track" and event.data["goal"]["actual"] == "200.000000"
    # an MQL left untouched for days breaches its first-touch clock
    contact = factories.contact()
    from marketing.services.contacts import contact_change_stage

    monday = dt.datetime(2026, 4, 6, 9, tzinfo=dt.UTC)
    contact_change_stage(contact=contact, to_stage="mql", at=monday)
    sla.sla_check(now=monday + dt.timedelta(days=4))  # past 24 business hours: both steps are late
    breaches = WebhookEvent.objects.filter(type="sla.breached")
    assert sorted(e.data["step"] for e in breaches) == ["decision", "first_touch"]
    assert {e.data["clock"]["contact"] for e in breaches} == {contact.pk}
    # the workspace policy's default hours: 4 for the first touch, 24 for the decision
    assert {e.data["step"]: Decimal(e.data["hours_allowed"]) for e in breaches} == {
        "first_touch": Decimal(4),
        "decision": Decimal(24),
    }


def test_a_delivery_is_signed_and_logged(alpha):
    with receiver([200]) as hook:
        subscription = _subscribe(hook.url, ["contact.created"])
        contact = factories.contact(email="signed@example.com")
        assert webhooks.deliver_due() == {"delivered": 1, "retrying": 0, "failed": 0}
    (request,) = hook.requests
    assert request.path == "/hooks/tandem" and request.headers["Tandem-Event-Type"] == "contact.created"
    assert webhooks.verify(subscription.secret, request.headers["Tandem-Signature"], request.body)
    assert not webhooks.verify("whsec_other", request.headers["Tandem-Signature"], request.body)
    assert not webhooks.verify(subscription.secret, request.headers["Tandem-Signature"], request.body + b" ")
    sent = json.loads(request.body)
    assert (sent["type"], sent["data"]["contact"]["id"]) == ("contact.created", contact.pk)
    assert str(sent["id"]) == request.headers["Tandem-Event-Id"]
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("delivered", 1, 200)
    attempt = WebhookAttempt.objects.get()
    assert (attempt.status_code, attempt.response) == (200, "answered 200")
    assert webhooks.deliver_due() == {"delivered": 0, "retrying": 0, "failed": 0}  # nothing sent twice


def test_a_stale_signature_is_refused():
    body = b'{"id": 1}'
    header = webhooks.sign("whsec_x", 1_000_000, body)
    assert webhooks.verify("whsec_x", header, body, now=1_000_100)
    assert not webhooks.verify("whsec_x", header, body, now=1_000_400)  # older than five minutes
    assert not webhooks.verify("whsec_x", "garbage", body, now=1_000_000)


def test_failures_are_retried_with_backoff_then_delivered(alpha):
    with receiver([500, 503, 200]) as hook:
        _subscribe(hook.url, ["contact.created"])
        factories.contact()
        t0 = timezone.now()
        assert webhooks.deliver_due(now=t0)["retrying"] == 1
        delivery = WebhookDelivery.objects.get()
        assert delivery.next_attempt_at == t0 + dt.timedelta(seconds=30)
        assert webhooks.deliver_due(now=t0 + dt.timedelta(seconds=29))["retrying"] == 0  # not due yet
        assert webhooks.deliver_due(now=t0 + dt.timedelta(seconds=30))["retrying"] == 1
        delivery.refresh_from_db()
        assert delivery.next_attempt_at == t0 + dt.timedelta(seconds=30 + 60)  # doubled
        assert webhooks.deliver_due(now=t0 + dt.timedelta(seconds=90))["delivered"] == 1
    assert list(WebhookAttempt.objects.values_list("status_code", flat=True)) == [500, 503, 200]
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("delivered", 3)
    assert [webhooks.backoff(n).total_seconds() for n in (1, 2, 3, 10)] == [30, 60, 120, 15360]


def test_a_delivery_gives_up_after_a_day(alpha):
    with receiver([500]) as hook:
        _subscribe(hook.url, ["contact.created"])
        factories.contact()
        delivery = WebhookDelivery.objects.get()
        late = delivery.created + dt.timedelta(hours=23, minutes=59, seconds=50)
        WebhookDelivery.objects.update(next_attempt_at=late)
        assert webhooks.deliver_due(now=late) == {"delivered": 0, "retrying": 0, "failed": 1}
    delivery.refresh_from_db()
    assert delivery.status == "failed" and delivery.next_attempt_at is None


def test_private_addresses_are_refused_unless_allowed(alpha):
    with receiver([200]) as hook:
        _subscribe(hook.url, ["contact.created"], allow_private=False)
        factories.contact()
        assert webhooks.deliver_due()["retrying"] == 1
    assert not hook.requests
    attempt = WebhookAttempt.objects.get()
    assert attempt.status_code is None and "not public" in attempt.error
    for address, private in (("127.0.0.1", True), ("10.1.2.3", True), ("192.168.0.1", True),
                             ("169.254.169.254", True), ("::1", True), ("fd00::1", True), ("0.0.0.0", True),  # noqa: S104
                             ("93.184.216.34", False), ("2606:4700::1111", False)):  # fmt: skip
        assert webhooks.allowed_address(address, allow_private=False) is not private, address


def test_the_delivery_log_and_redelivery(tenant_a, tenant_b):
    admin = api_client("alpha", api_key_for("alpha", ["admin:write"]))
    with receiver([500, 200]) as hook:
        with schema_context("alpha"):
            _subscribe(hook.url, ["contact.created"])
            factories.contact(email="logged@example.com")
            webhooks.deliver_due()
        listed = _call(admin, "get", f"{API}deliveries/?status=pending").json()["results"]
        assert len(listed) == 1 and listed[0]["last_status_code"] == 500
        detail = _call(admin, "get", f"{API}deliveries/{listed[0]['id']}/").json()
        assert detail["payload"]["contact"]["email"] == "logged@example.com"
        assert [(a["status_code"], a["response"]) for a in detail["log"]] == [(500, "answered 500")]
        again = _call(admin, "post", f"{API}deliveries/{listed[0]['id']}/redeliver/")
        assert again.status_code == 202 and again.json()["status"] == "pending"
        with schema_context("alpha"):
            webhooks.deliver_due()
    assert [r.headers["Tandem-Event-Id"] for r in hook.requests] == [str(detail["event"])] * 2
    assert (
        _call(admin, "get", f"{API}deliveries/?status=delivered").json()["results"][0]["id"]
        == again.json()["id"]
    )
    assert _call(admin, "get", f"{API}deliveries/?status=lost").status_code == 400
    beta = api_client("beta", api_key_for("beta", ["admin:write"]))
    assert _call(beta, "get", f"{API}deliveries/{listed[0]['id']}/").status_code == 404
    assert _call(beta, "post", f"{API}deliveries/{listed[0]['id']}/redeliver/").status_code == 404


def test_the_settings_page_adds_lists_redelivers_and_removes(tenant_a, tenant_b):
    from tests.conftest import login

    page = "/settings/webhooks/"
    admin = login("alpha", "admin")
    assert admin.get(page).status_code == 200
    connection.set_schema_to_public()
    bad = admin.post(page, {"action": "add", "url": "ftp://nowhere", "events": ["deal.won"]})
    connection.set_schema_to_public()
    assert bad.status_code == 400 and "http or https" in bad.content.decode()
    added = admin.post(page, {"action": "add", "url": "https://hooks.example.com/a", "events": ["deal.won"]})
    connection.set_schema_to_public()
    assert added.status_code == 302
    with schema_context("alpha"):
        subscription = WebhookSubscription.objects.get(url="https://hooks.example.com/a")
        event = WebhookEvent.objects.create(type="deal.won", data={"deal": {"id": 1}})
        delivery = WebhookDelivery.objects.create(event=event, subscription=subscription, status="failed")
    html = admin.get(page).content.decode()
    connection.set_schema_to_public()
    assert subscription.secret in html and "deal.won" in html
    assert admin.post(page, {"action": "redeliver", "delivery": delivery.pk}).status_code == 302
    connection.set_schema_to_public()
    with schema_context("alpha"):
        assert WebhookDelivery.objects.filter(event=event, status="pending").count() == 1
    # other roles and other workspaces
    for role in ("marketing", "sales", "leadership"):
        assert login("alpha", role).get(page).status_code == 403
        connection.set_schema_to_public()
    beta = login("beta", "admin")
    assert subscription.secret not in beta.get(page).content.decode()
    connection.set_schema_to_public()
    assert beta.post(page, {"action": "delete", "subscription": subscription.pk}).status_code == 404
    connection.set_schema_to_public()
    assert admin.post(page, {"action": "delete", "subscription": subscription.pk}).status_code == 302
    connection.set_schema_to_public()
    with schema_context("alpha"):
        assert not WebhookSubscription.objects.exists()


def test_the_settings_page_and_delivery_list_budgets_do_not_grow(tenant_a):
    from django.test.utils import CaptureQueriesContext

    from tests.conftest import login

    admin = login("alpha", "admin")
    key = api_client("alpha", api_key_for("alpha", ["admin:read"]))

    def queries(client, path) -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(path).status_code == 200
        connection.set_schema_to_public()
        return len(ctx.captured_queries)

    def add(n: int) -> None:
        with schema_context("alpha"):
            subscription = _subscribe(f"https://hooks.example.com/{n}", ["deal.won"])
            for i in range(n):
                event = WebhookEvent.objects.create(type="deal.won", data={"i": i})
                delivery = WebhookDelivery.objects.create(event=event, subscription=subscription)
                WebhookAttempt.objects.create(delivery=delivery, status_code=500)

    add(2)
    paths = [(admin, "/settings/webhooks/"), (key, f"{API}deliveries/"), (key, API)]
    queries(key, API)  # the key's first use is recorded once
    few = [queries(c, p) for c, p in paths]
    add(20)
    assert [queries(c, p) for c, p in paths] == few
