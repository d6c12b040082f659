"""The matching engine, one behaviour per test: strong references first, then amount,
date and payer; batches; returns; reversals; duplicates; what is an exception and what
is only unmatched."""

from __future__ import annotations

from datetime import timedelta

import pytest
from freezegun import freeze_time

from payments import services as payments
from payments.models import Payment, PaymentEvent, PaymentState
from reconciliation.models import (
    Match,
    MatchItem,
    ReconciliationException,
    RunItem,
)
from tenants.scope import tenant_scope
from tests.reconciliation.camt import Entry, Tx, camt053
from tests.reconciliation.conftest import (
    card_payment,
    direct_debit,
    import_bytes,
    reconcile,
    set_tolerance,
)

pytestmark = pytest.mark.django_db


def matches(tenant) -> dict[str, tuple[str, ...]]:
    """object id → (method,) of every matched item."""
    with tenant_scope(tenant):
        return {
            item.object_id: (item.match.method,)
            for item in MatchItem.objects.select_related("match")
        }


def exceptions(tenant, state="open") -> list[ReconciliationException]:
    with tenant_scope(tenant):
        return list(ReconciliationException.objects.filter(state=state).order_by("created_at"))


def rows(run, status=None) -> list[RunItem]:
    with tenant_scope(run.tenant):
        found = RunItem.objects.filter(run=run)
        if status:
            found = found.filter(status=status)
        return list(found.order_by("id"))


@pytest.mark.parametrize(
    "written",
    [
        "{id}",
        "Payment {upper} thank you",
        "PAY-{body}",  # banks that do not allow "_"
        "pay {body} parking",
    ],
)
def test_the_hubs_payment_id_in_remittance_text(tenant, service, today, written):
    payment = card_payment(tenant, service, 1250)
    body = payment.pk.split("_", 1)[1]
    text = written.format(id=payment.pk, upper=payment.pk.upper(), body=body.upper())
    import_bytes(tenant, camt053([Entry(1250, remittance=text)], booked=today))

    reconcile(tenant, today)

    assert matches(tenant) == {payment.pk: ("reference",)}
    assert exceptions(tenant) == []


def test_end_to_end_id_and_structured_reference(tenant, service, today):
    debit = direct_debit(tenant, service, 4000, "ATT-E2E-0001")
    transfer = card_payment(tenant, service, 7777, reference="RF18539007547034")
    import_bytes(
        tenant,
        camt053(
            [
                Entry(4000, end_to_end_id="ATT-E2E-0001"),
                Entry(7777, creditor_reference="RF18539007547034"),
            ],
            booked=today,
        ),
    )

    reconcile(tenant, today)

    assert matches(tenant) == {debit.pk: ("reference",), transfer.pk: ("reference",)}


def test_without_reference_amount_date_and_payer_decide(tenant, service, today):
    payment = card_payment(tenant, service, 3150)
    with tenant_scope(tenant):
        Payment.objects.filter(pk=payment.pk).update(metadata={"payer_name": "Jan Jansen"})
    import_bytes(tenant, camt053([Entry(3150, name="JANSEN JAN")], booked=today))

    reconcile(tenant, today)

    assert matches(tenant) == {payment.pk: ("amount_date",)}


def test_two_equally_good_candidates_match_neither(tenant, service, today):
    first = card_payment(tenant, service, 2000)
    second = card_payment(tenant, service, 2000)
    import_bytes(tenant, camt053([Entry(2000, name="Someone")], booked=today))

    run = reconcile(tenant, today)

    assert matches(tenant) == {}
    [problem] = exceptions(tenant)
    assert problem.kind == "unknown_receipt"
    assert "2 unmatched items of this amount" in problem.reason
    assert first.pk in problem.reason and second.pk in problem.reason
    assert {r.item_id for r in rows(run, "unmatched_expected")} == {first.pk, second.pk}


def test_the_payers_name_breaks_a_tie(tenant, service, today):
    card_payment(tenant, service, 2000)
    chosen = card_payment(tenant, service, 2000)
    with tenant_scope(tenant):
        Payment.objects.filter(pk=chosen.pk).update(metadata={"payer_name": "Maria Garcia"})
    import_bytes(tenant, camt053([Entry(2000, name="Maria Garcia")], booked=today))

    reconcile(tenant, today)

    assert matches(tenant) == {chosen.pk: ("amount_date",)}


def test_an_amount_within_the_agencys_tolerance_matches_quietly(tenant, service, today):
    set_tolerance(tenant, amount_tolerance=5)
    payment = card_payment(tenant, service, 10000)
    import_bytes(tenant, camt053([Entry(9997, remittance=payment.pk)], booked=today))

    reconcile(tenant, today)

    assert matches(tenant) == {payment.pk: ("reference",)}
    assert exceptions(tenant) == []


def test_a_batch_booking_matches_each_of_its_transactions(tenant, service, today):
    debits = [direct_debit(tenant, service, amount) for amount in (1000, 2000, 3000)]
    batch = Entry(6000, batch=[Tx(d.amount, end_to_end_id=d.provider_reference) for d in debits])
    import_bytes(tenant, camt053([batch], booked=today))

    run = reconcile(tenant, today)

    with tenant_scope(tenant):
        [match] = Match.objects.all()
        assert match.method == "batch"
        assert (match.reported_amount, match.expected_amount) == (6000, 6000)
        assert match.items.count() == 3
    batch_rows = rows(run, "matched")
    assert [r.expected_amount for r in batch_rows] == [1000, 2000, 3000]
    assert [r.reported_amount for r in batch_rows] == [6000, None, None]


def test_a_batch_with_a_transaction_the_hub_does_not_know(tenant, service, today):
    known = direct_debit(tenant, service, 1000)
    batch = Entry(
        1500,
        batch=[Tx(1000, end_to_end_id=known.provider_reference), Tx(500, end_to_end_id="ATT-NOPE")],
    )
    import_bytes(tenant, camt053([batch], booked=today))

    reconcile(tenant, today)

    assert matches(tenant) == {known.pk: ("batch",)}
    [problem] = exceptions(tenant)
    assert problem.kind == "amount_differs"
    assert problem.difference == 500
    assert "ATT-NOPE" in problem.reason


def test_a_batch_found_by_its_collection_run_reference(tenant, service, today):
    debits = [
        direct_debit(tenant, service, amount, metadata={"batch_reference": "PMTINF-7"})
        for amount in (1500, 2500)
    ]
    direct_debit(tenant, service, 1500)  # same amount, another run
    lump = Entry(4000, batch_reference="PMTINF-7", bank_code=("PMNT", "RDDT", "ESDD"))
    import_bytes(tenant, camt053([lump], booked=today))

    reconcile(tenant, today)

    assert matches(tenant) == {d.pk: ("batch",) for d in debits}


def test_a_lump_sum_of_one_days_direct_debits(tenant, service, today):
    """A bank that books a collection as one amount with no details at all."""
    debits = [direct_debit(tenant, service, amount) for amount in (1111, 2222)]
    lump = Entry(3333, info="SEPA INCASSO", bank_code=("PMNT", "RDDT", "ESDD"))
    import_bytes(tenant, camt053([lump], booked=today))

    reconcile(tenant, today)

    assert matches(tenant) == {d.pk: ("same_day_batch",) for d in debits}


def test_a_second_receipt_of_the_same_payment_is_a_duplicate(tenant, service, today, finance_api):
    payment = direct_debit(tenant, service, 2500, "ATT-DUP-1")
    import_bytes(tenant, camt053([Entry(2500, end_to_end_id="ATT-DUP-1")], booked=today))
    reconcile(tenant, today)
    import_bytes(tenant, camt053([Entry(2500, end_to_end_id="ATT-DUP-1")], booked=today))

    reconcile(tenant, today)

    [problem] = exceptions(tenant)
    assert problem.kind == "duplicate_receipt"
    assert problem.item_id == payment.pk
    response = finance_api.post(
        f"/api/v1/reconciliation-exceptions/{problem.pk}/resolve",
        {"resolution": "refunded", "note": "Paid back to the payer on 12 March"},
        format="json",
    )
    assert response.status_code == 200
    run = reconcile(tenant, today)
    assert exceptions(tenant) == []
    assert [r.status for r in rows(run) if r.line_id == problem.line_id] == ["resolved"]


def test_a_return_in_the_statement_reaches_payments_once(tenant, service, today):
    payment = direct_debit(tenant, service, 4995, "ATT-RET-1")
    import_bytes(
        tenant,
        camt053(
            [
                Entry(4995, end_to_end_id="ATT-RET-1"),
                Entry(
                    -4995,
                    end_to_end_id="ATT-RET-1",
                    return_code="AM04",
                    bank_code=("PMNT", "RDDT", "UPDD"),
                ),
            ],
            booked=today,
        ),
    )

    run = reconcile(tenant, today)

    payment.refresh_from_db()
    assert payment.state == PaymentState.FAILED
    assert payment.failure_code == "AM04"
    with tenant_scope(tenant):
        returned = PaymentEvent.objects.get(payment=payment, to_state="failed", applied=True)
        assert returned.source.startswith("bank_statement:stl_")
        assert set(MatchItem.objects.values_list("kind", "object_id")) == {
            ("payment", payment.pk),
            ("return", payment.pk),
        }
    assert run.totals["EUR"]["returns"] == 4995
    assert run.totals["EUR"]["variance"] == 0
    assert exceptions(tenant) == []
    # A second run (and the same return reported again later) changes nothing.
    reconcile(tenant, today)
    with tenant_scope(tenant):
        assert PaymentEvent.objects.filter(payment=payment, to_state="failed").count() == 1


def test_a_return_stripe_reported_first_is_not_applied_twice(tenant, service, today):
    payment = direct_debit(tenant, service, 1200, "ATT-RET-2")
    payments.record_direct_debit_return(
        payment=payment, reason_code="MD06", returned_on=today, source="stripe_webhook"
    )
    import_bytes(
        tenant,
        camt053([Entry(-1200, end_to_end_id="ATT-RET-2", return_code="MD06")], booked=today),
    )

    reconcile(tenant, today)

    with tenant_scope(tenant):
        applied = PaymentEvent.objects.filter(payment=payment, to_state="failed", applied=True)
        assert [e.source for e in applied] == ["stripe_webhook"]
    assert matches(tenant)[payment.pk] == ("return",)


def test_a_return_of_an_unknown_collection(tenant, today):
    import_bytes(
        tenant, camt053([Entry(-990, end_to_end_id="ATT-GHOST", return_code="AC04")], booked=today)
    )

    reconcile(tenant, today)

    [problem] = exceptions(tenant)
    assert problem.kind == "unknown_return"
    assert "AC04" in problem.reason and "ATT-GHOST" in problem.reason


def test_a_reversed_unknown_receipt_cancels_out(tenant, today):
    import_bytes(
        tenant,
        camt053(
            [
                Entry(7500, end_to_end_id="E2E-REV-1", name="Wrong Payer"),
                Entry(-7500, end_to_end_id="E2E-REV-1", name="Wrong Payer", reversal=True),
            ],
            booked=today,
        ),
    )

    run = reconcile(tenant, today)

    assert exceptions(tenant) == []
    assert [r.method for r in rows(run)] == ["reversal", "reversal"]
    assert run.totals["EUR"]["received"] == 0


def test_the_bank_reversing_a_matched_receipt_is_an_exception(tenant, service, today):
    payment = card_payment(tenant, service, 6000)
    import_bytes(tenant, camt053([Entry(6000, remittance=payment.pk)], booked=today))
    reconcile(tenant, today)
    import_bytes(
        tenant, camt053([Entry(-6000, remittance=payment.pk, reversal=True)], booked=today)
    )

    reconcile(tenant, today)

    [problem] = exceptions(tenant)
    assert problem.kind == "reversed_receipt"
    assert problem.item_id == payment.pk


def test_the_agencys_own_payments_and_bank_charges_are_not_exceptions(tenant, today):
    import_bytes(
        tenant,
        camt053(
            [
                Entry(-123456, end_to_end_id="SUPPLIER-17", bank_code=("PMNT", "ICDT", "ESCT")),
                Entry(-1235, info="Account fee", bank_code=("ACMT", "MDOP", "CHRG")),
            ],
            booked=today,
        ),
    )

    run = reconcile(tenant, today)

    assert exceptions(tenant) == []
    assert sorted(r.reason for r in rows(run, "unmatched_reported")) == [
        "Bank charge",
        "Outgoing payment not made through the hub",
    ]
    assert run.totals["EUR"]["received"] == 0
    assert run.totals["EUR"]["closing_variance"] == -123456 - 1235


def test_a_pending_entry_waits(tenant, service, today):
    payment = card_payment(tenant, service, 500)
    import_bytes(tenant, camt053([Entry(500, remittance=payment.pk, status="PDNG")], booked=today))

    run = reconcile(tenant, today)

    assert matches(tenant) == {}
    assert [r.reason for r in rows(run, "unmatched_reported")] == ["Not booked yet (status PDNG)"]


def test_money_for_a_collection_not_confirmed_yet_waits_then_matches(tenant, service, today):
    payment = direct_debit(tenant, service, 1800, "ATT-LATE-1", confirm=False)
    import_bytes(tenant, camt053([Entry(1800, end_to_end_id="ATT-LATE-1")], booked=today))

    run = reconcile(tenant, today)

    assert exceptions(tenant) == []
    [row] = rows(run, "unmatched_reported")
    assert f"Payment {payment.pk} is submitted" in row.reason
    payments.confirm_direct_debit(payment=payment, provisional_until=today + timedelta(days=8))
    reconcile(tenant, today)
    assert matches(tenant) == {payment.pk: ("reference",)}


def test_money_for_a_cancelled_payment_is_unexpected(tenant, service, today):
    payment = payments.create_payment(
        tenant=tenant,
        service=service,
        amount=900,
        currency="EUR",
        description="x",
        reference="R-1",
    )
    payments.cancel_payment(payment=payment)
    import_bytes(tenant, camt053([Entry(900, remittance=payment.pk)], booked=today))

    reconcile(tenant, today)

    [problem] = exceptions(tenant)
    assert problem.kind == "unexpected_receipt"
    assert "cancelled" in problem.reason


def test_a_missing_receipt_is_awaited_for_the_window_then_raised_then_cleared(tenant, service):
    with freeze_time("2024-03-04 10:00:00"):
        payment = card_payment(tenant, service, 4321)
    import_bytes(tenant, camt053([], booked=payment.finished_at.date(), statement_id="D0"))
    first = reconcile(tenant, payment.finished_at.date())
    [waiting] = rows(first, "unmatched_expected")
    assert waiting.reason == "Awaited until 2024-03-07"
    assert exceptions(tenant) == []

    # The statements of the next days come in without it: missing once they cover the 7th.
    for day in ("2024-03-05", "2024-03-06", "2024-03-07"):
        import_bytes(tenant, camt053([], booked=_date(day), statement_id=f"D-{day}"))
    later = reconcile(tenant, _date("2024-03-07"))
    [missing] = exceptions(tenant)
    assert missing.kind == "missing_receipt"
    assert missing.item_id == payment.pk
    assert [r.status for r in rows(later) if r.item_id == payment.pk] == ["exception"]

    # It arrives after all: the next run matches it and clears the exception.
    import_bytes(tenant, camt053([Entry(4321, remittance=payment.pk)], booked=_date("2024-03-08")))
    reconcile(tenant, _date("2024-03-08"))
    assert exceptions(tenant) == []
    assert [e.kind for e in exceptions(tenant, "cleared")] == ["missing_receipt"]


def test_running_a_period_again_reports_the_same(tenant, service, today):
    payment = card_payment(tenant, service, 1000)
    card_payment(tenant, service, 2000)  # never received
    import_bytes(
        tenant,
        camt053([Entry(1000, remittance=payment.pk), Entry(55, name="Stranger")], booked=today),
    )
    set_tolerance(tenant, date_window_days=0)

    first = reconcile(tenant, today)
    second = reconcile(tenant, today)

    assert first.totals == second.totals
    assert [(r.status, r.item_id, r.line_id) for r in rows(first)] == [
        (r.status, r.item_id, r.line_id) for r in rows(second)
    ]
    with tenant_scope(tenant):
        assert Match.objects.count() == 1
        assert ReconciliationException.objects.count() == 2


def _date(text):
    from datetime import date

    return date.fromisoformat(text)


def test_yesterdays_unknown_receipt_is_matched_once_its_payment_is_recorded(tenant, service, today):
    yesterday = today - timedelta(days=1)
    import_bytes(tenant, camt053([Entry(6150, name="Early Payer")], booked=yesterday))
    reconcile(tenant, yesterday)
    [unknown] = exceptions(tenant)
    assert unknown.kind == "unknown_receipt"

    payment = card_payment(tenant, service, 6150)
    reconcile(tenant, today)

    assert matches(tenant) == {payment.pk: ("amount_date",)}
    assert exceptions(tenant) == []
    assert [e.pk for e in exceptions(tenant, "cleared")] == [unknown.pk]
