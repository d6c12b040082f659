"""Parse the bank's Customer Payment Status Report (ISO 20022 pain.002).

Works on element local names inside whichever pain.002 namespace the file declares, so
pain.002.001.03 (what most SEPA banks send for pain.008.001.02) and pain.002.001.10 both parse.

Parsing is all-or-nothing: a report is either returned whole or ``Pain002Error`` is raised,
so the caller never applies half a file of rejects.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from lxml import etree

from collection.schemes.bank_xml import parse_bank_document

__all__ = [
    "Pain002Error",
    "PaymentInfoStatus",
    "StatusReport",
    "TransactionStatus",
    "parse_pain002",
    "rejections",
]

_NAMESPACE_PREFIX = "urn:iso:std:iso:20022:tech:xsd:pain.002."
_STATUS = re.compile(r"^[A-Z]{4}$")
_AMOUNT = re.compile(r"^[0-9]{1,18}(\.[0-9]{1,5})?$")
# A partial status describes a mix of outcomes, so it cannot be handed down to a transaction.
_PARTIAL = "PART"


class Pain002Error(ValueError):
    def __init__(self, position: str, reason: str) -> None:
        super().__init__(f"{position}: {reason}")
        self.position = position
        self.reason = reason


@dataclass(frozen=True)
class TransactionStatus:
    original_end_to_end_id: str
    status: str  # TxSts (RJCT, ACCP, ...), or inherited from the payment info / group status
    reason_code: str | None  # StsRsnInf/Rsn/Cd, or Rsn/Prtry for bank-specific codes
    amount: int | None  # OrgnlTxRef/Amt/InstdAmt in minor units (cents), when the bank sends it
    currency: str | None
    original_payment_info_id: str
    additional_info: tuple[str, ...] = ()
    position: str = ""  # where in the file, e.g. "OrgnlPmtInfAndSts[1]/TxInfAndSts[2] (line 40)"

    @property
    def rejected(self) -> bool:
        return self.status == "RJCT"


@dataclass(frozen=True)
class PaymentInfoStatus:
    original_payment_info_id: str
    status: str | None
    reason_code: str | None
    position: str = ""

    @property
    def rejected(self) -> bool:
        return self.status == "RJCT"


@dataclass(frozen=True)
class StatusReport:
    message_id: str
    original_message_id: str
    original_message_type: str | None  # e.g. "pain.008.001.02"
    group_status: str | None
    group_reason_code: str | None
    payment_infos: tuple[PaymentInfoStatus, ...]
    transactions: tuple[TransactionStatus, ...]

    @property
    def rejected_transactions(self) -> tuple[TransactionStatus, ...]:
        return tuple(t for t in self.transactions if t.rejected)

    @property
    def whole_file_rejected(self) -> bool:
        """The bank refused the whole original file; transactions are usually not listed."""
        return self.group_status == "RJCT"

    def payment_info(self, payment_info_id: str) -> PaymentInfoStatus | None:
        for info in self.payment_infos:
            if info.original_payment_info_id == payment_info_id:
                return info
        return None


class _Reader:
    """Namespace-bound lookups that report where in the file something went wrong."""

    def __init__(self, namespace: str) -> None:
        self.ns = namespace

    def tag(self, path: str) -> str:
        return "/".join(f"{{{self.ns}}}{part}" for part in path.split("/"))

    def find(self, element, path: str):
        return element.find(self.tag(path))

    def findall(self, element, path: str):
        return element.findall(self.tag(path))

    def text(self, element, path: str) -> str | None:
        found = self.find(element, path)
        if found is None or found.text is None or not found.text.strip():
            return None
        return found.text.strip()

    def required(self, element, path: str, position: str) -> str:
        value = self.text(element, path)
        if value is None:
            raise Pain002Error(_where(position, element), f"missing {path}")
        return value

    def status(self, element, path: str, position: str) -> str | None:
        value = self.text(element, path)
        if value is not None and not _STATUS.fullmatch(value):
            raise Pain002Error(_where(position, element), f"invalid {path} {value!r}")
        return value

    def reason(self, element) -> tuple[str | None, tuple[str, ...]]:
        """First reason code of the element's StsRsnInf blocks, plus all AddtlInf lines."""
        code = None
        info: list[str] = []
        for block in self.findall(element, "StsRsnInf"):
            if code is None:
                code = self.text(block, "Rsn/Cd") or self.text(block, "Rsn/Prtry")
            info.extend(
                e.text.strip() for e in self.findall(block, "AddtlInf") if e.text and e.text.strip()
            )
        return code, tuple(info)


def _where(position: str, element) -> str:
    line = getattr(element, "sourceline", None)
    return f"{position} (line {line})" if line else position


def _minor_units(text: str, position: str) -> int:
    # Decimal, never float. SEPA amounts are EUR with 2 decimals; an amount that does not fit
    # exactly into cents is an error rather than something to round.
    if not _AMOUNT.fullmatch(text):
        raise Pain002Error(position, f"invalid amount {text!r}")
    cents = Decimal(text) * 100
    if cents != cents.to_integral_value():
        raise Pain002Error(position, f"amount {text!r} has fractions of a cent")
    return int(cents)


def _parse_root(data: bytes | str):
    root = parse_bank_document(
        data, namespace_prefix=_NAMESPACE_PREFIX, kind="pain.002", error=Pain002Error
    )
    return root, etree.QName(root).namespace


def _transaction(
    r: _Reader,
    tx,
    position: str,
    pmt_id: str,
    inherited: str | None,
    parent_reason: str | None,
) -> TransactionStatus:
    end_to_end = r.required(tx, "OrgnlEndToEndId", position)
    status = r.status(tx, "TxSts", position)
    reason, info = r.reason(tx)
    if status is None:
        # TxSts is optional in ISO 20022: then the payment-info or group status applies.
        status = inherited
        if status is None:
            raise Pain002Error(_where(position, tx), "no TxSts and no status to inherit")
    # Banks give the reason once, at whichever level: the batch's or the group's reason
    # explains a transaction that has none of its own.
    reason = reason or parent_reason
    amount = currency = None
    amount_el = r.find(tx, "OrgnlTxRef/Amt/InstdAmt")
    if amount_el is None:
        amount_el = r.find(tx, "OrgnlTxRef/IntrBkSttlmAmt")
    if amount_el is not None:
        amount = _minor_units((amount_el.text or "").strip(), _where(position, amount_el))
        currency = amount_el.get("Ccy")
    return TransactionStatus(
        end_to_end, status, reason, amount, currency, pmt_id, info, _where(position, tx)
    )


def parse_pain002(data: bytes | str) -> StatusReport:
    """Parse a pain.002 report; raises ``Pain002Error(position, reason)`` on malformed input."""
    root, namespace = _parse_root(data)
    r = _Reader(namespace)
    report = r.find(root, "CstmrPmtStsRpt")
    if report is None:
        raise Pain002Error("Document", "missing CstmrPmtStsRpt")
    message_id = r.required(report, "GrpHdr/MsgId", "GrpHdr")
    group = r.find(report, "OrgnlGrpInfAndSts")
    if group is None:
        raise Pain002Error(_where("CstmrPmtStsRpt", report), "missing OrgnlGrpInfAndSts")
    original_message_id = r.required(group, "OrgnlMsgId", "OrgnlGrpInfAndSts")
    group_status = r.status(group, "GrpSts", "OrgnlGrpInfAndSts")
    group_reason, _ = r.reason(group)
    group_inherited = None if group_status == _PARTIAL else group_status

    payment_infos: list[PaymentInfoStatus] = []
    transactions: list[TransactionStatus] = []
    for p_index, pmt in enumerate(r.findall(report, "OrgnlPmtInfAndSts"), start=1):
        p_position = f"OrgnlPmtInfAndSts[{p_index}]"
        pmt_id = r.required(pmt, "OrgnlPmtInfId", p_position)
        pmt_status = r.status(pmt, "PmtInfSts", p_position)
        pmt_reason, _ = r.reason(pmt)
        payment_infos.append(
            PaymentInfoStatus(pmt_id, pmt_status, pmt_reason, _where(p_position, pmt))
        )
        if pmt_status is None:
            inherited = group_inherited
        elif pmt_status == _PARTIAL:
            inherited = None
        else:
            inherited = pmt_status
        parent_reason = pmt_reason or group_reason
        for t_index, tx in enumerate(r.findall(pmt, "TxInfAndSts"), start=1):
            t_position = f"{p_position}/TxInfAndSts[{t_index}]"
            if r.text(tx, "OrgnlEndToEndId") is None:
                # Seen in real reports (Nordea): transactions listed by amount only. Under an
                # accepted batch that tells us nothing; under a rejected one the batch
                # reject covers them all (see ``rejections``). A reject we cannot place is
                # an error.
                own = r.status(tx, "TxSts", t_position)
                if (own or inherited) == "RJCT" and inherited != "RJCT":
                    raise Pain002Error(_where(t_position, tx), "missing OrgnlEndToEndId")
                continue
            transactions.append(_transaction(r, tx, t_position, pmt_id, inherited, parent_reason))

    return StatusReport(
        message_id=message_id,
        original_message_id=original_message_id,
        original_message_type=r.text(group, "OrgnlMsgNmId"),
        group_status=group_status,
        group_reason_code=group_reason,
        payment_infos=tuple(payment_infos),
        transactions=tuple(transactions),
    )


def rejections(
    report: StatusReport, presented: Mapping[str, Sequence[str]]
) -> tuple[TransactionStatus, ...]:
    """Every transaction the report rejects, batch and group rejects spelled out.

    ``presented`` is what the original file contained: its PmtInfIds, each with the
    end-to-end ids of its transactions in file order. A bank that refuses a whole batch
    (``PmtInfSts`` RJCT) or the whole file (``GrpSts`` RJCT) usually lists no transaction
    at all; every transaction in that batch or file is rejected all the same, with the
    reason of whichever level gives one (transaction, then batch, then group).

    Raises ``Pain002Error`` when the report rejects a batch the file did not have (we could
    not tell which collections it means), or accepts a transaction inside a batch or file it
    rejects (a contradiction we do not guess about). Listed transactions are matched on their
    end-to-end id by the caller, so a batch that is not rejected needs no known PmtInfId.
    """
    for info in report.payment_infos:
        if info.rejected and info.original_payment_info_id not in presented:
            raise Pain002Error(
                info.position or "OrgnlPmtInfAndSts",
                f"OrgnlPmtInfId {info.original_payment_info_id!r} is not a batch of the "
                "original file",
            )

    def batch_rejected(payment_info_id: str) -> PaymentInfoStatus | None:
        info = report.payment_info(payment_info_id)
        return info if info is not None and info.rejected else None

    def scope_reason(payment_info_id: str) -> str | None:
        info = report.payment_info(payment_info_id)
        return (info.reason_code if info is not None else None) or report.group_reason_code

    rejected: list[TransactionStatus] = []
    listed: set[str] = set()
    for tx in report.transactions:
        listed.add(tx.original_end_to_end_id)
        in_rejected_scope = report.whole_file_rejected or batch_rejected(
            tx.original_payment_info_id
        )
        if in_rejected_scope and not tx.rejected:
            raise Pain002Error(
                tx.position,
                f"TxSts {tx.status} inside a batch or file the report rejects",
            )
        if tx.rejected:
            rejected.append(tx)

    for payment_info_id, end_to_end_ids in presented.items():
        info = batch_rejected(payment_info_id)
        if info is None and not report.whole_file_rejected:
            continue
        position = info.position if info is not None else "OrgnlGrpInfAndSts"
        for end_to_end_id in end_to_end_ids:
            if end_to_end_id in listed:
                continue
            rejected.append(
                TransactionStatus(
                    original_end_to_end_id=end_to_end_id,
                    status="RJCT",
                    reason_code=scope_reason(payment_info_id),
                    amount=None,
                    currency=None,
                    original_payment_info_id=payment_info_id,
                    position=f"{position} [{end_to_end_id}]",
                )
            )
    return tuple(rejected)
