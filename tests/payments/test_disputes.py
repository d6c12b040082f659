"""Stripe disputes (chargebacks): signed events posted to the real webhook view, then
what the agency sees in the timeline, the outbox, the ledger, the API and the admin."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from hub.events.models import Event
from payments import selectors as payments_selectors
from payments.models import Dispute, LedgerAccount, LedgerTransaction, PaymentEvent
from tenants.models import StaffMembership
from tenants.scope import all_tenants, tenant_scope
from tests.conftest import client_for
from tests.payments.stripe_support import event, fixture, post_event
from tests.payments.test_stripe import (  # noqa: F401 (fixtures)
    WEBHOOK_SECRET,
    reload,
    stripe_account,
    stripe_api,
    stripe_payment,
    succeeded,
    timeline,
)
from tests.support.admin_urls import admin_change_path

pytestmark = pytest.mark.django_db

DISPUTE_ID = "dp_1QyAbCdEfGhIjK0dIsPuTeAb"
FEE = 1500
DISPUTE_TYPES = ("payment.dispute_opened", "payment.dispute_updated", "payment.dispute_closed")


def dispute(status="needs_response", *, withdrawn=False, reinstated=False, **changes) -> dict:
    """Stripe's Dispute object; its balance transactions show what Stripe moved."""
    transactions = []
    if withdrawn:
        transactions.append(fixture("balance_transaction_dispute_withdrawal"))
    if reinstated:
        transactions.append(fixture("balance_transaction_dispute_reversal"))
    return {
        **fixture("dispute_needs_response"),
        "status": status,
        "balance_transactions": transactions,
        **changes,
    }


def send(client, tenant, type_: str, obj: dict) -> str:
    response = post_event(client, tenant, event(f"charge.dispute.{type_}", obj), WEBHOOK_SECRET)
    assert response.status_code == 200, response.content
    return response.json()["outcome"]


@pytest.fixture
def paid(tenant, stripe_payment, client):  # noqa: F811 (the imported fixture)
    return succeeded(tenant, stripe_payment, client)


def stored(tenant) -> Dispute:
    with tenant_scope(tenant):
        return Dispute.objects.get(provider_reference=DISPUTE_ID)


def published(type_: str) -> list[Event]:
    with all_tenants():
        return list(Event.objects.filter(type=type_).order_by("created_at"))


def dispute_notes(tenant, payment) -> list[PaymentEvent]:
    return [e for e in timeline(tenant, payment) if e.detail.get("note", "").startswith("dispute")]


def postings(tenant) -> list[str]:
    with tenant_scope(tenant):
        return sorted(
            LedgerTransaction.objects.filter(kind__startswith="dispute").values_list(
                "kind", flat=True
            )
        )


def test_an_opened_dispute_is_recorded_beside_the_payment(tenant, paid, client):
    assert send(client, tenant, "created", dispute()) == "applied"

    recorded = stored(tenant)
    assert recorded.pk.startswith("dsp_") and recorded.payment_id == paid.pk
    assert (recorded.amount, recorded.currency) == (8550, "EUR")
    assert (recorded.status, recorded.reason) == ("needs_response", "fraudulent")
    assert recorded.evidence_due_by == datetime.fromtimestamp(1765151999, tz=UTC)
    assert recorded.funds_withdrawn == 0 and recorded.closed_at is None

    assert reload(tenant, paid).state == "success"  # a dispute moves no payment state
    [note] = dispute_notes(tenant, paid)
    assert (note.from_state, note.to_state, note.applied) == ("success", "success", False)
    assert note.detail["note"] == "dispute_opened" and note.detail["dispute"] == recorded.pk
    assert note.source == "stripe_webhook"

    [opened] = published("payment.dispute_opened")
    assert opened.subject_id == recorded.pk
    assert opened.payload["payment"] == paid.pk
    assert opened.payload["payment_reference"] == "PASS-0001"
    assert opened.payload["status"] == "needs_response" and opened.payload["outcome"] is None
    assert opened.payload["evidence_due_by"] == "2025-12-07T23:59:59+00:00"
    assert postings(tenant) == []  # no money moved yet


def test_withdrawn_funds_and_the_dispute_fee_are_posted_balanced(tenant, paid, client):
    send(client, tenant, "created", dispute())
    assert send(client, tenant, "funds_withdrawn", dispute(withdrawn=True)) == "applied"

    recorded = stored(tenant)
    assert (recorded.funds_withdrawn, recorded.fee) == (8550, FEE)
    balances = payments_selectors.ledger_balances(tenant=tenant, currency="EUR")
    assert balances[LedgerAccount.DISPUTES] == 8550
    assert balances[LedgerAccount.FEES] == FEE
    assert balances[LedgerAccount.PROVIDER_CLEARING] == 8550 - 8550 - FEE
    assert balances[LedgerAccount.REVENUE] == -8550  # the sale stands; the chargeback is contra
    assert payments_selectors.ledger_is_balanced(tenant=tenant)
    assert postings(tenant) == ["dispute_fee", "dispute_withdrawn"]
    assert dispute_notes(tenant, paid)[-1].detail["note"] == "dispute_funds_withdrawn"
    assert published("payment.dispute_updated") == []  # no status change


def test_a_won_dispute_reverses_the_withdrawal(tenant, paid, client):
    send(client, tenant, "created", dispute(withdrawn=True))
    assert send(client, tenant, "updated", dispute("under_review", withdrawn=True)) == "applied"
    reinstated = dispute("won", withdrawn=True, reinstated=True)
    assert send(client, tenant, "funds_reinstated", reinstated) == "applied"
    assert send(client, tenant, "closed", reinstated) == "recorded"  # already known

    recorded = stored(tenant)
    assert recorded.status == "won" and recorded.closed_at is not None
    assert (recorded.funds_reinstated, recorded.fee_reinstated) == (8550, FEE)
    balances = payments_selectors.ledger_balances(tenant=tenant, currency="EUR")
    assert balances[LedgerAccount.DISPUTES] == 0 and balances[LedgerAccount.FEES] == 0
    assert balances[LedgerAccount.PROVIDER_CLEARING] == 8550
    assert payments_selectors.ledger_is_balanced(tenant=tenant)
    assert postings(tenant) == [
        "dispute_fee",
        "dispute_fee_reinstated",
        "dispute_reinstated",
        "dispute_withdrawn",
    ]

    [updated] = published("payment.dispute_updated")
    assert updated.payload["status"] == "under_review"
    assert updated.payload["previous_status"] == "needs_response"
    [closed] = published("payment.dispute_closed")
    assert closed.payload["outcome"] == "won" and closed.payload["funds_reinstated"] == 8550
    assert reload(tenant, paid).state == "success"


def test_a_lost_dispute_keeps_the_money_out_and_stays_closed(tenant, paid, client):
    send(client, tenant, "created", dispute(withdrawn=True))
    assert send(client, tenant, "closed", dispute("lost", withdrawn=True)) == "applied"
    late = dispute("under_review", withdrawn=True)
    assert send(client, tenant, "updated", late) == "recorded"

    recorded = stored(tenant)
    assert recorded.status == "lost" and recorded.outcome == "lost"
    [closed] = published("payment.dispute_closed")
    assert closed.payload["outcome"] == "lost"
    assert published("payment.dispute_updated") == []  # the late update was ignored
    ignored = dispute_notes(tenant, paid)[-1]
    assert ignored.detail["note"] == "dispute_ignored"
    assert ignored.detail["ignored"] == "dispute_closed"
    balances = payments_selectors.ledger_balances(tenant=tenant, currency="EUR")
    assert balances[LedgerAccount.DISPUTES] == 8550 and balances[LedgerAccount.FEES] == FEE
    assert payments_selectors.ledger_is_balanced(tenant=tenant)


def test_closed_before_created_ends_up_right(tenant, paid, client):
    won = dispute("won", withdrawn=True, reinstated=True)
    assert send(client, tenant, "closed", won) == "applied"
    assert send(client, tenant, "funds_withdrawn", dispute(withdrawn=True)) == "recorded"
    assert send(client, tenant, "created", dispute()) == "recorded"

    recorded = stored(tenant)
    assert recorded.status == "won" and recorded.closed_at is not None
    assert (recorded.funds_withdrawn, recorded.funds_reinstated) == (8550, 8550)
    assert [len(published(t)) for t in DISPUTE_TYPES] == [1, 0, 1]
    assert published("payment.dispute_closed")[0].payload["outcome"] == "won"
    notes = [n.detail["note"] for n in dispute_notes(tenant, paid)]
    assert notes == [
        "dispute_opened",
        "dispute_closed",
        "dispute_funds_withdrawn",
        "dispute_funds_reinstated",
        "dispute_ignored",
        "dispute_ignored",
    ]
    assert (
        payments_selectors.ledger_balances(tenant=tenant, currency="EUR")[LedgerAccount.DISPUTES]
        == 0
    )
    assert len(postings(tenant)) == 4
    assert payments_selectors.ledger_is_balanced(tenant=tenant)


def test_a_duplicate_event_is_applied_once(tenant, paid, client):
    evt = event("charge.dispute.funds_withdrawn", dispute(withdrawn=True))
    assert post_event(client, tenant, evt, WEBHOOK_SECRET).json()["outcome"] == "applied"
    assert post_event(client, tenant, evt, WEBHOOK_SECRET).json()["outcome"] == "duplicate"
    with tenant_scope(tenant):
        assert Dispute.objects.count() == 1
    assert postings(tenant) == ["dispute_fee", "dispute_withdrawn"]
    assert len(published("payment.dispute_opened")) == 1
    assert [n.detail["note"] for n in dispute_notes(tenant, paid)] == [
        "dispute_opened",
        "dispute_funds_withdrawn",
    ]


def test_a_fee_stripe_reports_after_the_withdrawal_is_posted_once(tenant, paid, client):
    """funds_withdrawn without its balance transaction: the amount only, the fee later."""
    assert send(client, tenant, "funds_withdrawn", dispute()) == "applied"
    assert (
        payments_selectors.ledger_balances(tenant=tenant, currency="EUR")[LedgerAccount.FEES] == 0
    )
    assert send(client, tenant, "closed", dispute("lost", withdrawn=True)) == "applied"
    balances = payments_selectors.ledger_balances(tenant=tenant, currency="EUR")
    assert balances[LedgerAccount.DISPUTES] == 8550 and balances[LedgerAccount.FEES] == FEE
    assert postings(tenant) == ["dispute_fee", "dispute_withdrawn"]
    assert payments_selectors.ledger_is_balanced(tenant=tenant)


def test_a_dispute_of_an_unknown_payment_is_acknowledged_and_records_nothing(tenant, paid, client):
    stray = dispute(payment_intent="pi_3NotOursAbCdEfGh0aBcDeFg", charge="ch_3NotOurs0gHiJkLm")
    assert send(client, tenant, "created", stray) == "unknown_payment"
    assert send(client, tenant, "funds_withdrawn", {**stray, "status": "lost"}) == (
        "unknown_payment"
    )
    with all_tenants():
        assert not Dispute.objects.exists()
    assert dispute_notes(tenant, paid) == []
    assert [published(t) for t in DISPUTE_TYPES] == [[], [], []]
    assert postings(tenant) == []


def test_a_dispute_found_by_its_charge_when_stripe_sends_no_payment_intent(tenant, paid, client):
    charge_id = fixture("charge_with_balance_transaction")["id"]
    with tenant_scope(tenant):
        type(paid).objects.filter(pk=paid.pk).update(provider_reference=charge_id)
    assert send(client, tenant, "created", dispute(payment_intent=None)) == "applied"
    assert stored(tenant).payment_id == paid.pk


# The API ---------------------------------------------------------------------------


def test_the_api_lists_filters_and_shows_disputes(api, tenant, paid, client):
    send(client, tenant, "created", dispute(withdrawn=True))
    recorded = stored(tenant)

    detail = api.get(f"/api/v1/disputes/{recorded.pk}")
    assert detail.status_code == 200
    body = detail.json()
    assert body["payment"] == paid.pk and body["amount"] == 8550 and body["currency"] == "EUR"
    assert body["status"] == "needs_response" and body["outcome"] is None
    assert body["funds_withdrawn"] == 8550 and body["fee"] == FEE
    assert body["provider_reference"] == DISPUTE_ID

    for path in (
        "/api/v1/disputes",
        f"/api/v1/disputes?status=needs_response&payment={paid.pk}",
        "/api/v1/disputes?created_after=2000-01-01T00:00:00Z",
        f"/api/v1/payments/{paid.pk}/disputes",
    ):
        listing = api.get(path)
        assert listing.status_code == 200, path
        assert [d["id"] for d in listing.json()["results"]] == [recorded.pk], path
    for path in (
        "/api/v1/disputes?status=won",
        "/api/v1/disputes?payment=pay_other",
        "/api/v1/disputes?created_before=2000-01-01T00:00:00Z",
    ):
        assert api.get(path).json()["results"] == [], path
    assert api.get("/api/v1/disputes?status=reopened").status_code == 400


def test_another_agency_gets_404_for_a_dispute(tenant, other_tenant, paid, client):
    send(client, tenant, "created", dispute())
    recorded = stored(tenant)
    stranger = client_for(other_tenant)
    for path in (f"/api/v1/disputes/{recorded.pk}", f"/api/v1/payments/{paid.pk}/disputes"):
        response = stranger.get(path)
        assert response.status_code == 404, path
        assert response.json()["error"]["code"] == "not_found"
    assert stranger.get("/api/v1/disputes").json()["results"] == []


def test_reading_disputes_needs_the_payments_read_scope(tenant, paid, client):
    send(client, tenant, "created", dispute())
    no_payments = client_for(tenant, scopes=["registration:read"])
    response = no_payments.get("/api/v1/disputes")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "insufficient_scope"


# The admin -------------------------------------------------------------------------


def test_finance_staff_see_their_agencys_disputes_read_only(client, tenant, paid):
    from django.contrib.auth import get_user_model

    from tenants import services as tenant_services

    send(client, tenant, "created", dispute())
    recorded = stored(tenant)
    user = get_user_model().objects.create_user(username="finance", password="pw-123456789")
    tenant_services.grant_role(tenant=tenant, user=user, role=StaffMembership.Role.FINANCE)
    client.force_login(user)

    listing = client.get("/admin/payments/dispute/")
    assert listing.status_code == 200 and recorded.pk in listing.content.decode()
    page = client.get(admin_change_path("payments.dispute", recorded.pk))
    assert page.status_code == 200 and "Save" not in page.content.decode()
    payment_page = client.get(admin_change_path("payments.payment", paid.pk)).content.decode()
    assert recorded.pk in payment_page and "fraudulent" in payment_page
