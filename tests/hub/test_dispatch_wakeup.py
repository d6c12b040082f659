"""Coalesced dispatch wake-ups (hub/events/wakeup.py): while one dispatch message is
outstanding, a commit publishes none, and the message's task dispatches its events."""

from __future__ import annotations

import threading
import time

import pytest
from celery.signals import before_task_publish
from django.db import connection, transaction

from hub import tasks
from hub.events import dispatch, endpoints, wakeup
from hub.events.catalogue import register_event_type
from hub.events.models import Event
from hub.events.outbox import publish
from tenants.scope import all_tenants
from tests.hub.test_worker_end_to_end import in_process_worker

WOKEN = register_event_type("test.wakeup", "Used by the wake-up tests", read_scope="payments:read")


@pytest.fixture
def sent(monkeypatch):
    """The dispatch messages published (the broker is not what these tests look at)."""
    messages: list[list[str]] = []
    monkeypatch.setattr(tasks.dispatch_events, "delay", lambda ids: messages.append(list(ids)))
    return messages


def commit_one(tenant, subject: str) -> Event:
    with transaction.atomic():
        return publish(tenant=tenant, type=WOKEN, subject_id=subject, payload={"s": subject})


def undispatched(events) -> list[str]:
    with all_tenants():
        return list(
            Event.objects.filter(
                pk__in=[e.pk for e in events], dispatched_at__isnull=True
            ).values_list("subject_id", flat=True)
        )


@pytest.mark.django_db(transaction=True)
def test_a_commit_while_a_message_is_outstanding_publishes_none_and_is_dispatched_by_it(
    tenant, sent, receivers
):
    receiver = receivers()
    receiver.secret = endpoints.create_endpoint(
        tenant=tenant, url=receiver.url, event_types=["test.*"]
    ).secret
    first = commit_one(tenant, "first")
    assert sent == [[first.pk]]  # the wake-up was free: this commit publishes
    later = [commit_one(tenant, f"later{n}") for n in range(3)]
    assert sent == [[first.pk]]  # outstanding: nothing more reached the broker

    # What the worker runs for the one message: its own event and the three others.
    assert tasks.dispatch_events(sent[0]) == 4
    assert undispatched([first, *later]) == []
    assert receiver.wait_for(4, timeout=10)
    assert sorted(r.json["data"]["s"] for r in receiver.verified()) == [
        "first",
        "later0",
        "later1",
        "later2",
    ]
    # The task released the wake-up: the next commit publishes again.
    after = commit_one(tenant, "after")
    assert sent == [[first.pk], [after.pk]]


@pytest.mark.django_db(transaction=True)
def test_a_publish_the_broker_refused_releases_the_wake_up(tenant, monkeypatch):
    attempts: list[list[str]] = []

    def broker_down(ids):
        attempts.append(list(ids))
        raise ConnectionError("broker down")

    monkeypatch.setattr(tasks.dispatch_events, "delay", broker_down)
    commit_one(tenant, "refused")
    again = commit_one(tenant, "again")
    # The second commit tried the broker too: no message was outstanding after the first.
    assert [ids for ids in attempts][-1] == [again.pk]
    assert len(attempts) == 2


@pytest.mark.django_db(transaction=True)
def test_the_drain_leaves_claimed_but_unfinished_events_to_the_sweep(tenant, sent):
    crashed = commit_one(tenant, "crashed")
    with all_tenants():  # a dispatcher claimed it and died before finishing it
        Event.objects.filter(pk=crashed.pk).update(dispatch_attempts=1)
    fresh = commit_one(tenant, "fresh")  # coalesced: the first commit's message is out
    assert len(sent) == 1
    assert dispatch.dispatch_pending() == 1
    assert undispatched([crashed, fresh]) == ["crashed"]


@pytest.mark.django_db(transaction=True)
def test_a_drain_of_a_backlog_wakes_another_message_for_the_rest(tenant, sent, monkeypatch):
    monkeypatch.setattr(dispatch, "CLAIM_SLICE", 2)
    events = [commit_one(tenant, f"b{n}") for n in range(5)]
    assert len(sent) == 1
    wakeup.release()  # as the task does before it drains
    assert dispatch.dispatch_pending(slices=2) == 4
    assert len(undispatched(events)) == 1
    assert sent[-1] == []  # a message for whatever is left, found by its own drain
    assert tasks.dispatch_events([]) == 1
    assert undispatched(events) == []


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_no_event_is_left_undispatched_under_concurrent_commits(tenant):
    """Four threads commit 120 events as fast as they can while a real Celery worker
    (Redis broker) consumes the dispatch messages; nothing runs the sweep. Every event
    is dispatched, and by fewer messages than events."""
    published: list[int] = []

    def count(sender=None, **kwargs):
        if sender == "hub.dispatch_events":
            published.append(1)

    before_task_publish.connect(count)
    events: list[Event] = []
    lock = threading.Lock()

    def commit_many(thread: int) -> None:
        try:
            for n in range(30):
                event = commit_one(tenant, f"t{thread}-{n}")
                with lock:
                    events.append(event)
        finally:
            connection.close()

    try:
        with in_process_worker(pool="threads", concurrency=2):
            threads = [threading.Thread(target=commit_many, args=(t,)) for t in range(4)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            deadline = time.monotonic() + 30
            while undispatched(events) and time.monotonic() < deadline:
                time.sleep(0.1)
    finally:
        before_task_publish.disconnect(count)
    assert len(events) == 120
    assert undispatched(events) == []
    assert 1 <= len(published) < len(events)
