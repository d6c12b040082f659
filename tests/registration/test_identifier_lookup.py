"""Looking a constituent up by identifier without putting it in a URL, and keeping
identifiers out of the hub's own logs (the access log prints whole request lines)."""

from __future__ import annotations

import io
import logging
import threading

import pytest
import requests
from django.core.servers.basehttp import (
    WSGIRequestHandler,
    WSGIServer,
    get_internal_wsgi_application,
)

from hub.logging import RedactSecretsFilter
from tests.conftest import client_for
from tests.registration.conftest import person_body

pytestmark = pytest.mark.django_db
LOOKUP = "/api/v1/constituents/lookup"


def lookup_body(bsn):
    return {"identifier": {"scheme": "nl_bsn", "value": bsn}}


def test_lookup_in_the_body_finds_own_registrations_only(api, other_api, bsn):
    con = api.post("/api/v1/constituents", person_body(bsn)).json()["id"]
    found = api.post(LOOKUP, lookup_body(bsn), format="json")
    assert found.status_code == 200
    assert [c["id"] for c in found.json()["results"]] == [con]
    # Same answer as the deprecated GET form gives.
    assert (
        found.json()["results"]
        == (api.get(f"/api/v1/constituents?identifier=nl_bsn:{bsn}").json()["results"])
    )
    # Another agency, and a number nobody holds, look alike: the registry is not probed.
    assert other_api.post(LOOKUP, lookup_body(bsn), format="json").json() == {"results": []}
    assert api.post(LOOKUP, lookup_body("123456782"), format="json").json() == {"results": []}


def test_a_bad_lookup_is_refused_in_the_error_shape(api):
    bad = api.post(LOOKUP, lookup_body("111222334"), format="json")
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "invalid_check_digit"
    missing = api.post(LOOKUP, {}, format="json")
    assert missing.status_code == 400
    assert missing.json()["error"]["field"].startswith("identifier")


def test_a_read_key_may_look_up_and_other_keys_may_not(tenant, api, bsn):
    api.post("/api/v1/constituents", person_body(bsn))
    for scopes in (["registration:read"], ["registration:write"]):
        reader = client_for(tenant, scopes=scopes)
        assert len(reader.post(LOOKUP, lookup_body(bsn), format="json").json()["results"]) == 1
    payments = client_for(tenant, scopes=["payments:read"])
    refused = payments.post(LOOKUP, lookup_body(bsn), format="json")
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "insufficient_scope"


@pytest.fixture
def captured_logs():
    """What the hub's configured log handlers would print (the access log included)."""
    streams = []
    loggers = [logging.getLogger(), logging.getLogger("django"), logging.getLogger("django.server")]
    originals = []
    for logger in loggers:
        for handler in logger.handlers:
            if type(handler) is logging.StreamHandler:  # not pytest's capture handlers
                stream = io.StringIO()
                originals.append((handler, handler.stream))
                handler.stream = stream
                streams.append(stream)
    yield lambda: "".join(s.getvalue() for s in streams)
    for handler, original in originals:
        handler.stream = original


@pytest.fixture
def hub_server():
    """The hub behind Django's own web server, which logs every request line."""
    server = WSGIServer(("127.0.0.1", 0), WSGIRequestHandler)
    server.set_app(get_internal_wsgi_application())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_identifiers_in_urls_stay_out_of_the_request_logs(hub_server, captured_logs, bsn):
    # hub_server first: building the WSGI application configures logging afresh.
    # Not authenticated: the lines are logged all the same, and no database is needed.
    requests.get(f"{hub_server}/api/v1/constituents?identifier=nl_bsn:{bsn}", timeout=10)
    requests.get(f"{hub_server}/api/v1/constituents?identifier=nl_bsn%3A{bsn}", timeout=10)
    requests.get(f"{hub_server}/api/v1/constituents/{bsn}", timeout=10)
    logged = captured_logs()
    assert "/api/v1/constituents" in logged  # the requests were logged...
    assert bsn not in logged  # ...without the identifier
    assert "identifier=[redacted]" in logged


def test_every_hub_log_handler_redacts():
    for name in ("", "django", "django.request", "django.server"):
        logger = logging.getLogger(name)
        while logger is not None:
            for handler in logger.handlers:
                if type(handler).__module__.startswith("_pytest"):
                    continue
                assert any(isinstance(f, RedactSecretsFilter) for f in handler.filters), (
                    name,
                    handler,
                )
            logger = logger.parent if logger.propagate else None
