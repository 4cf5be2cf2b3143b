"""No inline code anywhere (the Content-Security-Policy would refuse it) and a CSRF token in every form that
posts: read from the template files, then from the pages as rendered (which catches HTML made in Python)."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from tests.conftest import client_for, login
from tests.security.routes import ROOT, portal_routes, public_routes, template_files

# Emails are read in mail clients, which need inline styles and never see our policy.
EMAIL = "/email/"
# The hosted lead form and the embed code pasted on customers' sites post from anywhere, by anyone, to
# the CSRF-exempt /f/<key>/ (marketing.public_views), so they carry no token.
POSTS_WITHOUT_TOKEN = {
    "marketing/templates/marketing/public/form.html",
    "marketing/templates/marketing/public/embed.html",
}

_SCRIPT = re.compile(r"<script\b([^>]*)>", re.IGNORECASE)
_HANDLER = re.compile(r"""\s(on[a-z]+)\s*=\s*["'{]""", re.IGNORECASE)
_STYLE_ATTR = re.compile(r"""\sstyle\s*=\s*["'{]""", re.IGNORECASE)
_STYLE_TAG = re.compile(r"<style\b", re.IGNORECASE)
_JS_URL = re.compile(r"""(?:href|src|action|formaction)\s*=\s*["']?\s*javascript:""", re.IGNORECASE)
_POST_FORM = re.compile(r"""<form\b[^>]*\bmethod\s*=\s*["']?post\b.*?</form>""", re.IGNORECASE | re.DOTALL)


def inline_code(html: str, *, styles: bool = True) -> list[str]:
    """What a strict policy refuses: a <script> that is neither a file nor JSON data, an on*= handler, a
    javascript: URL, and (styles=True) a style attribute or <style> element."""
    found = []
    for attrs in _SCRIPT.findall(html):
        if "src=" not in attrs and not re.search(r"""type=["']application/(ld\+)?json["']""", attrs):
            found.append(f"<script{attrs}>")
    found += [f"{name}=" for name in _HANDLER.findall(html)]
    found += [m.group(0) for m in _JS_URL.finditer(html)]
    if styles:
        found += [m.group(0).strip() for m in _STYLE_ATTR.finditer(html)]
        found += [m.group(0) for m in _STYLE_TAG.finditer(html)]
    return found


def test_the_scanner_sees_what_it_looks_for():
    html = (
        '<script>alert(1)</script><script src="/static/a.js"></script>'
        '<script type="application/json" id="c">{}</script>'
        '<button onclick="x()">x</button><a href="javascript:void(0)">y</a>'
        '<div style="color:red"></div><style>p{}</style>'
    )
    assert inline_code(html) == [
        "<script>",
        "onclick=",
        'href="javascript:',
        'style="',
        "<style",
    ]
    assert inline_code('<form onsubmit = "return false">', styles=False) == ["onsubmit="]


def test_no_template_has_inline_code():
    files = template_files()
    assert len(files) > 60
    offenders = {}
    for path in files:
        relative = str(path.relative_to(ROOT))
        found = inline_code(path.read_text(), styles=EMAIL not in f"/{relative}")
        if found:
            offenders[relative] = found
    assert offenders == {}


def test_every_form_that_posts_carries_the_csrf_token():
    missing = []
    forms = 0
    for path in template_files():
        relative = str(path.relative_to(ROOT))
        for form in _POST_FORM.findall(path.read_text()):
            forms += 1
            if "{% csrf_token %}" not in form and relative not in POSTS_WITHOUT_TOKEN:
                missing.append((relative, form[:120]))
    assert forms > 40
    assert missing == []


class _PostForms(HTMLParser):
    """Each rendered <form method=post> and whether a csrfmiddlewaretoken input is inside it."""

    def __init__(self):
        super().__init__()
        self.forms: list[dict] = []
        self._open: dict | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and (attrs.get("method") or "").lower() == "post":
            self._open = {"action": attrs.get("action"), "token": False}
            self.forms.append(self._open)
        elif tag == "input" and self._open is not None and attrs.get("name") == "csrfmiddlewaretoken":
            self._open["token"] = True

    def handle_endtag(self, tag):
        if tag == "form":
            self._open = None


def _pages_without_parameters():
    yield from ((None, route) for route in public_routes() if not route.has_params)
    yield from (
        ("alpha", route) for route in portal_routes() if not route.has_params and route.accepts("get")
    )


@pytest.mark.django_db
def test_rendered_pages_have_no_inline_code_and_tokens_in_their_forms(tenant_a):
    # given the admin on every portal page without a parameter (and the public pages)
    clients = {"alpha": login("alpha", "admin"), None: client_for(None)}
    pages = forms = 0
    problems = {}
    for host, route in _pages_without_parameters():
        response = clients[host].get(route.url())
        assert response.status_code < 500, route.route
        if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
            continue
        html = response.content.decode()
        pages += 1
        parser = _PostForms()
        parser.feed(html)
        forms += len(parser.forms)
        found = inline_code(html) + [
            f"form {f['action']} without a token" for f in parser.forms if not f["token"]
        ]
        if found:
            problems[route.route] = found
    # then nothing inline, a token in every form, and the walk really saw pages and forms
    assert problems == {}
    assert pages > 30 and forms > 5
