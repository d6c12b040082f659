"""The payments API: validation in the one error shape, filters, scopes, isolation."""

from __future__ import annotations

import pytest

from payments.models import Payment
from registration.models import Constituent, Registration
from tenants.scope import all_tenants
from tests.conftest import client_for
from tests.payments.conftest import new_payment, paid_payment

pytestmark = pytest.mark.django_db


def body(for_service, **overrides):
    return {
        "amount": 1250,
        "currency": "EUR",
        "description": "Parking permit",
        "reference": "PP-1",
        "service": for_service.pk,
        **overrides,
    }


def error(response):
    return response.json()["error"]


@pytest.mark.parametrize(
    "overrides,field,code",
    [
        ({"amount": 12.5}, "amount", "not_integer"),
        ({"amount": "1250"}, "amount", "not_integer"),
        ({"amount": 0}, "amount", "min_value"),
        ({"amount": True}, "amount", "not_integer"),
        ({"currency": "eur"}, "currency", "invalid_value"),
        ({"currency": "ABC"}, "currency", "unknown_currency"),  # three letters, no currency
        ({"currency": "EUX"}, "currency", "unknown_currency"),
        ({"currency": "XXX"}, "currency", "unknown_currency"),  # ISO's "no currency"
        ({"description": "   "}, "description", "blank"),
        ({"service": "svc_nope"}, "service", "does_not_exist"),
        ({"return_url": "javascript:alert(1)"}, "return_url", "invalid_value"),
        ({"email": "not-an-email"}, "email", "invalid_value"),
        ({"metadata": {"a": {"nested": 1}}}, "metadata", "invalid_value"),
        ({"metadata": {f"k{i}": i for i in range(21)}}, "metadata", "too_many_keys"),
        ({"colour": "red"}, "colour", "unknown_field"),
    ],
)
def test_bad_input_is_400_and_creates_nothing(api, service, overrides, field, code):
    response = api.post("/api/v1/payments", body(service, **overrides))
    assert response.status_code == 400, response.content
    assert error(response)["field"] == field
    assert error(response)["code"] == code
    with all_tenants():
        assert Payment.objects.count() == 0


def test_missing_fields_are_all_listed(api):
    response = api.post("/api/v1/payments", {})
    assert response.status_code == 400
    fields = {d["field"] for d in error(response)["details"]}
    assert fields == {"amount", "currency", "description", "reference", "service"}


def test_another_agencys_service_does_not_exist(api, other_service):
    response = api.post("/api/v1/payments", body(other_service))
    assert response.status_code == 400
    assert error(response) | {"message": ""} == {
        "type": "invalid_request",
        "code": "does_not_exist",
        "field": "service",
        "message": "",
    }


def test_inactive_service_is_a_rule_violation(api, service):
    service.active = False
    with all_tenants():
        service.save()
    response = api.post("/api/v1/payments", body(service))
    assert response.status_code == 422
    assert error(response)["code"] == "service_inactive"


def make_constituent(tenant, *, status=Registration.Status.ACTIVE) -> Constituent:
    constituent = Constituent.objects.create(kind="person", name="A. Citizen")
    with all_tenants():
        Registration.objects.create(
            tenant=tenant,
            constituent=constituent,
            purpose="Parking permits",
            legal_basis=Registration.LegalBasis.PUBLIC_TASK,
            status=status,
        )
    return constituent


def test_constituent_must_be_registered_with_the_agency(api, tenant, other_tenant, service):
    mine = make_constituent(tenant)
    theirs = make_constituent(other_tenant)
    ended = make_constituent(tenant, status=Registration.Status.ENDED)

    ok = api.post("/api/v1/payments", body(service, constituent=mine.pk))
    assert ok.status_code == 201 and ok.json()["constituent"] == mine.pk
    for other in (theirs.pk, ended.pk, "con_doesnotexist"):
        refused = api.post("/api/v1/payments", body(service, constituent=other))
        assert refused.status_code == 400, other
        assert error(refused)["field"] == "constituent"
        assert error(refused)["code"] == "does_not_exist"


def test_list_filters(api, tenant, service):
    first = new_payment(tenant, service, reference="A-1")
    second = paid_payment(tenant, service, reference="B-2")

    def listed(query: str) -> list[str]:
        return [p["id"] for p in api.get(f"/api/v1/payments?{query}").json()["results"]]

    assert listed("") == [second.pk, first.pk]
    assert listed("state=success") == [second.pk]
    assert listed("reference=A-1") == [first.pk]
    assert listed(f"service={service.pk}") == [second.pk, first.pk]
    assert listed("created_after=2999-01-01T00:00:00Z") == []
    bad = api.get("/api/v1/payments?state=bogus")
    assert bad.status_code == 400 and error(bad)["field"] == "state"


def test_read_only_key_cannot_create_or_refund(tenant, service):
    reader = client_for(tenant, scopes=["payments:read"])
    payment = paid_payment(tenant, service)
    assert reader.get(f"/api/v1/payments/{payment.pk}").status_code == 200
    assert reader.post("/api/v1/payments", body(service)).status_code == 403
    refund = reader.post(f"/api/v1/payments/{payment.pk}/refunds", {"amount": 1})
    assert refund.status_code == 403
    assert error(refund)["code"] == "insufficient_scope"


def test_other_agency_sees_404_everywhere(api, other_api, tenant, service):
    payment = paid_payment(tenant, service)
    refund = api.post(f"/api/v1/payments/{payment.pk}/refunds", {"amount": 100}).json()
    for path in (
        f"/api/v1/payments/{payment.pk}",
        f"/api/v1/payments/{payment.pk}/events",
        f"/api/v1/payments/{payment.pk}/refunds",
        f"/api/v1/refunds/{refund['id']}",
    ):
        assert other_api.get(path).status_code == 404, path
    assert (
        other_api.post(f"/api/v1/payments/{payment.pk}/refunds", {"amount": 1}).status_code == 404
    )
    assert other_api.post(f"/api/v1/payments/{payment.pk}/cancel").status_code == 404
    assert other_api.get("/api/v1/payments").json()["results"] == []


def test_create_is_idempotent(api, service):
    first = api.post("/api/v1/payments", body(service), HTTP_IDEMPOTENCY_KEY="create-1")
    second = api.post("/api/v1/payments", body(service), HTTP_IDEMPOTENCY_KEY="create-1")
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] == second.json()["id"]
    assert second["Idempotent-Replayed"] == "true"
    with all_tenants():
        assert Payment.objects.count() == 1


def test_refund_is_idempotent(api, tenant, service):
    payment = paid_payment(tenant, service)
    url = f"/api/v1/payments/{payment.pk}/refunds"
    first = api.post(url, {"amount": 500}, HTTP_IDEMPOTENCY_KEY="refund-1")
    second = api.post(url, {"amount": 500}, HTTP_IDEMPOTENCY_KEY="refund-1")
    assert first.json()["id"] == second.json()["id"]
    assert api.get(f"/api/v1/payments/{payment.pk}").json()["amount_refunded"] == 500


@pytest.mark.parametrize(
    "refund,code",
    [({"amount": 0}, "min_value"), ({"amount": 1.5}, "not_integer"), ({}, "missing_field")],
)
def test_bad_refund_input(api, tenant, service, refund, code):
    payment = paid_payment(tenant, service)
    response = api.post(f"/api/v1/payments/{payment.pk}/refunds", refund)
    assert response.status_code == 400
    assert error(response)["code"] == code


def test_refunds_are_listed_across_payments(api, tenant, service):
    one, two = paid_payment(tenant, service), paid_payment(tenant, service)
    api.post(f"/api/v1/payments/{one.pk}/refunds", {"amount": 100})
    api.post(f"/api/v1/payments/{two.pk}/refunds", {"amount": 200})
    everything = api.get("/api/v1/refunds").json()["results"]
    assert sorted(r["amount"] for r in everything) == [100, 200]
    only_one = api.get(f"/api/v1/refunds?payment={one.pk}").json()["results"]
    assert [r["amount"] for r in only_one] == [100]
    assert only_one[0]["currency"] == "EUR"
