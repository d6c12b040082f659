"""Every API route, called with a key of each single scope: 403 where the scope does
not grant it, and never the scope refusal where it does.

The expected scopes are written here, by area, independently of what the views
declare: a route that declares the wrong scope (or a new route nobody decided on)
fails this test instead of quietly opening up.
"""

from __future__ import annotations

import re

import pytest
from django.core import checks
from django.db import transaction

from hub.api.permissions import ANY_AGENCY_KEY
from hub.checks import api_routes, check_api_scopes
from hub.events.catalogue import EVENT_READ_SCOPES
from hub.events.outbox import publish
from tenants.models import ApiKey
from tests.conftest import client_for

pytestmark = pytest.mark.django_db

PAYMENTS = ("payments:read", "payments:write")
COLLECTIONS = ("collections:read", "collections:write")
REGISTRATION = ("registration:read", "registration:write")
# Reconciliation reads are reports; its writes (statements, runs, resolving) move
# money records, so they need payments:write.
RECONCILIATION = ("reports:read", "payments:write")

# First path segment after /api/v1/ → (scope to read, scope to write).
EXPECTED = {
    "services": (ANY_AGENCY_KEY, "services:write"),
    "webhook-endpoints": ("webhooks:write", "webhooks:write"),
    "events": (ANY_AGENCY_KEY, None),  # filtered per event type, see below
    "notices": (ANY_AGENCY_KEY, None),  # filtered per kind (tests/notifications)
    "constituents": REGISTRATION,
    "registrations": REGISTRATION,
    "life-events": REGISTRATION,
    # Declaring what a service offers is the agency's catalogue (services:write); what
    # it declared is read like the registry it is offered through.
    "proactive-services": ("registration:read", "services:write"),
    "payments": PAYMENTS,
    "refunds": PAYMENTS,
    "disputes": PAYMENTS,
    "payment-links": PAYMENTS,
    "debts": COLLECTIONS,
    "mandates": COLLECTIONS,
    "payment-plans": COLLECTIONS,
    "instalments": COLLECTIONS,
    "collection-runs": COLLECTIONS,
    "collection-returns": COLLECTIONS,
    "statements": RECONCILIATION,
    "statement-lines": RECONCILIATION,
    "reconciliation-runs": RECONCILIATION,
    "reconciliation-exceptions": RECONCILIATION,
}
PUBLIC = {"health", "schema", "docs"}  # no key at all
# POSTs that only read: the identifier goes in the body to stay out of URLs and logs.
READING_POSTS = {"/api/v1/constituents/lookup": "registration:read"}


def grants(scope: str, needed: str | None) -> bool:
    if needed is None:
        return False
    if needed == ANY_AGENCY_KEY:
        return True
    return scope == needed or (needed.endswith(":read") and scope == needed[:-5] + ":write")


def expected_grant(area: str, method: str, scope: str, path: str = "") -> bool:
    read, write = EXPECTED[area]
    if method == "POST" and path in READING_POSTS:
        return grants(scope, READING_POSTS[path])
    if method == "GET":
        return grants(scope, read) or grants(scope, write)
    return grants(scope, write)


def concrete_path(route: str) -> str:
    """``api/v1/^payments/(?P<pk>[^/.]+)/cancel$`` → ``/api/v1/payments/x_none/cancel``."""
    path = route.replace("^", "").replace("$", "")
    path = re.sub(r"\(\?P<\w+>[^)]*\)", "x_none", path)
    path = re.sub(r"<(\w+:)?\w+>", "x_none", path)
    return "/" + path.replace("\\", "")


def area_of(route: str) -> str:
    return concrete_path(route).split("/")[3].split(".")[0]


ROUTES = [
    (route, method)
    for route in api_routes()
    if route.route.startswith("api/v1/")
    for method in route.methods
    if method.lower() in route.view_class.http_method_names
]


def test_every_api_route_declares_its_scopes():
    errors = [m for m in check_api_scopes() if m.level >= checks.ERROR]
    assert errors == []
    areas = {area_of(route.route) for route in api_routes() if route.route.startswith("api/v1/")}
    assert areas - PUBLIC <= set(EXPECTED), "decide the scopes of the new area(s) in EXPECTED"
    assert len(ROUTES) > 50  # the walk found the URLconf


def test_a_view_without_a_declared_scope_fails_the_check(monkeypatch):
    from payments.api.views import PaymentScopes

    monkeypatch.delattr(PaymentScopes, "read_scope")
    errors = [m for m in check_api_scopes() if m.id == "hub.E001"]
    assert errors and all("payments" in m.msg.lower() for m in errors)


@pytest.mark.parametrize("scope", ApiKey.Scope.values)
def test_each_single_scope_key_reaches_exactly_the_routes_its_scope_grants(tenant, scope):
    client = client_for(tenant, scopes=[scope])
    wrong = []
    for route, method in ROUTES:
        area = area_of(route.route)
        if area in PUBLIC:
            continue
        path = concrete_path(route.route)
        response = getattr(client, method.lower())(path, {}, format="json")
        refused = response.status_code == 403 and (
            response.json()["error"]["code"] == "insufficient_scope"
        )
        if refused == expected_grant(area, method, scope, path):
            wrong.append(f"{method} {path}: {response.status_code}")
    assert wrong == []


def test_events_list_only_the_types_the_key_may_read(tenant):
    with transaction.atomic():
        for event_type in ("payment.succeeded", "constituent.life_event", "debt.created"):
            publish(tenant=tenant, type=event_type, subject_id="sub_1", payload={"t": event_type})
    for scope in ApiKey.Scope.values:
        client = client_for(tenant, scopes=[scope])
        listed = client.get("/api/v1/events?limit=100").json()["results"]
        readable = {
            t
            for t in ("payment.succeeded", "constituent.life_event", "debt.created")
            if grants(scope, EVENT_READ_SCOPES[t])
        }
        assert {e["type"] for e in listed} == readable, scope
        for event in client_for(tenant).get("/api/v1/events").json()["results"]:
            got = client.get(f"/api/v1/events/{event['id']}")
            assert got.status_code == (200 if event["type"] in readable else 404), scope


def test_a_payments_key_does_not_read_a_new_address_from_the_events(tenant):
    with transaction.atomic():
        publish(
            tenant=tenant,
            type="constituent.life_event",
            subject_id="con_1",
            payload={"kind": "address_change", "address": "Dorpsstraat 1"},
        )
    payments_only = client_for(tenant, scopes=["payments:read"])
    assert "Dorpsstraat" not in payments_only.get("/api/v1/events").content.decode()
    registration = client_for(tenant, scopes=["registration:read"])
    assert "Dorpsstraat" in registration.get("/api/v1/events").content.decode()


def test_every_event_type_names_a_real_scope():
    assert set(EVENT_READ_SCOPES.values()) <= set(ApiKey.Scope.values)
