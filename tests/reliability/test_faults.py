"""Fault tests: the hub's guarantees while Redis or a worker fails, with the real pieces.

Each test starts its own redis-server on a free port (so it can stop it without touching
anyone else's), real ``celery worker`` and ``celery beat`` processes on the test's
PostgreSQL database, and breaks one of them: Redis killed and started again during API
writes, a worker's whole process group SIGKILLed during a collection run and during
webhook deliveries. What must hold: no server error, every event delivered once the
broker is back, no instalment presented twice, nothing lost, the ledger balanced.

The sweepers run every second here (HUB_*_SWEEP_SECONDS) so that recovery, which takes
minutes with the production defaults, fits a test; tests/support/faults.py has the set-up.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections import Counter

import pytest
from django.db import transaction
from lxml import etree
from rest_framework.test import APIClient

from collection.models import CollectionAttempt, CollectionRun, Instalment
from collection.services import outcomes, runs
from hub.events import endpoints
from hub.events.catalogue import register_event_type
from hub.events.models import Event, WebhookDelivery
from hub.events.outbox import EventSpec, publish_many
from payments import selectors as payments_selectors
from tenants import services as tenant_services
from tenants.scope import all_tenants, tenant_scope
from tests.collection.conftest import Collections
from tests.conftest import client_for
from tests.support.faults import (
    CeleryProcess,
    RedisServer,
    redis_at,
    subprocess_env,
    wait_until,
)
from tests.support.receiver import WebhookReceiver

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.faults,
    pytest.mark.django_db(transaction=True),
]

OUTAGE_SECONDS = 10
LEAP_DAY = dt.date(2024, 2, 29)  # submission day of instalments due Friday 1 March 2024
FAULT_EVENT = register_event_type(
    "test.fault", "Used by the fault tests", read_scope="payments:read"
)


@pytest.fixture
def redis(tmp_path):
    if not RedisServer.available():
        if os.environ.get("HUB_REQUIRE_POSTGRES") == "1":  # CI: these must run
            pytest.fail("redis-server is not installed")
        pytest.skip("redis-server is not installed")
    server = RedisServer(tmp_path).start()
    yield server
    server.stop()


@pytest.fixture
def hub(redis, tmp_path):
    """Start workers and beat on this test's database and Redis; this process (the web
    side: API requests, services) publishes to the same Redis."""
    started: list[CeleryProcess] = []
    env = subprocess_env(redis)

    def start(kind: str, wait: bool = True) -> CeleryProcess:
        process = CeleryProcess(kind, env, tmp_path)
        started.append(process)
        return process.start(wait=wait)

    start.logs = lambda: "\n".join(f"--- {p.name}\n{p.tail()}" for p in started)
    with redis_at(redis.url(0)):
        yield start
    for process in started:
        process.stop()


@pytest.fixture
def receiver():
    server = WebhookReceiver().start()
    yield server
    server.stop()


def delivered_ids(receiver: WebhookReceiver) -> set[str]:
    return {r.headers["webhook-id"] for r in receiver.verified()}


def event_ids(tenant, prefix: str) -> set[str]:
    with all_tenants():
        return set(
            Event.objects.filter(tenant=tenant, type__startswith=prefix).values_list(
                "pk", flat=True
            )
        )


def test_redis_stopped_during_api_writes_loses_no_request_and_no_event(
    tenant, redis, hub, receiver
):
    worker, beat = hub("worker", wait=False), hub("beat", wait=False)
    worker.wait_ready()
    beat.wait_ready()
    receiver.secret = endpoints.create_endpoint(
        tenant=tenant, url=receiver.url, event_types=["payment.*"]
    ).secret
    service = tenant_services.create_service(
        tenant=tenant, code="permits", name="Parking permits", interaction_kind="discretionary"
    )
    api = client_for(tenant)
    statuses: list[int] = []

    def write(n: int) -> None:
        body = {
            "amount": 1250,
            "currency": "EUR",
            "description": "Parking permit",
            "reference": f"PP-{n}",
            "service": service.pk,
        }
        statuses.append(
            api.post("/api/v1/payments", body, HTTP_IDEMPOTENCY_KEY=f"k{n}").status_code
        )

    for n in range(10):
        write(n)
    redis.stop()
    # Down for long enough that the worker's reconnection attempts back off a few times.
    back_at = time.monotonic() + OUTAGE_SECONDS
    n = 10
    while time.monotonic() < back_at:
        write(n)
        n += 1
        time.sleep(0.1)
    during = APIClient().get("/api/v1/health")
    redis.start()  # the same port, empty: whatever was queued in it is gone
    for after in range(n, n + 10):
        write(after)

    assert len(statuses) >= 40
    assert Counter(statuses) == {201: len(statuses)}
    assert during.status_code == 200
    assert during.json()["status"] == "degraded"
    assert {"broker", "cache"} <= set(during.json()["degraded"])
    expected = event_ids(tenant, "payment.")
    assert len(expected) >= len(statuses)
    # The outbox sweep (beat) re-dispatches what the broker never got or lost.
    assert wait_until(lambda: delivered_ids(receiver) >= expected, timeout=45), (
        f"{len(expected - delivered_ids(receiver))} of {len(expected)} events not delivered\n"
        + hub.logs()
    )
    # The worker and beat outlived the outage and reconnected by themselves.
    assert worker.alive() and beat.alive(), hub.logs()
    assert APIClient().get("/api/v1/health").json()["degraded"] == []


def test_worker_killed_during_a_collection_run_presents_nothing_twice_and_loses_nothing(
    tenant, hub, receiver
):
    # The processes start while the data is made (they take seconds to import Django).
    beat, first = hub("beat", wait=False), hub("worker", wait=False)
    collections = Collections(tenant)
    collections.update_settings(chunk_size=4)
    instalments = 120  # enough chunks of 4 that the kill lands mid-run with batched writes
    for _ in range(instalments):
        collections.debt_in_plan(amount=1200)  # three instalments of 400; the first is due
    receiver.secret = endpoints.create_endpoint(
        tenant=tenant, url=receiver.url, event_types=["instalment.submitted", "collection_run.*"]
    ).secret
    beat.wait_ready()
    first.wait_ready()
    with tenant_scope(tenant):
        run = runs.start_run(tenant=tenant, run_date=LEAP_DAY, trigger="api")
    assert run.selected_count == instalments

    def presented() -> int:
        with tenant_scope(tenant):
            return CollectionAttempt.objects.filter(run=run).count()

    assert wait_until(lambda: presented() >= 5, timeout=20, interval=0.01), hub.logs()
    first.kill()
    at_kill = presented()
    assert at_kill < instalments, "the run finished before the kill: make it bigger"

    hub("worker")

    def completed() -> bool:
        with tenant_scope(tenant):
            return CollectionRun.objects.get(pk=run.pk).state == CollectionRun.State.COMPLETED

    assert wait_until(completed, timeout=30), hub.logs()
    with tenant_scope(tenant):
        run.refresh_from_db()
        attempts = list(CollectionAttempt.objects.filter(run=run))
        states = Counter(Instalment.objects.filter(sequence=1).values_list("state", flat=True))
    # 0 double presentations: one attempt per instalment, each once in the bank file.
    per_instalment = Counter(a.instalment_id for a in attempts)
    assert len(per_instalment) == instalments and set(per_instalment.values()) == {1}
    assert states == {Instalment.State.SUBMITTED: instalments}
    assert run.submitted_count == instalments
    run.file.open("rb")
    document = etree.parse(run.file)
    run.file.close()
    in_file = [el.text for el in document.iter("{*}EndToEndId")]
    assert sorted(in_file) == sorted(a.end_to_end_id for a in attempts)
    # 0 lost events: one instalment.submitted per instalment, all delivered.
    with all_tenants():
        submitted = Counter(
            Event.objects.filter(tenant=tenant, type="instalment.submitted").values_list(
                "subject_id", flat=True
            )
        )
    assert len(submitted) == instalments and set(submitted.values()) == {1}
    expected = event_ids(tenant, "instalment.submitted") | event_ids(tenant, "collection_run.")
    assert wait_until(lambda: delivered_ids(receiver) >= expected, timeout=20), hub.logs()

    # The ledger: every presentation collected once, debits equal credits.
    with tenant_scope(tenant):
        confirmed = outcomes.confirm_matured_collections(tenant=tenant, today=dt.date(2024, 3, 1))
    assert confirmed == instalments
    assert payments_selectors.ledger_is_balanced(tenant=tenant)
    balances = payments_selectors.ledger_balances(tenant=tenant, currency="EUR")
    assert sorted(v for v in balances.values() if v > 0) == [instalments * 400]


def test_worker_killed_during_deliveries_loses_no_event(tenant, hub, receiver):
    receiver.delay = 0.05  # a slow agency system: the kill lands mid-fan-out
    receiver.secret = endpoints.create_endpoint(
        tenant=tenant, url=receiver.url, event_types=["test.*"]
    ).secret
    beat, first = hub("beat", wait=False), hub("worker", wait=False)
    beat.wait_ready()
    first.wait_ready()
    count = 120
    with transaction.atomic():
        publish_many(EventSpec(tenant, FAULT_EVENT, f"s{n}", {"n": n}) for n in range(count))
    expected = event_ids(tenant, "test.fault")
    assert len(expected) == count

    assert wait_until(lambda: len(delivered_ids(receiver)) >= 10, timeout=20, interval=0.01)
    first.kill()
    assert len(delivered_ids(receiver)) < count, "all delivered before the kill"

    hub("worker")
    assert wait_until(lambda: delivered_ids(receiver) >= expected, timeout=40), (
        f"{len(expected - delivered_ids(receiver))} of {count} never delivered\n" + hub.logs()
    )
    with all_tenants():
        deliveries = Counter(
            WebhookDelivery.objects.filter(tenant=tenant).values_list("status", flat=True)
        )
    assert wait_until(
        lambda: _delivery_states(tenant) == {WebhookDelivery.Status.SUCCEEDED: count}, timeout=10
    ), deliveries
    # At least once, as Standard Webhooks promise: a delivery in flight at the kill may
    # arrive twice (receivers deduplicate by webhook-id), but no more than the worker's
    # two pool processes had in hand.
    repeats = len(receiver.verified()) - count
    assert repeats <= 2, repeats


def _delivery_states(tenant) -> Counter:
    with all_tenants():
        return Counter(
            WebhookDelivery.objects.filter(tenant=tenant).values_list("status", flat=True)
        )
