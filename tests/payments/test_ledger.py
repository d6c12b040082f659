"""payments.ledger: balanced postings only, each cause posted once."""

from __future__ import annotations

import pytest

from payments import selectors as payments_selectors
from payments.models import LedgerAccount, LedgerLine, LedgerTransaction
from payments.services import ledger
from payments.services.ledger import LedgerError
from tenants.scope import ScopeError, all_tenants, tenant_scope

pytestmark = pytest.mark.django_db
A = LedgerAccount


def post(tenant, key="k1", lines=None, currency="EUR"):
    return ledger.post(
        tenant=tenant,
        currency=currency,
        kind="payout",
        reference="po_1",
        idempotency_key=key,
        lines=[(A.BANK, 900, 0), (A.PROVIDER_CLEARING, 0, 900)] if lines is None else lines,
    )


@pytest.mark.parametrize(
    "lines",
    [
        [(A.BANK, 900, 0), (A.PROVIDER_CLEARING, 0, 800)],  # unbalanced
        [(A.BANK, 900, 900)],  # both sides on one line
        [(A.BANK, 0, 0), (A.REVENUE, 0, 0)],  # empty lines
        [(A.BANK, -5, 0), (A.REVENUE, 0, -5)],  # negative
        [(A.BANK, 9.5, 0), (A.REVENUE, 0, 9.5)],  # a float
        [("petty_cash", 5, 0), (A.REVENUE, 0, 5)],  # unknown account
        [],
    ],
)
def test_bad_postings_are_refused_and_write_nothing(tenant, lines):
    with pytest.raises(LedgerError):
        post(tenant, lines=lines)
    with all_tenants():
        assert not LedgerTransaction.objects.exists() and not LedgerLine.objects.exists()


def test_same_idempotency_key_returns_the_first_posting(tenant):
    first = post(tenant)
    again = post(tenant, lines=[(A.BANK, 1, 0), (A.PROVIDER_CLEARING, 0, 1)])
    assert again.pk == first.pk
    assert payments_selectors.ledger_balances(tenant=tenant, currency="EUR")[A.BANK] == 900


def test_balances_and_trial_balance_per_tenant_and_currency(tenant, other_tenant):
    post(tenant, "a")
    post(tenant, "b", [(A.PROVIDER_CLEARING, 500, 0), (A.REVENUE, 0, 500)], currency="GBP")
    post(other_tenant, "c", [(A.FEES, 7, 0), (A.BANK, 0, 7)])
    eur = payments_selectors.ledger_balances(tenant=tenant, currency="EUR")
    assert eur[A.BANK] == 900 and eur[A.PROVIDER_CLEARING] == -900 and eur[A.FEES] == 0
    assert set(eur) == set(A.values)
    gbp = payments_selectors.ledger_balances(tenant=tenant, currency="GBP")
    assert gbp[A.REVENUE] == -500 and gbp[A.BANK] == 0
    assert payments_selectors.ledger_currencies(tenant=tenant) == ["EUR", "GBP"]
    assert payments_selectors.ledger_is_balanced(
        tenant=tenant
    ) and payments_selectors.ledger_is_balanced(tenant=other_tenant)


def test_trial_balance_detects_a_tampered_line(tenant):
    posted = post(tenant)
    with all_tenants():
        LedgerLine.objects.filter(transaction=posted, debit__gt=0).update(debit=901)
    assert not payments_selectors.ledger_is_balanced(tenant=tenant)


def test_a_tenant_scope_cannot_post_for_another_tenant(tenant, other_tenant):
    with tenant_scope(tenant), pytest.raises(ScopeError):
        post(other_tenant)
