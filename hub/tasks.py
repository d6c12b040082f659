"""Celery tasks of the platform core: thin, idempotent wrappers over services."""

from celery import shared_task

from hub import idempotency
from hub.events import delivery, dispatch, queue


@shared_task(name="hub.dispatch_event")
def dispatch_event(event_id: str) -> bool:
    return dispatch.dispatch_event(event_id)


@shared_task(name=queue.DISPATCH_EVENTS)
def dispatch_events(event_ids: list[str]) -> int:
    """One task per chunk of events committed together (see hub/events/outbox.py)."""
    return sum(dispatch.dispatch_event(event_id) for event_id in event_ids)


@shared_task(name=queue.DELIVER_WEBHOOK)
def deliver_webhook(delivery_id: str) -> bool:
    return delivery.attempt_delivery(delivery_id) is not None


@shared_task(name="hub.sweep_outbox")
def sweep_outbox() -> dict:
    """Beat, every 30 s: dispatch what a crash left behind and send due retries."""
    dispatched = sum(dispatch.dispatch_event(e) for e in dispatch.undispatched_event_ids())
    due = delivery.due_delivery_ids()
    for delivery_id in due:
        deliver_webhook.delay(delivery_id)
    return {"dispatched": dispatched, "deliveries_enqueued": len(due)}


@shared_task(name="hub.purge_idempotency_keys")
def purge_idempotency_keys() -> int:
    return idempotency.purge_expired()
