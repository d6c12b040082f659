"""Bank files of rejects and returns the agency uploads, applied whole.

Two formats arrive at the same endpoint, told apart by the file's root namespace:

* a pain.002 status report on one of the hub's pain.008 files (matched by its OrgnlMsgId);
* a camt.054 debit/credit notification, whose returned debits (``RtrInf``) name the
  collection by its original end-to-end id (see ``collection.schemes.camt054``). Returns
  also reach the hub through camt.053 statements (reconciliation); whichever comes first
  applies, and the second finds the payment failed already and changes nothing.

A report may reject single transactions, a whole batch (``PmtInfSts`` RJCT) or the whole
file (``GrpSts`` RJCT), often without listing a transaction: a batch or file reject applies
to every collection of that batch or of the run's file (read from the stored file), with the
reason code of whichever level gives one. Anything else would let the settlement day
confirm collections the bank never made.

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
from io import BytesIO

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from lxml import etree

from collection.models import CollectionAttempt, CollectionRun, ReturnFile, ReturnFileEntry
from collection.schemes import (
    Camt054Error,
    Pain002Error,
    Pain008Error,
    Scheme,
    TransactionStatus,
    parse_camt054,
    parse_pain002,
    presented_batches,
    rejections,
    rule_for,
)
from hub.errors import Conflict, InvalidRequest
from payments import services as payments
from payments.models import PaymentState
from tenants.models import Tenant

PAIN002_NAMESPACE = "urn:iso:std:iso:20022:tech:xsd:pain.002."
CAMT054_NAMESPACE = "urn:iso:std:iso:20022:tech:xsd:camt.054."
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


def _presented(run: CollectionRun) -> dict[str, tuple[str, ...]]:
    """What the run's file held, batch by batch (PmtInfId -> end-to-end ids).

    Read from the stored file itself: that is what the bank received, and a batch reject
    names nothing but its PmtInfId.
    """
    if not run.file:
        # No stored file (never written, or lost): the run's own collections are one batch
        # without a name, which is enough for a whole-file reject and nothing more.
        ids = run.attempts.exclude(payment=None).order_by("end_to_end_id")
        return {"": tuple(ids.values_list("end_to_end_id", flat=True))}
    try:
        with run.file.open("rb") as stored:
            return presented_batches(stored.read())
    except (OSError, Pain008Error) as exc:
        raise _refuse(
            "OrgnlGrpInfAndSts/OrgnlMsgId",
            "original_file_unreadable",
            f"the collection file {run.file_message_id!r} could not be read ({exc})",
        ) from None


def _rejected_transactions(report, run: CollectionRun) -> list[TransactionStatus]:
    try:
        return list(rejections(report, _presented(run)))
    except Pain002Error as exc:
        raise _refuse(exc.position, "inconsistent_report", exc.reason) from None


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
    attempts = CollectionAttempt.objects.filter(tenant=tenant, run=run)
    return _matched(transactions, attempts, where="in the file it reports on")


def _checked_notified_returns(tenant: Tenant, notification) -> list[_Entry]:
    """camt.054 returns: any collection of this agency, by its end-to-end id."""
    attempts = CollectionAttempt.objects.filter(tenant=tenant)
    return _matched(list(notification.returns), attempts, where="of this agency")


def _matched(transactions, attempts, *, where: str) -> list[_Entry]:
    """Each reported reject or return, checked against the collection it names.

    ``transactions`` have ``original_end_to_end_id``, ``reason_code``, ``amount``,
    ``currency`` and ``position`` (pain.002 ``TransactionStatus`` and camt.054
    ``NotifiedReturn`` both do).
    """
    found = {
        a.end_to_end_id: a
        for a in attempts.filter(
            end_to_end_id__in=[t.original_end_to_end_id for t in transactions]
        ).select_related("payment")
    }
    entries: list[_Entry] = []
    seen: set[str] = set()
    for tx in transactions:
        position = tx.position or "transaction"
        attempt = found.get(tx.original_end_to_end_id)
        if attempt is None or attempt.payment is None:
            raise _refuse(
                position,
                "unknown_end_to_end_id",
                f"no collection {tx.original_end_to_end_id!r} {where}",
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
            source=f"{file.format.replace('.', '')}:{file.pk}",
        )
    elif payment.state in (PaymentState.CREATED, PaymentState.SUBMITTED):
        payments.fail_direct_debit(
            payment=payment,
            code=entry.reason_code,
            message=f"Rejected by the bank ({entry.reason_code}), report {file.message_id}",
        )
    # Already failed: reported before (by Stripe, a statement or an earlier report).


def _detect_format(content: bytes) -> str:
    """pain.002 or camt.054, from the root element's namespace (read without parsing the
    whole file; the parser that follows checks everything else)."""
    parser_events = etree.iterparse(
        BytesIO(content), events=("start",), resolve_entities=False, no_network=True
    )
    try:
        _, root = next(parser_events)
    except (etree.XMLSyntaxError, StopIteration) as exc:
        line = getattr(exc, "lineno", 1)
        raise _refuse(f"line {line}", "invalid_file", "not well-formed XML") from None
    namespace = etree.QName(root).namespace or ""
    if namespace.startswith(PAIN002_NAMESPACE):
        return ReturnFile.Format.PAIN002
    if namespace.startswith(CAMT054_NAMESPACE):
        return ReturnFile.Format.CAMT054
    try:
        # Neither format: a broken file is told as such, with its line, before "wrong kind".
        etree.fromstring(content, etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError as exc:
        raise _refuse(
            f"line {exc.lineno}", "invalid_file", f"not well-formed XML: {exc.msg}"
        ) from None
    raise _refuse(
        "Document",
        "invalid_file",
        f"not a pain.002 status report or a camt.054 notification (namespace {namespace!r}); "
        "bank statements (camt.053, MT940) go to /api/v1/statements",
    )


@dataclass(frozen=True)
class _Parsed:
    message_id: str
    original_message_id: str
    entries: list[_Entry]


def _parse(tenant: Tenant, file_format: str, content: bytes) -> _Parsed:
    if file_format == ReturnFile.Format.CAMT054:
        try:
            notification = parse_camt054(content)
        except Camt054Error as exc:
            raise _refuse(exc.position, "invalid_file", exc.reason) from None
        return _Parsed(notification.message_id, "", _checked_notified_returns(tenant, notification))
    try:
        report = parse_pain002(content)
    except Pain002Error as exc:
        raise _refuse(exc.position, "invalid_file", exc.reason) from None
    # Checked before the entries: a second, different report with a known MsgId is a
    # conflict whatever it contains.
    _refuse_known_message_id(tenant, report.message_id)
    return _Parsed(report.message_id, report.original_message_id, _checked_entries(tenant, report))


def _refuse_known_message_id(tenant: Tenant, message_id: str) -> None:
    if ReturnFile.objects.filter(tenant=tenant, message_id=message_id[:35]).exists():
        raise Conflict(
            f"A different report with MsgId {message_id!r} was already imported",
            code="duplicate_message_id",
            field="file",
        )


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
    file_format = _detect_format(content)
    parsed = _parse(tenant, file_format, content)
    _refuse_known_message_id(tenant, parsed.message_id)
    entries = parsed.entries
    file = ReturnFile.objects.create(
        tenant=tenant,
        format=file_format,
        filename=(filename or "upload.xml")[:255],
        sha256=digest,
        message_id=parsed.message_id[:35],
        original_message_id=parsed.original_message_id[:35],
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
