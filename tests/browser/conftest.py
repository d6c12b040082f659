"""A real headless Chromium (Debian's ``chromium`` package) driven by Playwright.

The browser may reach loopback addresses only: every other request is aborted and
recorded, and a test whose page tried to reach outside fails (a payment page must not
call third parties). Console errors and uncaught page errors fail the test too: a CSP
violation or a broken script is a defect the citizen would meet.

``tests/conftest.py`` skips these tests, with the reason, on a machine without Chromium;
CI sets HUB_REQUIRE_BROWSER=1 so that a missing browser fails instead.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit

import pytest

from tests.payments.conftest import service  # noqa: F401  (the agency's paid service)
from tests.support.agency_site import AgencySite
from tests.support.browser import chromium_executable

# Playwright's sync API runs an event loop in the test's thread; the ORM calls the tests
# make between browser steps are ordinary synchronous code, which Django would otherwise
# refuse while a loop is running.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}


@pytest.fixture(scope="session")
def chromium():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_executable(), headless=True)
        yield browser
        browser.close()


class BrowserProblems:
    def __init__(self) -> None:
        self.blocked: list[str] = []
        self.console_errors: list[str] = []
        self.page_errors: list[str] = []
        self.failed_resources: list[str] = []

    def console(self, message) -> None:
        # Chromium logs every non-2xx response as a console error, a 410 for a finished
        # payment's page included; documents are the test's to check, sub-resources
        # (styles, scripts, images) are checked in ``response``.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self.console_errors.append(message.text)

    def response(self, response) -> None:
        if response.status >= 400 and response.request.resource_type != "document":
            self.failed_resources.append(f"{response.status} {response.url}")


@pytest.fixture
def browser_problems():
    return BrowserProblems()


@pytest.fixture
def page(chromium, browser_problems):
    context = chromium.new_context(locale="en-GB")

    def loopback_only(route):
        host = urlsplit(route.request.url).hostname or ""
        if host in LOOPBACK_HOSTS:
            route.continue_()
        else:
            browser_problems.blocked.append(route.request.url)
            route.abort()

    context.route("**/*", loopback_only)
    page = context.new_page()
    page.set_default_timeout(10_000)  # a broken step fails in seconds, not half a minute
    page.on("console", browser_problems.console)
    page.on("response", browser_problems.response)
    page.on("pageerror", lambda error: browser_problems.page_errors.append(str(error)))
    yield page
    context.close()
    assert browser_problems.blocked == [], "the page tried to reach outside loopback"
    assert browser_problems.page_errors == []
    assert browser_problems.console_errors == []
    assert browser_problems.failed_resources == []


@pytest.fixture
def agency_site():
    site = AgencySite().start()
    yield site
    site.stop()
