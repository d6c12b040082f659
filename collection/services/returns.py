"""Bank status reports (pain.002) the agency uploads: rejects and returns, applied whole.

The file is parsed and every entry checked before anything changes; one entry that does
not fit (an unknown end-to-end id, another amount, no reason code) refuses the whole file
with that entry's position, and nothing is applied. The same file uploaded twice is
recognised by its hash and adds nothing.

Each accepted entry goes to payments: a debit not yet confirmed is failed (a reject), one
already confirmed is returned. Payments publishes ``payment.failed`` and the return rules
apply from there (see ``outcomes``), exactly as for a Stripe return.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from collection.models import CollectionAttempt, CollectionRun, ReturnFile, ReturnFileEntry
from collection.schemes import Pain002Error, Scheme, TransactionStatus, parse_pain002, rule_for
from hub.api.errors import Conflict, InvalidRequest
from payments import services as payments
from payments.models import PaymentState
from tenants.models import Tenant

MAX_FILE_BYTES = settings.HUB_RETURN_FILE_MAX_BYTES


def check_return_file_size(size: int | None) -> None:
    if size is None or size > MAX_FILE_BYTES:
        raise InvalidRequest(
            f"The file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB",
            code="file_too_large",
            field="file",
        )


@dataclass(frozen=True)
class ImportedReturns:
    file: ReturnFile
    created: bool


@dataclass(frozen=True)
class _Entry:
    position: str
    attempt: CollectionAttempt
    reason_code: str


def _refuse(position: str, code: str, message: str) -> InvalidRequest:
    return InvalidRequest(f"{position}: {message}; nothing was applied", code=code, field="file")


def _rejected_transactions(report, run: CollectionRun) -> list[TransactionStatus]:
    if report.transactions:
        return list(report.rejected_transactions)
    if not report.whole_file_rejected:
        return []
    # The bank refused the whole file and listed no transactions: every collection in it.
    return [
        TransactionStatus(
            original_end_to_end_id=attempt.end_to_end_id,
            status="RJCT",
            reason_code=report.group_reason_code,
            amount=attempt.amount,
            currency=attempt.currency,
            original_payment_info_id="",
            position="OrgnlGrpInfAndSts",
        )
        for attempt in run.attempts.exclude(payment=None).order_by("end_to_end_id")
    ]


def _checked_entries(tenant: Tenant, report) -> list[_Entry]:
    run = CollectionRun.objects.filter(
        tenant=tenant, file_message_id=report.original_message_id
    ).first()
    if run is None:
        raise _refuse(
            "OrgnlGrpInfAndSts/OrgnlMsgId",
            "unknown_original_message",
            f"no collection file of this agency has MsgId {report.original_message_id!r}",
        )
    transactions = _rejected_transactions(report, run)
    attempts = {
        a.end_to_end_id: a
        for a in CollectionAttempt.objects.filter(
            tenant=tenant,
            run=run,
            end_to_end_id__in=[t.original_end_to_end_id for t in transactions],
        ).select_related("payment")
    }
    entries: list[_Entry] = []
    seen: set[str] = set()
    for tx in transactions:
        position = tx.position or "transaction"
        attempt = attempts.get(tx.original_end_to_end_id)
        if attempt is None or attempt.payment is None:
            raise _refuse(
                position,
                "unknown_end_to_end_id",
                f"no collection {tx.original_end_to_end_id!r} in the file it reports on",
            )
        if tx.original_end_to_end_id in seen:
            raise _refuse(position, "duplicate_entry", f"{tx.original_end_to_end_id} twice")
        seen.add(tx.original_end_to_end_id)
        if tx.amount is not None and (tx.amount, tx.currency) != (attempt.amount, attempt.currency):
            raise _refuse(
                position,
                "amount_mismatch",
                f"{tx.amount} {tx.currency} reported, {attempt.amount} {attempt.currency} "
                "collected",
            )
        if not tx.reason_code:
            raise _refuse(position, "missing_reason_code", "a reject without a reason code")
        entries.append(_Entry(position, attempt, tx.reason_code))
    return entries


def _apply(entry: _Entry, *, file: ReturnFile, received_on: dt.date) -> None:
    payment = entry.attempt.payment
    if payment.state == PaymentState.SUCCESS:
        payments.record_direct_debit_return(
            payment=payment,
            reason_code=entry.reason_code,
            returned_on=received_on,
            source=f"pain002:{file.pk}",
        )
    elif payment.state in (PaymentState.CREATED, PaymentState.SUBMITTED):
        payments.fail_direct_debit(
            payment=payment,
            code=entry.reason_code,
            message=f"Rejected by the bank ({entry.reason_code}), report {file.message_id}",
        )
    # Already failed: reported before (by Stripe, a statement or an earlier report).


@transaction.atomic
def import_return_file(
    *, tenant: Tenant, filename: str, content: bytes, today: dt.date | None = None
) -> ImportedReturns:
    today = today or timezone.localdate()
    check_return_file_size(len(content))
    digest = hashlib.sha256(content).hexdigest()
    existing = ReturnFile.objects.filter(tenant=tenant, sha256=digest).first()
    if existing is not None:
        return ImportedReturns(existing, created=False)
    try:
        report = parse_pain002(content)
    except Pain002Error as exc:
        raise _refuse(exc.position, "invalid_file", exc.reason) from None
    if ReturnFile.objects.filter(tenant=tenant, message_id=report.message_id).exists():
        raise Conflict(
            f"A different report with MsgId {report.message_id!r} was already imported",
            code="duplicate_message_id",
            field="file",
        )
    entries = _checked_entries(tenant, report)
    file = ReturnFile.objects.create(
        tenant=tenant,
        filename=(filename or "upload.xml")[:255],
        sha256=digest,
        message_id=report.message_id[:35],
        original_message_id=report.original_message_id[:35],
        entry_count=len(entries),
    )
    ReturnFileEntry.objects.bulk_create(
        ReturnFileEntry(
            tenant=tenant,
            file=file,
            position=entry.position[:100],
            attempt=entry.attempt,
            end_to_end_id=entry.attempt.end_to_end_id,
            reason_code=entry.reason_code[:50],
            action=rule_for(entry.reason_code, Scheme(entry.attempt.scheme)).action.value,
        )
        for entry in entries
    )
    for entry in entries:
        _apply(entry, file=file, received_on=today)
    return ImportedReturns(file, created=True)
