"""Real Chromium (Debian's package) driven by Playwright against the live test server."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest
from django.db import connections

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture
def browser(monkeypatch) -> Iterator[object]:
    """A fresh Chromium per test: Playwright's event loop lives only as long as the test."""
    if not os.path.exists(CHROMIUM):
        message = "Debian's chromium is not installed (apt-get install chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the ORM calls the test makes
    # between browser steps are still plain synchronous code.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()
        # The ORM calls made while Playwright's loop ran opened connections in their own
        # context; close them here, or PostgreSQL cannot drop the test database later.
        connections.close_all()


@pytest.fixture
def page(browser) -> Iterator[object]:
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


# The loopback git server the file method reads, as the optout tests use it.
from tests.e2e.checks import AXE  # noqa: E402
from tests.optout.conftest import git_server  # noqa: E402, F401


@pytest.fixture
def site_page(browser) -> Iterator[object]:
    """A page that axe-core can be injected into (CSP bypassed for the injected script only:
    the site's own pages load nothing from elsewhere)."""
    if not AXE.exists():
        message = "axe-core is missing: npm install --no-save --prefix tests/e2e/.axe axe-core"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    context = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()
