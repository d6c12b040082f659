"""Sending webhook deliveries in batches: claim, send concurrently, record in bulk.

One batch is three steps, and no HTTP call happens while a row lock or a transaction
is open:

1. **Claim** (one statement, committed at once): ``UPDATE … SET next_attempt_at =
   now + LEASE WHERE id IN (SELECT … due … LIMIT n FOR UPDATE SKIP LOCKED)
   RETURNING id``. The lease is what keeps two workers from sending the same attempt:
   a leased delivery is not due for anyone else, and ``SKIP LOCKED`` makes a
   concurrent claimer take other rows instead of waiting for ours.
2. **Send**: the claimed deliveries are grouped by destination (scheme, host, port)
   and each destination's are sent one after another over its kept-alive connection,
   many destinations at once on a thread pool. The pool threads only sign and POST;
   every database access stays in the calling thread.
3. **Record**: as results come back, the calling thread writes whatever has arrived
   in one transaction: the attempts with one ``INSERT``, the deliveries with one
   ``UPDATE``, the endpoints' failure counts. Results of many destinations share a
   transaction; a destination's next delivery is sent once its previous attempt is
   committed, so a worker killed mid-batch leaves at most one sent-but-unrecorded
   delivery per destination (sent again when the lease ends: at least once, as
   Standard Webhooks promise; receivers deduplicate by ``webhook-id``).

Why threads and the synchronous httpx client rather than httpx's async client: the
connections must outlive one batch (kept alive from one task to the next), and an
asyncio client's connections belong to the event loop that opened them, so the loop
would have to run for ever in a thread of its own anyway. Sockets release the GIL
while they wait, which is all the concurrency a fan-out needs, and Django's database
connections, which are per thread, stay in the one thread that owns them.

The circuit breaker: an endpoint whose last ``CIRCUIT_OPENS_AFTER`` attempts all
failed (``consecutive_failures``) is open. A batch then sends it one delivery (the
probe) and holds back the rest for ``CIRCUIT_PROBE_EVERY`` without counting an
attempt; a probe that succeeds closes the circuit and the held-back deliveries go
out with the next batch. So a dead agency system costs one attempt a minute instead
of a timeout per delivery, and a batch is not stalled behind it.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections import OrderedDict, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from queue import Empty, SimpleQueue
from urllib.parse import urlsplit

import httpx
from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from hub.events import queue, signing
from hub.events.destinations import (
    ForbiddenDestination,
    PinnedTransport,
    check_destination,
    proxy_for,
    tls_context,
)
from hub.events.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from hub.observability.webhooks import observe_attempts
from tenants.scope import all_tenants

DEFAULT_RETRY_SCHEDULE = (5, 300, 1800, 7200, 18000, 36000, 36000)  # seconds, ≈ 27.6 h
CONNECT_TIMEOUT, READ_TIMEOUT = 3.0, 5.0
# Longer than any one batch may spend sending (see SEND_WINDOW). It is also how long a
# delivery that was in flight when its worker died waits before it is sent again.
LEASE = timedelta(seconds=settings.HUB_WEBHOOK_LEASE_SECONDS)
# A batch starts no new send after half its lease: one started then ends within
# CONNECT_TIMEOUT + READ_TIMEOUT, so it is recorded before the lease runs out. What is
# left is given back, due at once, to a follow-up task.
SEND_WINDOW = LEASE / 2
EXCERPT_BYTES = 2048
USER_AGENT = "hub-webhooks/1.0"
# Deliveries claimed per batch (one claim statement, one load, a few writes).
BATCH_SIZE = getattr(settings, "HUB_WEBHOOK_BATCH_SIZE", 200)
# Threads sending at once, per worker process: destinations are sent to in parallel.
SEND_THREADS = getattr(settings, "HUB_WEBHOOK_SEND_THREADS", 16)
# Connections one worker thread keeps to one destination. One keeps an agency's
# system from being flooded (a hub with N worker threads opens at most N), keeps the
# deliveries to one endpoint in order, and bounds what a killed worker leaves sent but
# unrecorded to one delivery per destination.
CONNECTIONS_PER_DESTINATION = getattr(settings, "HUB_WEBHOOK_CONNECTIONS_PER_DESTINATION", 1)
KEEPALIVE_SECONDS = 15.0
DESTINATIONS_KEPT = 256  # per worker thread; the least recently used are closed
CIRCUIT_OPENS_AFTER = getattr(settings, "HUB_WEBHOOK_CIRCUIT_OPENS_AFTER", 5)
CIRCUIT_PROBE_EVERY = timedelta(seconds=getattr(settings, "HUB_WEBHOOK_CIRCUIT_PROBE_SECONDS", 60))
# A task that drains due deliveries hands over to a fresh task after this long, well
# inside Celery's soft time limit.
DRAIN_SECONDS = 240.0
RECORD_WAIT_SECONDS = 60.0  # a lane waits this long at most for its attempt's commit
RETRY_BY_TASK_UP_TO = 600  # seconds; later retries are found by the periodic sweep

# Per worker thread, like the requests session it replaces (hence the name): the
# httpx clients, one per destination, with their kept-alive connections.
_local = threading.local()
logger = logging.getLogger(__name__)
# httpx logs every request at INFO, with its URL: an agency's endpoint URL may carry a
# token, and a fan-out would write a line per delivery. Attempts are in the database.
logging.getLogger("httpx").setLevel(logging.WARNING)


@dataclass(frozen=True)
class AttemptResult:
    status_code: int | None
    latency_ms: int
    excerpt: str
    error: str

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def retry_schedule() -> tuple[int, ...]:
    return tuple(getattr(settings, "HUB_WEBHOOK_RETRY_SCHEDULE", DEFAULT_RETRY_SCHEDULE))


def event_body(delivery: WebhookDelivery) -> bytes:
    event = delivery.event
    return json.dumps(
        {
            "id": event.pk,
            "type": event.type,
            "created_at": event.created_at.isoformat().replace("+00:00", "Z"),
            "tenant": delivery.tenant.slug,
            "data": event.payload,
        },
        separators=(",", ":"),
        default=str,
    ).encode()


def signing_secrets(endpoint: WebhookEndpoint, now) -> list[str]:
    secrets_ = [endpoint.secret]
    if (
        endpoint.previous_secret
        and endpoint.previous_secret_expires_at
        and (endpoint.previous_secret_expires_at > now)
    ):
        secrets_.append(endpoint.previous_secret)
    return secrets_


def request_headers(
    *, message_id: str, body: bytes, secrets_: list[str], request_id: str = ""
) -> dict[str, str]:
    """Every header of an outgoing webhook request: the one place they are built.

    Signed when sent (the timestamp is the sending moment, as receivers check it)."""
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        # Only an excerpt of the reply is kept: it must not need decompressing.
        "Accept-Encoding": "identity",
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signing.signature_header(
            secrets_=secrets_, message_id=message_id, timestamp=timestamp, body=body
        ),
    }
    if request_id:  # the API call that caused the event (hub/observability)
        headers["X-Request-Id"] = request_id
    return headers


# --------------------------------------------------------------------------- sending


@dataclass(frozen=True)
class Outgoing:
    """A claimed delivery, ready to send: plain values only (the pool threads send it)."""

    delivery_id: str
    endpoint_id: str
    url: str
    message_id: str
    body: bytes
    secrets: tuple[str, ...]
    request_id: str = ""


def post(client: httpx.Client, item: Outgoing) -> AttemptResult:
    """One signed POST: no redirects followed, short timeouts, a bounded excerpt."""
    headers = request_headers(
        message_id=item.message_id,
        body=item.body,
        secrets_=item.secrets,
        request_id=item.request_id,
    )
    started = time.monotonic()
    try:
        with client.stream(
            "POST",
            item.url,
            content=item.body,
            headers=headers,
            timeout=httpx.Timeout(READ_TIMEOUT, connect=CONNECT_TIMEOUT),
            follow_redirects=False,
        ) as response:
            excerpt = b""
            # Raw bytes, never decompressed: a small gzip reply can inflate to megabytes.
            for chunk in response.iter_raw():
                excerpt += chunk
                if len(excerpt) >= EXCERPT_BYTES:
                    break
            return AttemptResult(
                status_code=response.status_code,
                latency_ms=_ms_since(started),
                excerpt=excerpt[:EXCERPT_BYTES].decode("utf-8", errors="replace"),
                error="",
            )
    except ForbiddenDestination as exc:
        return AttemptResult(None, _ms_since(started), "", f"refused: {exc}")
    except Exception as exc:  # any failure to send is a failed attempt, not a lost batch
        return AttemptResult(None, _ms_since(started), "", f"{type(exc).__name__}: {exc}"[:500])


def _ms_since(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def _origin(url: str) -> tuple[str, str, int]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    return scheme, (parts.hostname or "").lower(), parts.port or (443 if scheme == "https" else 80)


class _Clients:
    """One httpx client (a connection pool) per destination, for one worker thread."""

    def __init__(self) -> None:
        self._clients: OrderedDict[tuple, httpx.Client] = OrderedDict()

    def for_url(self, url: str) -> httpx.Client:
        key = _origin(url)
        client = self._clients.get(key)
        if client is not None:
            self._clients.move_to_end(key)
            return client
        limits = httpx.Limits(
            max_connections=CONNECTIONS_PER_DESTINATION,
            max_keepalive_connections=CONNECTIONS_PER_DESTINATION,
            keepalive_expiry=KEEPALIVE_SECONDS,
        )
        proxy = proxy_for(url)
        if proxy:
            client = httpx.Client(proxy=proxy, limits=limits, verify=tls_context(), trust_env=False)
        else:
            client = httpx.Client(transport=PinnedTransport(limits=limits), trust_env=False)
        self._clients[key] = client
        while len(self._clients) > DESTINATIONS_KEPT:
            _, oldest = self._clients.popitem(last=False)
            oldest.close()
        return client


def _clients() -> _Clients:
    clients = getattr(_local, "session", None)
    if clients is None:
        clients = _local.session = _Clients()
    return clients


_executor_lock = threading.Lock()
_executor_state: dict = {}


def _executor() -> ThreadPoolExecutor:
    """The process's sending threads, made on first use (so after a prefork fork)."""
    with _executor_lock:
        if _executor_state.get("pid") != os.getpid():
            _executor_state.update(
                pid=os.getpid(),
                pool=ThreadPoolExecutor(max_workers=SEND_THREADS, thread_name_prefix="webhooks"),
            )
        return _executor_state["pool"]


class _Breaker:
    """One endpoint's circuit during a batch, shared by the lanes that send to it."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.holding = False  # open, and its probe is used up (or it opened just now)
        self.lock = threading.Lock()

    def may_send(self) -> bool:
        with self.lock:
            if self.failures < CIRCUIT_OPENS_AFTER:
                return True
            if self.holding:
                return False
            self.holding = True  # this send is the probe
            return True

    def record(self, succeeded: bool) -> None:
        with self.lock:
            if succeeded:
                self.failures, self.holding = 0, False
            else:
                self.failures += 1
                if self.failures >= CIRCUIT_OPENS_AFTER:
                    self.holding = True


@dataclass
class _Done:
    item: Outgoing
    result: AttemptResult | None  # None: not sent, given back
    attempted_at: object = None
    held_by_circuit: bool = False
    # Set once the attempt is committed. A lane sends its next delivery only then, so
    # a worker killed mid-batch leaves at most one sent-but-unrecorded delivery per
    # lane (per destination), as when each delivery was its own task.
    recorded: threading.Event = field(default_factory=threading.Event)


@dataclass
class _Lane:
    """The deliveries one connection sends, in order."""

    client: httpx.Client
    url: str
    items: list[Outgoing] = field(default_factory=list)


def _run_lane(
    lane: _Lane, breakers: dict, results: SimpleQueue, deadline: float, clock, stop
) -> None:
    done = 0
    try:
        try:
            check_destination(lane.url)  # once per destination and batch
            refusal = None
        except ForbiddenDestination as exc:
            refusal = f"refused: {exc}"
        except Exception as exc:  # a name the resolver chokes on: a failed attempt too
            refusal = f"{type(exc).__name__}: {exc}"[:500]
        for item in lane.items:
            breaker = breakers[item.endpoint_id]
            if stop.is_set() or time.monotonic() > deadline:
                results.put(_Done(item, None))
            elif not breaker.may_send():
                results.put(_Done(item, None, held_by_circuit=True))
            else:
                attempted_at = clock()
                result = AttemptResult(None, 0, "", refusal) if refusal else post(lane.client, item)
                breaker.record(result.succeeded)
                sent = _Done(item, result, attempted_at)
                results.put(sent)
                done += 1
                more = done < len(lane.items)
                if more and not sent.recorded.wait(RECORD_WAIT_SECONDS):
                    stop.set()
                continue
            done += 1
    finally:
        # Whatever stopped this lane, every delivery in it is reported (given back).
        for item in lane.items[done:]:
            results.put(_Done(item, None))


# --------------------------------------------------------------------------- claiming


def claim_due(*, now, limit: int = BATCH_SIZE, delivery_ids=None) -> list[str]:
    """Lease up to ``limit`` due deliveries (of those ids, if given); their ids.

    One statement in autocommit: the lease is committed before anything is sent, and
    no row stays locked. Every agency's deliveries: the worker claims before it knows
    whose they are."""
    if delivery_ids is not None and not delivery_ids:
        return []
    table = connection.ops.quote_name(WebhookDelivery._meta.db_table)
    adapt = connection.ops.adapt_datetimefield_value
    params: list = [adapt(now + LEASE), WebhookDelivery.Status.PENDING, adapt(now)]
    only = ""
    if delivery_ids is not None:
        only = f" AND id IN ({', '.join(['%s'] * len(delivery_ids))})"
        params += list(delivery_ids)
    params.append(limit)
    # SQLite has no row locks (nor needs them: it runs one writing statement at a time).
    skip_locked = (
        " FOR UPDATE SKIP LOCKED" if connection.features.has_select_for_update_skip_locked else ""
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET next_attempt_at = %s WHERE id IN ("  # noqa: S608 (no input)
            f"SELECT id FROM {table} WHERE status = %s AND next_attempt_at <= %s{only}"
            f" ORDER BY next_attempt_at LIMIT %s{skip_locked}) RETURNING id",
            params,
        )
        return [row[0] for row in cursor.fetchall()]


def _load(ids: list[str], *, now) -> tuple[dict[str, WebhookDelivery], list[Outgoing]]:
    # The worker loads the deliveries it claimed, of whichever agencies they are.
    with all_tenants():
        rows = list(
            WebhookDelivery.objects.filter(pk__in=ids)
            .select_related("event", "tenant")
            .order_by("created_at", "pk")
        )
        endpoints = {
            e.pk: e for e in WebhookEndpoint.objects.filter(pk__in={r.endpoint_id for r in rows})
        }
    bodies: dict[str, bytes] = {}
    outgoing = []
    for row in rows:
        row.endpoint = endpoints[row.endpoint_id]
        if row.event_id not in bodies:
            bodies[row.event_id] = event_body(row)
        outgoing.append(
            Outgoing(
                delivery_id=row.pk,
                endpoint_id=row.endpoint_id,
                url=row.endpoint.url,
                message_id=row.event_id,
                body=bodies[row.event_id],
                secrets=tuple(signing_secrets(row.endpoint, now)),
                request_id=row.event.request_id,
            )
        )
    return {row.pk: row for row in rows}, outgoing


# --------------------------------------------------------------------------- a batch


def send_due(*, now=None, limit: int = BATCH_SIZE, delivery_ids=None) -> list[WebhookAttempt]:
    """One batch: claim (commit), send concurrently, record in bulk (commit).

    ``now`` fixes the clock (tests); otherwise each attempt is timed when it is sent."""
    claim_at = now or timezone.now()
    claimed = claim_due(now=claim_at, limit=limit, delivery_ids=delivery_ids)
    if not claimed:
        return []
    rows, outgoing = _load(claimed, now=claim_at)
    clock = (lambda: now) if now is not None else timezone.now
    clients = _clients()
    lanes: dict[tuple, list[_Lane]] = {}
    for item in outgoing:
        key = _origin(item.url)
        if key not in lanes:
            client = clients.for_url(item.url)
            lanes[key] = [_Lane(client, item.url) for _ in range(CONNECTIONS_PER_DESTINATION)]
        group = lanes[key]
        min(group, key=lambda lane: len(lane.items)).items.append(item)
    breakers = {
        row.endpoint_id: _Breaker(row.endpoint.consecutive_failures) for row in rows.values()
    }
    results: SimpleQueue = SimpleQueue()
    deadline = time.monotonic() + SEND_WINDOW.total_seconds()
    stop = threading.Event()  # the batch failed to record: lanes give back the rest
    executor = _executor()
    for group in lanes.values():
        for lane in group:
            if lane.items:
                executor.submit(_run_lane, lane, breakers, results, deadline, clock, stop)
    wait = SEND_WINDOW.total_seconds() + 2 * (CONNECT_TIMEOUT + READ_TIMEOUT) + 30
    attempts: list[WebhookAttempt] = []
    remaining = len(outgoing)
    try:
        while remaining:
            arrived = [results.get(timeout=wait)]
            while True:
                try:
                    arrived.append(results.get_nowait())
                except Empty:
                    break
            remaining -= len(arrived)
            try:
                attempts += _record(arrived, rows, now=now)
            finally:
                for done in arrived:
                    done.recorded.set()
    except BaseException:
        # Unrecorded deliveries stay leased and are sent again when the lease ends.
        stop.set()
        raise
    return attempts


def _record(arrived: list[_Done], rows: dict[str, WebhookDelivery], *, now) -> list[WebhookAttempt]:
    """Write what came back, atomically: attempts, deliveries, endpoints."""
    schedule = retry_schedule()
    released_at = now or timezone.now()
    attempts, changed = [], []
    given_back, held = [], []
    retries: dict[int, list[str]] = defaultdict(list)
    # Per endpoint, in sending order: (succeeded, last attempt of that delivery)
    outcomes: dict[str, list[tuple[bool, bool]]] = defaultdict(list)
    for done in arrived:
        delivery = rows[done.item.delivery_id]
        if done.result is None:
            (held if done.held_by_circuit else given_back).append(delivery.pk)
            continue
        result, at = done.result, done.attempted_at
        delivery.attempt_count += 1
        attempts.append(
            WebhookAttempt(
                delivery_id=delivery.pk,
                number=delivery.attempt_count,
                attempted_at=at,
                status_code=result.status_code,
                latency_ms=result.latency_ms,
                response_excerpt=result.excerpt[:EXCERPT_BYTES],
                error=result.error,
                succeeded=result.succeeded,
            )
        )
        final = False
        if result.succeeded:
            delivery.status = WebhookDelivery.Status.SUCCEEDED
            delivery.completed_at = at
            delivery.next_attempt_at = None
        elif delivery.attempt_count <= len(schedule):
            delay = schedule[delivery.attempt_count - 1]
            delivery.next_attempt_at = at + timedelta(seconds=delay)
            if delay <= RETRY_BY_TASK_UP_TO:
                retries[delay].append(delivery.pk)
        else:
            final = True
            delivery.status = WebhookDelivery.Status.FAILED
            delivery.completed_at = at
            delivery.next_attempt_at = None
        changed.append(delivery)
        outcomes[delivery.endpoint_id].append((result.succeeded, final))

    # Still the worker, outside any scope: the deliveries and endpoints belong to
    # whichever agencies the events were for.
    with all_tenants():
        health = _endpoint_health(outcomes, rows, now=released_at)
        if given_back or held or health or connection.vendor != "postgresql":
            with transaction.atomic():
                _write_attempts(attempts, changed)
                pending = WebhookDelivery.objects.filter(status=WebhookDelivery.Status.PENDING)
                if given_back:
                    pending.filter(pk__in=given_back).update(next_attempt_at=released_at)
                if held:
                    pending.filter(pk__in=held).update(
                        next_attempt_at=released_at + CIRCUIT_PROBE_EVERY
                    )
                for change in health:
                    change()
        else:
            # The usual case, every result a plain outcome: one statement, atomic on its
            # own, so no BEGIN and COMMIT round trips either.
            _write_attempts(attempts, changed)
    # Written (committed): bulk inserts send no post_save, so the attempt metrics
    # (hub/observability) are told here.
    observe_attempts(attempts)
    for delay, ids in retries.items():
        _enqueue(ids, delay)
    if given_back:
        _enqueue(given_back, 0)
    if held:
        _enqueue(held, int(CIRCUIT_PROBE_EVERY.total_seconds()))
    return attempts


_ATTEMPT_COLUMNS = (
    "delivery_id",
    "number",
    "attempted_at",
    "status_code",
    "latency_ms",
    "response_excerpt",
    "error",
    "succeeded",
)


def _write_attempts(attempts: list[WebhookAttempt], changed: list[WebhookDelivery]) -> None:
    """The attempts and their deliveries' new state.

    On PostgreSQL one statement: ``WITH … INSERT … RETURNING`` the attempts, and one
    ``UPDATE … FROM (VALUES …)`` of the deliveries. Elsewhere ``bulk_create`` and
    ``bulk_update`` (which builds a ``CASE`` per row and column: fine for SQLite's
    small hubs, slow for a big batch), in the caller's transaction."""
    if not attempts:
        return
    if connection.vendor != "postgresql":
        WebhookAttempt.objects.bulk_create(attempts)
        WebhookDelivery.objects.bulk_update(
            changed, ["attempt_count", "status", "completed_at", "next_attempt_at"]
        )
        return
    quote = connection.ops.quote_name
    attempt_rows = ", ".join(
        ["(%s, %s::integer, %s::timestamptz, %s::integer, %s::integer, %s, %s, %s::boolean)"]
        * len(attempts)
    )
    delivery_rows = ", ".join(
        ["(%s, %s::integer, %s, %s::timestamptz, %s::timestamptz)"] * len(changed)
    )
    params: list = []
    for attempt in attempts:
        params += [getattr(attempt, column) for column in _ATTEMPT_COLUMNS]
    for delivery in changed:
        params += [
            delivery.pk,
            delivery.attempt_count,
            delivery.status,
            delivery.completed_at,
            delivery.next_attempt_at,
        ]
    attempt_table = quote(WebhookAttempt._meta.db_table)
    delivery_table = quote(WebhookDelivery._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH inserted AS (INSERT INTO {attempt_table} ({', '.join(_ATTEMPT_COLUMNS)})"  # noqa: S608
            f" VALUES {attempt_rows} RETURNING id, delivery_id),"
            f" updated AS (UPDATE {delivery_table} AS d SET attempt_count = v.attempt_count,"
            " status = v.status, completed_at = v.completed_at,"
            " next_attempt_at = v.next_attempt_at"
            f" FROM (VALUES {delivery_rows})"
            " AS v(id, attempt_count, status, completed_at, next_attempt_at)"
            " WHERE d.id = v.id RETURNING 1)"
            " SELECT id, delivery_id FROM inserted",
            params,
        )
        ids = dict((delivery_id, pk) for pk, delivery_id in cursor.fetchall())
    for attempt in attempts:
        attempt.pk = ids[attempt.delivery_id]
        attempt._state.adding = False


def _endpoint_health(
    outcomes: dict[str, list[tuple[bool, bool]]], rows: dict[str, WebhookDelivery], *, now
) -> list:
    """The endpoint writes a batch's outcomes call for (each a callable); usually none."""
    endpoints = {row.endpoint_id: row.endpoint for row in rows.values()}
    changes, healthy = [], []
    for endpoint_id, results in outcomes.items():
        last_success = max((i for i, (ok, _) in enumerate(results) if ok), default=None)
        after = results if last_success is None else results[last_success + 1 :]
        failures = len(after)
        flag = any(final for _, final in after)
        endpoint = WebhookEndpoint.objects.filter(pk=endpoint_id)
        if last_success is None:
            changes.append(
                partial(
                    endpoint.update,
                    consecutive_failures=F("consecutive_failures") + failures,
                    **({"flagged_at": now} if flag else {}),
                )
            )
        elif failures:
            changes.append(
                partial(
                    endpoint.update, consecutive_failures=failures, flagged_at=now if flag else None
                )
            )
        elif endpoints[endpoint_id].consecutive_failures or endpoints[endpoint_id].flagged_at:
            healthy.append(endpoint_id)
    if healthy:
        # One statement for the endpoints that only succeeded and had failures or a flag
        # to clear when the batch was claimed: a healthy endpoint's row is not rewritten
        # (nor locked) by every batch that delivers to it. (A failure another worker
        # counts meanwhile is cleared by the next batch that finds it.)
        clear = WebhookEndpoint.objects.filter(pk__in=healthy).filter(
            Q(consecutive_failures__gt=0) | Q(flagged_at__isnull=False)
        )
        changes.append(partial(clear.update, consecutive_failures=0, flagged_at=None))
    return changes


# --------------------------------------------------------------------------- entry points


def deliver(delivery_ids=None, *, now=None, budget: float = DRAIN_SECONDS) -> int:
    """Send batches until nothing (of ``delivery_ids``, if given) is due; attempts made.

    After ``budget`` seconds a fresh task takes over what is still due."""
    started = time.monotonic()
    ids = list(delivery_ids) if delivery_ids is not None else None
    made = 0
    while True:
        if ids is not None:
            chunk, ids = ids[:BATCH_SIZE], ids[BATCH_SIZE:]
            made += len(send_due(now=now, delivery_ids=chunk))
            if not ids:
                return made
        else:
            attempts = send_due(now=now)
            made += len(attempts)
            if not attempts and not due_delivery_ids(now=now, limit=1):
                return made
        if time.monotonic() - started > budget:
            _enqueue_after_commit(ids, 0)
            return made


def attempt_delivery(delivery_id: str, *, now=None) -> WebhookAttempt | None:
    """One attempt if the delivery is due; None if it is not (or another worker has it)."""
    attempts = send_due(now=now, limit=1, delivery_ids=[delivery_id])
    return attempts[0] if attempts else None


def enqueue_now(delivery_id: str) -> None:
    _enqueue_after_commit([delivery_id], 0)


def _enqueue_after_commit(delivery_ids: list[str] | None, delay: int) -> None:
    transaction.on_commit(lambda: _send_task(delivery_ids, delay))


def _enqueue(delivery_ids: list[str], delay: int) -> None:
    ids = list(delivery_ids)
    transaction.on_commit(lambda: _send_task(ids, delay))


def _send_task(delivery_ids: list[str] | None, delay: int) -> None:
    deliver_webhooks = queue.task(queue.DELIVER_WEBHOOKS)
    try:
        deliver_webhooks.apply_async(args=[delivery_ids], countdown=delay)
    except Exception:  # the broker is down: the periodic sweep sends them when due
        logger.warning("could not enqueue %s deliveries", len(delivery_ids or ()) or "due")


def enqueue_due(*, now=None, parallel: int = 4) -> int:
    """The sweep: hand due deliveries to a few draining tasks (not a task each).

    Each task claims its own batches (``SKIP LOCKED``), so several can drain a backlog
    at once; returns how many tasks were queued."""
    due = len(due_delivery_ids(now=now, limit=BATCH_SIZE * parallel))
    tasks = min(parallel, -(-due // BATCH_SIZE))
    for _ in range(tasks):
        _send_task(None, 0)
    return tasks


def due_delivery_ids(*, now=None, limit: int = 1000) -> list[str]:
    now = now or timezone.now()
    # The retry sweep finds due deliveries of every agency.
    with all_tenants():
        return list(
            WebhookDelivery.objects.filter(
                status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=now
            )
            .order_by("next_attempt_at")
            .values_list("pk", flat=True)[:limit]
        )


def replay(delivery: WebhookDelivery) -> None:
    """Operator action: send a delivery again now, whatever its state."""
    # Operator action in the hub admin: the delivery may be any agency's.
    with all_tenants():
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            status=WebhookDelivery.Status.PENDING,
            next_attempt_at=timezone.now(),
            completed_at=None,
        )
    enqueue_now(delivery.pk)


def replay_failed(endpoint: WebhookEndpoint) -> int:
    # Operator action in the hub admin on one endpoint: the filter keeps to its agency.
    with all_tenants():
        failed = list(
            WebhookDelivery.objects.filter(
                endpoint=endpoint, status=WebhookDelivery.Status.FAILED
            ).values_list("pk", flat=True)
        )
        WebhookDelivery.objects.filter(pk__in=failed).update(
            status=WebhookDelivery.Status.PENDING,
            next_attempt_at=timezone.now(),
            completed_at=None,
        )
    for start in range(0, len(failed), BATCH_SIZE):
        _enqueue(failed[start : start + BATCH_SIZE], 0)
    return len(failed)
