"""The agency-facing API for debts, mandates, payment plans and instalments."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection

from collection.models import Debt, Mandate
from tenants.scope import tenant_scope
from tests.collection.conftest import events_of, random_iban
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(tenant):
    return client_for(tenant, ["collections:read", "collections:write"])


def debt_body(collections, constituent=None, **extra):
    constituent = constituent or collections.constituent()
    return {
        "constituent": constituent.pk,
        "service": collections.service.pk,
        "reference": f"TAX-{constituent.pk[-6:]}",
        "description": "Income tax 2024",
        "amount": 1000,
        "currency": "EUR",
        "due_date": "2030-03-01",
        **extra,
    }


def error(response) -> dict:
    return response.json()["error"]


class TestDebts:
    def test_create_read_and_list(self, api, collections):
        response = api.post("/api/v1/debts", debt_body(collections), HTTP_IDEMPOTENCY_KEY="d1")
        assert response.status_code == 201, response.content
        debt = response.json()
        assert debt["id"].startswith("deb_")
        assert (debt["balance"], debt["state"], debt["amount_collected"]) == (1000, "open", 0)
        assert api.get(f"/api/v1/debts/{debt['id']}").json()["reference"] == debt["reference"]
        listed = api.get("/api/v1/debts", {"state": "open", "reference": debt["reference"]})
        assert [d["id"] for d in listed.json()["results"]] == [debt["id"]]
        assert api.get("/api/v1/debts", {"state": "paid"}).json()["results"] == []
        assert events_of("debt.created", debt["id"])

    def test_a_constituent_of_another_agency_is_unknown(self, api, collections, other_tenant):
        from tests.collection.conftest import Collections

        stranger = Collections(other_tenant).constituent()
        response = api.post("/api/v1/debts", debt_body(collections, stranger))
        assert response.status_code == 400
        assert (error(response)["field"], error(response)["code"]) == (
            "constituent",
            "does_not_exist",
        )

    @pytest.mark.parametrize(
        "change,field,code",
        [
            ({"amount": 10.5}, "amount", "not_integer"),
            ({"amount": 0}, "amount", "min_value"),
            ({"currency": "eur"}, "currency", "invalid_value"),
            ({"currency": "QQQ"}, "currency", "unknown_currency"),
            ({"service": "svc_nope"}, "service", "does_not_exist"),
            ({"colour": "red"}, "colour", "unknown_field"),
        ],
    )
    def test_bad_input_is_refused_and_nothing_is_made(self, api, collections, change, field, code):
        response = api.post("/api/v1/debts", debt_body(collections, **change))
        assert response.status_code == 400, response.content
        assert (error(response)["field"], error(response)["code"]) == (field, code)
        with tenant_scope(collections.tenant):
            assert not Debt.objects.exists()

    def test_a_reference_is_used_once(self, api, collections):
        body = debt_body(collections)
        assert api.post("/api/v1/debts", body).status_code == 201
        again = api.post("/api/v1/debts", {**body, "constituent": collections.constituent().pk})
        assert again.status_code == 409
        assert error(again)["code"] == "duplicate_reference"

    def test_write_off_needs_the_write_scope_and_a_reason(self, api, tenant, collections):
        debt = collections.debt()
        read_only = client_for(tenant, ["collections:read"])
        refused = read_only.post(f"/api/v1/debts/{debt.pk}/write-off", {"reason": "x"})
        assert refused.status_code == 403
        missing = api.post(f"/api/v1/debts/{debt.pk}/write-off", {})
        assert (missing.status_code, error(missing)["field"]) == (400, "reason")

        done = api.post(f"/api/v1/debts/{debt.pk}/write-off", {"reason": "debtor bankrupt"})
        assert done.status_code == 200, done.content
        body = done.json()
        assert (body["state"], body["amount_written_off"]) == ("written_off", 1200)
        assert body["write_off_reason"] == "debtor bankrupt"
        [event] = events_of("debt.written_off", debt.pk)
        assert event.payload["reason"] == "debtor bankrupt"
        again = api.post(f"/api/v1/debts/{debt.pk}/write-off", {"reason": "again"})
        assert (again.status_code, error(again)["code"]) == (409, "already_written_off")

    def test_write_off_cancels_the_rest_of_the_plan(self, api, tenant, collections):
        debt, _mandate, plan = collections.debt_in_plan()
        response = api.post(f"/api/v1/debts/{debt.pk}/write-off", {"reason": "uncollectable"})
        assert response.status_code == 200
        plan_body = api.get(f"/api/v1/payment-plans/{plan.pk}").json()
        assert plan_body["state"] == "cancelled"
        assert {i["state"] for i in plan_body["instalments"]} == {"written_off"}

    def test_no_write_off_while_an_instalment_is_with_the_bank(self, api, tenant, collections):
        from collection.services import runs

        debt, _mandate, _plan = collections.debt_in_plan()
        with tenant_scope(tenant):
            run = runs.start_run(
                tenant=tenant, run_date=dt.date(2024, 2, 29), trigger="api", enqueue=False
            )
            runs.process_run(run=run)
        response = api.post(f"/api/v1/debts/{debt.pk}/write-off", {"reason": "x"})
        assert (response.status_code, error(response)["code"]) == (422, "collection_in_flight")


class TestMandates:
    def test_a_sepa_mandate_is_stored_encrypted_and_shown_masked(self, api, collections):
        iban = random_iban()
        body = {
            "constituent": collections.constituent().pk,
            "scheme": "sepa_core",
            "signed_on": "2024-01-02",
            "account_holder_name": "J. Jansen",
            "iban": " ".join(iban[i : i + 4] for i in range(0, len(iban), 4)).lower(),
            "bic": "COBADEFFXXX",
        }
        response = api.post("/api/v1/mandates", body)
        assert response.status_code == 201, response.content
        mandate = response.json()
        assert mandate["account"] == "DE" + "*" * (len(iban) - 6) + iban[-4:]
        assert mandate["state"] == "active"
        assert mandate["reference"].startswith("HUB-")
        assert iban not in response.content.decode()
        with connection.cursor() as cursor:
            cursor.execute("SELECT iban FROM collection_mandate WHERE id = %s", [mandate["id"]])
            stored = cursor.fetchone()[0]
        assert iban not in stored and stored.startswith("gAAAA")  # Fernet ciphertext
        with tenant_scope(collections.tenant):
            assert Mandate.objects.get(pk=mandate["id"]).iban == iban

    @pytest.mark.parametrize(
        "change,field,code",
        [
            ({"iban": "DE89370400440532013001"}, "iban", "invalid_checksum"),
            ({"iban": "BR1800360305000010009795493C1"}, "iban", "not_sepa"),
            ({"bic": "COBADEF"}, "bic", "invalid_bic"),
            ({"reference": "has spaces in it"}, "reference", "invalid_reference"),
            ({"signed_on": "2999-01-01"}, "signed_on", "signed_in_future"),
            ({"sort_code": "102030"}, "sort_code", "wrong_account_kind"),
        ],
    )
    def test_bad_account_details_are_refused(self, api, collections, change, field, code):
        body = {
            "constituent": collections.constituent().pk,
            "scheme": "sepa_core",
            "signed_on": "2024-01-02",
            "account_holder_name": "J. Jansen",
            "iban": "DE89370400440532013000",
            **change,
        }
        response = api.post("/api/v1/mandates", body)
        assert response.status_code == 400, response.content
        assert (error(response)["field"], error(response)["code"]) == (field, code)

    def test_bacs_needs_the_stripe_provider(self, api, collections):
        response = api.post(
            "/api/v1/mandates",
            {
                "constituent": collections.constituent().pk,
                "scheme": "bacs",
                "signed_on": "2024-01-02",
                "account_holder_name": "J. Jansen",
                "sort_code": "10-20-30",
                "account_number": "12345678",
            },
        )
        assert (response.status_code, error(response)["code"]) == (
            422,
            "scheme_not_supported_by_provider",
        )

    def test_bacs_account_format_is_checked(self, tenant, stripe_collections):
        api = client_for(tenant)
        body = {
            "constituent": stripe_collections.constituent().pk,
            "scheme": "bacs",
            "signed_on": "2024-01-02",
            "account_holder_name": "J. Jansen",
            "sort_code": "10-20-3",
            "account_number": "12345678",
            "stripe_payment_method": "pm_1",
            "stripe_mandate": "mandate_1",
        }
        response = api.post("/api/v1/mandates", body)
        assert (response.status_code, error(response)["field"]) == (400, "sort_code")
        ok = api.post("/api/v1/mandates", {**body, "sort_code": "10-20-30"})
        assert ok.status_code == 201
        assert (ok.json()["account"], ok.json()["sort_code"]) == ("****5678", "102030")
        assert ok.json()["state"] == "pending"

    def test_cancelling_a_mandate_cancels_its_plans(self, api, collections):
        _debt, mandate, plan = collections.debt_in_plan()
        response = api.post(f"/api/v1/mandates/{mandate.pk}/cancel", {"reason": "debtor asked"})
        assert response.status_code == 200
        assert response.json()["state"] == "cancelled"
        assert api.get(f"/api/v1/payment-plans/{plan.pk}").json()["state"] == "cancelled"
        again = api.post(f"/api/v1/mandates/{mandate.pk}/cancel", {})
        assert again.status_code == 409


class TestPaymentPlans:
    def test_count_and_frequency_split_the_balance_with_odd_cents_first(self, api, collections):
        debt = collections.debt(amount=1000)
        mandate = collections.mandate(debt.constituent)
        response = api.post(
            "/api/v1/payment-plans",
            {
                "debt": debt.pk,
                "mandate": mandate.pk,
                "frequency": "monthly",
                "count": 3,
                "first_date": "2030-01-31",
            },
        )
        assert response.status_code == 201, response.content
        plan = response.json()
        assert [(i["due_date"], i["amount"]) for i in plan["instalments"]] == [
            ("2030-01-31", 334),
            ("2030-02-28", 333),
            ("2030-03-31", 333),
        ]
        assert api.get(f"/api/v1/debts/{debt.pk}").json()["state"] == "in_plan"
        instalments = api.get("/api/v1/instalments", {"payment_plan": plan["id"]}).json()
        assert len(instalments["results"]) == 3

    def test_explicit_instalments_must_add_up_to_the_balance(self, api, collections):
        debt = collections.debt(amount=1000)
        mandate = collections.mandate(debt.constituent)
        body = {
            "debt": debt.pk,
            "mandate": mandate.pk,
            "instalments": [
                {"due_date": "2030-01-10", "amount": 600},
                {"due_date": "2030-02-10", "amount": 399},
            ],
        }
        response = api.post("/api/v1/payment-plans", body)
        assert (response.status_code, error(response)["code"]) == (422, "total_mismatch")
        body["instalments"][1]["amount"] = 400
        assert api.post("/api/v1/payment-plans", body).status_code == 201
        again = api.post("/api/v1/payment-plans", body)
        assert (again.status_code, error(again)["code"]) == (409, "plan_exists")

    @pytest.mark.parametrize(
        "change,status,field",
        [
            ({"count": 3}, 400, "first_date"),
            ({"frequency": "daily", "count": 3, "first_date": "2030-01-01"}, 400, "frequency"),
            ({"count": 3, "first_date": "2030-01-01", "instalments": []}, 400, "count"),
            ({"frequency": "monthly", "count": 3, "first_date": "2020-01-01"}, 400, "first_date"),
        ],
    )
    def test_bad_schedules_are_refused(self, api, collections, change, status, field):
        debt = collections.debt()
        mandate = collections.mandate(debt.constituent)
        body = {"debt": debt.pk, "mandate": mandate.pk, "frequency": "monthly", **change}
        response = api.post("/api/v1/payment-plans", body)
        assert (response.status_code, error(response)["field"]) == (status, field), response.content

    def test_the_mandate_must_be_the_debtors_and_in_the_debts_currency(self, api, collections):
        debt = collections.debt()
        someone_else = collections.mandate(collections.constituent())
        body = {
            "debt": debt.pk,
            "mandate": someone_else.pk,
            "frequency": "monthly",
            "count": 2,
            "first_date": "2030-01-01",
        }
        response = api.post("/api/v1/payment-plans", body)
        assert (response.status_code, error(response)["code"]) == (422, "mandate_of_another_debtor")
        pounds = collections.debt(currency="GBP", constituent=debt.constituent)
        own = collections.mandate(debt.constituent)
        response = api.post("/api/v1/payment-plans", {**body, "debt": pounds.pk, "mandate": own.pk})
        assert (response.status_code, error(response)["code"]) == (422, "currency_mismatch")

    def test_cancel_a_plan(self, api, collections):
        debt, _mandate, plan = collections.debt_in_plan(first_date=dt.date(2030, 1, 1))
        response = api.post(f"/api/v1/payment-plans/{plan.pk}/cancel", {"reason": "agreed"})
        assert response.status_code == 200
        assert response.json()["state"] == "cancelled"
        assert {i["state"] for i in response.json()["instalments"]} == {"cancelled"}
        assert api.get(f"/api/v1/debts/{debt.pk}").json()["state"] == "open"
