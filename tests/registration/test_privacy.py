"""Privacy by design: an agency learns about a person only what its registration
entitles it to (issue 15). Each rule here has a test that fails when the rule goes."""

from __future__ import annotations

import re

import pytest

from hub.events.models import Event
from tenants.scope import all_tenants
from tests.conftest import client_for
from tests.hub.test_webhooks import deliver_everything, endpoint_for
from tests.registration.conftest import ADDRESS, grant, person_body
from tests.support.identifiers import random_bsn
from tests.support.receiver import WebhookReceiver

pytestmark = pytest.mark.django_db


@pytest.fixture
def receivers():
    started = []

    def start() -> WebhookReceiver:
        started.append(WebhookReceiver().start())
        return started[-1]

    yield start
    for receiver in started:
        receiver.stop()


IDS = re.compile(r"\b(con|reg|evt)_[0-9A-Za-z]+")
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT[\d:.]+(Z|[+-]\d\d:\d\d)")


def normalised(text: str) -> str:
    """An answer with its ids and timestamps of now blanked: what is left must match."""
    return TIMESTAMP.sub("<time>", IDS.sub(r"\1_<id>", text))


def test_registering_a_known_and_an_unknown_person_answers_the_same(make_tenant):
    first, second = client_for(make_tenant()), client_for(make_tenant())
    known, unknown = random_bsn(), random_bsn()
    grant(first.tenant)  # the first agency sees and corrects everything
    held = first.post("/api/v1/constituents", person_body(known)).json()["id"]
    # The hub's record of the known person has a history before the second agency came.
    assert first.patch(f"/api/v1/constituents/{held}", {"phone": "+31 20 123"}).status_code == 200

    answers = [second.post("/api/v1/constituents", person_body(bsn)) for bsn in (known, unknown)]
    assert [a.status_code for a in answers] == [201, 201]
    assert normalised(answers[0].content.decode()) == normalised(answers[1].content.decode())
    assert answers[0].json()["id"] == held  # the same person, linked, not a copy
    body = answers[0].json()
    for hub_wide in ("version", "created_at", "updated_at"):
        assert hub_wide not in body
    # A repeated request of the same agency is the only 200.
    assert second.post("/api/v1/constituents", person_body(known)).status_code == 200

    # The event the registering agency receives does not say "new to the hub" either.
    with all_tenants():
        registered = [
            Event.objects.get(
                tenant=second.tenant, type="constituent.registered", subject_id=answer.json()["id"]
            ).payload
            for answer in answers
        ]
    assert normalised(str(registered[0])) == normalised(str(registered[1]))
    assert "new_to_hub" not in registered[0]

    # Nor does the history: the first agency's registration and correction are before.
    for answer in answers:
        history = second.get(f"/api/v1/constituents/{answer.json()['id']}/history")
        assert history.status_code == 200 and history.json() == []


def test_fields_outside_an_agencys_authorisation_are_absent_from_every_answer(make_tenant):
    full, narrow, bare = (client_for(make_tenant()) for _ in range(3))
    grant(full.tenant)
    grant(narrow.tenant, "address")
    bsn = random_bsn()
    answers = {
        client: client.post("/api/v1/constituents", person_body(bsn, email="jan@example.org"))
        for client in (full, narrow, bare)
    }
    con = answers[full].json()["id"]
    expected = {
        full: {"date_of_birth", "address", "email", "phone", "identifiers"},
        narrow: {"address"},
        bare: set(),
    }
    # The language is for writing to the person: every agency that may write needs it.
    always = {
        "id",
        "kind",
        "status",
        "name",
        "language",
        "deceased_on",
        "ceased_on",
        "registration",
    }
    for client, optional in expected.items():
        reads = [
            answers[client].json(),
            client.get(f"/api/v1/constituents/{con}").json(),
            client.get("/api/v1/constituents").json()["results"][0],
            client.post(
                "/api/v1/constituents/lookup", {"identifier": {"scheme": "nl_bsn", "value": bsn}}
            ).json()["results"][0],
        ]
        for read in reads:
            assert set(read) == always | optional, client.tenant.slug
    assert answers[narrow].json()["address"] == ADDRESS


def test_an_agency_may_not_correct_a_field_it_may_not_see(api, bsn):
    grant(api.tenant, "address")
    con = api.post("/api/v1/constituents", person_body(bsn)).json()["id"]
    refused = api.patch(f"/api/v1/constituents/{con}", {"email": "x@example.org"})
    assert refused.status_code == 403
    assert refused.json()["error"] == {
        "type": "permission_error",
        "code": "field_not_authorised",
        "message": "Your agency is not authorised for 'email'",
        "field": "email",
    }
    with all_tenants():
        from registration.models import Constituent

        assert Constituent.objects.get(pk=con).email == ""


def test_webhooks_carry_only_the_fields_each_agency_may_see(make_tenant, receivers):
    full, narrow, bare = (client_for(make_tenant()) for _ in range(3))
    grant(full.tenant)
    grant(narrow.tenant, "address")
    hooks = {}
    for client in (full, narrow, bare):
        hooks[client] = receivers()
        endpoint_for(client.tenant, hooks[client], event_types=["constituent.*"])
    bsn = random_bsn()
    con = [client.post("/api/v1/constituents", person_body(bsn)) for client in (full, narrow, bare)]
    con = con[0].json()["id"]
    moved = {**ADDRESS, "line1": "Damrak 2"}
    assert (
        full.patch(
            f"/api/v1/constituents/{con}", {"email": "jan@example.org", "address": moved}
        ).status_code
        == 200
    )
    assert (
        full.post(
            f"/api/v1/constituents/{con}/life-events",
            {
                "kind": "address_change",
                "occurred_on": "2024-05-01",
                "details": {"address": {**ADDRESS, "line1": "Dam 1"}},
            },
        ).status_code
        == 201
    )
    deliver_everything()

    def received(client, event_type):
        [message] = [m.json for m in hooks[client].verified() if m.json["type"] == event_type]
        return message["data"]

    assert set(received(full, "constituent.updated")["changes"]) == {"email", "address"}
    assert set(received(narrow, "constituent.updated")["changes"]) == {"address"}
    assert received(bare, "constituent.updated")["changes"] == {}
    assert received(full, "constituent.life_event")["details"]["address"]["line1"] == "Dam 1"
    assert received(narrow, "constituent.life_event")["details"]["address"]["line1"] == "Dam 1"
    assert "address" not in received(bare, "constituent.life_event")["details"]
    # Not in the agency's rows of the outbox either (GET /api/v1/events reads those).
    events = bare.get("/api/v1/events").json()["results"]
    assert all("jan@example.org" not in str(event) for event in events)
    assert all("Dam" not in str(event) for event in events)
    # And the life event's own endpoint keeps the new address from the bare agency.
    [event] = [e for e in bare.get(f"/api/v1/constituents/{con}/life-events").json()]
    assert "address" not in event["details"]
    [event] = [e for e in narrow.get(f"/api/v1/constituents/{con}/life-events").json()]
    assert event["details"]["address"]["line1"] == "Dam 1"


def test_history_shows_only_authorised_fields_and_names_only_the_own_agency(make_tenant):
    full, narrow = client_for(make_tenant()), client_for(make_tenant())
    grant(full.tenant)
    grant(narrow.tenant, "address")
    bsn = random_bsn()
    con = full.post("/api/v1/constituents", person_body(bsn)).json()["id"]
    narrow.post("/api/v1/constituents", person_body(bsn))
    full.patch(
        f"/api/v1/constituents/{con}",
        {"email": "jan@example.org", "address": {**ADDRESS, "line1": "Damrak 2"}},
    )
    narrow.patch(f"/api/v1/constituents/{con}", {"address": {**ADDRESS, "line1": "Dam 1"}})
    history = narrow.get(f"/api/v1/constituents/{con}/history").json()
    assert [entry["changed_by_agency"] for entry in history] == [None, narrow.tenant.slug]
    assert set(history[0]["changes"]) == {"address"}
    full_history = full.get(f"/api/v1/constituents/{con}/history").json()
    assert [entry["changed_by_agency"] for entry in full_history] == [full.tenant.slug, None]
    assert set(full_history[0]["changes"]) == {"email", "address"}


def test_new_agencies_start_with_the_default_and_the_setting_widens_it(api, bsn, settings):
    con = api.post("/api/v1/constituents", person_body(bsn)).json()["id"]
    assert "address" not in api.get(f"/api/v1/constituents/{con}").json()
    settings.HUB_REGISTRY_DEFAULT_VISIBLE_FIELDS = ["address"]
    assert api.get(f"/api/v1/constituents/{con}").json()["address"] == ADDRESS


def test_a_life_event_fact_that_is_the_persons_address_needs_the_address_grant():
    from registration import selectors

    facts = {"how": "divorce", "new_address": {"city": "Utrecht"}}
    assert selectors.without_unauthorised_fields(facts, frozenset()) == {"how": "divorce"}
    assert selectors.without_unauthorised_fields(facts, frozenset({"address"})) == facts
