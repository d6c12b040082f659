"""Every read of a person's record by an agency is logged, and the agency sees its own."""

import pytest

from registration.models import ConstituentAccess
from tenants.scope import all_tenants
from tests.conftest import client_for
from tests.registration.conftest import person_body

pytestmark = pytest.mark.django_db


def test_every_read_is_logged_with_key_and_purpose_and_listed_for_the_agency(
    api, other_api, make_tenant, bsn
):
    body = person_body(bsn)
    body["registration"]["purpose"] = "income tax assessment"
    con = api.post("/api/v1/constituents", body).json()["id"]
    other_api.post("/api/v1/constituents", person_body(bsn))
    api.get(f"/api/v1/constituents/{con}")
    api.get("/api/v1/constituents")
    api.post("/api/v1/constituents/lookup", {"identifier": {"scheme": "nl_bsn", "value": bsn}})
    api.get(f"/api/v1/constituents/{con}/history")
    api.get(f"/api/v1/constituents/{con}/life-events")
    other_api.get(f"/api/v1/constituents/{con}")

    log = api.get(f"/api/v1/constituents/{con}/access-log")
    assert log.status_code == 200
    rows = log.json()["results"]
    assert [row["action"] for row in rows] == [
        "life_events",
        "history",
        "lookup",
        "list",
        "retrieve",
        "register",
    ]
    assert {row["purpose"] for row in rows} == {"income tax assessment"}
    assert {row["legal_basis"] for row in rows} == {"public_task"}
    assert all(row["api_key"].startswith(api.api_key.prefix) for row in rows)
    assert all(row["request_id"].startswith("req_") for row in rows)
    # The other agency sees its own two reads, never the first agency's.
    theirs = other_api.get(f"/api/v1/constituents/{con}/access-log").json()["results"]
    assert [row["action"] for row in theirs] == ["retrieve", "register"]
    with all_tenants():
        assert ConstituentAccess.objects.filter(constituent_id=con).count() == 8


def test_the_access_log_is_cursor_paginated(api, bsn):
    con = api.post("/api/v1/constituents", person_body(bsn)).json()["id"]
    for _ in range(4):
        api.get(f"/api/v1/constituents/{con}")
    first = api.get(f"/api/v1/constituents/{con}/access-log?limit=3").json()
    assert len(first["results"]) == 3 and first["next"]
    second = api.get(first["next"]).json()
    assert len(second["results"]) == 2 and second["next"] is None
    ids = [row["id"] for row in first["results"] + second["results"]]
    assert len(set(ids)) == 5 and all(pk.startswith("acc_") for pk in ids)


def test_an_agency_not_registered_gets_404_and_leaves_no_trace(api, make_tenant, bsn):
    con = api.post("/api/v1/constituents", person_body(bsn)).json()["id"]
    stranger = client_for(make_tenant())
    assert stranger.get(f"/api/v1/constituents/{con}").status_code == 404
    assert stranger.get(f"/api/v1/constituents/{con}/access-log").status_code == 404
    assert stranger.get("/api/v1/constituents/con_nobody/access-log").status_code == 404
    with all_tenants():
        assert not ConstituentAccess.objects.filter(tenant=stranger.tenant).exists()
