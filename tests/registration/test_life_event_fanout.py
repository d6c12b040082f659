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
    assert response.status_code == 201
    deliver_everything()

    for tenant, _, receiver in registered:
        new = receiver.verified()[before[tenant.slug] :]
        types = sorted(r.json["type"] for r in new)
        assert types == ["constituent.deceased", "constituent.life_event"], tenant.slug
        life_event = next(r.json for r in new if r.json["type"] == "constituent.life_event")
        assert life_event["tenant"] == tenant.slug
        assert life_event["data"]["constituent"] == con
        assert life_event["data"]["kind"] == "death"
        assert life_event["data"]["reported_by"] == registered[2][0].slug
    for tenant, _, receiver in strangers:
        assert receiver.received == [], f"{tenant.slug} is not registered but heard of it"
