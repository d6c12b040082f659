"""The generic cross-tenant test: every tenant-scoped API route, found from the URL
configuration, hides another agency's objects (404 on detail, absent from lists)."""

from __future__ import annotations

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from hub.api.views import HubViewMixin
from tenants.scope import tenant_scope
from tests import isolation_factories
from tests.conftest import client_for

pytestmark = pytest.mark.django_db

# Routes that are deliberately not tenant data.
PUBLIC_ROUTES = {"api/v1/health", "api/v1/schema", "api/v1/docs"}


def walk(patterns, prefix=""):
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from walk(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern):
            yield route, pattern


def api_routes():
    routes = []
    for route, pattern in walk(get_resolver().url_patterns):
        clean = re.sub(r"(^|/)\^", r"\1", route).replace("$", "").replace("\\Z", "")
        if not clean.startswith("api/v1/") or clean in PUBLIC_ROUTES:
            continue
        view_class = getattr(pattern.callback, "cls", None)
        actions = getattr(pattern.callback, "actions", None) or {}
        routes.append((clean, view_class, actions))
    return routes


ROUTES = api_routes()


KWARG = re.compile(r"<(?:\w+:)?(\w+)>|\(\?P<(\w+)>[^)]*\)")


def kwarg_names(route: str) -> list[str]:
    return [a or b for a, b in KWARG.findall(route)]


def fill(route: str, values: dict[str, str]) -> str:
    return "/" + KWARG.sub(lambda m: values[m.group(1) or m.group(2)], route)


def model_for(view_class, kwarg: str):
    models = getattr(view_class, "url_kwarg_models", {}) or {}
    return models.get(kwarg) or view_class.model


def factory_for(model):
    label = model._meta.label
    if label not in isolation_factories.FACTORIES:
        pytest.fail(f"No isolation factory for {label}: add one to tests/isolation_factories.py")
    return isolation_factories.FACTORIES[label]


def test_every_api_route_is_a_hub_view():
    """A route outside the hub's base views would skip scoping, audit and idempotency."""
    assert ROUTES, "no API routes found"
    for route, view_class, _ in ROUTES:
        assert view_class is not None and issubclass(view_class, HubViewMixin), route
        assert view_class.model is not None, f"{route}: set `model` on {view_class.__name__}"


@pytest.mark.parametrize("route,view_class,actions", ROUTES, ids=[r[0] for r in ROUTES])
def test_route_hides_other_agencies_objects(route, view_class, actions, make_tenant):
    owner, stranger = make_tenant(), make_tenant()
    owner_client, stranger_client = client_for(owner), client_for(stranger)
    names = kwarg_names(route)

    if not names:
        if actions and actions.get("get") != "list":
            return
        if not actions and "get" not in {m.lower() for m in view_class.http_method_names}:
            return
        with tenant_scope(owner):
            obj = factory_for(view_class.model)(owner)
        own_list = owner_client.get("/" + route)
        if own_list.status_code == 405:
            return
        assert own_list.status_code == 200, (route, own_list.content)
        assert str(obj.pk) in own_list.content.decode(), f"{route}: owner cannot see own object"
        foreign = stranger_client.get("/" + route)
        assert foreign.status_code == 200, (route, foreign.content)
        assert str(obj.pk) not in foreign.content.decode(), f"{route} leaks another agency's row"
        return

    values = {}
    with tenant_scope(owner):
        for name in names:
            values[name] = str(factory_for(model_for(view_class, name))(owner).pk)
    path = fill(route, values)
    methods = [m.upper() for m in (actions or {m: m for m in view_class.http_method_names})]
    if "GET" in methods:
        own = owner_client.get(path)
        assert own.status_code != 404, f"{path}: owner gets 404 — the probe proves nothing"
        foreign = stranger_client.get(path)
        assert foreign.status_code == 404, f"{path} answers {foreign.status_code} to a stranger"
        assert foreign.json()["error"]["code"] == "not_found"
    allowed = {m.upper() for m in view_class.http_method_names}
    for method in ("POST", "PATCH", "PUT", "DELETE"):
        if method in methods and method in allowed:
            foreign = stranger_client.generic(method, path, "{}", content_type="application/json")
            assert foreign.status_code == 404, f"{method} {path}: {foreign.status_code}"
