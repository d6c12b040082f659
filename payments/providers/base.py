"""What a payment provider plugin does, and what it answers.

Plugins talk to the provider and translate its answers into ``ProviderStatus`` and
``RefundStatus``; they never change a payment themselves. Services apply what they
answer through the state machine, so every provider obeys the same rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from payments.models import Payment, ProviderAccount, Refund


@dataclass(frozen=True)
class StartedPayment:
    next_url: str
    provider_reference: str = ""
    provider_session_id: str = ""


@dataclass(frozen=True)
class ProviderStatus:
    """The provider's view of a payment. ``state`` None: nothing to move.

    ``note`` marks a message worth keeping in the timeline that moves nothing, such as
    a declined card the payer may still replace on the provider's page.
    """

    state: str | None
    provider_reference: str = ""
    fee: int | None = None
    fee_currency: str = ""
    failure_code: str = ""
    failure_message: str = ""
    note: str = ""


@dataclass(frozen=True)
class RefundStatus:
    state: str  # a Refund.State value
    provider_reference: str = ""
    failure_code: str = ""
    failure_message: str = ""


@dataclass(frozen=True)
class FundsMovement:
    """Money the provider moved for a dispute: the disputed amount and its fee.

    Withdrawn: both taken from the balance. Reinstated: both given back (a fee the
    provider keeps is 0). ``fee`` None: the fee is not known in the payment's currency.
    """

    amount: int
    fee: int | None = None


@dataclass(frozen=True)
class DisputeReport:
    """The provider's view of a dispute of one payment, at the time of its message."""

    provider_reference: str
    amount: int
    currency: str
    status: str  # a Dispute.Status value
    reason: str = ""
    evidence_due_by: datetime | None = None
    withdrawn: FundsMovement | None = None
    reinstated: FundsMovement | None = None


class ProviderError(Exception):
    """The provider refused or could not be reached.

    ``definitive`` False means the outcome is unknown (a timeout): the request may have
    taken effect, so it is retried with the same idempotency key, never re-decided.
    """

    def __init__(self, message: str, *, code: str = "provider_error", definitive: bool = True):
        super().__init__(message)
        self.code = code
        self.definitive = definitive


class PaymentProvider:
    identifier: str = ""
    label: str = ""
    # Whether the agency must configure a ProviderAccount (credentials) first.
    needs_account: bool = False
    supports_refunds: bool = True

    def start_payment(self, *, payment: Payment, account: ProviderAccount | None) -> StartedPayment:
        """Prepare the payer's page; return where to send them."""
        raise NotImplementedError

    def stop_payment(
        self, *, payment: Payment, account: ProviderAccount | None
    ) -> ProviderStatus | None:
        """Make sure the payer can no longer pay (cancellation, expiry).

        None: stopped. A status: too late, this is what happened instead.
        """
        raise NotImplementedError

    def fetch_status(self, *, payment: Payment, account: ProviderAccount | None) -> ProviderStatus:
        """Ask the provider for the true state (the stuck-payment check, an operator's re-sync)."""
        raise NotImplementedError

    def refund(self, *, refund: Refund, account: ProviderAccount | None) -> RefundStatus:
        raise NotImplementedError

    def fetch_refund_status(
        self, *, refund: Refund, account: ProviderAccount | None
    ) -> RefundStatus:
        raise NotImplementedError
