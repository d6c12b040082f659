"""Fixtures every app's tests share: agencies, keys and API clients."""

from __future__ import annotations

import os

import pytest
from django.db import connection
from rest_framework.test import APIClient

from tenants import services
from tenants.scope import all_tenants


def pytest_configure(config):
    """The catalogues are compiled by the build (`make install`); a direct pytest run
    after a .po changed compiles them too, so no test reads a stale catalogue."""
    from hub.catalogues import compile_catalogues

    compile_catalogues()


def pytest_collection_modifyitems(config, items):
    _skip_browser_tests_without_a_browser(items)
    _skip_postgres_tests_without_postgres(items)


def _skip_browser_tests_without_a_browser(items):
    """``@pytest.mark.browser`` tests drive Debian's Chromium.

    Without it they are skipped with a reason; CI (HUB_REQUIRE_BROWSER=1, after
    ``.ci/run`` installed the package) fails instead, so they can never silently not run.
    """
    from tests.support.browser import chromium_executable

    browser_tests = [item for item in items if item.get_closest_marker("browser")]
    if not browser_tests or chromium_executable():
        return
    if os.environ.get("HUB_REQUIRE_BROWSER") == "1":
        raise pytest.UsageError("HUB_REQUIRE_BROWSER=1 but no chromium executable was found")
    skip = pytest.mark.skip(reason="needs Chromium: apt-get install chromium (CI does)")
    for item in browser_tests:
        item.add_marker(skip)


def _skip_postgres_tests_without_postgres(items):
    """``@pytest.mark.postgres`` tests need PostgreSQL's locking and concurrency.

    On SQLite (a laptop's ``make test``) they are skipped with a reason; in CI
    (HUB_REQUIRE_POSTGRES=1) a missing PostgreSQL fails the run instead.
    """
    from django.conf import settings

    engine = settings.DATABASES["default"]["ENGINE"]
    if "postgresql" in engine:
        return
    if os.environ.get("HUB_REQUIRE_POSTGRES") == "1":
        raise pytest.UsageError("HUB_REQUIRE_POSTGRES=1 but DATABASE_URL is not PostgreSQL")
    skip = pytest.mark.skip(reason="needs PostgreSQL: set DATABASE_URL (CI does)")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True, scope="session")
def _no_metric_files_of_finished_processes():
    """Every process writes metric samples to files named by its pid (hub/observability/
    metrics.py); those of earlier test runs' processes would only slow every scrape."""
    from django.conf import settings

    for path in settings.HUB_METRICS_DIR.glob("*_*.db"):
        pid = path.stem.rsplit("_", 1)[-1]
        if pid.isdigit() and not _alive(int(pid)):
            path.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@pytest.fixture(autouse=True)
def _fresh_throttle_cache():
    from django.core.cache import cache

    from hub.api.throttling import shared_cache

    cache.clear()
    shared_cache.reset()
    yield


@pytest.fixture
def unscoped():
    """Read any agency's rows from test code (the explicit opt-out)."""
    with all_tenants():
        yield


class AgencyFactory:
    def __init__(self):
        self.count = 0

    def __call__(self, slug: str | None = None, **kwargs):
        self.count += 1
        slug = slug or f"agency-{self.count}-{os.urandom(3).hex()}"
        return services.create_tenant(slug=slug, name=kwargs.pop("name", slug.title()), **kwargs)


@pytest.fixture
def make_tenant(db):
    return AgencyFactory()


@pytest.fixture
def tenant(make_tenant):
    return make_tenant("tax-office", name="Tax Office")


@pytest.fixture
def other_tenant(make_tenant):
    return make_tenant("vehicles", name="Vehicle Agency")


def client_for(tenant, scopes=None) -> APIClient:
    issued = services.issue_api_key(tenant=tenant, name="test", scopes=scopes)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.secret}")
    client.api_key = issued.api_key
    client.secret = issued.secret
    client.tenant = tenant
    return client


@pytest.fixture
def api(tenant):
    return client_for(tenant)


@pytest.fixture
def other_api(other_tenant):
    return client_for(other_tenant)


@pytest.fixture
def on_postgres():
    return connection.vendor == "postgresql"
