"""Two requests with one Idempotency-Key at the same moment, through a real web process with several
threads: exactly one contact is created, both callers get the same answer, and one of them is the replay."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request

import pytest
from django.db import connection
from django_tenants.utils import schema_context

from tests.conftest import api_key_for
from tests.processes import web_process

pytestmark = pytest.mark.integration

EMAIL = "concurrent-idempotency@example.com"


def test_concurrent_duplicates_have_one_effect(process_env, tmp_path, django_db_blocker):
    with django_db_blocker.unblock():
        key = api_key_for("alpha", ["marketing:write"], name="concurrent")
    connection.set_schema_to_public()
    body = json.dumps({"email": EMAIL, "first_name": "Twice"}).encode()
    gate = threading.Barrier(4)
    answers: list[tuple[int, bytes, bool]] = []

    def post(base: str) -> None:
        request = urllib.request.Request(
            base + "/api/v1/contacts/",
            data=body,
            method="POST",
            headers={
                "Authorization": f"Bearer {key}",
                "Host": "alpha.localhost",
                "Content-Type": "application/json",
                "Idempotency-Key": "the-same-one",
            },
        )
        gate.wait(timeout=30)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback
                answers.append((response.status, response.read(), "Idempotent-Replayed" in response.headers))
        except urllib.error.HTTPError as error:
            answers.append((error.code, error.read(), False))

    try:
        with web_process(process_env, tmp_path / "web.log", threads=8) as base:
            base = base.replace("localhost", "127.0.0.1")
            threads = [threading.Thread(target=post, args=(base,)) for _ in range(4)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(60)
        with django_db_blocker.unblock(), schema_context("alpha"):
            from marketing.models import Contact

            created = Contact.objects.filter(email=EMAIL).count()
    finally:
        with django_db_blocker.unblock(), schema_context("alpha"):
            from accounts.models import ApiKey, IdempotencyRecord, RateCounter
            from marketing.models import Contact

            Contact.objects.filter(email=EMAIL).delete()
            IdempotencyRecord.objects.all().delete()
            RateCounter.objects.all().delete()
            ApiKey.objects.filter(name="concurrent").delete()
        connection.set_schema_to_public()
    assert created == 1
    assert [status for status, _, _ in answers] == [201] * 4
    assert len({content for _, content, _ in answers}) == 1  # the same body for all
    assert sorted(replayed for _, _, replayed in answers) == [False, True, True, True]
