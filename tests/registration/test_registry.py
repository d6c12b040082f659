import threading

import pytest
from django.db import connection

from registration.models import Constituent, LifeEventReport, Registration
from tenants.scope import all_tenants
from tests.conftest import client_for
from tests.registration.conftest import ADDRESS, grant, person_body

pytestmark = pytest.mark.django_db


def test_register_once_links_the_second_agency(api, other_api, bsn):
    grant(api.tenant, "identifiers")
    first = api.post("/api/v1/constituents", person_body(bsn))
    assert first.status_code == 201, first.json()
    second = other_api.post(
        "/api/v1/constituents", person_body(bsn, name="J. Jansen", reference="V-9")
    )
    assert second.status_code == 201  # a new registration of this agency
    assert second.json()["id"] == first.json()["id"]
    assert second.json()["name"] == "Jan Jansen"  # the hub's record stands
    assert second.json()["registration"]["agency_reference"] == "V-9"
    assert first.json()["identifiers"] == [{"scheme": "nl_bsn", "masked": "••••••" + bsn[-3:]}]
    assert Constituent.objects.count() == 1
    with all_tenants():
        assert Registration.objects.count() == 2


def test_registering_twice_from_one_agency_is_one_registration(api, bsn):
    assert api.post("/api/v1/constituents", person_body(bsn)).status_code == 201
    again = api.post("/api/v1/constituents", person_body(bsn))
    assert again.status_code == 200
    with all_tenants():
        assert Registration.objects.count() == 1


def test_identifier_spelling_does_not_split_a_person(api, other_api):
    api.post("/api/v1/constituents", person_body("111222333"))
    other = other_api.post("/api/v1/constituents", person_body("1112.22.333"))
    assert other.status_code == 201
    assert Constituent.objects.count() == 1


def test_kind_and_scheme_must_match(api):
    body = person_body()
    body["identifier"] = {"scheme": "nl_kvk", "value": "69599084"}
    response = api.post("/api/v1/constituents", body)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "identifier_kind_mismatch"


def test_consent_basis_needs_a_consent_time(api):
    body = person_body()
    body["registration"]["legal_basis"] = "consent"
    response = api.post("/api/v1/constituents", body)
    assert response.json()["error"]["code"] == "missing_consent"
    assert Constituent.objects.count() == 0


def test_an_unregistered_agency_cannot_read_find_or_probe(api, other_api, bsn):
    con = api.post("/api/v1/constituents", person_body(bsn)).json()["id"]
    for path in (
        f"/api/v1/constituents/{con}",
        f"/api/v1/constituents/{con}/history",
        f"/api/v1/constituents/{con}/life-events",
    ):
        assert other_api.get(path).status_code == 404, path
    assert (
        other_api.patch(f"/api/v1/constituents/{con}", {"email": "x@example.org"}).status_code
        == 404
    )
    assert (
        other_api.post(
            f"/api/v1/constituents/{con}/life-events",
            {"kind": "death", "occurred_on": "2025-01-01"},
        ).status_code
        == 404
    )
    assert other_api.get(f"/api/v1/constituents?identifier=nl_bsn:{bsn}").json()["results"] == []
    assert other_api.get("/api/v1/constituents").json()["results"] == []
    # The same answers as for a number nobody holds: the registry cannot be probed.
    nobody = other_api.get("/api/v1/constituents?identifier=nl_bsn:123456782")
    assert nobody.status_code == 200 and nobody.json()["results"] == []


def test_lookup_by_identifier_finds_own_registrations(api, bsn):
    con = api.post("/api/v1/constituents", person_body(bsn)).json()["id"]
    found = api.get(f"/api/v1/constituents?identifier=nl_bsn:{bsn}").json()["results"]
    assert [c["id"] for c in found] == [con]
    bad = api.get("/api/v1/constituents?identifier=nl_bsn:111222334")
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_check_digit"


def test_ended_registration_hides_the_constituent(api, bsn):
    created = api.post("/api/v1/constituents", person_body(bsn)).json()
    registration = created["registration"]["id"]
    ended = api.post(f"/api/v1/registrations/{registration}/end", {"reason": "consent withdrawn"})
    assert ended.status_code == 200 and ended.json()["status"] == "ended"
    assert api.get(f"/api/v1/constituents/{created['id']}").status_code == 404
    # Registering again makes a new active link to the same person.
    again = api.post("/api/v1/constituents", person_body(bsn))
    assert again.status_code == 201 and again.json()["id"] == created["id"]


def test_database_never_holds_a_national_identifier_in_clear(api, other_api, bsn):
    api.post("/api/v1/constituents", person_body(bsn))
    other_api.post("/api/v1/constituents", person_body(bsn))
    con = Constituent.objects.get()
    api.post(
        f"/api/v1/constituents/{con.pk}/life-events",
        {
            "kind": "address_change",
            "occurred_on": "2024-05-01",
            "details": {"address": {**ADDRESS, "line1": "Damrak 2"}},
        },
    )
    dump = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f'SELECT * FROM "{table}"')  # noqa: S608  (our own table names)
            dump.extend(str(value) for row in cursor.fetchall() for value in row)
    text = " ".join(dump)
    assert bsn not in text
    with all_tenants():
        assert con.identifiers.get().value == bsn  # it is there, encrypted


def test_corrections_are_versioned_and_reach_every_agency(api, other_api, bsn):
    from hub.events.models import Event

    grant(api.tenant, "email")
    con = api.post("/api/v1/constituents", person_body(bsn)).json()["id"]
    other_api.post("/api/v1/constituents", person_body(bsn))
    response = api.patch(f"/api/v1/constituents/{con}", {"email": "jan@example.org"})
    assert response.status_code == 200 and response.json()["email"] == "jan@example.org"
    assert Constituent.objects.get().version == 2
    history = api.get(f"/api/v1/constituents/{con}/history").json()
    assert history[-1]["changes"] == {"email": ["", "jan@example.org"]}
    assert history[-1]["changed_by_agency"] == api.tenant.slug
    with all_tenants():
        updates = Event.objects.filter(type="constituent.updated", subject_id=con)
        assert {e.tenant_id for e in updates} == {api.tenant.pk, other_api.tenant.pk}


def test_field_authority_guards_the_source_of_truth(api, other_api, bsn):
    from registration.models import FieldAuthority

    con = api.post("/api/v1/constituents", person_body(bsn)).json()["id"]
    other_api.post("/api/v1/constituents", person_body(bsn))
    FieldAuthority.objects.create(field="address", tenant=api.tenant)
    grant(api.tenant, "address")
    grant(other_api.tenant, "address")
    refused = other_api.patch(
        f"/api/v1/constituents/{con}", {"address": {**ADDRESS, "line1": "Elsewhere 1"}}
    )
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "field_owned_by_another_agency"
    assert Constituent.objects.get().address == ADDRESS
    allowed = api.patch(
        f"/api/v1/constituents/{con}", {"address": {**ADDRESS, "line1": "Elsewhere 1"}}
    )
    assert allowed.status_code == 200


def test_unknown_correction_fields_are_refused(api, bsn):
    con = api.post("/api/v1/constituents", person_body(bsn)).json()["id"]
    response = api.patch(f"/api/v1/constituents/{con}", {"status": "deceased"})
    assert response.status_code == 400 and response.json()["error"]["code"] == "unknown_field"


def test_life_event_reported_twice_is_applied_once_and_both_reports_kept(api, other_api, bsn):
    con = api.post("/api/v1/constituents", person_body(bsn)).json()["id"]
    other_api.post("/api/v1/constituents", person_body(bsn))
    first = api.post(
        f"/api/v1/constituents/{con}/life-events", {"kind": "death", "occurred_on": "2025-02-01"}
    )
    second = other_api.post(
        f"/api/v1/constituents/{con}/life-events",
        {"kind": "death", "occurred_on": "2025-02-01", "agency_reference": "DVLA-7"},
    )
    assert first.status_code == 201 and second.status_code == 200
    assert first.json()["id"] == second.json()["id"]
    # Each agency sees its own report only (tests/registration/test_tell_us_once.py).
    assert second.json()["reported_by"] == [other_api.tenant.slug]
    constituent = Constituent.objects.get()
    assert constituent.status == "deceased" and str(constituent.deceased_on) == "2025-02-01"
    assert constituent.version == 2
    with all_tenants():
        assert LifeEventReport.objects.count() == 2


@pytest.mark.parametrize(
    "body,code",
    [
        ({"kind": "death", "occurred_on": "2999-01-01"}, "date_in_future"),
        ({"kind": "death", "occurred_on": "1900-01-01"}, "date_before_birth"),
        ({"kind": "address_change", "occurred_on": "2024-01-01"}, "missing_field"),
        ({"kind": "business_ceased", "occurred_on": "2024-01-01"}, "kind_mismatch"),
        ({"kind": "emigrated", "occurred_on": "2024-01-01"}, "invalid_choice"),
    ],
)
def test_bad_life_events_change_nothing(api, bsn, body, code):
    con = api.post("/api/v1/constituents", person_body(bsn)).json()["id"]
    response = api.post(f"/api/v1/constituents/{con}/life-events", body)
    assert response.status_code in (400, 422)
    assert response.json()["error"]["code"] == code
    assert Constituent.objects.get().version == 1


def test_address_change_updates_the_address(api, bsn):
    grant(api.tenant, "address")
    con = api.post("/api/v1/constituents", person_body(bsn)).json()["id"]
    new = {**ADDRESS, "line1": "Damrak 2"}
    response = api.post(
        f"/api/v1/constituents/{con}/life-events",
        {"kind": "address_change", "occurred_on": "2024-05-01", "details": {"address": new}},
    )
    assert response.status_code == 201
    assert api.get(f"/api/v1/constituents/{con}").json()["address"] == new


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_registration_by_many_agencies_makes_one_constituent(make_tenant, bsn):
    clients = [client_for(make_tenant()) for _ in range(8)]
    barrier = threading.Barrier(len(clients))
    results = []

    def register(client):
        try:
            barrier.wait()
            results.append(client.post("/api/v1/constituents", person_body(bsn)))
        finally:
            connection.close()

    threads = [threading.Thread(target=register, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 8
    # Each agency's registration is new: every one gets 201, known to the hub or not.
    assert sorted(r.status_code for r in results) == [201] * 8
    assert len({r.json()["id"] for r in results}) == 1
    assert Constituent.objects.count() == 1
    with all_tenants():
        assert Registration.objects.filter(status="active").count() == 8
