"""Acting for the agency that owns a payment, whoever calls (API, job, admin)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from tenants.models import Tenant
from tenants.scope import ScopeError, current_tenant, tenant_scope


@contextlib.contextmanager
def acting_for(tenant: Tenant) -> Iterator[Tenant]:
    """Scope to ``tenant``: from its own API request, or narrowed from ``all_tenants()``.

    A request scoped to one agency can never act for another through a service call,
    even if a bug hands it a foreign object.
    """
    current = current_tenant()
    if current is not None and current.pk != tenant.pk:
        raise ScopeError(f"scoped to {current.slug}, asked to act for {tenant.slug}")
    with tenant_scope(tenant):
        yield tenant
