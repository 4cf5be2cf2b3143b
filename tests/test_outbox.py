"""The transactional outbox (config.outbox): a task is asked for in the write's transaction and sent after
it commits, now or, when the broker is down, by the relay later; never twice by two publishers at once."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from django.core import mail
from django.db import transaction
from django.utils import timezone

from accounts.roles import Role
from accounts.services import invitation_create, invitation_send
from accounts.tasks import send_invitation_email
from accounts.tenancy.models import OutboxMessage
from config.celery import app
from config.outbox import enqueue, relay
from tests.processes import free_port

pytestmark = pytest.mark.django_db

ACCEPT = "http://alpha.localhost/invitations/x/"


def _invite(email: str = "new.person@alpha.example") -> int:
    invitation, token = invitation_create(email=email, roles=[Role.SALES], invited_by=None)
    invitation_send(invitation=invitation, token=token, accept_url=ACCEPT)
    return invitation.pk


def _reset_broker_pools() -> None:
    """Celery keeps its connection and producer pools for the broker it first saw (reset as after a fork)."""
    app._pool = None
    app.amqp._producer_pool = None


@pytest.fixture
def broker_down():
    """Publish to a broker address where nothing listens (the task is not run in-process); ``back()``
    brings the test's usual broker back (tasks then run in-process, as everywhere in the unit tests)."""
    names = (
        "broker_url",
        "broker_write_url",
        "broker_read_url",
        "broker_transport_options",
        "task_always_eager",
    )
    saved = {name: app.conf[name] for name in names}

    def back() -> None:
        app.conf.update(saved)
        _reset_broker_pools()

    nowhere = f"redis://127.0.0.1:{free_port()}/0"
    app.conf.broker_url = app.conf.broker_write_url = app.conf.broker_read_url = nowhere
    app.conf.broker_transport_options = {}
    app.conf.task_always_eager = False
    _reset_broker_pools()
    try:
        yield back
    finally:
        back()


def test_a_committed_write_leaves_one_row_which_the_after_commit_publish_sends_and_deletes(
    alpha, django_capture_on_commit_callbacks
):
    # given: the write and its task in one transaction, the commit's callbacks held back
    with django_capture_on_commit_callbacks(execute=False) as callbacks, transaction.atomic():
        invitation_id = _invite()
    # then: the row is there with everything the relay needs, and one publish waits for the commit
    row = OutboxMessage.objects.get()
    assert (row.schema_name, row.task_name) == ("alpha", "accounts.send_invitation_email")
    assert row.kwargs == {"invitation_id": invitation_id, "accept_url": ACCEPT}
    assert len(callbacks) == 1 and mail.outbox == []
    # when: the commit's publish runs (the task runs in-process in the unit tests)
    callbacks[0]()
    # then: sent once, row gone
    assert len(mail.outbox) == 1
    assert not OutboxMessage.objects.exists()


def _invite_then_fail() -> None:
    with transaction.atomic():
        _invite()
        raise RuntimeError("the write fails after asking for its task")


def test_a_rolled_back_write_leaves_no_row_and_sends_nothing(alpha, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(RuntimeError):
        _invite_then_fail()
    assert not OutboxMessage.objects.exists()
    assert callbacks == [] and mail.outbox == []


def test_with_the_broker_down_the_row_stays_and_the_relay_sends_it_once_when_it_is_back(
    alpha, broker_down, django_capture_on_commit_callbacks
):
    # when: a write commits while nothing listens at the broker's address
    started = time.monotonic()
    with django_capture_on_commit_callbacks(execute=True):
        _invite()
    # then: the write stands, the publish gave up at once (no retry loop), and the row waits
    assert time.monotonic() - started < 2
    row = OutboxMessage.objects.get()
    assert row.attempts == 1 and row.claimed_until is None
    assert row.last_error.startswith("OperationalError")
    assert relay() == 0  # still down: the relay stops at the first failure and keeps the row
    assert OutboxMessage.objects.get().attempts == 2
    # when: the broker is back and the relay runs, twice
    broker_down()
    assert relay() == 1
    assert relay() == 0
    # then: the task ran once and the row is gone
    assert len(mail.outbox) == 1
    assert not OutboxMessage.objects.exists()


def test_the_first_publish_that_succeeds_after_an_outage_drains_what_was_left(
    alpha, broker_down, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        _invite("first@alpha.example")
    assert OutboxMessage.objects.count() == 1
    broker_down()
    with django_capture_on_commit_callbacks(execute=True):
        _invite("second@alpha.example")
    assert sorted(m.to[0] for m in mail.outbox) == ["first@alpha.example", "second@alpha.example"]
    assert not OutboxMessage.objects.exists()


def test_a_row_held_by_another_publisher_is_left_to_it_until_its_claim_runs_out(alpha):
    with transaction.atomic():
        invitation, _ = invitation_create(email="held@alpha.example", roles=[Role.SALES], invited_by=None)
    kwargs = {"invitation_id": invitation.pk, "accept_url": ACCEPT}
    # a publisher took this row and has not finished (or died halfway)
    pk = OutboxMessage.objects.create(
        schema_name="alpha",
        task_name=send_invitation_email.name,
        kwargs=kwargs,
        claimed_until=timezone.now() + dt.timedelta(seconds=30),
    ).pk
    assert relay() == 0 and mail.outbox == []
    OutboxMessage.objects.filter(pk=pk).update(claimed_until=timezone.now() - dt.timedelta(seconds=1))
    assert relay() == 1 and len(mail.outbox) == 1


def test_the_relay_leaves_the_youngest_rows_to_their_own_publish(alpha):
    with transaction.atomic():
        invitation, _ = invitation_create(email="young@alpha.example", roles=[Role.SALES], invited_by=None)
    OutboxMessage.objects.create(
        schema_name="alpha",
        task_name=send_invitation_email.name,
        kwargs={"invitation_id": invitation.pk, "accept_url": ACCEPT},
    )
    assert relay(min_age_seconds=5) == 0
    OutboxMessage.objects.update(created=timezone.now() - dt.timedelta(seconds=6))
    assert relay(min_age_seconds=5) == 1 and len(mail.outbox) == 1


def test_enqueue_refuses_a_missing_schema(alpha):
    from config.celery import WrongSchemaError

    with pytest.raises(WrongSchemaError):
        enqueue(send_invitation_email, "", kwargs={})
    assert not OutboxMessage.objects.exists()


def test_a_row_naming_an_unknown_task_is_set_aside_and_blocks_nothing(alpha):
    with transaction.atomic():
        invitation, _ = invitation_create(email="after@alpha.example", roles=[Role.SALES], invited_by=None)
    unknown = OutboxMessage.objects.create(schema_name="alpha", task_name="accounts.renamed_away", kwargs={})
    OutboxMessage.objects.create(
        schema_name="alpha",
        task_name=send_invitation_email.name,
        kwargs={"invitation_id": invitation.pk, "accept_url": ACCEPT},
    )
    assert relay() == 1 and len(mail.outbox) == 1
    unknown.refresh_from_db()
    assert unknown.last_error == "unknown task" and unknown.claimed_until > timezone.now()
