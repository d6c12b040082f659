"""The dispatcher: hand each committed event to subscribers and webhook endpoints.

Dispatching is three short transactions, never one long one (a subscriber may call
a provider: the Stripe payout import takes seconds to minutes):

1. **Claim**: lock the chunk's event rows (``SKIP LOCKED``: a concurrent dispatcher
   moves on), count the attempts and create the webhook deliveries, with a statement
   per step for the whole chunk; commit. From here on the deliveries exist whatever
   the subscribers do, and the row locks are released. The dispatch task then sends
   the new deliveries as one batch (hub/events/delivery.py) before the subscribers
   run; other callers queue one delivery task for them.
2. **Subscribers**: each in-process subscriber runs in its own transaction, together
   with its receipt (``run_subscriber``). One failing rolls back only itself.
3. **Outcome**: mark the event dispatched, or record the failures so the sweep retries
   it, after a back-off on the webhook schedule (``retry_at``); the receipts make the
   retry skip the subscribers that already succeeded. This is how a notice whose mail
   server did not answer is sent again (notifications/subscribers.py).

An event no in-process subscriber wants (most: webhooks only) is finished by the claim.

A crash between 1 and 3 leaves an undispatched event whose attempt was counted: the
sweep takes it again after ``SWEEP_GRACE``, the deliveries are not created twice (one
per endpoint), and the receipts keep every subscriber to one effect.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import timedelta

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from hub.events import delivery, queue, wakeup
from hub.events.models import Event, WebhookDelivery, WebhookEndpoint
from hub.events.subscribers import run_subscriber, subscribers_for
from tenants.scope import all_tenants, tenant_scope

logger = logging.getLogger(__name__)

MAX_DISPATCH_ATTEMPTS = 10
# The commit hook dispatches at once; the sweep only takes events older than this, so
# the two rarely race (and when they do, the receipts keep each subscriber to once).
SWEEP_GRACE = timedelta(seconds=10)
# Events one claim locks: a message of a set-based batch's events (thousands, see
# outbox.BATCHED_DISPATCH_LIMIT) is dispatched in slices of short transactions. A
# life event's fan-out (at most outbox.FANOUT_CHUNK) is one slice: sent as one batch.
CLAIM_SLICE = 500
# Claims one dispatch task makes of events it was not handed (dispatch_pending).
DRAIN_SLICES = 10


def dispatch_event(event_id: str) -> bool:
    """Dispatch one event; True if this call did it. Safe to call twice or concurrently."""
    return dispatch_events([event_id]) == 1


def dispatch_events(event_ids: list[str], *, deliver_now: bool = False) -> int:
    """Dispatch a chunk of events with one claim; how many this call finished.

    With ``deliver_now`` (the dispatch task in a worker) the deliveries just created are
    sent as one batch in this call, before the subscribers run: a life event to fifty
    agencies is fifty concurrent POSTs in the task that dispatched it, not fifty tasks.
    Otherwise (the sweep, an operator) one delivery task is queued for them.

    More than ``CLAIM_SLICE`` events are claimed, sent and finished a slice at a time."""
    event_ids = list(event_ids)
    return sum(
        _dispatch_slice(event_ids[start : start + CLAIM_SLICE], deliver_now=deliver_now)
        for start in range(0, len(event_ids), CLAIM_SLICE)
    )


def _dispatch_slice(event_ids: list[str], *, deliver_now: bool) -> int:
    events, created = _claim(event_ids, hand_over=not deliver_now)
    if created and deliver_now:
        try:
            delivery.deliver(created)
        except Exception:
            # The subscribers must still run; the deliveries stay due (or leased) and
            # the sweep sends them.
            logger.exception("sending %d deliveries failed; the sweep retries", len(created))
    finished = 0
    for event in events:
        if event.dispatched_at is not None:
            finished += 1  # no subscribers: the claim finished it
            continue
        failures = _run_subscribers(event)
        # The dispatcher marks the events of whichever agencies its chunk holds.
        with all_tenants():
            pending = Event.objects.filter(pk=event.pk, dispatched_at__isnull=True)
            if failures:
                pending.update(
                    last_error="; ".join(failures)[:2000],
                    retry_at=timezone.now() + retry_delay(event.dispatch_attempts),
                )
                continue
            # Conditional: when two dispatchers raced (the sweep took an event whose
            # first dispatch was slow), only one of them reports that it did it.
            finished += pending.update(dispatched_at=timezone.now(), last_error="")
    return finished


def dispatch_pending(*, slices: int = DRAIN_SLICES) -> int:
    """Dispatch the committed events no dispatcher has claimed yet (never attempted),
    oldest first; how many this call finished. The dispatch task runs it after
    releasing the wake-up (hub/events/wakeup.py): the events of commits that found a
    message outstanding, and so published none, are found here.

    Events a dispatcher claimed and did not finish (it crashed, a subscriber failed)
    are left to the sweep, which waits ``SWEEP_GRACE`` or their ``retry_at``: taking
    them here would race the dispatcher still running their subscribers.

    At most ``slices`` claims of ``CLAIM_SLICE``; a backlog beyond that is woken again,
    so other workers share it instead of one task draining it all."""
    finished = 0
    for _ in range(slices):
        # The dispatcher reads the pending events of every agency.
        with all_tenants():
            ids = list(
                Event.objects.filter(dispatched_at__isnull=True, dispatch_attempts=0)
                .order_by("created_at")
                .values_list("pk", flat=True)[:CLAIM_SLICE]
            )
        if not ids:
            return finished
        finished += _dispatch_slice(ids, deliver_now=True)
        if len(ids) < CLAIM_SLICE:
            return finished
    if wakeup.request():
        _queue_dispatch([])
    return finished


def retry_delay(attempts: int) -> timedelta:
    """How long an event whose subscribers failed waits before the sweep tries again:
    the webhook retry schedule (hub/events/delivery.py), its last step repeated."""
    schedule = delivery.retry_schedule() or (60,)
    return timedelta(seconds=schedule[min(max(attempts, 1), len(schedule)) - 1])


def _claim(event_ids: list[str], *, hand_over: bool) -> tuple[list[Event], list[str]]:
    """Transaction 1: count the attempts and create the deliveries of a chunk of events.

    Returns the events this call claimed (a concurrent dispatcher's are skipped) and the
    ids of the deliveries it created. Events no subscriber wants (most) are marked
    dispatched here too (their ``dispatched_at`` is set)."""
    # A worker dispatches the events it is handed, of any agency; the subscribers then
    # run in each event's own tenant scope.
    with all_tenants(), transaction.atomic():
        events = list(
            Event.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("tenant")
            .filter(pk__in=list(event_ids), dispatched_at__isnull=True)
            .order_by("created_at", "pk")
        )
        if not events:
            return [], []
        created = _create_deliveries(events)
        claimed = [event.pk for event in events]
        # Counted before the subscribers run, so a subscriber that kills the worker
        # every time still exhausts MAX_DISPATCH_ATTEMPTS instead of looping forever.
        Event.objects.filter(pk__in=claimed).update(dispatch_attempts=F("dispatch_attempts") + 1)
        webhooks_only = [event for event in events if not subscribers_for(event.type)]
        now = timezone.now()
        if webhooks_only:
            # Only webhooks (most events): one transaction is all it takes.
            Event.objects.filter(pk__in=[event.pk for event in webhooks_only]).update(
                dispatched_at=now, last_error=""
            )
        for event in events:
            event.dispatch_attempts += 1
        for event in webhooks_only:
            event.dispatched_at, event.last_error = now, ""
        if created and hand_over:
            transaction.on_commit(lambda: _hand_over(created))
    return events, created


def _create_deliveries(events: list[Event]) -> list[str]:
    """One delivery per event and subscribed endpoint; the ids of those this call created.

    One query for the endpoints of every agency in the chunk and one INSERT for all
    deliveries, instead of a get_or_create each. A delivery that already exists (the
    event dispatched again) is skipped by the one-per-endpoint constraint; ids are made
    here, so the rows found with our ids afterwards are exactly the ones this call
    created.
    """
    by_tenant: dict[str, list[WebhookEndpoint]] = defaultdict(list)
    for endpoint in WebhookEndpoint.objects.filter(
        tenant_id__in={event.tenant_id for event in events}, enabled=True
    ).order_by("created_at", "pk"):
        by_tenant[endpoint.tenant_id].append(endpoint)
    candidates = [
        WebhookDelivery(event=event, endpoint=endpoint, tenant_id=event.tenant_id)
        for event in events
        for endpoint in by_tenant[event.tenant_id]
        if endpoint.wants(event.type)
    ]
    if not candidates:
        return []
    WebhookDelivery.objects.bulk_create(candidates, ignore_conflicts=True)
    ids = [candidate.pk for candidate in candidates]
    inserted: set[str] = set()
    for start in range(0, len(ids), 500):  # IN lists of a size every database takes
        inserted.update(
            WebhookDelivery.objects.filter(pk__in=ids[start : start + 500]).values_list(
                "pk", flat=True
            )
        )
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


def _hand_over(delivery_ids: list[str]) -> None:
    """After the claim commits: one delivery task for the deliveries just created."""
    deliver_webhooks = queue.task(queue.DELIVER_WEBHOOKS)
    try:
        deliver_webhooks.delay(delivery_ids)
    except Exception:  # the broker is down: the sweep sends them when due
        logger.warning("could not enqueue %d deliveries", len(delivery_ids))


def undispatched_event_ids(*, now=None, limit: int = 500) -> list[str]:
    now = now or timezone.now()
    cutoff = now - SWEEP_GRACE
    # The sweep finds the undispatched events of every agency.
    with all_tenants():
        return list(
            Event.objects.filter(
                dispatched_at__isnull=True,
                created_at__lte=cutoff,
                dispatch_attempts__lt=MAX_DISPATCH_ATTEMPTS,
            )
            .filter(Q(retry_at__isnull=True) | Q(retry_at__lte=now))
            .order_by("created_at")
            .values_list("pk", flat=True)[:limit]
        )


def redispatch(event: Event) -> None:
    """Operator action: try an event that exhausted its attempts again."""
    # Operator action in the hub admin: the event may be any agency's.
    with all_tenants():
        Event.objects.filter(pk=event.pk).update(
            dispatch_attempts=0, dispatched_at=None, retry_at=None
        )
    # A worker dispatches it (and sends its webhooks), not the operator's request.
    transaction.on_commit(lambda: _queue_dispatch([event.pk]))


def _queue_dispatch(event_ids: list[str]) -> None:
    try:
        queue.task(queue.DISPATCH_EVENTS).delay(event_ids)
    except Exception:  # the broker is down: the sweep dispatches it
        logger.warning("could not enqueue dispatch of %d event(s)", len(event_ids))
