"""HTML in user text is always escaped. Every free-text column of every row of one of each main object
(contacts, companies, campaigns, deals, activities, content, objections and their notes, goals, segments,
forms, users' names...) holds a script and an attribute break-out; every page the admin can reach then
renders them as text, and chart data (json_script) carries them as escaped JSON."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.db import DatabaseError, IntegrityError, models, transaction
from django_tenants.utils import schema_context

from tests.conftest import login
from tests.security.world import build_world, crawl

pytestmark = pytest.mark.django_db

SCRIPT = "<script>alert(1)</script>"
BREAKOUT = '"><img src=x onerror=alert(1)>'
PAYLOAD = SCRIPT + BREAKOUT
RAW = (SCRIPT, "<img src=x onerror=alert(1)>", "onerror=alert(1)>")
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"
# Text that is not free text: secrets, keys, addresses and codes other code matches on.
NOT_FREE_TEXT = {
    "password",
    "key",
    "token",
    "prefix",
    "hashed_key",
    "secret",
    "schema_name",
    "slug",
    "currency",
}


def _free_text_fields(model) -> list[models.Field]:
    return [
        field
        for field in model._meta.concrete_fields
        if isinstance(field, models.CharField | models.TextField)
        and not isinstance(field, models.EmailField | models.URLField | models.SlugField)
        and not field.choices
        and field.name not in NOT_FREE_TEXT
        and (field.max_length is None or field.max_length >= len(PAYLOAD) + 12)
    ]


def _poison() -> int:
    """Write the payload into every free-text column of every row of the tenant apps; returns how many."""
    written = 0
    with schema_context("alpha"):
        for label in ("accounts", "marketing", "sales", "alignment"):
            for model in apps.get_app_config(label).get_models():
                if model._meta.proxy or not model._meta.managed:
                    continue
                fields = _free_text_fields(model)
                for pk in model.objects.values_list("pk", flat=True)[:50]:
                    for field in fields:
                        try:
                            with transaction.atomic():
                                model.objects.filter(pk=pk).update(**{field.attname: f"{PAYLOAD} {pk}"})
                                written += 1
                        except (IntegrityError, DatabaseError):
                            continue  # a public-schema model, or a constraint on the text: skipped
    return written


def test_user_text_is_escaped_on_every_page(tenant_a):
    # given one of each object, with the payload in every free-text column
    build_world()
    assert _poison() > 40
    client = login("alpha", "admin")
    # when every page the admin can reach is rendered
    pages = crawl(client)
    assert len(pages) > 50
    raw, escaped = {}, 0
    for url in pages.values():
        response = client.get(url)
        if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
            continue
        html = response.content.decode()
        found = [needle for needle in RAW if needle in html]
        if found:
            raw[url] = found
        escaped += ESCAPED in html or "\\u003Cscript\\u003E" in html
    # then the payload is never markup, and it really was on the pages (as text)
    assert raw == {}
    assert escaped > 25


def test_no_template_marks_text_safe():
    """|safe, mark_safe and {% autoescape off %} are not used anywhere; json_script is how data reaches
    scripts. A new use has to be justified by removing it from here."""
    from tests.security.routes import ROOT, template_files

    offenders = []
    for path in template_files():
        text = path.read_text()
        if "|safe" in text or "autoescape off" in text or "|escapejs" in text:
            offenders.append(str(path.relative_to(ROOT)))
    for path in ROOT.glob("*/**/*.py"):
        if ".venv" in path.parts or "tests" in path.parts or "migrations" in path.parts:
            continue
        text = path.read_text()
        if "mark_safe(" in text or "SafeString(" in text or "format_html(" in text:
            offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []
