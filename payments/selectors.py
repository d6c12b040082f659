"""Reads about payments that more than one caller needs. Callers are in a tenant scope
(or ``all_tenants()`` for cross-tenant jobs); nothing here changes a row."""

from __future__ import annotations

from datetime import datetime

from django.db.models import F, Q, QuerySet, Sum

from payments.models import (
    LedgerAccount,
    LedgerLine,
    Payment,
    PaymentState,
    ProviderAccount,
    Refund,
)
from payments.rules.states import PAYABLE
from tenants.models import Service, Tenant
from tenants.scope import acting_for, all_tenants

# The ledger --------------------------------------------------------------------


def ledger_balances(*, tenant: Tenant, currency: str) -> dict[str, int]:
    """Every account's balance, debit minus credit (credit-normal accounts are negative)."""
    result = dict.fromkeys(LedgerAccount.values, 0)
    with acting_for(tenant):
        rows = (
            LedgerLine.objects.filter(currency=currency)
            .values("account")
            .annotate(debit=Sum("debit"), credit=Sum("credit"))
            .order_by()
        )
        for row in rows:
            result[row["account"]] = (row["debit"] or 0) - (row["credit"] or 0)
    return result


def ledger_currencies(*, tenant: Tenant) -> list[str]:
    with acting_for(tenant):
        return sorted(LedgerLine.objects.values_list("currency", flat=True).distinct().order_by())


def ledger_is_balanced(*, tenant: Tenant) -> bool:
    """Debits equal credits per currency, within every transaction, in one currency each."""
    with acting_for(tenant):
        per_currency = (
            LedgerLine.objects.values("currency")
            .annotate(debit=Sum("debit"), credit=Sum("credit"))
            .order_by()
        )
        if any(row["debit"] != row["credit"] for row in per_currency):
            return False
        unbalanced = (
            LedgerLine.objects.values("transaction_id")
            .annotate(debit=Sum("debit"), credit=Sum("credit"))
            .filter(~Q(debit=F("credit")))
            .order_by()
        )
        if unbalanced.exists():
            return False
        return not LedgerLine.objects.exclude(currency=F("transaction__currency")).exists()


# Payments and refunds -----------------------------------------------------------


def payment_by_provider_reference(tenant: Tenant, ref: str) -> Payment | None:
    """The agency's payment a provider knows as ``ref`` (PaymentIntent, session, mandate
    debit id); None when there is none."""
    if not ref:
        return None
    payments = Payment.objects.filter(tenant=tenant)
    return (
        payments.filter(provider_reference=ref).first()
        or payments.filter(provider_session_id=ref).first()
    )


def payment_by_hosted_token(token: str) -> Payment | None:
    """The hosted page's payment: the token is the credential, so look across agencies."""
    if not token:
        return None
    # The hosted page has no tenant yet and the token is the credential: look it up
    # across agencies (the page then acts in the payment's own scope).
    with all_tenants():
        return (
            Payment.objects.select_related("tenant", "service").filter(hosted_token=token).first()
        )


def refund_by_provider_reference(tenant: Tenant, ref: str) -> Refund | None:
    if not ref:
        return None
    return Refund.objects.filter(tenant=tenant, provider_reference=ref).first()


def provider_account_for(
    *, tenant: Tenant, service: Service | None, provider: str | None = None
) -> ProviderAccount | None:
    """The active account for this service, else the agency's default one."""
    accounts = ProviderAccount.objects.filter(tenant=tenant, active=True)
    if provider:
        accounts = accounts.filter(provider=provider)
    if service is None:
        return accounts.filter(service__isnull=True).first()
    # One query, not two (every payment asks): the service's own account sorts before
    # the default (NULL last), then the model's ordering as before.
    return (
        accounts.filter(Q(service=service) | Q(service__isnull=True))
        .order_by(F("service_id").asc(nulls_last=True), *ProviderAccount._meta.ordering)
        .first()
    )


def overdue_payments(*, now: datetime) -> QuerySet[Payment]:
    """Unfinished payments past their expiry (any agency; call inside all_tenants())."""
    return Payment.objects.filter(state__in=PAYABLE, expires_at__lte=now).order_by("expires_at")


def _not_checked_since(checked_before: datetime) -> Q:
    return Q(provider_checked_at__isnull=True) | Q(provider_checked_at__lte=checked_before)


def stuck_submitted_payments(*, before: datetime, checked_before: datetime) -> QuerySet[Payment]:
    """Submitted since ``before`` and not asked about since ``checked_before``; the least
    recently checked first, so a long tail of slow direct debits cannot starve the rest."""
    return (
        Payment.objects.filter(state=PaymentState.SUBMITTED, updated_at__lte=before)
        .filter(_not_checked_since(checked_before))
        .order_by(F("provider_checked_at").asc(nulls_first=True), "updated_at")
    )


def payments_awaiting_fee(
    *, provider: str, finished_between: tuple[datetime, datetime], checked_before: datetime
) -> QuerySet[Payment]:
    since, until = finished_between
    return (
        Payment.objects.filter(
            provider=provider,
            state=PaymentState.SUCCESS,
            fee_recorded_at__isnull=True,
            finished_at__gte=since,
            finished_at__lte=until,
        )
        .filter(_not_checked_since(checked_before))
        .order_by(F("provider_checked_at").asc(nulls_first=True), "finished_at")
    )


def stuck_refunds(*, before: datetime) -> QuerySet[Refund]:
    return Refund.objects.filter(state=Refund.State.SUBMITTED, created_at__lte=before).order_by(
        "created_at"
    )
