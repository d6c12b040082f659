"""Stripe payouts: the real SDK, per-agency keys, against hand-written JSON shaped like
Stripe's documented Payout and BalanceTransaction list objects (served by `responses`,
with has_more pagination), then matched to the hub's payments and to the bank."""

from __future__ import annotations

import json
import time
from datetime import date
from urllib.parse import parse_qs, urlparse

import pytest
import responses
from django.db import connection, transaction
from django.utils import timezone

from hub.events import dispatch
from hub.events.catalogue import EVENT_TYPES
from hub.events.models import Event
from hub.events.outbox import publish
from payments import selectors as payments_selectors
from payments import services as payments
from payments.models import PaymentState, ProviderAccount
from payments.providers.base import DisputeReport, ProviderStatus
from payments.services import outcomes
from payments.services.disputes import record_dispute
from reconciliation import services
from reconciliation.models import (
    BankStatement,
    MatchItem,
    ReconciliationException,
    RunItem,
    StatementImport,
    StatementLine,
)
from tenants.scope import all_tenants, tenant_scope
from tests.reconciliation.camt import Entry, camt053
from tests.reconciliation.conftest import direct_debit, import_bytes, reconcile

pytestmark = pytest.mark.django_db
API = "https://api.stripe.com/v1"
SECRET = "sk_test_agency_tax_office"
PAYOUT = "po_1PayoutTaxOffice01"


@pytest.fixture
def stripe_account(tenant):
    with tenant_scope(tenant):
        return ProviderAccount.objects.create(tenant=tenant, provider="stripe", secret_key=SECRET)


def now_ts() -> int:
    return int(time.time())


def payout_json(amount: int, *, status: str = "paid", payout_id: str = PAYOUT) -> dict:
    """A Payout as https://docs.stripe.com/api/payouts/object shows it."""
    return {
        "id": payout_id,
        "object": "payout",
        "amount": amount,
        "application_fee": None,
        "application_fee_amount": None,
        "arrival_date": now_ts(),
        "automatic": True,
        "balance_transaction": "txn_1PayoutBalanceTx",
        "created": now_ts() - 86400,
        "currency": "eur",
        "description": "STRIPE PAYOUT",
        "destination": "ba_1MtIhL2eZvKYlo2CAElKwKu2",
        "failure_balance_transaction": None,
        "failure_code": None,
        "failure_message": None,
        "livemode": False,
        "metadata": {},
        "method": "standard",
        "original_payout": None,
        "reconciliation_status": "completed",
        "reversed_by": None,
        "source_type": "card",
        "statement_descriptor": None,
        "status": status,
        "type": "bank_account",
    }


def balance_transaction(
    txn_id: str,
    type_: str,
    amount: int,
    *,
    fee: int = 0,
    source: dict | str | None = None,
    description: str | None = None,
    reporting_category: str | None = None,
) -> dict:
    """A BalanceTransaction as https://docs.stripe.com/api/balance_transactions/object."""
    return {
        "id": txn_id,
        "object": "balance_transaction",
        "amount": amount,
        "available_on": now_ts(),
        "created": now_ts() - 3600,
        "currency": "eur",
        "description": description,
        "exchange_rate": None,
        "fee": fee,
        "fee_details": (
            [
                {
                    "amount": fee,
                    "application": None,
                    "currency": "eur",
                    "description": "Stripe processing fees",
                    "type": "stripe_fee",
                }
            ]
            if fee
            else []
        ),
        "net": amount - fee,
        "reporting_category": reporting_category or type_,
        "source": source,
        "status": "available",
        "type": type_,
    }


def charge(charge_id: str, intent: str) -> dict:
    return {"id": charge_id, "object": "charge", "payment_intent": intent}


def serve_payout(payout: dict, pages: list[list[dict]], *, seen: list | None = None) -> None:
    """GET the payout, and its balance transactions page by page (has_more)."""
    responses.get(f"{API}/payouts/{payout['id']}", json=payout)
    # Stripe lists the payout's own transaction too.
    pages = [
        [balance_transaction("txn_1PayoutBalanceTx", "payout", -payout["amount"])] + pages[0],
        *pages[1:],
    ]

    def listing(request):
        query = parse_qs(urlparse(request.url).query)
        if seen is not None:
            seen.append((request.headers.get("Authorization"), query))
        assert query["payout"] == [payout["id"]]
        assert query["expand[0]"] == ["data.source"]
        after = query.get("starting_after", [None])[0]
        index = 0
        if after is not None:
            index = next(i for i, page in enumerate(pages) if page[-1]["id"] == after) + 1
        body = {
            "object": "list",
            "url": "/v1/balance_transactions",
            "has_more": index < len(pages) - 1,
            "data": pages[index],
        }
        import json

        return 200, {"Content-Type": "application/json"}, json.dumps(body)

    responses.add_callback(responses.GET, f"{API}/balance_transactions", callback=listing)


def stripe_card_payment(tenant, service, amount: int, intent: str, fee: int):
    """A card payment through Stripe Checkout, completed as the webhook would report it."""
    responses.post(
        f"{API}/checkout/sessions",
        json={
            "id": f"cs_test_{intent}",
            "object": "checkout.session",
            "url": f"https://checkout.stripe.com/c/pay/cs_test_{intent}",
            "payment_intent": None,
            "status": "open",
        },
    )
    payment = payments.create_payment(
        tenant=tenant,
        service=service,
        amount=amount,
        currency="EUR",
        description="Licence",
        reference="LIC-1",
        provider="stripe",
    )
    outcomes.apply_provider_status(
        payment=payment,
        status=ProviderStatus(PaymentState.SUCCESS, intent, fee=fee, fee_currency="EUR"),
        source="stripe_webhook",
    )
    payment.refresh_from_db()
    return payment


def stripe_refund(payment, amount: int, refund_id: str):
    responses.post(
        f"{API}/refunds",
        json={"id": refund_id, "object": "refund", "amount": amount, "status": "succeeded"},
    )
    return payments.create_refund(payment=payment, amount=amount)


@responses.activate
def test_a_payout_is_imported_matched_to_payments_and_to_the_bank(
    tenant, service, stripe_account, today
):
    card = stripe_card_payment(tenant, service, 12000, "pi_card1", fee=190)
    refund = stripe_refund(card, 1000, "re_card1")
    first = direct_debit(tenant, service, 10000, "pi_dd1", provider="stripe")
    second = direct_debit(tenant, service, 5000, "pi_dd2", provider="stripe")
    pages = [
        [
            balance_transaction(
                "txn_ch1", "charge", 12000, fee=190, source=charge("ch_card1", "pi_card1")
            ),
            balance_transaction(
                "txn_py1", "payment", 10000, fee=35, source=charge("py_dd1", "pi_dd1")
            ),
        ],
        [
            balance_transaction(
                "txn_py2", "payment", 5000, fee=35, source=charge("py_dd2", "pi_dd2")
            ),
            balance_transaction(
                "txn_re1",
                "refund",
                -1000,
                source={
                    "id": "re_card1",
                    "object": "refund",
                    "charge": "ch_card1",
                    "payment_intent": "pi_card1",
                },
            ),
        ],
        [
            balance_transaction("txn_fee1", "stripe_fee", -500, description="Radar (2024-03)"),
            balance_transaction(
                "txn_dp1",
                "adjustment",
                -5000,
                fee=1500,
                reporting_category="dispute",
                source={
                    "id": "dp_1",
                    "object": "dispute",
                    "charge": "py_dd2",
                    "payment_intent": "pi_dd2",
                },
            ),
            balance_transaction(
                "txn_ch9", "charge", 777, fee=30, source=charge("ch_unknown", "pi_unknown")
            ),
        ],
    ]
    net = sum(t["net"] for page in pages for t in page)
    seen: list = []
    serve_payout(payout_json(net), pages, seen=seen)
    # Stripe's dispute webhook had reached payments before the payout.
    recorded = record_dispute(
        payment=second,
        report=DisputeReport("dp_1", 5000, "EUR", "needs_response", reason="fraudulent"),
        source="stripe_webhook",
    ).dispute

    result = services.import_stripe_payout(tenant=tenant, payout_id=PAYOUT)

    assert result.created
    # Three pages, each with the agency's own key, never a global one.
    assert [auth for auth, _ in seen] == [f"Bearer {SECRET}"] * 3
    assert [q.get("starting_after") for _, q in seen] == [None, ["txn_py1"], ["txn_re1"]]
    with tenant_scope(tenant):
        header = BankStatement.objects.get(statement_id=PAYOUT)
        assert (header.channel, header.currency, header.closing_balance) == ("stripe", "EUR", net)
        assert header.line_count == 7  # the payout's own transaction is the closing balance
        lines = {
            line.entry_reference: line for line in StatementLine.objects.filter(statement=header)
        }
        assert lines["txn_ch1"].fee == 190 and lines["txn_re1"].amount == -1000
    assert services.import_stripe_payout(tenant=tenant, payout_id=PAYOUT).created is False

    bank = camt053([Entry(net, remittance=f"STRIPE PAYOUT {PAYOUT}", name="Stripe")], booked=today)
    import_bytes(tenant, bank)
    run = reconcile(tenant, today)

    with tenant_scope(tenant):
        matched = set(MatchItem.objects.values_list("kind", "object_id"))
        assert matched == {
            ("payment", card.pk),
            ("payment", first.pk),
            ("payment", second.pk),
            ("refund", refund.pk),
            ("payout", header.pk),
        }
        kinds = {e.kind: e for e in ReconciliationException.objects.all()}
        assert set(kinds) == {"dispute", "unknown_receipt"}
        assert kinds["dispute"].item_id == second.pk
        assert kinds["dispute"].reason == (
            "The payer disputed a payment: Stripe took the money back "
            f"({second.pk}); dispute {recorded.pk}, needs response"
        )
        assert kinds["unknown_receipt"].reported_amount == 777
        fee_row = RunItem.objects.get(run=run, line=lines["txn_fee1"])
        assert fee_row.status == "unmatched_reported"
        assert fee_row.reason == "Stripe stripe fee: Radar (2024-03)"
    figures = run.totals["EUR"]
    assert figures["expected"] == figures["received"] == net
    assert figures["provider_fees"] == 190 + 35 + 35 + 1500 + 30
    # The payout moved the money from Stripe's balance to the bank; what stays in
    # clearing is exactly what the hub does not explain yet.
    balances = payments_selectors.ledger_balances(tenant=tenant, currency="EUR")
    assert balances["bank"] == net
    hub_did_not_book = 5000 + 1500 + 35 + 35 + 500 - 777 + 30
    assert balances["provider_clearing"] == hub_did_not_book
    assert payments_selectors.ledger_is_balanced(tenant=tenant)


@responses.activate
def test_a_won_dispute_in_a_payout_says_the_money_came_back(tenant, service, stripe_account, today):
    paid = direct_debit(tenant, service, 5000, "pi_dd7", provider="stripe")
    reversal = balance_transaction(
        "txn_dr1",
        "adjustment",
        5000,
        reporting_category="dispute_reversal",
        source={"id": "dp_7", "object": "dispute", "charge": "py_dd7", "payment_intent": "pi_dd7"},
    )
    serve_payout(payout_json(5000), [[reversal]])
    won = DisputeReport("dp_7", 5000, "EUR", "won", reason="fraudulent")
    recorded = record_dispute(payment=paid, report=won, source="stripe_webhook").dispute

    services.import_stripe_payout(tenant=tenant, payout_id=PAYOUT)
    reconcile(tenant, today)

    with tenant_scope(tenant):
        exception = ReconciliationException.objects.get(kind="dispute")
    assert exception.reason == (
        "A dispute was decided for the agency: Stripe gave the money back "
        f"({paid.pk}); dispute {recorded.pk}, won"
    )


@responses.activate
def test_a_payout_whose_transactions_do_not_add_up_is_refused(tenant, stripe_account):
    pages = [[balance_transaction("txn_1", "charge", 1000, source="ch_1")]]
    serve_payout(payout_json(999), pages)

    with pytest.raises(services.PayoutImportError, match="add up to 1000, the payout is 999"):
        services.import_stripe_payout(tenant=tenant, payout_id=PAYOUT)

    with tenant_scope(tenant):
        assert not StatementImport.objects.exists()
        assert not StatementLine.objects.exists()


def serve_payout_noting_transactions() -> list[bool]:
    """Serve a paid payout of one charge; each answer notes whether a transaction of
    the hub's was open while Stripe was asked."""
    in_transaction: list[bool] = []

    def answer(body: dict):
        def callback(request):
            in_transaction.append(connection.in_atomic_block)
            return 200, {"Content-Type": "application/json"}, json.dumps(body)

        return callback

    transactions = [balance_transaction("txn_1", "charge", 1000, fee=30, source="ch_1")]
    responses.add_callback(
        responses.GET, f"{API}/payouts/{PAYOUT}", callback=answer(payout_json(970))
    )
    responses.add_callback(
        responses.GET,
        f"{API}/balance_transactions",
        callback=answer({"object": "list", "has_more": False, "data": transactions}),
    )
    return in_transaction


@pytest.mark.django_db(transaction=True)
@responses.activate
def test_stripe_is_asked_before_the_import_opens_its_transaction(tenant, stripe_account):
    """Fetch, then write: while Stripe answers (up to its timeout, with retries) no
    transaction of the import is open, so no row of the hub waits on Stripe."""
    in_transaction = serve_payout_noting_transactions()

    result = services.import_stripe_payout(tenant=tenant, payout_id=PAYOUT)

    assert result.created
    assert in_transaction == [False, False]  # the payout, then its one page of transactions
    with tenant_scope(tenant):
        assert StatementLine.objects.filter(statement__statement_id=PAYOUT).count() == 1


@responses.activate
def test_a_payout_not_paid_yet_is_retried_later(tenant, stripe_account):
    responses.get(f"{API}/payouts/{PAYOUT}", json=payout_json(100, status="in_transit"))

    with pytest.raises(services.PayoutImportError) as raised:
        services.import_stripe_payout(tenant=tenant, payout_id=PAYOUT)
    assert raised.value.retryable


@responses.activate
def test_another_agencys_payout_is_not_found_with_this_agencys_key(tenant, stripe_account):
    responses.get(
        f"{API}/payouts/po_foreign",
        status=404,
        json={
            "error": {
                "code": "resource_missing",
                "message": "No such payout",
                "type": "invalid_request_error",
            }
        },
    )
    with pytest.raises(services.PayoutImportError, match="knows payout po_foreign"):
        services.import_stripe_payout(tenant=tenant, payout_id="po_foreign")


@responses.activate
def test_payout_paid_event_imports_the_payout(tenant, stripe_account, monkeypatch):
    """The event payments publishes for Stripe's payout.paid webhook."""
    monkeypatch.setitem(EVENT_TYPES, "payout.paid", "Stripe paid a payout out")
    serve_payout(
        payout_json(970), [[balance_transaction("txn_1", "charge", 1000, fee=30, source="ch_1")]]
    )
    with transaction.atomic():
        event = publish(
            tenant=tenant,
            type="payout.paid",
            subject_id=PAYOUT,
            payload={"payout_id": PAYOUT, "provider_account": stripe_account.pk},
        )

    assert dispatch.dispatch_event(event.pk)

    with tenant_scope(tenant):
        assert BankStatement.objects.filter(statement_id=PAYOUT).exists()
        assert Event.objects.get(pk=event.pk).dispatched_at is not None


@pytest.mark.django_db(transaction=True)
@responses.activate
def test_the_payout_subscriber_holds_no_transaction_while_stripe_answers(
    tenant, stripe_account, monkeypatch
):
    """Dispatched from the outbox, the import still asks Stripe with no transaction
    open: neither the dispatcher's nor the subscriber's receipt waits on Stripe."""
    monkeypatch.setitem(EVENT_TYPES, "payout.paid", "Stripe paid a payout out")
    in_transaction = serve_payout_noting_transactions()
    with transaction.atomic():
        event = publish(
            tenant=tenant,
            type="payout.paid",
            subject_id=PAYOUT,
            payload={"payout_id": PAYOUT, "provider_account": stripe_account.pk},
        )

    assert dispatch.dispatch_event(event.pk)

    assert in_transaction == [False, False]
    with tenant_scope(tenant):
        assert BankStatement.objects.filter(statement_id=PAYOUT).exists()
    # Dispatched again (a redelivered task): the receipt makes it a no-op, Stripe unasked.
    with all_tenants():
        Event.objects.filter(pk=event.pk).update(dispatched_at=None)
    dispatch.dispatch_event(event.pk)
    assert len(in_transaction) == 2


@responses.activate
def test_payout_paid_for_an_unfinished_payout_is_retried(tenant, stripe_account, monkeypatch):
    monkeypatch.setitem(EVENT_TYPES, "payout.paid", "Stripe paid a payout out")
    responses.get(f"{API}/payouts/{PAYOUT}", json=payout_json(100, status="pending"))
    with transaction.atomic():
        event = publish(
            tenant=tenant, type="payout.paid", subject_id=PAYOUT, payload={"payout_id": PAYOUT}
        )

    assert dispatch.dispatch_event(event.pk) is False

    with tenant_scope(tenant):
        failed = Event.objects.get(pk=event.pk)
    assert failed.dispatched_at is None
    assert "is pending, not paid" in failed.last_error


@responses.activate
def test_the_daily_sweep_imports_paid_payouts_it_has_not_seen(tenant, stripe_account):
    serve_payout(
        payout_json(970), [[balance_transaction("txn_1", "charge", 1000, fee=30, source="ch_1")]]
    )
    listed = []

    def listing(request):
        import json

        listed.append(parse_qs(urlparse(request.url).query))
        body = {
            "object": "list",
            "url": "/v1/payouts",
            "has_more": False,
            "data": [payout_json(970)],
        }
        return 200, {"Content-Type": "application/json"}, json.dumps(body)

    responses.add_callback(responses.GET, f"{API}/payouts", callback=listing)

    assert services.sweep_payouts_for_every_agency() == 1
    assert services.sweep_payouts_for_every_agency() == 0  # known: not fetched again
    assert listed[0]["status"] == ["paid"]
    since = date.fromtimestamp(int(listed[0]["arrival_date[gte]"][0]))
    assert (timezone.localdate() - since).days == 7
