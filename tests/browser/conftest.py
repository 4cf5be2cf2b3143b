"""Browser journeys: Debian's chromium driven by Playwright against a real web process and worker."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import running_in_ci
from tests.processes import web_process

CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--host-resolver-rules=MAP *.localhost 127.0.0.1, MAP localhost 127.0.0.1",
]


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
    if path is None:
        message = "Debian's chromium is not installed (apt-get install chromium)"
        if running_in_ci():
            pytest.fail(f"{message}: browser journeys must run in CI")
        pytest.skip(message)
    return path


def alpha_url(web_server: str, path: str) -> str:
    """An address on tenant A's host of the test web server."""
    return web_server.replace("://localhost", "://alpha.localhost") + path


@pytest.fixture(scope="session")
def web_server(process_env, celery_worker, tmp_path_factory):
    """gunicorn serving the test database on a free loopback port; yields its base URL."""
    with web_process(process_env, tmp_path_factory.mktemp("web") / "web.log") as url:
        yield url


@pytest.fixture
def browser_page(chromium_path, tmp_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 860})
        page = context.new_page()
        page.set_default_timeout(30_000)
        try:
            yield page
        finally:
            page.screenshot(path=str(tmp_path / "last.png"), full_page=True)
            context.close()
            browser.close()
