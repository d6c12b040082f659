"""Which agency the current request or job acts for.

A tenant-owned query outside a scope raises instead of returning every agency's rows
(the idea behind django-scopes). The scope lives in a context variable, so it follows
the request or task that set it and never leaks between threads.

- ``tenant_scope(tenant)``: act for one agency (API requests, per-tenant jobs).
- ``acting_for(tenant)``: the same, named for services that act for the agency owning
  the object they were handed (whoever calls: API, job, admin).
- ``all_tenants()``: the explicit opt-out for cross-tenant work (scheduled runs that
  fan out per tenant, the admin, migrations of data).

A scope is entered from no scope or from ``all_tenants()``, never from another
agency's scope: code acting for one agency that opens a second agency's scope is a
bug (a foreign object handed to a service, a fan-out loop nested in a request), so
``tenant_scope`` raises ``ScopeSwitchError`` instead of quietly switching. Re-entering
the scope already in force is no switch and is allowed (services call services).
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


class ScopeSwitchError(ScopeError):
    """Code scoped to one tenant asked for another tenant's scope: a programming error.

    Cross-tenant work fans out from ``all_tenants()``; it never nests one agency's
    scope inside another's.
    """


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
    _refuse_switch(to=tenant)
    token = _current.set(tenant)
    try:
        yield tenant
    finally:
        _current.reset(token)


def acting_for(tenant: Tenant) -> contextlib.AbstractContextManager[Tenant]:
    """Scope to ``tenant``: from its own API request, or narrowed from ``all_tenants()``.

    A request scoped to one agency can never act for another through a service call,
    even if a bug hands it a foreign object: ``tenant_scope`` refuses the switch.
    """
    return tenant_scope(tenant)


def _refuse_switch(*, to: Tenant) -> None:
    current = _current.get()
    if current is None or current is ALL_TENANTS:
        return
    if current.pk != to.pk:  # type: ignore[attr-defined]
        raise ScopeSwitchError(
            f"scoped to {current.slug}, asked to act for {to.slug}: "  # type: ignore[attr-defined]
            "a tenant scope is opened from no scope or from all_tenants(), "
            "never from another tenant's scope"
        )


@contextlib.contextmanager
def all_tenants() -> Iterator[None]:
    token = _current.set(ALL_TENANTS)
    try:
        yield
    finally:
        _current.reset(token)


def activate(value: object | None) -> contextvars.Token:
    """Set the scope without a with-block (middleware); undo with ``deactivate``.

    Setting a tenant obeys the same rule as ``tenant_scope``: no switch from another."""
    if value is not None and value is not ALL_TENANTS:
        _refuse_switch(to=value)  # type: ignore[arg-type]
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
