"""Webhooks with the real worker: a change committed while the broker refuses every publish keeps its event
in the outbox (the change itself succeeds), and once the broker takes messages again the worker's periodic
delivery run (what beat sends every 30 s) posts it, signed, to a receiver on loopback."""

from __future__ import annotations

from unittest import mock

import pytest
from django.db import connection
from django_tenants.utils import schema_context
from kombu.exceptions import OperationalError

from accounts import webhooks
from accounts.tasks import deliver_webhooks
from config.celery import send_to_tenant
from tests.processes import real_broker
from tests.webhook_receiver import receiver

pytestmark = pytest.mark.integration

EMAIL = "outbox-live@example.com"


def test_an_event_written_while_the_broker_is_down_is_delivered_after_it_returns(
    celery_worker, queue_name, django_db_blocker
):
    from accounts.models import WebhookDelivery, WebhookEvent, WebhookSubscription
    from marketing.models import Contact
    from marketing.services.contacts import contact_create

    with receiver([200]) as hook:
        try:
            with django_db_blocker.unblock(), schema_context("alpha"):
                subscription = webhooks.subscription_save(
                    data={"url": hook.url, "events": ["contact.created"], "allow_private": True}
                )
                # the broker is down: publishing the "deliver now" message fails after the commit
                with (
                    real_broker(),
                    mock.patch.object(
                        deliver_webhooks, "apply_async", side_effect=OperationalError("broker unreachable")
                    ) as publish,
                ):
                    contact = contact_create(data={"email": EMAIL})  # commits: no test transaction here
                assert publish.called  # it was tried, failed, and the write stands
                assert Contact.objects.filter(email=EMAIL).exists()
                assert WebhookDelivery.objects.get(subscription=subscription).status == "pending"
                assert not hook.requests
            connection.set_schema_to_public()
            # the broker is back: beat's run of the delivery task reaches the real worker
            with real_broker(), django_db_blocker.unblock():
                result = send_to_tenant(deliver_webhooks, "alpha", queue=queue_name).get(timeout=60)
            assert result == {"delivered": 1, "retrying": 0, "failed": 0}
            (request,) = hook.requests
            assert webhooks.verify(subscription.secret, request.headers["Tandem-Signature"], request.body)
            assert str(contact.pk) in request.body.decode()
        finally:
            with django_db_blocker.unblock(), schema_context("alpha"):
                WebhookSubscription.objects.all().delete()
                WebhookEvent.objects.all().delete()
                Contact.objects.filter(email=EMAIL).delete()
            connection.set_schema_to_public()
