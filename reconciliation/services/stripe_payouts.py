"""Importing a Stripe payout and the balance transactions it paid out.

A paid payout becomes a "statement" of the agency's Stripe balance: each balance
transaction (charge, refund, dispute, fee, …) is a line with its gross amount and
Stripe's fee, and the payout amount is the closing balance, i.e. what arrives in the
bank. Matching then pairs charges with the hub's payments by their Stripe ids, and the
payout with the bank line that received it.

Each agency's own credentials are used (``hub.stripe.stripe_client`` per account, never the
global key). The import is fetch-then-write: the payout and all its balance transactions
are read from Stripe and checked first, with no transaction of the import's open, then
stored in one short transaction. It is idempotent: a payout is imported once, and its
transactions must add up to the payout or nothing is stored.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import stripe
from django.db import IntegrityError, transaction
from django.utils import timezone

from hub import bulk
from hub import stripe as hub_stripe
from payments import selectors as payment_selectors
from payments.models import ProviderAccount
from reconciliation.engine import references
from reconciliation.models import BankStatement, Channel, StatementImport, StatementLine
from reconciliation.services.imports import ImportResult
from tenants.ids import new_id
from tenants.models import Tenant
from tenants.scope import tenant_scope

logger = logging.getLogger(__name__)

PAGE_SIZE = 100
BATCH_SIZE = 1000
STRIPE = "stripe"


class PayoutImportError(Exception):
    """The payout cannot be imported (now); nothing was stored."""

    def __init__(self, reason: str, *, retryable: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable


def stripe_client(account: ProviderAccount) -> stripe.StripeClient:
    if not account.secret_key:
        raise PayoutImportError(f"Stripe account {account.pk} has no secret key")
    return hub_stripe.stripe_client(account.secret_key)


def import_stripe_payout(
    *, tenant: Tenant, payout_id: str, provider_account: ProviderAccount | None = None
) -> ImportResult:
    """Import payout ``payout_id`` of ``tenant`` (from ``provider_account``, or from
    whichever of the agency's active Stripe accounts knows it)."""
    with tenant_scope(tenant):
        existing = _imported(payout_id)
        if existing is not None:
            return ImportResult(existing.statement_import, created=False)
        accounts = (
            [provider_account]
            if provider_account is not None
            else payment_selectors.active_provider_accounts(provider=STRIPE)
        )
        if not accounts:
            raise PayoutImportError(f"{tenant.slug} has no active Stripe account")
        for account in accounts:
            # Fetch, then write: every Stripe request is made before the import's
            # transaction opens, so no row lock waits on Stripe.
            fetched = _fetch(account, payout_id)
            if fetched is None:
                continue
            try:
                with transaction.atomic():
                    return ImportResult(_store(tenant, account, fetched), created=True)
            except IntegrityError:
                existing = _imported(payout_id)
                if existing is None:
                    raise
                return ImportResult(existing.statement_import, created=False)
        raise PayoutImportError(f"No Stripe account of {tenant.slug} knows payout {payout_id}")


def sweep_stripe_payouts(*, tenant: Tenant, days: int = 7) -> int:
    """Import every paid payout that arrived in the last ``days`` days and is not in the
    hub yet (the safety net under the ``payout.paid`` event). Returns how many."""
    since = int((timezone.now() - timedelta(days=days)).timestamp())
    imported = 0
    with tenant_scope(tenant):
        accounts = payment_selectors.active_provider_accounts(provider=STRIPE)
    for account in accounts:
        try:
            payouts = stripe_client(account).v1.payouts.list(
                params={"status": "paid", "arrival_date": {"gte": since}, "limit": PAGE_SIZE}
            )
            for payout in payouts.auto_paging_iter():
                try:
                    result = import_stripe_payout(
                        tenant=tenant, payout_id=payout.id, provider_account=account
                    )
                except PayoutImportError as error:
                    logger.warning("payout %s of %s: %s", payout.id, tenant.slug, error)
                else:
                    imported += result.created
        except (stripe.StripeError, PayoutImportError) as error:
            logger.warning("listing payouts of %s (%s) failed: %s", tenant.slug, account.pk, error)
    return imported


def _imported(payout_id: str) -> BankStatement | None:
    return (
        BankStatement.objects.select_related("statement_import")
        .filter(channel=Channel.STRIPE, statement_id=payout_id)
        .first()
    )


def _retrieve(client: stripe.StripeClient, payout_id: str):
    try:
        payout = client.v1.payouts.retrieve(payout_id)
    except stripe.InvalidRequestError as error:
        if error.http_status == 404:
            return None
        raise PayoutImportError(f"Stripe refused the request: {error.user_message}") from error
    except stripe.AuthenticationError as error:
        raise PayoutImportError("Stripe refused the account's secret key") from error
    except stripe.StripeError as error:
        raise PayoutImportError(f"Stripe did not answer: {error}", retryable=True) from error
    if payout.status != "paid":
        raise PayoutImportError(
            f"Payout {payout_id} is {payout.status}, not paid", retryable=payout.status != "failed"
        )
    return payout


@dataclass(frozen=True)
class _FetchedPayout:
    """A paid payout and its balance transactions as line rows, checked and not stored."""

    payout_id: str
    currency: str
    amount: int
    opened_on: date | None
    arrived_on: date | None
    content_sha256: str
    lines: list[dict]  # StatementLine rows, without their statement


def _fetch(account: ProviderAccount, payout_id: str) -> _FetchedPayout | None:
    """Everything Stripe says about the payout, checked; None if the account does not
    know it. Only the line rows are kept (not Stripe's expanded objects), so memory is a
    small dict per balance transaction."""
    client = stripe_client(account)
    payout = _retrieve(client, payout_id)
    if payout is None:
        return None
    digest = hashlib.sha256(
        _canonical(payout.to_dict(), "id", "amount", "currency", "arrival_date")
    )
    currency = payout.currency.upper()
    lines: list[dict] = []
    net = 0
    for transaction_ in _balance_transactions(client, payout.id):
        if transaction_["type"] == "payout":
            continue  # the payout itself: it is the closing balance
        if transaction_["currency"].upper() != currency:
            raise PayoutImportError(
                f"Balance transaction {transaction_['id']} is in {transaction_['currency']}, "
                f"the payout in {payout.currency}"
            )
        net += transaction_["net"]
        digest.update(_canonical(transaction_, "id", "amount", "fee", "net", "type"))
        lines.append(_line(len(lines) + 1, transaction_))
    if net != payout.amount:
        raise PayoutImportError(
            f"The balance transactions of {payout.id} add up to {net}, the payout is "
            f"{payout.amount} ({currency} minor units)"
        )
    return _FetchedPayout(
        payout_id=payout.id,
        currency=currency,
        amount=payout.amount,
        opened_on=_date(payout.created),
        arrived_on=_date(payout.arrival_date),
        content_sha256=digest.hexdigest(),
        lines=lines,
    )


def _store(tenant: Tenant, account: ProviderAccount, payout: _FetchedPayout) -> StatementImport:
    """Write a fetched payout as one statement (in the caller's short transaction)."""
    count = len(payout.lines)
    statement_import = StatementImport.objects.create(
        tenant=tenant,
        source=StatementImport.Source.STRIPE_PAYOUT,
        format="stripe",
        file_name=payout.payout_id,
        content_sha256=payout.content_sha256,
        imported_by=f"stripe:{account.pk}",
        statement_count=1,
        line_count=count,
    )
    header = BankStatement.objects.create(
        tenant=tenant,
        statement_import=statement_import,
        channel=Channel.STRIPE,
        statement_id=payout.payout_id,
        account=f"stripe:{account.pk}",
        currency=payout.currency,
        opening_balance=0,
        closing_balance=payout.amount,
        opening_date=payout.opened_on,
        closing_date=payout.arrived_on,
        line_count=count,
    )
    for start in range(0, count, BATCH_SIZE):
        bulk.insert(
            StatementLine,
            [
                {**row, "tenant_id": tenant.pk, "statement_id": header.pk}
                for row in payout.lines[start : start + BATCH_SIZE]
            ],
        )
    return statement_import


def _balance_transactions(client: stripe.StripeClient, payout_id: str):
    try:
        page = client.v1.balance_transactions.list(
            params={"payout": payout_id, "limit": PAGE_SIZE, "expand": ["data.source"]}
        )
        for transaction_ in page.auto_paging_iter():
            yield transaction_.to_dict()
    except stripe.StripeError as error:
        raise PayoutImportError(
            f"Listing the transactions of {payout_id} failed: {error}", retryable=True
        ) from error


def _line(position: int, transaction_: dict) -> dict:
    """One balance transaction (a dict shaped as Stripe documents it) as a line row
    (its agency and statement are added when it is stored)."""
    return {
        "id": new_id("stl"),
        "channel": Channel.STRIPE,
        "position": position,
        "booking_date": _date(transaction_["created"]),
        "value_date": _date(transaction_.get("available_on")),
        "amount": transaction_["amount"],
        "fee": transaction_.get("fee") or 0,
        "currency": transaction_["currency"].upper(),
        "kind": (transaction_.get("type") or "")[:40],
        "status": (transaction_.get("status") or "")[:10],
        "entry_reference": transaction_["id"],
        "additional_info": (
            transaction_.get("description") or transaction_.get("reporting_category") or ""
        ),
        "references": references.classified(provider=_source_ids(transaction_.get("source"))),
    }


def _source_ids(source: str | dict | None) -> list[str]:
    """The source's id and, when Stripe expanded it, the ids it belongs to (a charge's
    PaymentIntent, a refund's or dispute's charge and PaymentIntent)."""
    if source is None:
        return []
    if isinstance(source, str):
        return [source]
    ids = [source.get("id")]
    for field in ("payment_intent", "charge"):
        value = source.get(field)
        ids.append(value.get("id") if isinstance(value, dict) else value)
    return [value for value in ids if value]


def _canonical(data: dict, *fields: str) -> bytes:
    return json.dumps({f: data.get(f) for f in fields}, sort_keys=True).encode() + b"\n"


def _date(timestamp: int | None) -> date | None:
    if timestamp is None:
        return None
    return datetime.fromtimestamp(timestamp, tz=UTC).date()
