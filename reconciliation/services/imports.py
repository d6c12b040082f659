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

from hub import bulk
from hub.errors import Conflict
from reconciliation.engine import references
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
# What the queries of a run (and the lines' API) filter, join and group lines and details
# on: the statistics an import refreshes at once. Names, texts and the stored tokens are
# only displayed or read row by row; autovacuum analyses them later.
PLANNED_COLUMNS = {
    StatementLine: (
        "id",
        "tenant",
        "statement",
        "channel",
        "booking_date",
        "amount",
        "currency",
        "status",
        "is_reversal",
        "return_reason_code",
        "batch_reference",
        "detail_count",
        "created_at",
    ),
    StatementLineDetail: ("id", "tenant", "line"),
}
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
    warnings: list[str] = []
    current: Statement | None = None
    try:
        for number, statement in enumerate(_chain(first, statements), start=1):
            current = statement
            header = _create_header(tenant, statement_import, statement)
            header.line_count, movement = _import_entries(tenant, header, statement)
            _check_balances(statement, number, header, movement, warnings)
            header.save(update_fields=["line_count", "opening_balance"])
            statement_count += 1
            line_count += header.line_count
    except StatementError as error:
        # The parser knows the entry; the importer knows which statement it was reading.
        if current is not None and error.position is not None:
            raise StatementError(
                f"{error.reason} (in statement {current.statement_id!r})", error.position
            ) from None
        raise
    statement_import.statement_count = statement_count
    statement_import.line_count = line_count
    statement_import.warnings = warnings
    statement_import.save(update_fields=["statement_count", "line_count", "warnings"])
    bulk.refresh_statistics(
        StatementLine, StatementLineDetail, rows_written=line_count, columns=PLANNED_COLUMNS
    )
    return statement_import


def _chain(first: Statement, rest: Iterator[Statement]) -> Iterator[Statement]:
    yield first
    yield from rest


def _create_header(
    tenant: Tenant, statement_import: StatementImport, statement: Statement
) -> BankStatement:
    """The statement's header, unless the same statement came in an earlier file (409).

    "The same" is the account, the bank's statement id and sequence number, the day and
    the opening balance: German banks write the same :20: (STARTUMSE) and :28C: every
    day, so the id alone would refuse every day after the first; a second statement of
    the same day starts where the first ended. The closing balance is left out on
    purpose: a corrected re-issue has other entries and another closing balance, and
    must still be a 409, not a second copy of the day.
    """
    identity = {
        "account": statement.account[:255],
        "currency": statement.currency,
        "statement_id": statement.statement_id[:255],
        "sequence_number": (statement.sequence_number or "")[:64],
        "closing_date": statement.closing_date,
    }
    if statement.opening_balance is not None:
        identity["opening_balance"] = statement.opening_balance
    earlier = BankStatement.objects.filter(**identity).first()
    if earlier is not None:
        raise Conflict(
            f"Statement {statement.statement_id!r} of {statement.closing_date or 'no date'} "
            f"(sequence {statement.sequence_number or 'none'}) was already imported from "
            f"another file in import {earlier.statement_import_id}; nothing was imported",
            code="statement_already_imported",
            field="file",
        )
    # Without an opening balance in the file, the closing balance stands in until the
    # entries are read; _check_balances then derives the real one.
    opening = statement.opening_balance
    return BankStatement.objects.create(
        tenant=tenant,
        statement_import=statement_import,
        channel=Channel.BANK,
        opening_date=statement.opening_date,
        closing_balance=statement.closing_balance,
        **(
            identity
            | {"opening_balance": statement.closing_balance if opening is None else opening}
        ),
    )


@dataclass
class _Movement:
    """What a statement's entries add up to, split by whether the closing balance has them."""

    booked: int = 0  # booked entries (BOOK, or no status as in MT940)
    after_close: int = 0  # of those, booked after the closing balance's date
    after_close_count: int = 0
    not_booked_count: int = 0  # PDNG, INFO…: not money yet, never in a balance


def _import_entries(
    tenant: Tenant, header: BankStatement, statement: Statement
) -> tuple[int, _Movement]:
    """Insert the entries in batches; return their count and what they add up to."""
    lines: list[dict] = []
    details: list[dict] = []
    count = 0
    movement = _Movement()
    now = timezone.now()
    for entry in statement.entries:
        line = _line(tenant, header, entry, now)
        lines.append(line)
        details.extend(_details(tenant, line["id"], entry))
        if entry.status in _BOOKED:
            movement.booked += entry.signed_amount
            if statement.closing_date and entry.booking_date > statement.closing_date:
                movement.after_close += entry.signed_amount
                movement.after_close_count += 1
        else:
            movement.not_booked_count += 1
        count += 1
        if len(lines) >= BATCH_SIZE:
            _flush(lines, details)
    _flush(lines, details)
    return count, movement


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


def _check_balances(
    statement: Statement,
    number: int,
    header: BankStatement,
    movement: _Movement,
    warnings: list[str],
) -> None:
    """Opening balance plus the booked entries must give the closing balance: a file
    that does not add up is missing entries (or has extra ones) and proves nothing.

    What ISO 20022 allows and banks do is accepted with a warning instead: a statement
    without an opening balance (nothing to check against; the opening balance is derived),
    and booked entries dated after the closing balance that the bank left out of it.
    """
    # The number in the file as well as the bank's id: German banks give every day's
    # statement the same id (STARTUMSE).
    name = f"Statement {number} ({statement.statement_id!r})"
    if movement.not_booked_count:
        warnings.append(
            f"{name}: {movement.not_booked_count} entries not yet booked (pending or "
            "information only) are not in the closing balance and were not counted"
        )
    if statement.opening_balance is None:
        header.opening_balance = statement.closing_balance - movement.booked
        warnings.append(
            f"{name} has no opening balance: its entries could not be checked against the "
            "balances; the opening balance shown is the closing balance less the booked "
            "entries"
        )
        return
    computed = statement.opening_balance + movement.booked
    if computed == statement.closing_balance:
        return
    if movement.after_close_count and computed - movement.after_close == (
        statement.closing_balance
    ):
        warnings.append(
            f"{name}: {movement.after_close_count} booked entries dated after the closing "
            f"balance of {statement.closing_date} are not in that balance; the balances "
            "were checked without them"
        )
        return
    raise StatementRejected(
        f"{name} does not add up: opening balance "
        f"{statement.opening_balance} plus its entries gives {computed}, but the closing "
        f"balance is {statement.closing_balance} (minor units of {statement.currency})",
        code="balance_mismatch",
    )


def _cut(value: str | None, length: int = 255) -> str:
    return (value or "")[:length]
