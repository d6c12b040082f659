"""The double-entry ledger, per agency and currency.

Every money movement is one ``LedgerTransaction`` whose lines balance (debits equal
credits). A transaction is posted once per cause: the idempotency key (``collected:
pay_…``, ``refund:ref_…``) makes a second posting of the same cause return the first,
so a redelivered webhook or a re-run task can never count money twice.

What posts what lives in payments/postings.py; reconciliation and reports read here.
"""

from __future__ import annotations

import re

from django.db import IntegrityError, transaction
from django.db.models import F, Q, Sum

from payments.models import LedgerAccount, LedgerLine, LedgerTransaction
from tenants.models import Tenant
from tenants.scope import acting_for

Line = tuple[str, int, int]  # (account, debit, credit), minor units
CURRENCY = re.compile(r"^[A-Z]{3}$")


class LedgerError(ValueError):
    """A posting that would break double entry: refused before anything is written."""


def post(
    *,
    tenant: Tenant,
    currency: str,
    kind: str,
    reference: str,
    idempotency_key: str,
    lines: list[Line],
    description: str = "",
) -> LedgerTransaction:
    _validate(currency, lines)
    with acting_for(tenant), transaction.atomic():
        existing = LedgerTransaction.objects.filter(idempotency_key=idempotency_key).first()
        if existing is not None:
            return existing
        try:
            # A savepoint: a concurrent posting of the same cause may win the unique key.
            with transaction.atomic():
                posted = LedgerTransaction.objects.create(
                    tenant=tenant,
                    currency=currency,
                    kind=kind,
                    reference=reference,
                    idempotency_key=idempotency_key,
                    description=description[:255],
                )
                LedgerLine.objects.bulk_create(
                    LedgerLine(
                        tenant=tenant,
                        transaction=posted,
                        account=account,
                        currency=currency,
                        debit=debit,
                        credit=credit,
                    )
                    for account, debit, credit in lines
                )
        except IntegrityError:
            existing = LedgerTransaction.objects.filter(idempotency_key=idempotency_key).first()
            if existing is None:
                raise
            return existing
    return posted


def _validate(currency: str, lines: list[Line]) -> None:
    if not CURRENCY.match(currency or ""):
        raise LedgerError(f"not an ISO 4217 currency code: {currency!r}")
    if not lines:
        raise LedgerError("a posting needs lines")
    debits = credits = 0
    for account, debit, credit in lines:
        if account not in LedgerAccount.values:
            raise LedgerError(f"unknown ledger account {account!r}")
        for amount in (debit, credit):
            if isinstance(amount, bool) or not isinstance(amount, int) or amount < 0:
                raise LedgerError(f"amounts are non-negative integers (minor units): {amount!r}")
        if (debit == 0) == (credit == 0):
            raise LedgerError(f"a line is either a debit or a credit: {account} {debit}/{credit}")
        debits += debit
        credits += credit
    if debits != credits:
        raise LedgerError(f"unbalanced posting: debits {debits} != credits {credits}")


def balances(*, tenant: Tenant, currency: str) -> dict[str, int]:
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


def currencies(*, tenant: Tenant) -> list[str]:
    with acting_for(tenant):
        return sorted(LedgerLine.objects.values_list("currency", flat=True).distinct().order_by())


def trial_balance_ok(*, tenant: Tenant) -> bool:
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
