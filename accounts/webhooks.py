"""Webhooks: a workspace subscribes URLs to events; every event is written to an outbox in the same
transaction as the change that caused it, with one delivery per subscribed URL, and the worker delivers
them (``accounts.tasks.deliver_webhooks``: right after the commit, and every 30 seconds by beat, so nothing
is lost while the broker is down).

- Each delivery is a POST of ``{"id", "type", "created_at", "data"}`` signed with the subscription's
  secret: ``Tandem-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>">``, next to
  ``Tandem-Event-Id`` and ``Tandem-Event-Type``. Receivers check the signature and refuse old timestamps.
- A 2xx answer delivers it. Anything else (another status, a timeout, a refused connection) is retried with
  exponential backoff (30 s, 1, 2, 4 ... minutes) for a day after the event, then the delivery fails. Every
  attempt is logged with its status code and the start of the answer; an admin can redeliver any event.
- Deliveries go only to public addresses: the host name is resolved once, every address must be global
  (not loopback, private, link-local or reserved), and the connection goes to that address (so a DNS answer
  cannot change between the check and the call). A workspace may allow its private network explicitly
  (``WebhookSubscription.allow_private``). Redirects are not followed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import http.client
import ipaddress
import json
import logging
import secrets
import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.utils import timezone

logger = logging.getLogger(__name__)

EVENTS = {
    "contact.created": "A contact was created",
    "contact.lifecycle_changed": "A contact moved to another lifecycle stage",
    "contact.mql": "A contact became a marketing-qualified lead",
    "contact.erased": "A contact's personal data was erased: erase your copies too",
    "lead.accepted": "Sales accepted an MQL",
    "lead.rejected": "Sales rejected an MQL",
    "deal.created": "A deal was created",
    "deal.stage_changed": "A deal moved to another stage",
    "deal.won": "A deal was won",
    "deal.lost": "A deal was lost",
    "objection.logged": "Sales logged an objection on a deal or lead",
    "goal.status_changed": "A shared goal's status changed",
    "sla.breached": "An SLA clock was breached",
}
TIMEOUT = 10  # seconds for one attempt
RETRY_FOR = dt.timedelta(days=1)
FIRST_RETRY = 30  # seconds; doubled each attempt
MAX_URL = 2000
ANSWER_KEPT = 1000  # characters of the receiver's answer kept in the log
BATCH = 50  # deliveries one task run claims


def backoff(attempts: int) -> dt.timedelta:
    """The wait after the ``attempts``-th failed attempt: 30 s, 1 min, 2 min, ... doubling."""
    return dt.timedelta(seconds=FIRST_RETRY * 2 ** max(0, attempts - 1))


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def sign(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify(secret: str, header: str, body: bytes, *, tolerance: int = 300, now: float | None = None) -> bool:
    """What a receiver does (the docs show the same in a few lines): the timestamp is recent and the
    HMAC matches."""
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs((now or time.time()) - timestamp) > tolerance:
        return False
    expected = sign(secret, timestamp, body).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))


# --- Where a delivery may go -----------------------------------------------------------------------------


def check_url(url: str) -> list[str]:
    """Errors of a subscription URL as written (scheme, host, length); the addresses are checked at
    each delivery, when they are resolved."""
    if not isinstance(url, str) or not url or len(url) > MAX_URL or any(c.isspace() for c in url):
        return [f"Give an http or https URL of at most {MAX_URL} characters."]
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return ["Give an http or https URL with a host name."]
    if parts.username or parts.password:
        return ["Credentials in the URL are not allowed: verify the signature instead."]
    try:
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        return ["The port is not valid."]
    return []


def _resolve(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(info[4][0] for info in infos))


def allowed_address(address: str, *, allow_private: bool) -> bool:
    ip = ipaddress.ip_address(address)
    if ip.is_unspecified or ip.is_multicast:
        return False
    return ip.is_global or allow_private


class Refused(Exception):
    """The delivery may not go to this URL (an address that is not public)."""


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to an address already checked, with the certificate checked against the host name."""

    def __init__(self, host: str, address: str, **kwargs):
        super().__init__(host, **kwargs)
        self._address = address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


@dataclass
class Answer:
    status: int | None
    body: str
    error: str
    seconds: float

    @property
    def delivered(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def post(url: str, body: bytes, headers: dict[str, str], *, allow_private: bool) -> Answer:
    """One attempt: resolve, check every address, connect to the first, POST; never follows redirects."""
    started = time.monotonic()
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        addresses = _resolve(parts.hostname, port)
        if not addresses or not all(allowed_address(a, allow_private=allow_private) for a in addresses):
            raise Refused(
                f"{parts.hostname} resolves to an address that is not public "
                "(allow the private network in the webhook settings to deliver there)."
            )
        address = addresses[0]
        if parts.scheme == "https":
            conn = _PinnedHTTPSConnection(
                parts.hostname, address, port=port, timeout=TIMEOUT, context=ssl.create_default_context()
            )
        else:
            conn = http.client.HTTPConnection(address, port, timeout=TIMEOUT)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        host = parts.hostname if parts.port is None else f"{parts.hostname}:{parts.port}"
        try:
            conn.request("POST", path, body=body, headers={**headers, "Host": host})
            response = conn.getresponse()
            text = response.read(ANSWER_KEPT * 4).decode("utf-8", "replace")[:ANSWER_KEPT]
            return Answer(response.status, text, "", time.monotonic() - started)
        finally:
            conn.close()
    except Refused as exc:
        return Answer(None, "", str(exc), time.monotonic() - started)
    except (OSError, http.client.HTTPException, ssl.SSLError) as exc:
        return Answer(None, "", f"{type(exc).__name__}: {exc}"[:ANSWER_KEPT], time.monotonic() - started)


# --- The outbox ------------------------------------------------------------------------------------------


def emit(event_type: str, data: dict) -> int:
    """Write one ``event_type`` event (``emit_all``)."""
    return emit_all({event_type: [data]})


def emit_all(events: dict[str, list[dict]]) -> int:
    """Write the events (type -> the data of each) to the outbox with a delivery per active subscription to
    their type, in the caller's transaction, in one query for the subscribers and one insert each for
    events and deliveries; returns the events written (none without a subscriber). After the commit the
    worker is asked to deliver them."""
    from .models import WebhookDelivery, WebhookEvent, WebhookSubscription

    unknown = set(events) - set(EVENTS)
    if unknown:
        raise ValueError(f"Unknown webhook events {sorted(unknown)}")
    wanted = [kind for kind, payloads in events.items() if payloads]
    if connection.schema_name == "public" or not wanted:
        return 0
    listeners: dict[str, list[int]] = {}
    for pk, types in WebhookSubscription.objects.filter(is_active=True, events__overlap=wanted).values_list(
        "pk", "events"
    ):
        for kind in set(types) & set(wanted):
            listeners.setdefault(kind, []).append(pk)
    if not listeners:
        return 0
    now = timezone.now()
    written = WebhookEvent.objects.bulk_create(
        [
            WebhookEvent(type=kind, data=json.loads(json.dumps(data, cls=DjangoJSONEncoder)), created=now)
            for kind in listeners
            for data in events[kind]
        ]
    )
    WebhookDelivery.objects.bulk_create(
        [
            WebhookDelivery(event=event, subscription_id=sub, next_attempt_at=now)
            for event in written
            for sub in listeners[event.type]
        ]
    )
    _ask_worker(connection.schema_name)
    return len(written)


def subscribed(*event_types: str) -> bool:
    """Whether an active subscription wants any of ``event_types`` (one query): callers skip building
    event data nobody receives."""
    from .models import WebhookSubscription

    if connection.schema_name == "public":
        return False
    return WebhookSubscription.objects.filter(is_active=True, events__overlap=list(event_types)).exists()


def _ask_worker(schema: str) -> None:
    """Deliveries are due: a worker sends them once this commits (the 30 s sweep is the backstop)."""
    from config.outbox import enqueue

    from .tasks import deliver_webhooks

    enqueue(deliver_webhooks, schema)


def payload(event) -> bytes:
    return json.dumps(
        {"id": event.pk, "type": event.type, "created_at": event.created.isoformat(), "data": event.data},
        separators=(",", ":"),
        sort_keys=True,
    ).encode()


CLAIM = """
UPDATE accounts_webhookdelivery SET locked_until = %(until)s
WHERE id IN (
    SELECT id FROM accounts_webhookdelivery
    WHERE status = 'pending' AND next_attempt_at <= %(now)s
      AND (locked_until IS NULL OR locked_until < %(now)s)
    ORDER BY next_attempt_at, id
    LIMIT %(batch)s
    FOR UPDATE SKIP LOCKED
)
RETURNING id
"""


def deliver_due(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Attempt every delivery that is due (a batch at a time; another worker takes other rows); returns
    how many were delivered, rescheduled and given up."""
    from .models import WebhookDelivery

    counts = {"delivered": 0, "retrying": 0, "failed": 0}
    while True:
        moment = now or timezone.now()
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                CLAIM,
                {"now": moment, "until": moment + dt.timedelta(seconds=TIMEOUT * 6), "batch": BATCH},
            )
            ids = [row[0] for row in cursor.fetchall()]
        if not ids:
            return counts
        for delivery in WebhookDelivery.objects.filter(pk__in=ids).select_related("event", "subscription"):
            counts[attempt(delivery, now=now)] += 1
        if now is not None:  # a fixed clock (tests): one pass is all there is to do at that moment
            return counts


def attempt(delivery, *, now: dt.datetime | None = None) -> str:
    """One attempt of ``delivery``, logged; returns its state afterwards."""
    from .models import WebhookAttempt, WebhookDelivery

    subscription, event = delivery.subscription, delivery.event
    body = payload(event)
    timestamp = int((now or timezone.now()).timestamp())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Tandem-Webhooks/1",
        "Tandem-Event-Id": str(event.pk),
        "Tandem-Event-Type": event.type,
        "Tandem-Delivery-Id": str(delivery.pk),
        "Tandem-Signature": sign(subscription.secret, timestamp, body),
    }
    answer = post(subscription.url, body, headers, allow_private=subscription.allow_private)
    moment = now or timezone.now()
    attempts = delivery.attempts + 1
    if answer.delivered:
        state, next_at = WebhookDelivery.Status.DELIVERED, None
    elif moment + backoff(attempts) - delivery.created > RETRY_FOR:
        state, next_at = WebhookDelivery.Status.FAILED, None
    else:
        state, next_at = WebhookDelivery.Status.PENDING, moment + backoff(attempts)
    WebhookAttempt.objects.create(
        delivery=delivery,
        at=moment,
        status_code=answer.status,
        response=answer.body,
        error=answer.error,
        duration_ms=int(answer.seconds * 1000),
    )
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status=state,
        attempts=attempts,
        last_status_code=answer.status,
        last_error=answer.error[:500],
        next_attempt_at=next_at,
        delivered_at=moment if state == WebhookDelivery.Status.DELIVERED else None,
        locked_until=None,
    )
    return {"delivered": "delivered", "pending": "retrying", "failed": "failed"}[state]


# --- Subscriptions ---------------------------------------------------------------------------------------


def subscription_save(*, data: dict, subscription=None, actor=None):
    """Create or change a subscription; every bad field is named. A new one gets its signing secret."""
    from .models import WebhookSubscription

    subscription = subscription or WebhookSubscription(secret=new_secret(), created_by=actor)
    errors: dict[str, list[str]] = {}
    if "url" in data or subscription.pk is None:
        url = str(data.get("url") or "").strip()
        problems = check_url(url)
        if problems:
            errors["url"] = problems
        subscription.url = url
    if "events" in data or subscription.pk is None:
        events = data.get("events") or []
        if not isinstance(events, list | tuple) or not events:
            errors["events"] = ["Choose at least one event."]
        elif unknown := sorted({str(e) for e in events} - set(EVENTS)):
            errors["events"] = [f"Unknown events: {', '.join(unknown)}. Choose from: {', '.join(EVENTS)}."]
        else:
            subscription.events = sorted(set(events))
    if "description" in data:
        text = str(data.get("description") or "")
        if len(text) > 200 or "\x00" in text:
            errors["description"] = ["Use at most 200 characters."]
        subscription.description = text
    for flag in ("is_active", "allow_private"):
        if flag in data:
            setattr(subscription, flag, bool(data[flag]))
    if errors:
        raise ValidationError(errors)
    subscription.save()
    return subscription


def redeliver(*, delivery):
    """A new delivery of the same event to the same subscription, due now (the old one and its log stay)."""
    from .models import WebhookDelivery

    copy = WebhookDelivery.objects.create(
        event_id=delivery.event_id, subscription_id=delivery.subscription_id, next_attempt_at=timezone.now()
    )
    _ask_worker(connection.schema_name)
    return copy
