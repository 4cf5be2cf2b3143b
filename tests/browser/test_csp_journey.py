"""The main pages in a real browser under the real Content-Security-Policy: no violation is reported
(console "Refused to ..." or a securitypolicyviolation event) and the scripts really ran (charts drawn, the
segment builder built, Swagger UI rendered), so a policy that silently broke the front end fails too."""

from __future__ import annotations

import pytest

from tests.browser.conftest import alpha_url
from tests.browser.test_leadership_journey import alpha_report_scene  # noqa: F401 - the fixture
from tests.conftest import PASSWORD, member

pytestmark = [pytest.mark.browser, pytest.mark.integration]

# Set before any page script: collects what the browser refused. Playwright evaluates init scripts itself,
# outside the page's policy.
LISTEN = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", function (e) {
  var where = (e.sourceFile || "") + ":" + e.lineNumber;
  window.__csp.push(e.violatedDirective + " " + (e.blockedURI || "inline") + " " + where);
});
"""
# path -> a selector that only exists once the page's own script has run
PAGES = {
    "/": "h1",
    "/marketing/": "h1",
    "/marketing/campaigns/": "h1",
    "/marketing/contacts/": "h1",
    "/marketing/segments/new/": "#segment-builder *",
    "/sales/": "h1",
    "/sales/board/": "h1",
    "/alignment/": "h1",
    "/alignment/reports/": "canvas[data-chart]",
    "/alignment/scorecard/": "h1",
    "/alignment/goals/": "h1",
    "/settings/users/": "h1",
    "/no-such-page/": "h1",
    "/api/docs/": ".swagger-ui .info",
}


def test_main_pages_run_under_the_policy_without_violations(alpha_report_scene, web_server, browser_page):  # noqa: F811
    from playwright.sync_api import expect

    page = browser_page
    page.context.add_init_script(LISTEN)
    console: list[str] = []
    page.on(
        "console",
        lambda message: (
            console.append(message.text)
            if message.type in ("error", "warning")
            and ("Content Security Policy" in message.text or "Refused to" in message.text)
            else None
        ),
    )
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    page.goto(alpha_url(web_server, "/login/"))
    page.fill("#id_username", member("alpha", "admin").email)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_contain_text("Welcome")

    violations = {}
    for path, ready in PAGES.items():
        response = page.goto(alpha_url(web_server, path))
        assert "script-src 'self'" in response.headers["content-security-policy"], path
        expect(page.locator(ready).first).to_be_attached(timeout=15_000)
        page.wait_for_load_state("networkidle")
        found = page.evaluate("window.__csp") + console + errors
        if path == "/alignment/reports/":  # Chart.js loaded and app.js drew from the json_script data
            drawn = "() => !!window.Chart && !!Chart.getChart(document.querySelector('canvas[data-chart]'))"
            assert page.evaluate(drawn), "the report's chart was not drawn"
        if found:
            violations[path] = list(found)
        console.clear()
        errors.clear()
    # the public site too
    page.goto(web_server + "/signup/")
    expect(page.locator("h1")).to_be_visible()
    found = page.evaluate("window.__csp") + console + errors
    if found:
        violations["/signup/ (public)"] = found
    assert violations == {}


def test_the_browser_really_enforces_the_policy(web_server, browser_page):
    """The listener and the console check can see a violation: an inline script added to a served page is
    refused and reported (the guard above cannot pass by not looking)."""
    page = browser_page
    page.context.add_init_script(LISTEN)
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    page.goto(web_server + "/signup/")
    page.evaluate(
        "() => { const s = document.createElement('script'); s.textContent = 'window.__ran = 1';"
        " document.body.appendChild(s); }"
    )
    page.wait_for_timeout(300)
    assert page.evaluate("window.__ran") is None
    assert page.evaluate("window.__csp")
    assert any("Refused to" in text or "Content Security Policy" in text for text in console)
