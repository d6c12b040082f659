"""The real path: commit → broker → Celery worker → signed HTTP delivery.

Runs a Celery worker in-process against the configured broker (Redis in CI, the
filesystem transport on a laptop) and a committed database (transactional test).
"""

import pytest
from celery.contrib.testing.worker import start_worker
from django.db import transaction

from hub.celery import app as celery_app
from hub.events import endpoints
from hub.events.catalogue import register_event_type
from hub.events.outbox import publish
from tests.support.receiver import WebhookReceiver

EVENT = register_event_type("test.worker", "Used by the worker end-to-end test")


@pytest.fixture
def worker():
    celery_app.control.purge()  # stale messages from earlier runs would be noise
    with start_worker(
        celery_app, pool="threads", concurrency=2, perform_ping_check=False, loglevel="WARNING"
    ):
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
