"""Importing a bank statement file: all of it, once, or nothing.

The file is read twice, both times as a stream: once for its SHA-256 (the same bytes
imported again are answered with the first import and change nothing), then through
the streaming parser, whose entries are inserted in batches inside one transaction. A
bad entry anywhere raises and rolls the whole file back, so an agency never has half a
statement in the hub. A statement already imported from a different file is refused
(409): a corrected re-issue by the bank and a mistaken re-upload look alike, and only a
person can tell which copy is right.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from django.db import IntegrityError, transaction
from django.utils import timezone

from hub.api.errors import Conflict
from reconciliation import bulk, references
from reconciliation.models import (
    BankStatement,
    Channel,
    StatementImport,
    StatementLine,
    StatementLineDetail,
)
from reconciliation.statements import Statement, StatementEntry, StatementError, iter_statements
from tenants.ids import new_id
from tenants.models import Tenant
from tenants.scope import tenant_scope

BATCH_SIZE = 2000
_HASH_CHUNK = 1024 * 1024
_BOOKED = {None, "BOOK"}


class StatementRejected(Exception):
    """The file cannot be imported; nothing was stored. ``position`` is the entry."""

    def __init__(self, reason: str, *, code: str, position: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code
        self.position = position

    @property
    def message(self) -> str:
        where = f"Entry {self.position}: " if self.position is not None else ""
        return f"{where}{self.reason}. Nothing was imported."


@dataclass(frozen=True)
class ImportResult:
    statement_import: StatementImport
    created: bool  # False: these exact bytes were imported before; nothing changed


def import_statement_file(
    *, tenant: Tenant, file: BinaryIO, file_name: str = "", imported_by: str
) -> ImportResult:
    """Import a camt.053 or MT940 file (detected from its content) for ``tenant``."""
    digest, size = _sha256(file)
    with tenant_scope(tenant):
        existing = StatementImport.objects.filter(content_sha256=digest).first()
        if existing is not None:
            return ImportResult(existing, created=False)
        try:
            with transaction.atomic():
                return ImportResult(
                    _import(tenant, file, file_name, imported_by, digest, size), created=True
                )
        except StatementError as error:
            raise StatementRejected(
                error.reason, code="invalid_statement", position=error.position
            ) from None
        except IntegrityError:
            # A concurrent upload of the same bytes won the unique index.
            existing = StatementImport.objects.filter(content_sha256=digest).first()
            if existing is None:
                raise
            return ImportResult(existing, created=False)


def _sha256(file: BinaryIO) -> tuple[str, int]:
    file.seek(0)
    digest, size = hashlib.sha256(), 0
    while chunk := file.read(_HASH_CHUNK):
        digest.update(chunk)
        size += len(chunk)
    file.seek(0)
    if size == 0:
        raise StatementRejected("The file is empty", code="empty_file")
    return digest.hexdigest(), size


def _import(
    tenant: Tenant, file: BinaryIO, file_name: str, imported_by: str, digest: str, size: int
) -> StatementImport:
    statements = iter_statements(file)  # detects the format; raises StatementError
    first = next(statements, None)
    if first is None:
        raise StatementRejected("The file holds no statement", code="no_statement")
    statement_import = StatementImport.objects.create(
        tenant=tenant,
        source=StatementImport.Source.BANK_FILE,
        format=first.format,
        file_name=file_name[:255],
        content_sha256=digest,
        size_bytes=size,
        imported_by=imported_by[:200],
    )
    statement_count = line_count = 0
    for statement in _chain(first, statements):
        header = _create_header(tenant, statement_import, statement)
        header.line_count, booked_movement = _import_entries(tenant, header, statement)
        _check_balances(statement, booked_movement)
        header.save(update_fields=["line_count"])
        statement_count += 1
        line_count += header.line_count
    statement_import.statement_count = statement_count
    statement_import.line_count = line_count
    statement_import.save(update_fields=["statement_count", "line_count"])
    bulk.refresh_statistics(StatementLine, StatementLineDetail, rows_written=line_count)
    return statement_import


def _chain(first: Statement, rest: Iterator[Statement]) -> Iterator[Statement]:
    yield first
    yield from rest


def _create_header(
    tenant: Tenant, statement_import: StatementImport, statement: Statement
) -> BankStatement:
    identity = {
        "account": statement.account[:255],
        "currency": statement.currency,
        "statement_id": statement.statement_id[:255],
        "sequence_number": (statement.sequence_number or "")[:64],
    }
    earlier = BankStatement.objects.filter(**identity).first()
    if earlier is not None:
        raise Conflict(
            f"Statement {statement.statement_id!r} of account {statement.account} "
            f"(sequence {statement.sequence_number or 'none'}) was already imported from "
            f"another file in import {earlier.statement_import_id}; nothing was imported",
            code="statement_already_imported",
            field="file",
        )
    return BankStatement.objects.create(
        tenant=tenant,
        statement_import=statement_import,
        channel=Channel.BANK,
        opening_balance=statement.opening_balance,
        closing_balance=statement.closing_balance,
        opening_date=statement.opening_date,
        closing_date=statement.closing_date,
        **identity,
    )


def _import_entries(tenant: Tenant, header: BankStatement, statement: Statement) -> tuple[int, int]:
    """Insert the entries in batches; return their count and booked movement."""
    lines: list[dict] = []
    details: list[dict] = []
    count = booked_movement = 0
    now = timezone.now()
    for entry in statement.entries:
        line = _line(tenant, header, entry, now)
        lines.append(line)
        details.extend(_details(tenant, line["id"], entry))
        if entry.status in _BOOKED:
            booked_movement += entry.signed_amount
        count += 1
        if len(lines) >= BATCH_SIZE:
            _flush(lines, details)
    _flush(lines, details)
    return count, booked_movement


def _flush(lines: list[dict], details: list[dict]) -> None:
    bulk.insert(StatementLine, lines)
    bulk.insert(StatementLineDetail, details)
    lines.clear()
    details.clear()


def _line(tenant: Tenant, header: BankStatement, entry: StatementEntry, now) -> dict:
    return {
        "id": new_id("stl"),
        "tenant_id": tenant.pk,
        "statement_id": header.pk,
        "channel": Channel.BANK,
        "position": entry.position,
        "booking_date": entry.booking_date,
        "value_date": entry.value_date,
        "amount": entry.signed_amount,
        "fee": 0,
        "currency": entry.currency,
        "kind": "",
        "status": (entry.status or "")[:10],
        "is_reversal": entry.is_reversal,
        "return_reason_code": (entry.return_reason_code or "")[:10],
        "entry_reference": _cut(entry.entry_reference),
        "customer_reference": _cut(entry.customer_reference),
        "batch_reference": _cut(entry.batch_reference),
        "bank_transaction_code": _cut(entry.bank_transaction_code, 64),
        "counterparty_name": _cut(entry.counterparty_name),
        "counterparty_account": _cut(entry.counterparty_account, 64),
        "additional_info": entry.additional_info or "",
        "detail_count": len(entry.details),
        "references": references.entry_tokens(entry),
        "created_at": now,
    }


def _details(tenant: Tenant, line_id: str, entry: StatementEntry) -> Iterator[dict]:
    for detail in entry.details:
        yield {
            "tenant_id": tenant.pk,
            "line_id": line_id,
            "end_to_end_id": _cut(detail.end_to_end_id),
            "instruction_id": _cut(detail.instruction_id),
            "payment_information_id": _cut(detail.payment_information_id),
            "creditor_reference": _cut(detail.creditor_reference),
            "remittance_text": detail.remittance_text or "",
            "amount": detail.amount,
            "currency": detail.currency or "",
            "counterparty_name": _cut(detail.counterparty_name),
            "counterparty_account": _cut(detail.counterparty_account, 64),
            "return_reason_code": (detail.return_reason_code or "")[:10],
        }


def _check_balances(statement: Statement, booked_movement: int) -> None:
    """Opening balance plus the booked entries must give the closing balance: a file
    that does not add up is missing entries (or has extra ones) and proves nothing."""
    computed = statement.opening_balance + booked_movement
    if computed != statement.closing_balance:
        raise StatementRejected(
            f"Statement {statement.statement_id!r} does not add up: opening balance "
            f"{statement.opening_balance} plus its entries gives {computed}, but the closing "
            f"balance is {statement.closing_balance} (minor units of {statement.currency})",
            code="balance_mismatch",
        )


def _cut(value: str | None, length: int = 255) -> str:
    return (value or "")[:length]
