"""The notifications page: each person sees only their own, marks them read, in any workspace only its
own; the query budget does not grow with notifications."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import schema_context

from alignment.models import Notification
from tests.conftest import login, user_in

pytestmark = pytest.mark.django_db

PAGE = "/alignment/notifications/"


def _notify(slug: str, role: str, title: str, n: int = 1) -> None:
    with schema_context(slug):
        user = user_in(slug, role)
        for i in range(n):
            Notification.objects.create(
                user=user, kind="goal_status", title=f"{title} {i}", link="/alignment/goals/"
            )


def test_each_person_sees_and_marks_only_their_own(tenant_a, tenant_b):
    _notify("alpha", "marketing", "alphacanary for Mark")
    _notify("alpha", "sales", "alphacanary for Sara")
    _notify("beta", "marketing", "betacanary for Bea")
    mark = login("alpha", "marketing")
    html = mark.get(PAGE).content.decode()
    connection.set_schema_to_public()
    assert "for Mark 0" in html and "for Sara" not in html and "betacanary" not in html
    assert mark.post(PAGE).status_code == 302
    connection.set_schema_to_public()
    with schema_context("alpha"):
        read = dict(Notification.objects.values_list("title", "read_at"))
        assert read["alphacanary for Mark 0"] is not None and read["alphacanary for Sara 0"] is None
    empty = login("alpha", "leadership").get(PAGE).content.decode()
    connection.set_schema_to_public()
    assert 'data-testid="no-notifications"' in empty


def test_the_query_budget_does_not_grow(tenant_a):
    client = login("alpha", "marketing")

    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(PAGE).status_code == 200
        connection.set_schema_to_public()
        return len(ctx.captured_queries)

    _notify("alpha", "marketing", "few")
    few = queries()
    _notify("alpha", "marketing", "many", n=40)
    assert queries() == few
