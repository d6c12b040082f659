"""The double-entry ledger, per agency and currency.

Every money movement is one ``LedgerTransaction`` whose lines balance (debits equal
credits). A transaction is posted once per cause: the idempotency key (``collected:
pay_…``, ``refund:ref_…``) makes a second posting of the same cause return the first,
so a redelivered webhook or a re-run task can never count money twice.

What posts what: payments/services/postings.py. Balances: payments.selectors.
"""

from __future__ import annotations

import re

from django.db import IntegrityError, transaction
from django.utils import timezone

from payments.models import LedgerAccount, LedgerLine, LedgerTransaction
from tenants.ids import new_id
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
    posted, posted_lines = unsaved(
        tenant=tenant,
        currency=currency,
        kind=kind,
        reference=reference,
        idempotency_key=idempotency_key,
        lines=lines,
        description=description,
    )
    with acting_for(tenant), transaction.atomic():
        existing = LedgerTransaction.objects.filter(idempotency_key=idempotency_key).first()
        if existing is not None:
            return existing
        try:
            # A savepoint: a concurrent posting of the same cause may win the unique key.
            with transaction.atomic():
                posted.save(force_insert=True)
                LedgerLine.objects.bulk_create(posted_lines)
        except IntegrityError:
            existing = LedgerTransaction.objects.filter(idempotency_key=idempotency_key).first()
            if existing is None:
                raise
            return existing
    return posted


def unsaved(
    *,
    tenant: Tenant,
    currency: str,
    kind: str,
    reference: str,
    idempotency_key: str,
    lines: list[Line],
    description: str = "",
) -> tuple[LedgerTransaction, list[LedgerLine]]:
    """A checked posting (it balances) and its lines, not yet written, as instances for
    ``post``: the rows of ``unsaved_rows``, which a batch writes as they are."""
    posted_row, line_rows = unsaved_rows(
        tenant=tenant,
        currency=currency,
        kind=kind,
        reference=reference,
        idempotency_key=idempotency_key,
        lines=lines,
        description=description,
    )
    posted = LedgerTransaction(**posted_row)
    posted.tenant = tenant  # the instance the caller holds, not a query for it
    posted_lines = []
    for row in line_rows:
        line = LedgerLine(**row)
        line.tenant, line.transaction = tenant, posted
        posted_lines.append(line)
    return posted, posted_lines


def unsaved_rows(
    *,
    tenant: Tenant,
    currency: str,
    kind: str,
    reference: str,
    idempotency_key: str,
    lines: list[Line],
    description: str = "",
) -> tuple[dict, list[dict]]:
    """A checked posting (it balances) and its lines as plain rows for
    ``hub.bulk.insert``: a settlement batch (payments/services/bulk.py) posts a
    transaction and two lines per payment without a model instance for each. The one
    definition of a posting's columns; ``unsaved`` makes ``post``'s instances of them."""
    _validate(currency, lines)
    posted = {
        "tenant_id": tenant.pk,
        "id": new_id("ltx"),
        "currency": currency,
        "kind": kind,
        "reference": reference,
        "description": description[:255],
        "posted_at": timezone.now(),
        "idempotency_key": idempotency_key,
    }
    return posted, [
        {
            "tenant_id": tenant.pk,
            "transaction_id": posted["id"],
            "account": account,
            "currency": currency,
            "debit": debit,
            "credit": credit,
        }
        for account, debit, credit in lines
    ]


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
