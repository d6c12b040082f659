"""The dispatcher: hand each committed event to subscribers and webhook endpoints.

Dispatching is three short transactions, never one long one (a subscriber may call
a provider: the Stripe payout import takes seconds to minutes):

1. **Claim**: lock the event row (``SKIP LOCKED``: a concurrent dispatcher moves on),
   count the attempt and create the webhook deliveries; commit. From here on the
   deliveries exist whatever the subscribers do, and the row lock is released.
2. **Subscribers**: each in-process subscriber runs in its own transaction, together
   with its receipt (``run_subscriber``). One failing rolls back only itself.
3. **Outcome**: mark the event dispatched, or record the failures so the sweep retries
   it; the receipts make the retry skip the subscribers that already succeeded.

An event no in-process subscriber wants (most: webhooks only) is finished by the claim.

A crash between 1 and 3 leaves an undispatched event whose attempt was counted: the
sweep takes it again after ``SWEEP_GRACE``, the deliveries are not created twice (one
per endpoint), and the receipts keep every subscriber to one effect.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from hub.events import queue
from hub.events.models import Event, WebhookDelivery, WebhookEndpoint
from hub.events.subscribers import run_subscriber, subscribers_for
from tenants.scope import all_tenants, tenant_scope

logger = logging.getLogger(__name__)

MAX_DISPATCH_ATTEMPTS = 10
# The commit hook dispatches at once; the sweep only takes events older than this, so
# the two rarely race (and when they do, the receipts keep each subscriber to once).
SWEEP_GRACE = timedelta(seconds=10)


def dispatch_event(event_id: str) -> bool:
    """Dispatch one event; True if this call did it. Safe to call twice or concurrently."""
    event = _claim(event_id)
    if event is None:
        return False
    if event.dispatched_at is not None:
        return True  # no subscribers: the claim finished it
    failures = _run_subscribers(event)
    with all_tenants():
        if failures:
            Event.objects.filter(pk=event.pk, dispatched_at__isnull=True).update(
                last_error="; ".join(failures)[:2000]
            )
            return False
        # Conditional: when two dispatchers raced (the sweep took an event whose first
        # dispatch was slow), only one of them reports that it did it.
        return bool(
            Event.objects.filter(pk=event.pk, dispatched_at__isnull=True).update(
                dispatched_at=timezone.now(), last_error=""
            )
        )


def _claim(event_id: str) -> Event | None:
    """Transaction 1: count the attempt and create the deliveries; None if not ours.

    An event no subscriber wants is marked dispatched here too (the return value has
    ``dispatched_at`` set)."""
    # A worker dispatches the event it is handed, of any agency; the subscribers then
    # run in that event's own tenant scope.
    with all_tenants(), transaction.atomic():
        event = (
            Event.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("tenant")
            .filter(pk=event_id, dispatched_at__isnull=True)
            .first()
        )
        if event is None:
            return None
        created = _create_deliveries(event)
        # Counted before the subscribers run, so a subscriber that kills the worker
        # every time still exhausts MAX_DISPATCH_ATTEMPTS instead of looping forever.
        event.dispatch_attempts += 1
        if not subscribers_for(event.type):
            # Only webhooks (most events): one transaction is all it takes.
            event.dispatched_at = timezone.now()
            event.last_error = ""
        event.save(update_fields=["dispatch_attempts", "dispatched_at", "last_error"])
        transaction.on_commit(lambda: _enqueue_deliveries(created))
    return event


def _create_deliveries(event: Event) -> list[str]:
    """One delivery per subscribed endpoint; returns the ids of those this call created.

    One INSERT for all endpoints instead of a get_or_create each (4 statements per
    endpoint: 40 per event for 10 endpoints, a third of a fan-out's database work).
    A delivery that already exists (the event dispatched again) is skipped by the
    one-per-endpoint constraint; ids are made here, so the rows found with our ids
    afterwards are exactly the ones this call created.
    """
    endpoints = [
        endpoint
        for endpoint in WebhookEndpoint.objects.filter(tenant_id=event.tenant_id, enabled=True)
        if endpoint.wants(event.type)
    ]
    if not endpoints:
        return []
    candidates = [
        WebhookDelivery(event=event, endpoint=endpoint, tenant_id=event.tenant_id)
        for endpoint in endpoints
    ]
    WebhookDelivery.objects.bulk_create(candidates, ignore_conflicts=True)
    ids = [candidate.pk for candidate in candidates]
    inserted = set(WebhookDelivery.objects.filter(pk__in=ids).values_list("pk", flat=True))
    return [pk for pk in ids if pk in inserted]


def _run_subscribers(event: Event) -> list[str]:
    failures = []
    with tenant_scope(event.tenant):
        for subscriber in subscribers_for(event.type):
            try:
                run_subscriber(subscriber, event)
            except Exception as exc:
                # One failing subscriber must not undo the others or the webhooks
                # (each ran in its own transaction); the sweep retries the event and
                # the receipts skip those that succeeded.
                logger.exception("subscriber %s failed on %s", subscriber.name, event.pk)
                failures.append(f"{subscriber.name}: {type(exc).__name__}: {exc}")
    return failures


def _enqueue_deliveries(delivery_ids: list[str]) -> None:
    deliver_webhook = queue.task(queue.DELIVER_WEBHOOK)
    for delivery_id in delivery_ids:
        try:
            deliver_webhook.delay(delivery_id)
        except Exception:
            logger.warning("could not enqueue delivery %s", delivery_id)


def undispatched_event_ids(*, now=None, limit: int = 500) -> list[str]:
    cutoff = (now or timezone.now()) - SWEEP_GRACE
    # The sweep finds the undispatched events of every agency.
    with all_tenants():
        return list(
            Event.objects.filter(
                dispatched_at__isnull=True,
                created_at__lte=cutoff,
                dispatch_attempts__lt=MAX_DISPATCH_ATTEMPTS,
            )
            .order_by("created_at")
            .values_list("pk", flat=True)[:limit]
        )


def redispatch(event: Event) -> None:
    """Operator action: try an event that exhausted its attempts again."""
    # Operator action in the hub admin: the event may be any agency's.
    with all_tenants():
        Event.objects.filter(pk=event.pk).update(dispatch_attempts=0, dispatched_at=None)
    transaction.on_commit(lambda: dispatch_event(event.pk))
