"""Response headers Django's SecurityMiddleware does not set: Content-Security-Policy and Cache-Control.

It sits first in MIDDLEWARE so that every answer gets them, including the ones earlier middleware makes
on its own (the tenant middleware's 404 for an unknown host and 503 while a workspace is being set up)
and the error pages.
"""

from __future__ import annotations

from django.conf import settings

# No inline script, no inline style, no plugin, no <base>, no framing, forms post to this host only.
# Scripts, styles and images are files under /static/; charts read their data from
# <script type="application/json"> (json_script), which is data, not code, and needs no exception.
DEFAULT_POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'none'",
    "frame-ancestors": "'none'",
    "form-action": "'self'",
}

# The hosted lead form (/f/<key>/) is meant to be shown in a frame on the customer's own site, whatever
# that site is, and after a successful post it may redirect to the form's thank-you address on that
# site (browsers check form-action against redirects too). Everything else stays as strict.
LEAD_FORM_POLICY = {**DEFAULT_POLICY, "frame-ancestors": "*", "form-action": "'self' https: http:"}

# Swagger UI (drf-spectacular's sidecar copy) is served by SpectacularSwaggerSplitView, which loads its
# init script from this host instead of inlining it, so scripts stay 'self'. Its template has an inline
# <style> block and the UI sets style attributes in its markup; style-src 'unsafe-inline' is allowed on
# this page only, where it costs nothing: the page shows no workspace data and runs no user content.
# Its stylesheet draws its icons from data: SVG images.
API_DOCS_POLICY = {**DEFAULT_POLICY, "style-src": "'self' 'unsafe-inline'", "img-src": "'self' data:"}


def _header(policy: dict[str, str]) -> str:
    return "; ".join(f"{name} {value}" for name, value in policy.items())


DEFAULT_CSP = _header(DEFAULT_POLICY)
LEAD_FORM_CSP = _header(LEAD_FORM_POLICY)
API_DOCS_CSP = _header(API_DOCS_POLICY)


def policy_for(path: str) -> str:
    if path.startswith("/f/"):
        return LEAD_FORM_CSP
    if path.startswith("/api/docs/"):
        return API_DOCS_CSP
    return DEFAULT_CSP


class SecurityHeadersMiddleware:
    """Content-Security-Policy on every answer, and ``Cache-Control: no-store`` on every answer that is
    not a static file.

    Nearly every page and API answer carries personal data (contacts, deals, users) and the few that do
    not (the login form, the landing page) are cheap to render, so no-store is the rule rather than a
    list of pages that could miss one: no shared or browser cache keeps a copy after logout. Static files
    are served by WhiteNoise with their long-lived caching and never reach the views. A view that sets a
    stricter or equal Cache-Control of its own (exports: ``private, no-store``) keeps it.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.setdefault("Content-Security-Policy", policy_for(request.path_info))
        if not request.path_info.startswith(settings.STATIC_URL) and "no-store" not in response.get(
            "Cache-Control", ""
        ):
            response["Cache-Control"] = "no-store"
        return response
