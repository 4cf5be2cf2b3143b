"""Idempotency keys, after Stripe's: a POST or PATCH sent with ``Idempotency-Key: <key>`` runs once per
caller and key; the first response (a success or a 4xx) is kept and replayed for
``TANDEM_IDEMPOTENCY_HOURS`` to the same caller with ``Idempotent-Replayed: true``.

- The record is claimed by an ``INSERT ... ON CONFLICT DO NOTHING`` in the same transaction as the
  operation. A second request with the key waits on that row until the first commits, then replays its
  response: two concurrent requests produce exactly one effect. If the first fails with a 5xx or an error,
  its transaction (the record included) rolls back and the key is free for a retry.
- The same key with another method, path or body is refused with 422 naming ``Idempotency-Key``.
- Keys are per caller (an API key, or a person's session): another caller's key never replays.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Callable

from django.conf import settings
from django.db import connection, transaction
from django.http import HttpResponse
from django.utils import timezone
from rest_framework.exceptions import APIException, ValidationError

HEADER = "Idempotency-Key"
METHODS = ("POST", "PATCH")
MAX_KEY = 255
KEY_PATTERN = r"[\x20-\x7e]+"  # printable ASCII, as HTTP headers travel; the schema documents the same

CLAIM = """
INSERT INTO accounts_idempotencyrecord
    (principal, key, fingerprint, method, path, content_type, body, created)
VALUES (%(principal)s, %(key)s, %(fingerprint)s, %(method)s, %(path)s, '', ''::bytea, %(now)s)
ON CONFLICT (principal, key) DO NOTHING
RETURNING id
"""


class Mismatch(ValidationError):
    status_code = 422


class Conflict(APIException):
    status_code = 409
    default_detail = "A request with this Idempotency-Key was just replaced; send it again."
    default_code = "conflict"


class _Failed(Exception):
    """A 5xx inside the claimed transaction: roll the record back with the operation."""

    def __init__(self, response):
        self.response = response


def key_error(message: str) -> dict[str, list[str]]:
    return {HEADER: [message]}


def fingerprint(request) -> str:
    """What makes two requests "the same": method, path with query, and body. A form upload counts by its
    parsed fields and files: its raw bytes differ between two sends (the boundary), and by the time this runs
    the parser has read its stream (the schema check at the door reads the fields)."""
    digest = hashlib.sha256()

    def add(part: bytes) -> None:
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)

    add(request.method.encode())
    add(request.get_full_path().encode())
    if not request.content_type.startswith("multipart/"):
        add(request.body)
        return digest.hexdigest()
    for name, values in sorted(request.data.lists()):
        add(name.encode())
        for value in values:
            if hasattr(value, "chunks"):  # an uploaded file: its name and content
                add(value.name.encode())
                for chunk in value.chunks():
                    digest.update(chunk)
                value.seek(0)
            else:
                add(str(value).encode())
    return digest.hexdigest()


def run(request, *, principal: str, key: str, call: Callable[[], HttpResponse], render) -> HttpResponse:
    """Run ``call`` once for (``principal``, ``key``), or replay what it answered the first time.
    ``render(response)`` finalises a response so its body can be stored. An exception raised by ``call``
    rolls the record back with everything else (no effect happened)."""
    from .models import IdempotencyRecord

    if len(key) > MAX_KEY or not re.fullmatch(KEY_PATTERN, key):
        raise ValidationError(key_error(f"Give 1 to {MAX_KEY} printable characters."))
    now = timezone.now()
    params = {
        "principal": principal,
        "key": key,
        "fingerprint": fingerprint(request),
        "method": request.method,
        "path": request.path[:2000],
        "now": now,
    }
    expired = now - dt.timedelta(hours=settings.TANDEM_IDEMPOTENCY_HOURS)
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                # a record past its time is gone for good: the key may start over
                cursor.execute(
                    "DELETE FROM accounts_idempotencyrecord"
                    " WHERE principal = %s AND key = %s AND created < %s",
                    [principal, key, expired],
                )
                cursor.execute(CLAIM, params)
                claimed = cursor.fetchone() is not None
            if claimed:
                response = render(call())
                if response.status_code >= 500:
                    raise _Failed(response)
                IdempotencyRecord.objects.filter(principal=principal, key=key).update(
                    status_code=response.status_code,
                    content_type=response.get("Content-Type", "")[:100],
                    body=bytes(response.content),
                )
                return response
    except _Failed as failed:
        return failed.response
    first = IdempotencyRecord.objects.filter(principal=principal, key=key).first()
    if first is None or first.status_code is None:  # pruned meanwhile: let the caller try again
        raise Conflict()
    if first.fingerprint != params["fingerprint"]:
        raise Mismatch(key_error("This key was used with another method, path or body."))
    replay = HttpResponse(
        bytes(first.body), status=first.status_code, content_type=first.content_type or None
    )
    replay["Idempotent-Replayed"] = "true"
    return replay


def prune(*, now: dt.datetime | None = None) -> int:
    """Delete the records past their time (hourly task); returns how many."""
    from .models import IdempotencyRecord

    now = now or timezone.now()
    expired = now - dt.timedelta(hours=settings.TANDEM_IDEMPOTENCY_HOURS)
    deleted, _ = IdempotencyRecord.objects.filter(created__lt=expired).delete()
    return deleted
