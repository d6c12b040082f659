"""The real path: commit → broker → Celery worker → signed HTTP delivery.

Runs a Celery worker in-process against the configured broker (Redis in CI, the
filesystem transport on a laptop) and a committed database (transactional test).
"""

import time
from contextlib import contextmanager

import pytest
from celery.contrib.testing.worker import start_worker
from django.db import connection, transaction

from hub.celery import app as celery_app
from hub.events import endpoints
from hub.events.catalogue import register_event_type
from hub.events.outbox import publish
from tests.support.receiver import WebhookReceiver

EVENT = register_event_type(
    "test.worker", "Used by the worker end-to-end test", read_scope="payments:read"
)


@contextmanager
def in_process_worker(pool: str, concurrency: int):
    """A Celery worker in this process, as production runs one in its own.

    The worker keeps its database connections across tasks (CELERY_DB_REUSE_MAX), and a
    connection belongs to the thread that ran the task: a worker process closes them when
    it exits, threads of this process that have stopped do not. They are ended here, or
    the test database could not be dropped."""
    celery_app.control.purge()  # stale messages from earlier runs would be noise
    before = _other_sessions()
    with start_worker(
        celery_app, pool=pool, concurrency=concurrency, perform_ping_check=False, loglevel="WARNING"
    ):
        yield
    left = _other_sessions() - before
    if left:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(pid) FROM unnest(%s) AS pid", [list(left)])


def _other_sessions() -> set[int]:
    if connection.vendor != "postgresql":
        return set()  # SQLite: no server sessions to end
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return {pid for (pid,) in cursor.fetchall()}


@pytest.fixture
def worker():
    with in_process_worker(pool="threads", concurrency=2):
        yield


@pytest.mark.django_db(transaction=True)
def test_commit_reaches_the_receiver_through_the_worker(tenant, other_tenant, worker):
    receiver = WebhookReceiver().start()
    bystander = WebhookReceiver().start()
    try:
        receiver.secret = endpoints.create_endpoint(
            tenant=tenant, url=receiver.url, event_types=["test.*"]
        ).secret
        bystander.secret = endpoints.create_endpoint(
            tenant=other_tenant, url=bystander.url, event_types=["*"]
        ).secret
        with transaction.atomic():
            for n in range(3):
                publish(tenant=tenant, type=EVENT, subject_id=f"s{n}", payload={"n": n})
        assert receiver.wait_for(3, timeout=20), receiver.received
        assert sorted(r.json["data"]["n"] for r in receiver.verified()) == [0, 1, 2]
        assert bystander.received == []
    finally:
        receiver.stop()
        bystander.stop()


BACKENDS: list[int] = []


@celery_app.task(name="tests.record_database_backend")
def record_database_backend() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        BACKENDS.append(cursor.fetchone()[0])


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_worker_keeps_its_database_connection_across_tasks():
    # Celery's Django fix-up closes connections after every task unless
    # CELERY_DB_REUSE_MAX is set; one new PostgreSQL backend per task is slow.
    BACKENDS.clear()
    with in_process_worker(pool="solo", concurrency=1):
        for _ in range(3):
            record_database_backend.delay()
        deadline = time.monotonic() + 20
        while len(BACKENDS) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
    assert len(BACKENDS) == 3
    assert len(set(BACKENDS)) == 1, BACKENDS
