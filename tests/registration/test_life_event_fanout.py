"""Joined-up government: a death told to one agency reaches every registered agency."""

import pytest

from hub.events import endpoints
from tests.conftest import client_for
from tests.hub.test_webhooks import deliver_everything
from tests.registration.conftest import person_body
from tests.support.receiver import WebhookReceiver

pytestmark = pytest.mark.django_db


@pytest.fixture
def agencies(make_tenant):
    """Seven agencies, each with a webhook receiver for every event type."""
    made = []
    for _ in range(7):
        tenant = make_tenant()
        receiver = WebhookReceiver().start()
        receiver.secret = endpoints.create_endpoint(
            tenant=tenant, url=receiver.url, event_types=["constituent.*"]
        ).secret
        made.append((tenant, client_for(tenant), receiver))
    yield made
    for _, _, receiver in made:
        receiver.stop()


def test_death_reported_by_one_of_five_reaches_all_five_and_nobody_else(agencies, bsn):
    registered, strangers = agencies[:5], agencies[5:]
    ids = {
        client.post("/api/v1/constituents", person_body(bsn)).json()["id"]
        for _, client, _ in registered
    }
    assert len(ids) == 1
    con = ids.pop()
    deliver_everything()  # the constituent.registered events
    before = {tenant.slug: len(receiver.verified()) for tenant, _, receiver in agencies}

    reporter = registered[2][1]
    response = reporter.post(
        f"/api/v1/constituents/{con}/life-events", {"kind": "death", "occurred_on": "2025-03-14"}
    )
    assert response.status_code == 201, response.content
    deliver_everything()

    for tenant, _, receiver in registered:
        new = receiver.verified()[before[tenant.slug] :]
        types = sorted(r.json["type"] for r in new)
        assert types == ["constituent.deceased", "constituent.life_event"], tenant.slug
        life_event = next(r.json for r in new if r.json["type"] == "constituent.life_event")
        assert life_event["tenant"] == tenant.slug
        assert life_event["data"]["constituent"] == con
        assert life_event["data"]["kind"] == "death"
        # Whether this agency reported it, never who did: that would tell each agency
        # which other agency holds the person.
        assert life_event["data"]["reported_by_you"] == (tenant == registered[2][0])
        assert "reported_by" not in life_event["data"]
        assert life_event["data"]["answer_by"]
    for tenant, _, receiver in strangers:
        assert receiver.received == [], f"{tenant.slug} is not registered but heard of it"


@pytest.mark.django_db(transaction=True)  # each request commits, as in production
def test_a_death_reaching_every_agency_is_one_task_sending_one_batch(agencies, bsn, monkeypatch):
    from hub import tasks

    queued: dict[str, list] = {"dispatch": [], "deliver": []}
    monkeypatch.setattr(tasks.dispatch_events, "delay", lambda ids: queued["dispatch"].append(ids))
    for task in (tasks.deliver_webhooks, tasks.deliver_webhook):
        monkeypatch.setattr(task, "delay", lambda *args: queued["deliver"].append(args))
        monkeypatch.setattr(task, "apply_async", lambda *a, **k: queued["deliver"].append(a))
    con = None
    for _, client, _ in agencies:
        con = client.post("/api/v1/constituents", person_body(bsn)).json()["id"]
    for chunk in queued["dispatch"]:  # the constituent.registered events
        tasks.dispatch_events(chunk)
    queued["dispatch"].clear()
    before = {tenant.slug: len(receiver.received) for tenant, _, receiver in agencies}

    response = agencies[0][1].post(
        f"/api/v1/constituents/{con}/life-events", {"kind": "death", "occurred_on": "2025-03-14"}
    )
    assert response.status_code == 201
    # Two events per agency (life_event, deceased), handed to ONE dispatch task...
    [chunk] = queued["dispatch"]
    assert len(chunk) == 2 * len(agencies)
    assert tasks.dispatch_events(chunk) == len(chunk)  # what the worker runs
    # ...which sent every agency's webhooks itself: no task per delivery, none at all.
    assert queued["deliver"] == []
    for tenant, _, receiver in agencies:
        new = receiver.received[before[tenant.slug] :]
        assert all(r.verified for r in new), tenant.slug
        assert sorted(r.json["type"] for r in new) == [
            "constituent.deceased",
            "constituent.life_event",
        ], tenant.slug
