"""A full day end to end: card payments and direct-debit collections made through the
payments services, the bank's camt.053 for the day uploaded through the API, a run
started through the API, and the report read back.

Day one matches to the cent. Day two has one missing receipt, one unknown receipt and
one short amount, and each shows up as the right exception; resolving one makes the
next run leave it alone.
"""

from __future__ import annotations

import csv
import io

import pytest

from hub.events.models import Event
from payments import selectors as payments_selectors
from reconciliation.models import ReconciliationException, RunItem
from tenants.scope import tenant_scope
from tests.reconciliation.camt import Entry, Tx, camt053
from tests.reconciliation.conftest import card_payment, direct_debit, set_tolerance, upload

pytestmark = pytest.mark.django_db


def start_run(api, day):
    response = api.post(
        "/api/v1/reconciliation-runs",
        {"period_start": day.isoformat(), "period_end": day.isoformat()},
        format="json",
    )
    assert response.status_code == 201, response.content
    return response.json()


def totals(run, currency="EUR"):
    return next(t for t in run["totals"] if t["currency"] == currency)


def test_a_day_that_matches_to_the_cent_then_a_day_that_does_not(
    tenant, service, finance_api, today
):
    # The agency wants a missing receipt flagged the day it is missing.
    set_tolerance(tenant, date_window_days=0)
    cards = [card_payment(tenant, service, amount) for amount in (2500, 4999, 120000)]
    debits = [direct_debit(tenant, service, amount) for amount in (3000, 4550, 1275)]
    statement = camt053(
        [
            # Payers put the hub's payment id in the remittance text, as they are told.
            *(Entry(p.amount, remittance=f"Permit {p.pk.upper()}", name="A Payer") for p in cards),
            # The collection is booked as one batch with a detail per debit.
            Entry(
                sum(p.amount for p in debits),
                batch=[Tx(p.amount, end_to_end_id=p.provider_reference) for p in debits],
                bank_code=("PMNT", "RDDT", "ESDD"),
            ),
        ],
        booked=today,
        opening=100000,
    )
    assert upload(finance_api, statement).status_code == 201

    run = start_run(finance_api, today)

    figures = totals(run)
    gross = sum(p.amount for p in cards + debits)
    assert figures["gross"] == figures["expected"] == figures["received"] == gross
    assert figures["variance"] == 0
    assert figures["closing_variance"] == 0
    assert figures["statement_closing"] - figures["statement_opening"] == gross
    assert run["exception_count"] == 0
    assert run["unmatched_expected_count"] == run["unmatched_reported_count"] == 0
    assert figures["matched"] == 6  # one report row per payment, the batch included
    # The sandbox's money moved from the provider's clearing account to the bank.
    balances = payments_selectors.ledger_balances(tenant=tenant, currency="EUR")
    assert balances["provider_clearing"] == 0
    assert balances["bank"] == gross
    assert payments_selectors.ledger_is_balanced(tenant=tenant)

    # Day two: one payment never arrives, a stranger's money arrives, one is short.
    missing = card_payment(tenant, service, 1500)
    short = direct_debit(tenant, service, 8000)
    fine = card_payment(tenant, service, 999)
    second = camt053(
        [
            Entry(fine.amount, remittance=fine.pk),
            Entry(7900, end_to_end_id=short.provider_reference),
            Entry(4242, remittance="Donation, no reference", name="Unknown Person"),
        ],
        booked=today,
        opening=100000 + gross,
    )
    assert upload(finance_api, second).status_code == 201

    run = start_run(finance_api, today)

    by_kind = {
        e["kind"]: e
        for e in finance_api.get("/api/v1/reconciliation-exceptions", {"run": run["id"]}).json()[
            "results"
        ]
    }
    assert set(by_kind) == {"missing_receipt", "unknown_receipt", "amount_differs"}
    assert by_kind["missing_receipt"]["item"] == {"kind": "payment", "id": missing.pk}
    assert by_kind["missing_receipt"]["expected_amount"] == 1500
    assert by_kind["unknown_receipt"]["reported_amount"] == 4242
    assert by_kind["amount_differs"]["item"] == {"kind": "payment", "id": short.pk}
    assert by_kind["amount_differs"]["difference"] == -100
    figures = totals(run)
    assert figures["variance"] == 4242 - 1500 - 100
    assert figures["closing_variance"] == 4242 - 1500 - 100
    # Each new problem was announced once.
    with tenant_scope(tenant):
        announced = Event.objects.filter(type="reconciliation.exception").count()
        assert announced == 3
        assert Event.objects.filter(type="reconciliation.completed").count() == 2

    # The report lists each with its reason, as CSV.
    report = finance_api.get(f"/api/v1/reconciliation-runs/{run['id']}/report.csv")
    assert report.status_code == 200
    rows = list(csv.DictReader(io.StringIO(b"".join(report.streaming_content).decode("utf-8-sig"))))
    exceptions = [r for r in rows if r["status"] == "exception"]
    assert {r["item_id"] for r in exceptions if r["item_id"]} == {missing.pk, short.pk}
    short_row = next(r for r in exceptions if r["item_id"] == short.pk)
    assert short_row["statement_amount"] == "79.00"
    assert short_row["expected_amount"] == "80.00"
    assert short_row["difference"] == "-1.00"

    # Finance found the missing payment written off with the payer: resolve it.
    resolved = finance_api.post(
        f"/api/v1/reconciliation-exceptions/{by_kind['missing_receipt']['id']}/resolve",
        {"resolution": "written_off", "note": "Chargeback agreed with the payer"},
        format="json",
    )
    assert resolved.status_code == 200, resolved.content
    assert resolved.json()["state"] == "resolved"

    again = start_run(finance_api, today)
    with tenant_scope(tenant):
        still_open = set(
            ReconciliationException.objects.filter(state="open").values_list("kind", flat=True)
        )
        assert still_open == {"unknown_receipt", "amount_differs"}
        missing_row = RunItem.objects.get(run_id=again["id"], item_id=missing.pk)
        assert missing_row.status == RunItem.Status.RESOLVED
        # Nothing was announced twice.
        assert Event.objects.filter(type="reconciliation.exception").count() == 3
