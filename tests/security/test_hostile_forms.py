"""Hostile values in every field of every portal form: never a 500; a value the field cannot take is a 400
that re-renders the form with the field in error (the portal's rule for an invalid post, docs/security.md).

The forms are found, not listed: the admin's pages are crawled from the menu (tests.security.world) over
one of each main object, and every <form method=post> on them is submitted as a browser would, with one
field at a time replaced. Each post runs in a savepoint that is rolled back, so a delete form does not
take the object away from the next one.
"""

from __future__ import annotations

import pytest
from django.contrib import messages as message_levels
from django.contrib.auth.tokens import default_token_generator
from django.contrib.messages import get_messages
from django.db import connection, transaction
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django_tenants.utils import schema_context

from accounts.services import invitation_create
from marketing.services.forms import form_create
from tests.conftest import client_for, login, user_in
from tests.security.forms import PostForm, field_in_error, labels, post_forms
from tests.security.world import build_world, crawl

pytestmark = [pytest.mark.django_db, pytest.mark.once_per_ci]  # a minutes-long battery: CI runs it once

NUL = "a\x00b"
LONG = "x" * 100_000
NUMBERS = {"10**30": "1" + "0" * 30, "1e400": "1e400", "-1e400": "-1e400", "NaN": "NaN"}
HOSTILE = {"NUL": NUL, "100k chars": LONG, **NUMBERS}
# Kinds of input whose value a person types or picks: a NUL there must be named. A hidden input carries an
# id or an action chosen by the page (a bad one is a 404 or a 400 for the whole post) and a checkbox
# means "on" whatever it carries.
TYPED = {"text", "email", "url", "tel", "search", "number", "date", "datetime-local", "textarea", "select"}
BODY_LIMIT = "The submission is too large."


def _forms(client, urls) -> list[PostForm]:
    seen, forms = set(), []
    for url in urls:
        response = client.get(url)
        if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
            continue
        html = response.content.decode()
        names = labels(html)
        for form in post_forms(url, html):
            if form.key in seen or form.action == "/logout/":
                continue
            seen.add(form.key)
            form.labels = {form.ids[i]: text for i, text in names.items() if i in form.ids}
            forms.append(form)
    return forms


def _expects_field_error(form: PostForm, name: str, label: str, value: str) -> bool:
    kind = form.kinds.get(name, "text")
    if label == "NUL":
        return kind in TYPED
    if label == "100k chars":
        return name in form.maxlength
    return kind == "number"


def _refusal_problem(response, form: PostForm, name: str) -> str | None:
    """None when the post was refused the way the portal refuses: a form page answers 400 with the field
    in error; an inline action on a list or detail page (move a deal, accept a lead, log an objection)
    redirects back with an error message; an id nobody could have picked is the same 404 as a foreign
    one."""
    status = response.status_code
    if status == 400:
        html = response.content.decode(errors="replace")
        if BODY_LIMIT in html:  # the hosted lead form refuses a body over 64 KB before reading fields
            return None
        return None if field_in_error(html, name, form.labels.get(name, "")) else "the field is not named"
    if status in (302, 303):
        errors = [m for m in get_messages(response.wsgi_request) if m.level == message_levels.ERROR]
        return None if errors else "redirected without an error message"
    if status == 404 and form.kinds.get(name) in ("select", "hidden") and form.ids_only.get(name):
        return None
    return f"expected a 400 (or an error message), got {status}"


def _attack(client, forms: list[PostForm]) -> tuple[list, int]:
    problems, posts = [], 0
    for form in forms:
        for variant in form.variants():
            for name in form.fields:
                if name in dict(form.buttons):
                    continue
                for label, value in HOSTILE.items():
                    with transaction.atomic():
                        response = client.post(form.action, {**variant, name: [value]})
                        transaction.set_rollback(True)
                    connection.set_schema_to_public()
                    posts += 1
                    where = (form.page, form.action, name, label, response.status_code)
                    if response.status_code >= 500:
                        problems.append((*where, "server error"))
                    elif _expects_field_error(form, name, label, value):
                        problem = _refusal_problem(response, form, name)
                        if problem:
                            problems.append((*where, problem))
    return problems, posts


def test_every_portal_form_refuses_hostile_values_naming_the_field(tenant_a):
    # given one of each object and every form the admin can reach
    build_world()
    client = login("alpha", "admin")
    client.raise_request_exception = False
    forms = _forms(client, crawl(client).values())
    assert len(forms) > 35
    # when each hostile value goes into each field
    problems, posts = _attack(client, forms)
    # then no 500, and a field error wherever the value cannot fit the field
    assert problems == []
    assert posts > 1000


def test_the_forms_without_a_session_refuse_hostile_values(tenant_a):
    # given the sign-in, password reset (both steps), invitation, hosted lead form and sign-up pages
    with schema_context("alpha"):
        _, token = invitation_create(email="new@alpha.example", roles=["sales"], invited_by=None)
        lead_form = form_create(
            data={"name": "Probe form", "fields": [{"name": "job_title"}, {"name": "seniority"}]}
        )
        user = user_in("alpha", "sales")
        uid, reset_token = (
            urlsafe_base64_encode(force_bytes(user.pk)),
            default_token_generator.make_token(user),
        )
    workspace, public = client_for("alpha"), client_for(None)
    for client in (workspace, public):
        client.raise_request_exception = False
    set_password = workspace.get(f"/password/reset/{uid}/{reset_token}/")[
        "Location"
    ]  # the token moves to the session
    hosted = f"/f/{lead_form.key}/"
    invitation = f"/invitations/{token}/"
    groups = [
        (workspace, _forms(workspace, ["/login/", "/password/reset/", set_password, invitation, hosted])),
        (public, _forms(public, ["/signup/", "/console/login/"])),
    ]
    actions = {form.action for _, forms in groups for form in forms}
    assert {"/login/", "/password/reset/", "/signup/", "/console/login/", hosted} <= actions
    assert {form.page for _, forms in groups for form in forms} >= {set_password, invitation}
    # when each hostile value goes into each field, then the refusal names it, never a 500
    problems = []
    for client, forms in groups:
        problems += _attack(client, forms)[0]
    assert problems == []


def test_invalid_utf8_and_nul_in_bodies_and_query_strings_are_never_a_500(tenant_a):
    # given every page and form the admin can reach
    build_world()
    client = login("alpha", "admin")
    client.raise_request_exception = False
    pages = crawl(client)
    forms = _forms(client, pages.values())
    # when a form body carries raw and percent-encoded invalid UTF-8 and NULs in each of its fields
    for form in forms:
        fields = "&".join(f"{name}=%FF%FE\xff%00x" for name in form.fields).encode("latin-1")
        with transaction.atomic():
            response = client.post(form.action, fields, content_type="application/x-www-form-urlencoded")
            transaction.set_rollback(True)
        connection.set_schema_to_public()
        # then it is refused or ignored, never a 500
        assert response.status_code < 500, (form.action, form.fields)
    # and every page with the same in its query string (search, sort, page and filter keys)
    hostile_query = "q=%FF%FE%00&sort=%C0%00&page=%FF&status=%00&stage=1e400&owner=10000000000000000000000000"
    failed = []
    for url in pages.values():
        separator = "&" if "?" in url else "?"
        if client.get(f"{url}{separator}{hostile_query}").status_code >= 500:
            failed.append(url)
    assert failed == []
