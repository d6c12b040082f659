"""Property: a debt's balance is always its amount minus what was collected plus what came
back, whatever happens in whatever order (runs, collections, rejects, returns, retries),
and the ledger agrees with the debt."""

from __future__ import annotations

import datetime as dt
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from collection.models import CollectionAttempt, Debt, Instalment
from collection.selectors import collectable_instalments
from collection.services import runs
from payments import selectors as payments_selectors
from payments import services as payments
from payments.models import PaymentState
from tenants import services as tenant_services
from tenants.scope import tenant_scope
from tests.collection.conftest import Collections, dispatch_pending

pytestmark = pytest.mark.django_db

# Retry forever (AM04), once (MS02), stop (MD06), cancel the mandate (AC04), suspend (MD07).
CODES = ["AM04", "AM04", "MS02", "MD06", "AC04", "MD07"]
STEP = st.tuples(
    st.sampled_from(["run", "collect", "reject", "return"]),
    st.integers(min_value=0, max_value=7),
    st.sampled_from(CODES),
)


def _run_next(tenant) -> None:
    with tenant_scope(tenant):
        next_due = collectable_instalments(tenant).order_by("submit_on").first()
        if next_due is None:
            return
        run = runs.start_run(
            tenant=tenant, run_date=next_due.submit_on, trigger="api", enqueue=False
        )
        runs.process_run(run=run)


def _payments_in(tenant, state: str) -> list:
    with tenant_scope(tenant):
        return [
            a.payment
            for a in CollectionAttempt.objects.select_related("payment")
            .filter(payment__state=state)
            .order_by("created_at", "id")
        ]


def _apply(tenant, action: str, pick: int, code: str) -> None:
    if action == "run":
        _run_next(tenant)
        return
    wanted = PaymentState.SUCCESS if action == "return" else PaymentState.SUBMITTED
    candidates = _payments_in(tenant, wanted)
    if not candidates:
        return
    payment = candidates[pick % len(candidates)]
    if action == "collect":
        payments.confirm_direct_debit(payment=payment, provisional_until=dt.date(2024, 4, 1))
    elif action == "reject":
        payments.fail_direct_debit(payment=payment, code=code, message="rejected")
    else:
        payments.record_direct_debit_return(
            payment=payment, reason_code=code, returned_on=dt.date(2024, 3, 20), source="test"
        )


def _check(tenant, debt: Debt) -> None:
    with tenant_scope(tenant):
        debt.refresh_from_db()
        attempts = list(CollectionAttempt.objects.filter(instalment__debt=debt))
        instalments = list(Instalment.objects.filter(debt=debt))
    collected = sum(a.amount for a in attempts if a.collected_at is not None)
    returned = sum(a.amount for a in attempts if a.returned)
    assert debt.amount_collected == collected
    assert debt.amount_returned == returned
    assert debt.balance == debt.amount - collected + returned
    assert 0 <= debt.balance <= debt.amount
    # What the ledger says the agency earned is what collections says it collected.
    revenue = -payments_selectors.ledger_balances(tenant=tenant, currency="EUR")["revenue"]
    assert revenue == collected - returned
    # Never two attempts in flight for one instalment, never more attempts than allowed.
    for instalment in instalments:
        mine = [a for a in attempts if a.instalment_id == instalment.pk]
        assert sum(a.state in ("pending", "submitted") for a in mine) <= 1
        assert len(mine) == instalment.attempt_count <= 4
    if debt.balance == 0 and debt.state not in (Debt.State.SUSPENDED, Debt.State.WRITTEN_OFF):
        assert debt.state == Debt.State.PAID


@settings(
    max_examples=int(os.environ.get("HUB_PROPERTY_EXAMPLES", "20")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=st.lists(STEP, min_size=1, max_size=14))
def test_balance_is_amount_minus_collected_plus_returned(steps, db):
    tenant = tenant_services.create_tenant(slug=f"prop-{os.urandom(4).hex()}", name="Prop")
    setup = Collections(tenant)
    debt, _mandate, _plan = setup.debt_in_plan(amount=1000, count=4)
    for action, pick, code in steps:
        _apply(tenant, action, pick, code)
        dispatch_pending()
        _check(tenant, debt)
