"""Which state a payment may move to: the rules, without the database.

Forward only: created -> started -> submitted -> a finished state (success, failed,
cancelled, expired, error). The single way back is a direct-debit return (a collected
debit the bank takes back). payments/services/transitions.py applies these rules.
"""

from __future__ import annotations

from datetime import datetime

from payments.models import FINISHED_STATES, PaymentState

S = PaymentState

ALLOWED: dict[str, frozenset[str]] = {
    S.CREATED: frozenset(
        {S.STARTED, S.SUBMITTED, S.SUCCESS, S.FAILED, S.CANCELLED, S.EXPIRED, S.ERROR}
    ),
    S.STARTED: frozenset({S.SUBMITTED, S.SUCCESS, S.FAILED, S.CANCELLED, S.EXPIRED, S.ERROR}),
    # Submitted: the provider or bank has it. It no longer expires on our clock (the
    # stuck-payment check asks the provider instead); a provider may still cancel it.
    S.SUBMITTED: frozenset({S.SUCCESS, S.FAILED, S.CANCELLED, S.ERROR}),
    **{state: frozenset() for state in FINISHED_STATES},
}
# What an agency may cancel, and what a payer may still pay (the hosted page).
CANCELLABLE = frozenset({S.CREATED, S.STARTED})
PAYABLE = frozenset({S.CREATED, S.STARTED})
# A direct debit the bank can still take back.
RETURNABLE = frozenset({S.SUCCESS, S.SUBMITTED})


def is_allowed(from_state: str, to_state: str) -> bool:
    return to_state in ALLOWED[from_state]


def is_payable(state: str, expires_at: datetime | None, now: datetime) -> bool:
    """Whether a payer may still pay: not finished, not expired on the hub's clock."""
    return state in PAYABLE and (expires_at is None or expires_at > now)
