"""The one call services use to publish a domain event.

The event row is written in the caller's transaction: if the change rolls back, so
does the event; if it commits, the event is there for the dispatcher, which a commit
hook starts at once and the periodic sweep restarts after any crash.
"""

from __future__ import annotations

from django.db import connection, transaction

from hub.events.catalogue import EVENT_TYPES
from hub.events.models import Event
from tenants.models import Tenant
from tenants.scope import all_tenants


class OutboxError(RuntimeError):
    pass


def publish(*, tenant: Tenant, type: str, subject_id: str, payload: dict) -> Event:
    if not connection.in_atomic_block:
        raise OutboxError(
            "publish() must run inside the transaction that makes the change "
            "(wrap the service in transaction.atomic)"
        )
    if type not in EVENT_TYPES:
        raise OutboxError(f"unknown event type {type!r}: register it in the catalogue")
    with all_tenants():
        event = Event.objects.create(
            tenant=tenant, type=type, subject_id=str(subject_id), payload=payload
        )
    transaction.on_commit(lambda: _enqueue_dispatch(event.pk))
    return event


def _enqueue_dispatch(event_id: str) -> None:
    from hub.tasks import dispatch_event

    try:
        dispatch_event.delay(event_id)
    except Exception:
        import logging

        logging.getLogger(__name__).warning("could not enqueue dispatch of %s", event_id)
