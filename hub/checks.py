"""Startup check: every API route behind the scope permission declares its scopes.

A view that forgets ``read_scope`` is refused to every key anyway (fail closed), but
that should be found before the first integrator does: ``manage.py check`` (run by
``migrate``, ``runserver`` and the test suite) lists such views as errors.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from django.core import checks
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework import permissions

from hub.api.permissions import ANY_AGENCY_KEY, UNDECLARED, HasApiKeyScope
from hub.events.catalogue import EVENT_READ_SCOPES
from tenants.models import ApiKey

HTTP_METHODS = ("get", "post", "put", "patch", "delete")


@dataclass(frozen=True)
class ApiRoute:
    route: str  # "api/v1/payments/<pk>"
    view_class: type
    methods: tuple[str, ...]  # upper case, without HEAD/OPTIONS
    read_scope: object
    write_scope: object

    @property
    def scope_protected(self) -> bool:
        return any(issubclass(p, HasApiKeyScope) for p in self.view_class.permission_classes)


def api_routes() -> Iterator[ApiRoute]:
    """Every DRF route in the URLconf, with the scopes its view instance will have
    (a router's ``@action`` may override them)."""
    yield from _walk(get_resolver().url_patterns, "")


def _walk(patterns, prefix: str) -> Iterator[ApiRoute]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern))
            continue
        if not isinstance(pattern, URLPattern):
            continue
        callback = pattern.callback
        view_class = getattr(callback, "cls", None)
        if view_class is None:
            continue  # not DRF (the admin, Django views)
        initkwargs = getattr(callback, "initkwargs", {}) or {}
        actions = getattr(callback, "actions", None)
        if actions:
            methods = tuple(m.upper() for m in actions if m in HTTP_METHODS)
        else:
            methods = tuple(m.upper() for m in HTTP_METHODS if hasattr(view_class, m))
        yield ApiRoute(
            route=prefix + str(pattern.pattern),
            view_class=view_class,
            methods=methods,
            read_scope=initkwargs.get("read_scope", getattr(view_class, "read_scope", UNDECLARED)),
            write_scope=initkwargs.get(
                "write_scope", getattr(view_class, "write_scope", UNDECLARED)
            ),
        )


def undeclared_scopes(route: ApiRoute) -> list[str]:
    problems = []
    reads = [m for m in route.methods if m in permissions.SAFE_METHODS]
    writes = [m for m in route.methods if m not in permissions.SAFE_METHODS]
    if reads and (route.read_scope is UNDECLARED or route.read_scope is None):
        problems.append("read_scope")
    if writes and (route.write_scope is UNDECLARED or route.write_scope is None):
        problems.append("write_scope")
    return problems


def known_scope(scope: object) -> bool:
    return scope in (None, UNDECLARED, ANY_AGENCY_KEY) or scope in ApiKey.Scope.values


@checks.register(checks.Tags.security, checks.Tags.urls)
def check_api_scopes(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    errors = []
    for route in api_routes():
        if not route.scope_protected:
            continue
        label = f"{route.view_class.__module__}.{route.view_class.__qualname__}"
        for attribute in undeclared_scopes(route):
            errors.append(
                checks.Error(
                    f"{label} ({route.route}) does not declare {attribute}",
                    hint="Set it to an ApiKey scope, or ANY_AGENCY_KEY if every key may.",
                    obj=route.view_class,
                    id="hub.E001",
                )
            )
        for scope in (route.read_scope, route.write_scope):
            if not known_scope(scope):
                errors.append(
                    checks.Error(
                        f"{label} ({route.route}) names an unknown scope {scope!r}",
                        obj=route.view_class,
                        id="hub.E002",
                    )
                )
    for event_type, scope in EVENT_READ_SCOPES.items():
        if not known_scope(scope) or scope in (None, UNDECLARED):
            errors.append(
                checks.Error(
                    f"event type {event_type} names an unknown read scope {scope!r}",
                    id="hub.E003",
                )
            )
    return errors
