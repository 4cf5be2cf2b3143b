"""The flat read path (config.flat) answers exactly what the serializer would.

Every list view with ``flat`` set is walked page by page, in every ordering it offers, once flat and once
through its serializer (``flat`` switched off), on a generated workspace plus rows made to hit the edges
(no company, no primary contact, empty amounts and dates, arrays, a lost deal with its reason). The bodies,
cursors included, must be equal.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from django_tenants.utils import schema_context
from rest_framework import serializers

from accounts.models import User
from accounts.roles import ALL_SCOPES
from alignment.management.commands import generate_data as gen
from config.flat import FlatList
from marketing.api import ContactListView, TouchpointListView
from sales.api import DealListView
from sales.models import LossReason, Pipeline
from sales.services.deals import deal_close_lost, deal_create
from tests.conftest import api_client, api_key_for
from tests.marketing import factories

pytestmark = pytest.mark.django_db

FLAT = {
    "/api/v1/deals/": DealListView,
    "/api/v1/contacts/": ContactListView,
    "/api/v1/touchpoints/": TouchpointListView,
}


def _views(patterns, *, every: bool = False) -> set[type]:
    """The flat list views of the workspace URLs (every list view with an ordering, if ``every``)."""
    found = set()
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            found |= _views(pattern.url_patterns, every=every)
        elif isinstance(pattern, URLPattern):
            cls = getattr(pattern.callback, "cls", None)
            if cls is None:
                continue
            if getattr(cls, "flat", None) is not None or (every and getattr(cls, "ordering_fields", None)):
                found.add(cls)
    return found


def test_every_flat_list_is_compared_here():
    assert _views(get_resolver("config.urls_tenants").url_patterns) == set(FLAT.values())


def test_no_cursor_starts_at_a_column_that_may_be_empty():
    """A cursor holds the first ordering column's value; an empty one ("None") cannot be read back."""
    nullable = []
    for cls in _views(get_resolver("config.urls_tenants").url_patterns, every=True):
        model = getattr(getattr(cls.serializer_class, "Meta", None), "model", None)
        for key, ordering in cls.ordering_fields.items():
            name = ordering[0].lstrip("-")
            field = next((f for f in model._meta.concrete_fields if f.name == name), None) if model else None
            if field is not None and field.null:
                nullable.append(f"{cls.__name__} ?ordering={key}")
    assert nullable == []


def test_a_field_without_a_column_is_refused_when_first_used():
    class Odd(serializers.ModelSerializer):
        shout = serializers.SerializerMethodField()

        class Meta:
            model = LossReason
            fields = ["id", "shout"]

        def get_shout(self, obj):
            return obj.name.upper()

    with pytest.raises(TypeError, match=r"Odd\.shout has no column"):
        FlatList(Odd).queryset(LossReason.objects.all())


def _edges() -> None:
    """Rows at the edges of each field: empty values, no company, no primary contact, a lost deal."""
    rep = User.objects.filter(roles__contains=["sales"]).first()
    lonely = factories.contact(first_name="Lonely", company=None)
    lonely.interests = ["pricing", "security"]
    lonely.consent_at = dt.datetime(2026, 3, 1, 8, 30, 15, 123456, tzinfo=dt.UTC)
    lonely.save()
    deal_create(data={"name": "No company, no contact"}, actor=rep)
    deal_create(data={"name": "Nine cents", "amount": "0.09", "primary_contact": lonely.pk}, actor=rep)
    company = factories.company(name="Edge Co", domain="edge-co.example")
    lost = deal_create(data={"name": "Lost one", "amount": "12345678.90", "company": company.pk}, actor=rep)
    pipeline = Pipeline.objects.get(name="New business")
    assert lost.pipeline_id == pipeline.pk
    reason = LossReason.objects.filter(is_active=True).first()
    deal_close_lost(deal=lost, category=reason.category, reason=reason, note="Went quiet", actor=rep)


def _walk(client, first: str, limit: int = 3) -> list[dict]:
    bodies, url = [], f"{first}?limit={limit}" if "?" not in first else f"{first}&limit={limit}"
    while url and len(bodies) < 8:
        response = client.get(url)
        assert response.status_code == 200, (url, response.content[:300])
        bodies.append(response.json())
        url = bodies[-1]["next"]
    return bodies


@pytest.mark.parametrize("path", sorted(FLAT))
def test_the_flat_page_is_the_serializers_page(tenant_a, path, monkeypatch):
    end = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0)
    gen.generate(
        schema="alpha",
        spec=gen.Spec(scale=0.0005, seed=5, start=end - dt.timedelta(days=400), end=end, slug="alpha"),
    )
    with schema_context("alpha"):
        _edges()
    client = api_client("alpha", api_key_for("alpha", list(ALL_SCOPES)))
    view = FLAT[path]
    orderings = [path] + [f"{path}?ordering={key}" for key in sorted(view.ordering_fields)]
    flat = {url: _walk(client, url) for url in orderings}
    monkeypatch.setattr(view, "flat", None)
    served = {url: _walk(client, url) for url in orderings}
    for url in orderings:
        assert len(flat[url]) > 1, f"{url} should span pages"
        assert flat[url] == served[url], url
