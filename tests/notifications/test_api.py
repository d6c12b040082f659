"""``/api/v1/notices``: an agency reads the notices of the kinds its key's scopes cover."""

from __future__ import annotations

import pytest

from tests.collection.conftest import dispatch_pending
from tests.conftest import client_for
from tests.notifications.conftest import give_email
from tests.payments.conftest import paid_payment

pytestmark = pytest.mark.django_db


@pytest.fixture
def card_service(tenant):
    from tenants import services as tenant_services

    return tenant_services.create_service(
        tenant=tenant, code="permit", name="Permit", interaction_kind="discretionary"
    )


def test_notices_are_listed_per_scope_and_never_another_agencys(
    tenant, other_tenant, collections, card_service
):
    payment = paid_payment(tenant, card_service, email="citizen@example.org")
    constituent = collections.constituent()
    give_email(constituent, "debtor@example.org")
    collections.mandate(constituent, scheme="sepa_core")
    dispatch_pending()

    payments_key = client_for(tenant, scopes=["payments:read"])
    body = payments_key.get("/api/v1/notices").json()
    [notice] = body["results"]
    assert notice["kind"] == "payment_confirmation" and notice["subject"] == payment.pk
    assert notice["recipient"] == "c***@example.org" and notice["status"] == "sent"
    assert notice["id"].startswith("ntc_") and notice["event"].startswith("evt_")
    assert "citizen@example.org" not in str(body)

    collections_key = client_for(tenant, scopes=["collections:read"])
    kinds = [n["kind"] for n in collections_key.get("/api/v1/notices").json()["results"]]
    assert kinds == ["mandate_confirmation"]
    filtered = payments_key.get("/api/v1/notices", {"kind": "mandate_confirmation"}).json()
    assert filtered["results"] == []

    assert payments_key.get(f"/api/v1/notices/{notice['id']}").status_code == 200
    foreign = client_for(other_tenant, scopes=["payments:read"])
    response = foreign.get(f"/api/v1/notices/{notice['id']}")
    assert response.status_code == 404 and response.json()["error"]["type"]


def test_a_bad_filter_gets_the_error_shape(tenant):
    response = client_for(tenant, scopes=["payments:read"]).get(
        "/api/v1/notices", {"kind": "postcard"}
    )
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "kind"
