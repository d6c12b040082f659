"""Which agency the current request or job acts for.

A tenant-owned query outside a scope raises instead of returning every agency's rows
(the idea behind django-scopes). The scope lives in a context variable, so it follows
the request or task that set it and never leaks between threads.

- ``tenant_scope(tenant)``: act for one agency (API requests, per-tenant jobs).
- ``all_tenants()``: the explicit opt-out for cross-tenant work (scheduled runs that
  fan out per tenant, the admin, migrations of data).
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tenants.models import Tenant


class ScopeError(RuntimeError):
    """A tenant-owned model was queried outside any tenant scope."""


class _AllTenants:
    def __repr__(self) -> str:
        return "<all tenants>"


ALL_TENANTS = _AllTenants()
_current: contextvars.ContextVar[object | None] = contextvars.ContextVar(
    "hub_tenant_scope", default=None
)


@contextlib.contextmanager
def tenant_scope(tenant: Tenant) -> Iterator[Tenant]:
    if tenant is None:
        raise ScopeError("tenant_scope() needs a tenant; use all_tenants() to opt out")
    token = _current.set(tenant)
    try:
        yield tenant
    finally:
        _current.reset(token)


@contextlib.contextmanager
def all_tenants() -> Iterator[None]:
    token = _current.set(ALL_TENANTS)
    try:
        yield
    finally:
        _current.reset(token)


def activate(value: object | None) -> contextvars.Token:
    """Set the scope without a with-block (middleware); undo with ``deactivate``."""
    return _current.set(value)


def deactivate(token: contextvars.Token) -> None:
    _current.reset(token)


def current_scope() -> object | None:
    return _current.get()


def current_tenant() -> Tenant | None:
    """The scoped tenant, or None when unscoped or scoped to all tenants."""
    value = _current.get()
    return None if value is None or value is ALL_TENANTS else value  # type: ignore[return-value]


def require_tenant() -> Tenant:
    tenant = current_tenant()
    if tenant is None:
        raise ScopeError("this operation needs a single tenant scope")
    return tenant
