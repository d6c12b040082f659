"""In-process subscribers: how a higher app reacts to a lower app's events.

A subscriber runs at least once per event; a receipt row written in the same
transaction as its effect makes the second run a no-op, so each runs *effectively*
once even when a task is redelivered.

The dispatcher calls each subscriber outside any transaction of its own (see
hub/events/dispatch.py), so the ``atomic`` block here is the subscriber's whole
transaction: receipt and effect commit together or not at all, and a crash between
two subscribers leaves exactly the finished ones with receipts.

A subscriber that calls an outside service (``calls_out=True``: reconciliation asks
Stripe for a paid payout) must not hold a transaction open while the service answers
(up to its timeout, with retries). It runs with no transaction of the dispatcher's
open, opens its own short ones to write, and its receipt is written once it has
succeeded; it must be idempotent itself, for a crash between its effect and the
receipt runs it again.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from django.db import IntegrityError, transaction

from hub.events.models import Event, SubscriberReceipt


@dataclass(frozen=True)
class Subscriber:
    name: str
    event_type: str
    handler: Callable[[Event], None]
    calls_out: bool = False


_registry: dict[str, list[Subscriber]] = defaultdict(list)


def subscribe(event_type: str, *, name: str | None = None, calls_out: bool = False):
    """Decorator: ``@subscribe("constituent.deceased")`` on ``def handler(event): …``.

    ``calls_out``: the handler calls an outside service and is idempotent on its own
    (see the module's docstring)."""

    def register(handler: Callable[[Event], None]):
        subscriber_name = name or f"{handler.__module__}.{handler.__qualname__}"
        subscribers = _registry[event_type]
        if all(s.name != subscriber_name for s in subscribers):
            subscribers.append(Subscriber(subscriber_name, event_type, handler, calls_out))
        return handler

    return register


def subscribers_for(event_type: str) -> list[Subscriber]:
    return list(_registry.get(event_type, ()))


def run_subscriber(subscriber: Subscriber, event: Event) -> bool:
    """Run once per event; return False when an earlier run already handled it."""
    if SubscriberReceipt.objects.filter(event=event, subscriber=subscriber.name).exists():
        return False
    if subscriber.calls_out:
        subscriber.handler(event)
        try:
            with transaction.atomic():
                SubscriberReceipt.objects.create(event=event, subscriber=subscriber.name)
        except IntegrityError:
            return False  # another worker finished it too; the effect is idempotent
        return True
    try:
        with transaction.atomic():
            SubscriberReceipt.objects.create(event=event, subscriber=subscriber.name)
            subscriber.handler(event)
    except IntegrityError:
        # Another worker handled it concurrently; its receipt and effect committed.
        if SubscriberReceipt.objects.filter(event=event, subscriber=subscriber.name).exists():
            return False
        raise
    return True
