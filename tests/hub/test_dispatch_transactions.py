"""The dispatcher holds no lock and no transaction of its own while subscribers run.

A subscriber may call a provider (reconciliation imports a Stripe payout on
``payout.paid``). Run inside the dispatch transaction, that call would keep the event
row locked and the webhook deliveries uncommitted for as long as Stripe takes, and one
failing subscriber would roll back the others. Here a subscriber stays "on the line"
until the test releases it, so the test can look at the database from another
connection meanwhile.
"""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from hub.events import dispatch, endpoints
from hub.events.catalogue import register_event_type
from hub.events.models import Event, SubscriberReceipt, WebhookDelivery
from hub.events.outbox import publish
from hub.events.subscribers import subscribe
from tenants.scope import all_tenants
from tests.support.concurrency import in_background, row_is_free
from tests.support.receiver import WebhookReceiver

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

SLOW = register_event_type("test.slow_subscriber", "test", read_scope="payments:read")
FLAKY = register_event_type("test.flaky_subscriber", "test", read_scope="payments:read")
EFFECT = register_event_type("test.subscriber_effect", "test", read_scope="payments:read")


class OnTheLine:
    """What the slow subscriber saw while it was blocked."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.hang_up = threading.Event()
        self.seen: dict = {}


line = OnTheLine()


@subscribe(SLOW, name="tests.slow_payout_import")
def slow_subscriber(event):
    # Only the subscriber's own transaction is open: no savepoint under a dispatch one.
    line.seen["in_atomic_block"] = connection.in_atomic_block
    line.seen["savepoints"] = list(connection.savepoint_ids)
    line.started.set()
    assert line.hang_up.wait(timeout=20), "the test never released the subscriber"


@pytest.fixture
def receiver():
    started = WebhookReceiver().start()
    yield started
    started.stop()


@pytest.fixture
def endpoint(tenant, receiver):
    return endpoints.create_endpoint(tenant=tenant, url=receiver.url, event_types=["test.*"])


def publish_committed(tenant, event_type) -> Event:
    with transaction.atomic():
        return publish(tenant=tenant, type=event_type, subject_id="x", payload={})


def event_row_is_free(event_id: str) -> bool:
    return row_is_free("hub_event", event_id)


def test_a_slow_subscriber_holds_neither_the_event_row_nor_the_deliveries(tenant, endpoint):
    line.started.clear()
    line.hang_up.clear()
    line.seen.clear()
    event = publish_committed(tenant, SLOW)
    with all_tenants():  # the commit hook's dispatch has no worker here: nothing ran yet
        assert Event.objects.get(pk=event.pk).dispatch_attempts == 0

    thread, outcome = in_background(lambda: dispatch.dispatch_event(event.pk))
    try:
        assert line.started.wait(timeout=20), outcome
        # Seen from this (another) connection while the subscriber is on the line:
        assert event_row_is_free(event.pk)
        with all_tenants():
            # the claim and the delivery are committed already...
            assert Event.objects.get(pk=event.pk).dispatch_attempts == 1
            assert WebhookDelivery.objects.filter(event=event).count() == 1
            # ...the receipt is not: it commits with the subscriber's effect, not before.
            assert not SubscriberReceipt.objects.filter(event=event).exists()
        assert line.seen == {"in_atomic_block": True, "savepoints": []}
    finally:
        line.hang_up.set()
        thread.join(timeout=20)

    assert outcome == {"result": True}
    with all_tenants():
        event.refresh_from_db()
        assert event.dispatched_at is not None and event.last_error == ""
        assert SubscriberReceipt.objects.filter(
            event=event, subscriber="tests.slow_payout_import"
        ).exists()


calls: list[str] = []


@subscribe(FLAKY, name="tests.steady")
def steady_subscriber(event):
    calls.append("steady")
    publish(tenant=event.tenant, type=EFFECT, subject_id=f"steady:{event.pk}", payload={})


@subscribe(FLAKY, name="tests.flaky")
def flaky_subscriber(event):
    calls.append("flaky")
    # Its effect is written first, so the failure has something to roll back.
    publish(tenant=event.tenant, type=EFFECT, subject_id=f"flaky:{event.pk}", payload={})
    if calls.count("flaky") == 1:
        raise ConnectionError("Stripe did not answer")


def effects(event) -> list[str]:
    with all_tenants():
        return sorted(
            Event.objects.filter(type=EFFECT, subject_id__endswith=event.pk).values_list(
                "subject_id", flat=True
            )
        )


def test_a_failing_subscriber_undoes_only_itself_and_the_sweep_retries_it(tenant, endpoint):
    calls.clear()
    event = publish_committed(tenant, FLAKY)

    assert dispatch.dispatch_event(event.pk) is False
    with all_tenants():
        event.refresh_from_db()
        assert event.dispatched_at is None and "Stripe did not answer" in event.last_error
        assert WebhookDelivery.objects.filter(event=event).count() == 1  # kept
        assert list(
            SubscriberReceipt.objects.filter(event=event).values_list("subscriber", flat=True)
        ) == ["tests.steady"]
    assert effects(event) == [f"steady:{event.pk}"]  # the steady one's effect stays

    later = timezone.now() + dispatch.SWEEP_GRACE + timedelta(seconds=1)
    assert event.pk in dispatch.undispatched_event_ids(now=later)  # the sweep picks it up
    assert dispatch.dispatch_event(event.pk) is True
    assert calls == ["steady", "flaky", "flaky"]  # the steady one did not run again
    assert effects(event) == [f"flaky:{event.pk}", f"steady:{event.pk}"]
    with all_tenants():
        event.refresh_from_db()
        assert event.dispatched_at is not None and event.dispatch_attempts == 2
        assert WebhookDelivery.objects.filter(event=event).count() == 1  # not made twice
