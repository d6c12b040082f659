"""A real headless Chromium (Debian's ``chromium`` package) driven by Playwright.

The browser may reach loopback addresses only: every other request is aborted and
recorded, and a test whose page tried to reach outside fails (a payment page must not
call third parties). Console errors and uncaught page errors fail the test too: a CSP
violation or a broken script is a defect the citizen would meet.

``tests/conftest.py`` skips these tests, with the reason, on a machine without Chromium;
CI sets HUB_REQUIRE_BROWSER=1 so that a missing browser fails instead.
"""

from __future__ import annotations

import datetime as dt
import os
from urllib.parse import urlsplit

import pytest

from collection.services import runs
from tenants import services as tenant_services
from tenants.scope import tenant_scope
from tests.collection.conftest import Collections
from tests.payments.conftest import paid_payment
from tests.reconciliation.camt import Entry, camt053
from tests.reconciliation.conftest import import_bytes, reconcile
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
def page_in(chromium, browser_problems):
    """``page_in("nl-NL")``: a page in a browser set to that locale (its Accept-Language)."""
    contexts = []

    def open_page(locale: str):
        context = chromium.new_context(locale=locale)
        contexts.append(context)

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
        return page

    yield open_page
    for context in contexts:
        context.close()
    assert browser_problems.blocked == [], "the page tried to reach outside loopback"
    assert browser_problems.page_errors == []
    assert browser_problems.console_errors == []
    assert browser_problems.failed_resources == []


@pytest.fixture
def page(page_in):
    return page_in("en-GB")


@pytest.fixture
def service(tenant):
    return tenant_services.create_service(
        tenant=tenant, code="passport", name="Passport renewal", interaction_kind="discretionary"
    )


@pytest.fixture
def create_payment(api, service, agency_site):
    def create(**overrides):
        body = {
            "amount": 1250,
            "currency": "EUR",
            "description": "Parking permit",
            "reference": "PARK-0042",
            "service": service.pk,
            "return_url": f"{agency_site.url}/return?case=42",
            **overrides,
        }
        response = api.post("/api/v1/payments", body, format="json")
        assert response.status_code == 201, response.content
        return response.json()

    return create


@pytest.fixture
def working_day(tenant, service):
    """A paid card payment, a finished collection run and a reconciled bank day."""
    payment = paid_payment(tenant, service, amount=2550)
    collections = Collections(tenant)
    collections.debt_in_plan()
    with tenant_scope(tenant):
        run = runs.start_run(
            tenant=tenant, run_date=dt.date(2024, 2, 29), trigger="api", enqueue=False
        )
        run = runs.process_run(run=run)
    today = dt.date.today()
    import_bytes(tenant, camt053([Entry(2550, remittance=payment.pk)], booked=today))
    return {"payment": payment, "run": run, "reconciliation": reconcile(tenant, today)}


@pytest.fixture
def agency_site():
    site = AgencySite().start()
    yield site
    site.stop()
