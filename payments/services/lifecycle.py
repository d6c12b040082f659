"""A payment's life at the hub: created, shown to the payer, cancelled, expired.

The provider is called outside any transaction or row lock: read and mark under the
lock, commit, call, then apply the answer under the lock again.
"""

from __future__ import annotations

import logging
import re
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from hub.errors import Conflict, InvalidRequest, ProviderUnavailable, RuleViolation
from payments.models import Payment, PaymentMethod, PaymentState, ProviderAccount
from payments.providers.base import PaymentProvider, ProviderError, ProviderStatus
from payments.providers.registry import DEFAULT_PROVIDER, registry
from payments.rules import states
from payments.selectors import overdue_payments, provider_account_for
from payments.services import outcomes, transitions
from payments.services.locking import lock_payment
from registration.models import Constituent, Registration
from registration.selectors import constituent_language
from tenants.models import Language, Service, Tenant
from tenants.scope import acting_for, all_tenants, tenant_scope
from tenants.statements import CompiledInsert, written_together

logger = logging.getLogger(__name__)
S = PaymentState
CURRENCY = re.compile(r"^[A-Z]{3}$")
MAX_AMOUNT = 10**13
# Every payment the API creates: its INSERT built once per process.
_PAYMENT_INSERT = CompiledInsert(Payment)


def create_payment(
    *,
    tenant: Tenant,
    service: Service,
    amount: int,
    currency: str,
    description: str,
    reference: str,
    method: str = PaymentMethod.CARD,
    return_url: str = "",
    constituent: Constituent | str | None = None,
    email: str = "",
    metadata: dict | None = None,
    provider: str | None = None,
    language: str = "",
    payment_link=None,
) -> Payment:
    """A new payment. Card payments get their payer page now (``next_url``); direct
    debits are only recorded, in state created, for the collection app to submit.

    ``language`` (en, nl, cy) is the payer's pages'; without one, the constituent's
    language if the hub knows it, else the payer's browser decides on the page.
    ``payment_link`` is the link a citizen started this payment from, if any.
    """
    validate_payment_fields(
        amount=amount, currency=currency, description=description, reference=reference
    )
    if language and language not in Language.values:
        raise InvalidRequest(
            f"Unknown language {language!r}: one of {', '.join(Language.values)}",
            code="unknown_language",
            field="language",
        )
    if method not in PaymentMethod.values:
        raise InvalidRequest(f"Unknown payment method {method!r}", field="method")
    with acting_for(tenant):
        check_service(tenant, service)
        constituent_id = _registered_constituent_id(tenant, constituent)
        if not language and constituent_id:
            language = constituent_language(constituent_id)
        name, plugin, account = choose_provider(
            tenant=tenant, service=service, method=method, requested=provider
        )
        now = timezone.now()
        card = method == PaymentMethod.CARD
        payment = Payment(
            tenant=tenant,
            service=service,
            constituent_id=constituent_id,
            method=method,
            amount=amount,
            currency=currency,
            description=description.strip(),
            reference=reference.strip(),
            email=email or "",
            return_url=return_url or "",
            metadata=metadata or {},
            language=language,
            payment_link=payment_link,
            provider=name,
            provider_account=account,
            hosted_token=secrets.token_urlsafe(32) if card else None,
            created_at=now,
            updated_at=now,
            expires_at=now + timedelta(minutes=settings.HUB_PAYMENT_EXPIRY_MINUTES)
            if card
            else None,
        )
        if card:
            # The provider is asked before the row exists and outside any transaction: a
            # slow provider must hold no connection's transaction open. If it refuses, no
            # payment exists; if the insert then fails, the provider's session simply
            # expires unused. Its idempotency key (the payment id) makes a retry harmless.
            try:
                started = plugin.start_payment(payment=payment, account=account)
            except ProviderError as exc:
                # The agency retries; nobody was sent anywhere.
                raise ProviderUnavailable(
                    f"The payment provider could not start the payment: {exc}"
                ) from exc
            payment.next_url = started.next_url
            payment.provider_reference = started.provider_reference
            payment.provider_session_id = started.provider_session_id
        # No savepoint inside a caller's transaction (an idempotent API request, a
        # collection chunk): the three INSERTs join it, two round trips fewer. A failed
        # INSERT then dooms the caller's transaction, which the error leaving this
        # service does anyway: no caller catches a database error from it and carries
        # on (its refusals, HubError, are all raised above, before any row is written).
        # The payment, its timeline row and its event reach PostgreSQL as one statement.
        with transaction.atomic(savepoint=False), written_together():
            _PAYMENT_INSERT.insert(payment)
            transitions.record_creation(payment, source="api" if card else "direct_debit")
    return payment


def cancel_payment(*, payment: Payment, source: str = "api") -> Payment:
    """The agency withdraws a payment, or the payer gives up on the payment page.

    Check under the row lock, ask the provider to stop with no lock held (a provider can
    take a minute to answer), then decide under the lock again: whatever happened in
    between (the payer paid, a webhook arrived) is seen before anything is recorded.
    """
    with acting_for(payment.tenant):
        with transaction.atomic():
            payment = lock_payment(payment)
            _require_cancellable(payment)
        too_late = _stop_at_provider(payment)
        with transaction.atomic():
            payment = lock_payment(payment)
            _require_cancellable(payment)
            if too_late is None:
                transitions.transition(payment, S.CANCELLED, source=source)
                return payment
            if too_late.state is None:
                raise ProviderUnavailable("The provider could not stop the payment; try again")
            # The payer finished first: record what really happened, then refuse.
            outcomes.apply_locked(
                payment, too_late, source="provider", detail={"while": "cancelling"}
            )
        raise Conflict(
            f"The payer completed the payment first (state {payment.state})",
            code="payment_not_cancellable",
        )


def _require_cancellable(payment: Payment) -> None:
    if payment.state not in states.CANCELLABLE:
        raise Conflict(
            f"A payment in state {payment.state} can no longer be cancelled",
            code="payment_not_cancellable",
        )


def record_payment_page_visit(*, payment: Payment) -> Payment:
    """The payer opened the payment page: created → started (once)."""
    with acting_for(payment.tenant), transaction.atomic():
        payment = lock_payment(payment)
        if payment.state == S.CREATED:
            transitions.transition(payment, S.STARTED, source="payment_page")
    return payment


def expire_payment(*, payment: Payment, now: datetime | None = None) -> bool:
    """Expire an unfinished payment whose time is up; True if it expired now.

    As in ``cancel_payment``, the provider is asked with no row lock held.
    """
    now = now or timezone.now()
    with acting_for(payment.tenant):
        payment = Payment.objects.select_related("tenant", "provider_account").get(pk=payment.pk)
        if not _overdue(payment, now):
            return False
        try:
            too_late = _stop_at_provider(payment)
        except ProviderUnavailable:
            logger.warning(
                "could not stop %s at %s; next run retries", payment.pk, payment.provider
            )
            return False
        with transaction.atomic():
            payment = lock_payment(payment)
            if not _overdue(payment, now):
                return False  # paid, cancelled or expired while the provider answered
            if too_late is None:
                return transitions.transition(payment, S.EXPIRED, source="expiry")
            outcomes.apply_locked(
                payment, too_late, source="provider", detail={"while": "expiring"}
            )
            return False


def _overdue(payment: Payment, now: datetime) -> bool:
    return (
        payment.state in states.PAYABLE
        and payment.expires_at is not None
        and payment.expires_at <= now
    )


def expire_overdue_payments(*, now: datetime | None = None, limit: int = 500) -> int:
    """The beat job: every agency's overdue payments, each in its own scope."""
    now = now or timezone.now()
    with all_tenants():
        overdue = list(overdue_payments(now=now).select_related("tenant")[:limit])
    expired = 0
    for payment in overdue:
        with tenant_scope(payment.tenant):
            expired += expire_payment(payment=payment, now=now)
    return expired


# The checks every new payment passes, one by one here and batch-wise in
# payments/services/bulk.py: one set of rules for both paths.


def validate_payment_fields(*, amount, currency, description, reference) -> None:
    if isinstance(amount, bool) or not isinstance(amount, int) or not 1 <= amount <= MAX_AMOUNT:
        raise InvalidRequest(
            "amount is a positive integer in minor units", code="invalid_amount", field="amount"
        )
    if not isinstance(currency, str) or not CURRENCY.match(currency):
        raise InvalidRequest(
            "currency is an ISO 4217 code in upper case", code="invalid_currency", field="currency"
        )
    if not (description or "").strip():
        raise InvalidRequest("description must not be blank", code="blank", field="description")
    if not (reference or "").strip():
        raise InvalidRequest("reference must not be blank", code="blank", field="reference")


def check_service(tenant: Tenant, service: Service) -> None:
    if service is None or service.tenant_id != tenant.pk:
        raise InvalidRequest("No such service", code="does_not_exist", field="service")
    if not service.active:
        raise RuleViolation("This service is not active", code="service_inactive", field="service")


def _registered_constituent_id(tenant: Tenant, constituent: Constituent | str | None) -> str | None:
    """The constituent, if the agency holds an active registration for them. Anyone
    else does not exist as far as this agency can tell."""
    if constituent is None or constituent == "":
        return None
    constituent_id = constituent.pk if isinstance(constituent, Constituent) else str(constituent)
    registered = Registration.objects.filter(
        tenant=tenant, constituent_id=constituent_id, status=Registration.Status.ACTIVE
    ).exists()
    if not registered:
        raise InvalidRequest("No such constituent", code="does_not_exist", field="constituent")
    return constituent_id


def choose_provider(
    *, tenant: Tenant, service: Service, method: str, requested: str | None
) -> tuple[str, PaymentProvider | None, ProviderAccount | None]:
    """The provider and credentials: the caller's choice, else the service's account,
    else the agency's default account, else the sandbox."""
    account = provider_account_for(tenant=tenant, service=service, provider=requested)
    name = requested or (account.provider if account else None)
    if name is None:
        if method == PaymentMethod.DIRECT_DEBIT:
            raise RuleViolation(
                "A direct debit needs a provider (stripe or bank_file)", code="provider_required"
            )
        name = DEFAULT_PROVIDER
    plugin = registry.get(name)
    if plugin is None and method == PaymentMethod.CARD:
        raise RuleViolation(f"Unknown payment provider {name!r}", code="unknown_provider")
    if plugin is not None and plugin.needs_account and account is None:
        raise RuleViolation(
            f"The agency has no active {name} account configured",
            code="provider_not_configured",
        )
    return name, plugin, account


def _stop_at_provider(payment: Payment) -> ProviderStatus | None:
    plugin = registry.get(payment.provider)
    if plugin is None:
        return None
    try:
        return plugin.stop_payment(payment=payment, account=payment.provider_account)
    except ProviderError as exc:
        raise ProviderUnavailable(f"The payment provider did not answer: {exc}") from exc
