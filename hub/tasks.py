"""Celery tasks of the platform core: thin, idempotent wrappers over services."""

from celery import shared_task

from hub import idempotency
from hub.events import delivery, dispatch, queue, wakeup


@shared_task(name="hub.dispatch_event")
def dispatch_event(event_id: str) -> bool:
    return dispatch.dispatch_event(event_id)


@shared_task(name=queue.DISPATCH_EVENTS)
def dispatch_events(event_ids: list[str]) -> int:
    """One task per chunk of events committed together (see hub/events/outbox.py); their
    webhooks are sent from here, as one batch. Then every event committed meanwhile
    whose transaction found this message outstanding and sent none: the wake-up is
    released first, so a commit after that publishes again (hub/events/wakeup.py)."""
    wakeup.release()
    finished = dispatch.dispatch_events(event_ids, deliver_now=True)
    return finished + dispatch.dispatch_pending()


@shared_task(name=queue.DELIVER_WEBHOOKS)
def deliver_webhooks(delivery_ids: list[str] | None = None) -> int:
    """Send these deliveries (those still due), or without ids drain whatever is due."""
    return delivery.deliver(delivery_ids)


@shared_task(name=queue.DELIVER_WEBHOOK)
def deliver_webhook(delivery_id: str) -> bool:
    """One delivery: what was queued before deliveries were sent in batches."""
    return delivery.attempt_delivery(delivery_id) is not None


@shared_task(name="hub.sweep_outbox")
def sweep_outbox() -> dict:
    """Beat, every 30 s: dispatch what a crash left behind and send due retries."""
    undispatched = dispatch.undispatched_event_ids()
    dispatched = sum(
        dispatch.dispatch_events(undispatched[start : start + 100])
        for start in range(0, len(undispatched), 100)
    )
    return {"dispatched": dispatched, "delivery_tasks": delivery.enqueue_due()}


@shared_task(name="hub.purge_idempotency_keys")
def purge_idempotency_keys() -> int:
    return idempotency.purge_expired()
