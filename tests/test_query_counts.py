"""Query counts of every portal page and every API list at 1x, 10x and 100x rows.

One workspace is filled by the benchmark's generator at a small scale, then grown twice by its batches (the
facts: contacts with their funnel and touchpoints, decisions, deals with their history, activities,
customers, spend) to ten and a hundred times the rows. Every page the admin reaches from the home page and
every list operation of the published API is asked at each size; the number of queries each costs must be
the same at all three. A page that loops over its rows in Python shows up here as a count that grows.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import schema_context

from accounts.roles import ALL_SCOPES
from alignment.management.commands import generate_data as gen
from tests.conftest import api_client, api_key_for, login
from tests.security.world import crawl

# A minute and a half: run by `make test` and CI's first pass, not repeated on the second.
pytestmark = [pytest.mark.django_db, pytest.mark.once_per_ci]

SCALE = 0.0005  # 50 contacts, 500 touchpoints, 10 deals at 1x; 5,000 and 50,000 and 1,000 at 100x
SEED = 11
# Not pages: downloads, and the personal-data export (logged, so it writes).
SKIPPED = (".csv", ".json", "/file/", ".ndjson")


def _grow(total: float, *, stream: int, end: dt.datetime) -> None:
    """Add facts until the workspace holds ``total`` times the first size (the batch's share is the rest)."""
    with schema_context("alpha"):
        gen.generate_batch(fraction=SCALE * total, seed=SEED, days=60, stream=stream, now=end, slug="alpha")
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


def _api_lists(client) -> list[str]:
    schema = client.get("/api/schema/?format=json").json()
    connection.set_schema_to_public()
    return sorted(
        path
        for path, operations in schema["paths"].items()
        if "get" in operations and "{" not in path and not path.endswith(SKIPPED)
    )


def _costs(client, urls) -> dict[str, tuple[int, int]]:
    """url -> (status, queries): the fewer of two GETs, so that bookkeeping done once a minute (an API key's
    last use, the host lookup cached for 30 s) is not counted when the clock happens to turn."""
    costs = {}
    for url in urls:
        counted = []
        for _ in range(2):
            with CaptureQueriesContext(connection) as queries:
                response = client.get(url)
            connection.set_schema_to_public()
            counted.append(len(queries))
        costs[url] = (response.status_code, min(counted))
    return costs


def test_every_page_and_api_list_costs_the_same_queries_at_1x_10x_and_100x(tenant_a):
    end = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0)
    start = end - dt.timedelta(days=730)
    gen.generate(schema="alpha", spec=gen.Spec(scale=SCALE, seed=SEED, start=start, end=end, slug="alpha"))
    admin = login("alpha", "admin")
    key = api_client("alpha", api_key_for("alpha", list(ALL_SCOPES)))
    pages = sorted(url for url in crawl(admin).values() if not url.endswith(SKIPPED))
    lists = _api_lists(key)
    sizes = {}
    for label, total, stream in (("1x", None, 0), ("10x", 9, 1), ("100x", 90, 2)):
        if total is not None:
            _grow(total, stream=stream, end=end)
        sizes[label] = {**_costs(admin, pages), **_costs(key, lists)}
    with schema_context("alpha"):
        from marketing.models import Contact, Touchpoint

        grown = Contact.objects.count(), Touchpoint.objects.count()
    assert grown[0] >= 100 * 100_000 * SCALE * 0.9 and grown[1] >= 100 * 1_000_000 * SCALE * 0.9, grown
    broken = [url for url, (status, _) in sizes["100x"].items() if status >= 500]
    growing = {
        url: [sizes[label][url][1] for label in sizes]
        for url in sizes["1x"]
        if len({sizes[label][url][1] for label in sizes}) > 1
    }
    print(f"\nquery counts checked at 1x, 10x, 100x: {len(pages)} pages, {len(lists)} API lists")
    assert not broken and not growing, {"5xx": broken, "queries at 1x, 10x, 100x": growing}
    assert len(pages) > 50 and len(lists) > 40
