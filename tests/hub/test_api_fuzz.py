"""Schemathesis over the committed ``openapi.yaml``, against the live test server.

Every operation gets a bounded, derandomised set of generated requests (valid and
invalid) sent with an agency's API key, and every response goes through all of
schemathesis's checks: no server error, the status code is documented, the body and
headers match the schema, invalid input is refused, auth is not ignored, and so on.
A failure here is either a bug in the hub or a schema that does not say what the hub
does: fix the code or the drf-spectacular annotations, then regenerate openapi.yaml.

Nothing leaves the machine: the hub resolves webhook host names while validating them,
and a fuzzer invents those, so name lookups and connections to anything but loopback
are refused (and connection attempts counted) for the duration of each test.
"""

from __future__ import annotations

import ipaddress
import socket
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tenants import services
from tenants.demo import DEMO_AGENCIES

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "openapi.yaml"

# Small enough that the whole schema runs in a minute or two; the seed and
# derandomisation make a failure reproduce on the next run.
MAX_EXAMPLES = 5

CONFIG = schemathesis.Config.from_dict(
    {
        "seed": 20261202,
        "generation": {
            "max-examples": MAX_EXAMPLES,
            "deterministic": True,
            # The key is the test's to send (and the ignored_auth check drops it);
            # generated Authorization values would only exercise "unknown key" 401s.
            "with-security-parameters": False,
            # The hub ignores query parameters it does not know (bodies are strict),
            # so invented ones would all be "accepted invalid data". Refusing unknown
            # query parameters as unknown body fields are is a separate change.
            "allow-extra-parameters": False,
        },
    }
)

schema = schemathesis.openapi.from_path(SCHEMA_PATH, config=CONFIG)

LOOPBACK_NAMES = {"localhost", "localhost.localdomain"}
# Read by tests/hub/conftest.py's terminal summary: the run's figures.
FIGURES = {"operations": len(schema), "cases": 0}


def _is_loopback(host) -> bool:
    if isinstance(host, bytes):
        host = host.decode(errors="replace")
    if host is None or str(host).lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
    except ValueError:
        return False


@pytest.fixture
def loopback_only(monkeypatch):
    """Refuse every name lookup and connection that would leave this machine."""
    refused_connections = []
    real_getaddrinfo = socket.getaddrinfo
    real_connect = socket.socket.connect

    def getaddrinfo(host, *args, **kwargs):
        if not _is_loopback(host):
            raise socket.gaierror(socket.EAI_NONAME, f"test refuses to resolve {host!r}")
        return real_getaddrinfo(host, *args, **kwargs)

    def connect(sock, address):
        if sock.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(address[0]):
            refused_connections.append(address)
            raise OSError(f"test refuses to connect to {address!r}")
        return real_connect(sock, address)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket.socket, "connect", connect)
    yield refused_connections
    assert refused_connections == [], "the fuzz run tried to reach a non-loopback address"


@pytest.fixture
def agency_key(transactional_db):
    """The demo agencies with their services, and the first one's API key.

    (Not ``load_demo()``: its staff passwords cost seconds of hashing per operation.)
    """
    keys = []
    for spec in DEMO_AGENCIES:
        tenant = services.create_tenant(
            slug=spec["slug"], name=spec["name"], default_currency=spec["currency"]
        )
        for code, name, kind in spec["services"]:
            services.create_service(tenant=tenant, code=code, name=name, interaction_kind=kind)
        keys.append(services.issue_api_key(tenant=tenant, name="fuzz").secret)
    return keys[0]


# A schema can say what a well-formed request looks like, not whether the debt it names
# exists or a BSN's checksum holds. A schema-valid request refused for one of these
# reasons is the hub working; any other 400 means the schema promises more than the
# hub accepts, and schemathesis's positive_data_acceptance check reports it.
SEMANTIC_REFUSALS = {
    "does_not_exist",  # a referenced object (service, debt, constituent…) is not there
    "invalid_identifier",  # a national identifier's length or checksum
    "unknown_identifier_scheme",  # "scheme:value" in a lookup names no scheme
    "invalid_file",  # an upload that is not the bank file it claims to be
    "invalid_statement",
    "period_too_long",  # cross-field: period_end - period_start
    "invalid_period",  # cross-field: period_end before period_start
    "schedule_ambiguous",  # cross-field: instalments or frequency/count/first_date
    "schedule_incomplete",
    "missing_consent",  # cross-field: legal_basis "consent" needs consent_given_at
    "one_off_sepa_only",  # cross-field: usage "one_off" exists for scheme sepa_core only
    "unknown_event_type",  # event types are a list of names and wildcards, not an enum
    "offset_out_of_range",  # RFC 3339 allows ±23:59, the hub (and PostgreSQL) ±15:59
    "nul_character",  # no text may hold U+0000 (docs/api-guide.md, Errors)
    "invalid_unicode",  # nor a lone surrogate
    "blank",  # text is trimmed: whitespace only is blank, though "minLength: 1" allows it
    "service_not_proactive",  # the named service exists but is not of kind "proactive"
    "invalid_range",  # cross-field: a proactive service's min_age above its max_age
}


def positive_data_acceptance_beyond_the_schema(ctx, response, case):
    if response.status_code == 422:
        return None  # the request is well-formed; a business rule forbids it
    if response.status_code == 400 and _error_code(response) in SEMANTIC_REFUSALS:
        return None
    return positive_data_acceptance(ctx, response, case)


def _error_code(response) -> str | None:
    try:
        return response.json()["error"]["code"]
    except (ValueError, KeyError, TypeError):
        return None


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_api_conforms_to_its_schema(case, live_server, agency_key, loopback_only):
    assert live_server.url.startswith("http://localhost") or live_server.url.startswith(
        "http://127.0.0.1"
    )
    FIGURES["cases"] += 1
    case.call_and_validate(
        base_url=live_server.url,
        headers={"Authorization": f"Bearer {agency_key}"},
        excluded_checks=[positive_data_acceptance],
        additional_checks=[positive_data_acceptance_beyond_the_schema],
    )
