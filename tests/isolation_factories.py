"""One factory per tenant-owned model an API route exposes: ``model label → (tenant) → obj``.

The generic cross-tenant test walks every API route and fails if a route's model has
no factory here, so a new endpoint is covered the day it is added.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from tenants import services

FACTORIES: dict[str, Callable] = {}


def factory(label: str):
    def register(function: Callable) -> Callable:
        FACTORIES[label] = function
        return function

    return register


@factory("tenants.Service")
def make_service(tenant):
    return services.create_service(
        tenant=tenant,
        code=f"svc-{os.urandom(3).hex()}",
        name="Isolation probe",
        interaction_kind="regulatory",
    )
