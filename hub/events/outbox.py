"""The one call services use to publish a domain event.

The event row is written in the caller's transaction: if the change rolls back, so
does the event; if it commits, the event is there for the dispatcher, which a commit
hook starts at once and the periodic sweep restarts after any crash.

Events published in one transaction are handed to the broker together when it
commits, in chunks (one ``dispatch_events`` task per chunk): a fan-out of a hundred
events costs a few broker round trips, not a hundred. Ordinary events publish no
message at all while another transaction's dispatch message is outstanding: that
message's task dispatches them (coalesced wake-ups, hub/events/wakeup.py). The
events of a set-based batch (``batched``: a collection run's batch, a settlement) go
as one message for the whole transaction, up to ``BATCHED_DISPATCH_LIMIT`` events; the
dispatcher claims such a message's events in slices (hub/events/dispatch.py).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.utils import timezone

from hub import bulk
from hub.events import queue, wakeup
from hub.events.catalogue import EVENT_TYPES, PAYLOAD_SHAPERS
from hub.events.models import Event
from hub.observability import request_id
from tenants.ids import new_id
from tenants.models import Tenant
from tenants.scope import all_tenants
from tenants.statements import CompiledInsert

logger = logging.getLogger(__name__)
DISPATCH_CHUNK = 10  # events per dispatch task: small enough to spread over workers
# A fan-out published ``together`` goes to one dispatch task up to this many events.
FANOUT_CHUNK = 500
# Events of set-based batches per dispatch message: one message per transaction, unless
# it wrote more than this (a message stays a few hundred kilobytes at most).
BATCHED_DISPATCH_LIMIT = 5000


class OutboxError(RuntimeError):
    pass


@dataclass(frozen=True)
class EventSpec:
    tenant: Tenant
    type: str
    subject_id: str
    payload: dict


# One event per change is the common case (every payment request publishes one): its
# INSERT is built once per process (tenants/statements.py). The checks are publish_many's.
_EVENT_INSERT = CompiledInsert(Event)


def publish(*, tenant: Tenant, type: str, subject_id: str, payload: dict) -> Event:
    _check_publishable([type])
    if type in PAYLOAD_SHAPERS:  # the agency is told only what it may see (as in publish_many)
        (payload,) = _payloads_per_agency([EventSpec(tenant, type, str(subject_id), payload)])
    event = Event(
        tenant=tenant,
        type=type,
        subject_id=str(subject_id),
        payload=payload,
        request_id=request_id.current(),
    )
    # As in publish_many: the event names its own tenant, whatever the caller's scope.
    with all_tenants():
        _EVENT_INSERT.insert(event)
    _pending_batch().event_ids.append(event.pk)
    return event


def publish_many(specs: Iterable[EventSpec], *, together: bool = False) -> list[Event]:
    """Publish several events with one statement (a fan-out to every registered agency,
    a batch of payments); on PostgreSQL by COPY (hub.bulk).

    ``together``: the events are one change told to many agencies (a life event), so
    one dispatch task takes them all and sends their webhooks as one batch of
    concurrent POSTs, instead of chunks of ``DISPATCH_CHUNK`` spread over tasks.

    The events of a set-based batch go through ``publish_batched``."""
    specs = list(specs)
    _check_publishable(spec.type for spec in specs)
    events = []
    publishing_request = request_id.current()
    for spec, payload in zip(specs, _payloads_per_agency(specs), strict=True):
        events.append(
            Event(
                tenant=spec.tenant,
                type=spec.type,
                subject_id=str(spec.subject_id),
                payload=payload,
                request_id=publishing_request,
            )
        )
    # publish() runs in its caller's scope, and the life-event fan-out publishes for
    # several agencies at once; each event names its own tenant.
    with all_tenants():
        if len(events) == 1:
            events[0].save(force_insert=True)
        else:
            bulk.copy_rows(Event, [_row(event) for event in events])
    ids = [event.pk for event in events]
    if together:
        _pending_batch().fanouts.append(ids)
    else:
        _pending_batch().event_ids.extend(ids)
    return events


def publish_batched(specs: Iterable[EventSpec]) -> list[str]:
    """Publish the events of a set-based batch (a collection run's, a settlement's);
    their ids. Every batched event of the transaction goes to the broker in one
    dispatch message at commit, however many calls wrote them: a batch of 250
    instalments is one message instead of dozens.

    The rows are built as plain rows for COPY, without a model instance per event: an
    ``Event()`` costs its default id, timestamp and field set-up, a third of the
    outbox's Python time for a run's three events per instalment."""
    specs = list(specs)
    _check_publishable(spec.type for spec in specs)
    if not specs:
        return []
    publishing_request = request_id.current()
    now = timezone.now
    rows = [
        {
            "tenant_id": spec.tenant.pk,
            "id": new_id("evt"),
            "type": spec.type,
            "subject_id": str(spec.subject_id),
            "payload": payload,
            "created_at": now(),  # one each, as Event's default: events keep their order
            "request_id": publishing_request,
        }
        for spec, payload in zip(specs, _payloads_per_agency(specs), strict=True)
    ]
    # As in publish_many: each event names its own tenant, whatever the caller's scope.
    with all_tenants():
        bulk.copy_rows(Event, rows)
    ids = [row["id"] for row in rows]
    _pending_batch().batched_ids.extend(ids)
    return ids


def _check_publishable(types: Iterable[str]) -> None:
    if not connection.in_atomic_block:
        raise OutboxError(
            "publish() must run inside the transaction that makes the change "
            "(wrap the service in transaction.atomic)"
        )
    for event_type in types:
        if event_type not in EVENT_TYPES:
            raise OutboxError(f"unknown event type {event_type!r}: register it in the catalogue")


def _row(event: Event) -> dict:
    """The columns a new event sets; the rest (dispatch state) take their defaults."""
    return {
        "tenant_id": event.tenant_id,
        "id": event.pk,
        "type": event.type,
        "subject_id": event.subject_id,
        "payload": event.payload,
        "created_at": event.created_at,
        "request_id": event.request_id,
    }


def _payloads_per_agency(specs: list[EventSpec]) -> list[dict]:
    """Each event's payload as its agency may be told it: one shaper call per type."""
    payloads = [spec.payload for spec in specs]
    by_type: dict[str, list[int]] = {}
    for index, spec in enumerate(specs):
        if spec.type in PAYLOAD_SHAPERS:
            by_type.setdefault(spec.type, []).append(index)
    for event_type, indexes in by_type.items():
        shaped = PAYLOAD_SHAPERS[event_type](
            [specs[i].tenant for i in indexes], [specs[i].payload for i in indexes]
        )
        for index, payload in zip(indexes, shaped, strict=True):
            payloads[index] = payload
    return payloads


@dataclass
class _Batch:
    event_ids: list[str] = field(default_factory=list)
    fanouts: list[list[str]] = field(default_factory=list)
    batched_ids: list[str] = field(default_factory=list)

    def flush(self) -> None:
        dispatch_events = queue.task(queue.DISPATCH_EVENTS)
        ids, self.event_ids = self.event_ids, []
        fanouts, self.fanouts = self.fanouts, []
        batched, self.batched_ids = self.batched_ids, []
        # Ordinary events go with this transaction's message only if no dispatch
        # message is outstanding; otherwise that message's task finds them
        # (hub/events/wakeup.py). Fan-outs and batches keep their own message: its
        # task sends their webhooks as one batch.
        woken = bool(ids) and wakeup.request()
        chunks = _chunks(ids, DISPATCH_CHUNK) if woken else []
        for fanout in fanouts:
            chunks += _chunks(fanout, FANOUT_CHUNK)
        chunks += _chunks(batched, BATCHED_DISPATCH_LIMIT)
        for chunk in chunks:
            try:
                dispatch_events.delay(chunk)
            except Exception:  # the broker is down: the periodic sweep dispatches them
                logger.warning("could not enqueue dispatch of %d event(s)", len(chunk))
                if woken:
                    wakeup.release()  # let the next commit try the broker again
                    woken = False


def _chunks(ids: list[str], size: int) -> list[list[str]]:
    return [ids[start : start + size] for start in range(0, len(ids), size)]


_local = threading.local()


def _pending_batch() -> _Batch:
    """The batch whose flush is registered on the current transaction's commit.

    A rollback discards Django's commit hooks, and with them the batch: the next
    publish finds its flush gone from the connection and starts a new one.
    """
    batch = getattr(_local, "batch", None)
    if batch is None or not any(hook[1] == batch.flush for hook in connection.run_on_commit):
        batch = _local.batch = _Batch()
        transaction.on_commit(batch.flush)
    return batch
