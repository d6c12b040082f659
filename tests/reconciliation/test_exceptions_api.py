"""Resolving exceptions through the API: what each resolution matches, and the errors."""

from __future__ import annotations

import pytest

from payments import selectors as payments_selectors
from reconciliation.models import MatchItem, MatchLine, ReconciliationException
from tenants.scope import tenant_scope
from tests.reconciliation.camt import Entry, camt053
from tests.reconciliation.conftest import card_payment, import_bytes, reconcile, set_tolerance

pytestmark = pytest.mark.django_db


@pytest.fixture
def mismatched_day(tenant, service, today):
    """A payment whose receipt came without a reference and for a different amount, so
    the hub raises a missing receipt and an unknown receipt for the same money."""
    set_tolerance(tenant, date_window_days=0)
    payment = card_payment(tenant, service, 5000)
    short = card_payment(tenant, service, 3000)
    import_bytes(
        tenant,
        camt053([Entry(4990, name="Late Payer"), Entry(2900, remittance=short.pk)], booked=today),
    )
    run = reconcile(tenant, today)
    with tenant_scope(tenant):
        found = {e.kind: e for e in ReconciliationException.objects.all()}
    return run, payment, short, found


def resolve(api, exception, **body):
    return api.post(
        f"/api/v1/reconciliation-exceptions/{exception.pk}/resolve", body, format="json"
    )


def test_exceptions_are_listed_and_filtered(finance_api, mismatched_day):
    run, _, _, found = mismatched_day

    everything = finance_api.get("/api/v1/reconciliation-exceptions").json()["results"]
    assert {e["kind"] for e in everything} == {
        "missing_receipt",
        "unknown_receipt",
        "amount_differs",
    }
    unknown = finance_api.get(
        "/api/v1/reconciliation-exceptions", {"kind": "unknown_receipt", "state": "open"}
    ).json()["results"]
    assert [e["id"] for e in unknown] == [found["unknown_receipt"].pk]
    assert unknown[0]["statement_line"].startswith("stl_")
    assert unknown[0]["first_run"] == unknown[0]["last_run"] == run.pk


def test_matched_by_hand_pairs_the_line_with_the_payment(
    finance_api, tenant, today, mismatched_day
):
    _, payment, _, found = mismatched_day

    response = resolve(
        finance_api,
        found["unknown_receipt"],
        resolution="matched_by_hand",
        note="Payer paid 10 cents short, confirmed by phone",
        matched_with=[payment.pk],
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["state"] == "resolved" and body["resolution"] == "matched_by_hand"
    assert body["resolved_by"].startswith("api_key:")
    with tenant_scope(tenant):
        item = MatchItem.objects.get(object_id=payment.pk)
        assert item.match.method == "manual"
        assert MatchLine.objects.filter(
            match=item.match, line_id=found["unknown_receipt"].line_id
        ).exists()
    # The next run finds the payment matched: its missing receipt clears itself.
    reconcile(tenant, today)
    found["missing_receipt"].refresh_from_db()
    assert found["missing_receipt"].state == "cleared"
    # A hand match of a sandbox payment moves the money into the bank in the ledger too.
    assert payments_selectors.ledger_balances(tenant=tenant, currency="EUR")["bank"] == 4990 + 2900


def test_accepting_a_short_amount(finance_api, tenant, today, mismatched_day):
    _, _, short, found = mismatched_day

    with_counterparts = resolve(
        finance_api,
        found["amount_differs"],
        resolution="written_off",
        note="x",
        matched_with=[short.pk],
    )
    assert with_counterparts.status_code == 400
    assert with_counterparts.json()["error"]["code"] == "counterparts_not_allowed"

    accepted = resolve(
        finance_api, found["amount_differs"], resolution="written_off", note="Bank fee deducted"
    )
    assert accepted.status_code == 200
    again = reconcile(tenant, today)
    assert again.totals["EUR"]["exceptions"] == 2  # the missing and unknown receipts only
    with tenant_scope(tenant):
        assert (
            ReconciliationException.objects.get(pk=found["amount_differs"].pk).state == "resolved"
        )


@pytest.mark.parametrize(
    ("body", "status", "code", "field"),
    [
        (
            {"resolution": "matched_by_hand", "note": "x"},
            400,
            "counterparts_required",
            "matched_with",
        ),
        ({"resolution": "lost", "note": "x"}, 400, "invalid_choice", "resolution"),
        ({"resolution": "refunded", "note": ""}, 400, "blank", "note"),
        ({"resolution": "refunded"}, 400, "missing_field", "note"),
        ({"resolution": "refunded", "note": "x", "extra": 1}, 400, "unknown_field", "extra"),
        (
            {"resolution": "matched_by_hand", "note": "x", "matched_with": ["stl_nope"]},
            400,
            "does_not_exist",
            "matched_with",
        ),
        (
            {"resolution": "matched_by_hand", "note": "x", "matched_with": ["pay_nope"]},
            422,
            "not_matchable",
            "matched_with",
        ),
    ],
)
def test_bad_resolutions_change_nothing(finance_api, mismatched_day, body, status, code, field):
    _, _, _, found = mismatched_day

    response = resolve(finance_api, found["unknown_receipt"], **body)

    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert response.json()["error"].get("field") == field
    found["unknown_receipt"].refresh_from_db()
    assert found["unknown_receipt"].state == "open"


def test_a_counterpart_matched_already_is_a_conflict(finance_api, mismatched_day):
    _, _, short, found = mismatched_day

    response = resolve(
        finance_api,
        found["unknown_receipt"],
        resolution="matched_by_hand",
        note="x",
        matched_with=[short.pk],
    )

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "already_matched"


def test_resolving_twice_is_a_conflict(finance_api, mismatched_day):
    _, _, _, found = mismatched_day
    assert (
        resolve(finance_api, found["unknown_receipt"], resolution="refunded", note="a").status_code
        == 200
    )

    again = resolve(finance_api, found["unknown_receipt"], resolution="refunded", note="b")

    assert again.status_code == 409
    assert again.json()["error"]["code"] == "exception_not_open"


def test_resolving_needs_payments_write(tenant, mismatched_day):
    from tests.conftest import client_for

    _, _, _, found = mismatched_day
    reader = client_for(tenant, ["reports:read"])
    assert (
        resolve(reader, found["unknown_receipt"], resolution="refunded", note="x").status_code
        == 403
    )
