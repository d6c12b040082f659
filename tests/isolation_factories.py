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


@factory("hub.WebhookEndpoint")
def make_webhook_endpoint(tenant):
    from hub.events.endpoints import create_endpoint

    return create_endpoint(tenant=tenant, url="http://127.0.0.1:9/hook", event_types=["*"]).endpoint


@factory("hub.Event")
def make_event(tenant):
    from django.db import transaction

    from hub.events.outbox import publish

    with transaction.atomic():
        return publish(tenant=tenant, type="webhook.ping", subject_id="probe", payload={})
