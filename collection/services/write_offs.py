"""Writing a debt off: the debt, its active plan and its open instalments end together.

Its own module because it spans two subjects: debts.py records the debt's side and
plans.py ends the plan. Kept in either, it made debts.py and plans.py import each other.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from collection.models import Debt, Instalment, PaymentPlan
from collection.selectors import in_flight_amount
from collection.services import debts, plans
from hub.errors import Conflict, InvalidRequest, RuleViolation


@transaction.atomic
def write_off_debt(*, debt: Debt, reason: str, actor: str) -> Debt:
    """Stop pursuing what is left. Remaining instalments are written off with the debt."""
    debt = debts.lock_debt(debt)
    if not reason or not reason.strip():
        raise InvalidRequest("A write-off needs a reason", code="missing_field", field="reason")
    if debt.state == Debt.State.WRITTEN_OFF:
        raise Conflict("This debt is already written off", code="already_written_off")
    if debt.state not in debts.WRITABLE_OFF_STATES:
        raise RuleViolation(
            f"A debt in state {debt.state} cannot be written off", code="invalid_state"
        )
    if in_flight_amount(debt):
        raise RuleViolation(
            "An instalment of this debt is with the bank; write off once its outcome is known",
            code="collection_in_flight",
        )
    plans.end_active_plan(
        debt=debt,
        state=PaymentPlan.State.CANCELLED,
        reason="debt written off",
        instalment_state=Instalment.State.WRITTEN_OFF,
        touch_debt=False,
    )
    Instalment.objects.filter(tenant=debt.tenant, debt=debt, state=Instalment.State.FAILED).update(
        state=Instalment.State.WRITTEN_OFF, updated_at=timezone.now()
    )
    debts.record_write_off(debt, reason=reason, actor=actor)
    return debt
