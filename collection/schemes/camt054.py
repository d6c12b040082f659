"""Returned direct debits in a bank's debit/credit notification (ISO 20022 camt.054).

Many banks report R-transactions (returns, refunds, late rejects of collections already
booked) in camt.054 rather than in a pain.002. A returned direct debit is a booked debit
on the creditor's account whose transaction details carry ``RtrInf`` (the reason, as
``Rsn/Cd`` or ``Rsn/Prtry``) and the original end-to-end id in ``Refs/EndToEndId``.

What this module reads, and what it leaves alone:

* only *booked* entries (``Sts`` BOOK): a pending entry is reported again once booked;
* only *debits* (``CdtDbtInd`` DBIT, from the transaction or else its entry): a returned
  credit transfer of the agency's own is a credit and no business of collections;
* only transaction details with ``RtrInf``: the other entries of the notification are
  ordinary bookings, which reconciliation imports from the statement.

A return without the original end-to-end id cannot be matched to a collection and refuses
the file, as does anything malformed; parsing is all-or-nothing like ``pain002``. Works on
local names inside whichever camt.054 namespace the file declares (.02, .04, .08 …).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal

from lxml import etree

from collection.schemes.bank_xml import parse_bank_document

__all__ = ["Camt054Error", "DebitCreditNotification", "NotifiedReturn", "parse_camt054"]

NAMESPACE_PREFIX = "urn:iso:std:iso:20022:tech:xsd:camt.054."
_AMOUNT = re.compile(r"^[0-9]{1,18}(\.[0-9]{1,5})?$")
# Banks write this when they do not know the reference: it is no end-to-end id of ours.
_PLACEHOLDERS = {"NOTPROVIDED", "NONREF"}


class Camt054Error(ValueError):
    def __init__(self, position: str, reason: str) -> None:
        super().__init__(f"{position}: {reason}")
        self.position = position
        self.reason = reason


@dataclass(frozen=True)
class NotifiedReturn:
    original_end_to_end_id: str
    reason_code: str | None
    amount: int | None  # minor units, the returned collection's own amount where given
    currency: str | None
    booked_on: dt.date | None
    position: str  # e.g. "Ntfctn[1]/Ntry[2]/NtryDtls/TxDtls[1] (line 40)"


@dataclass(frozen=True)
class DebitCreditNotification:
    message_id: str
    entry_count: int  # every entry in the file, returns or not
    returns: tuple[NotifiedReturn, ...]


def _local(element) -> str:
    return etree.QName(element).localname


def _child(element, *path: str):
    """The first descendant along ``path`` of local names (namespace-agnostic)."""
    current = element
    for name in path:
        if current is None:
            return None
        current = next((c for c in current if isinstance(c.tag, str) and _local(c) == name), None)
    return current


def _children(element, name: str) -> list:
    return [c for c in element if isinstance(c.tag, str) and _local(c) == name]


def _text(element, *path: str) -> str | None:
    found = _child(element, *path)
    if found is None or found.text is None or not found.text.strip():
        return None
    return found.text.strip()


def _where(position: str, element) -> str:
    line = getattr(element, "sourceline", None)
    return f"{position} (line {line})" if line else position


def _minor_units(element, position: str) -> tuple[int, str | None]:
    text = (element.text or "").strip()
    if not _AMOUNT.fullmatch(text):
        raise Camt054Error(_where(position, element), f"invalid amount {text!r}")
    cents = Decimal(text) * 100
    if cents != cents.to_integral_value():
        raise Camt054Error(_where(position, element), f"amount {text!r} has fractions of a cent")
    return int(cents), element.get("Ccy")


def _status(entry) -> str | None:
    # camt.054.001.02 writes <Sts>BOOK</Sts>; from .08 on it is <Sts><Cd>BOOK</Cd></Sts>.
    return _text(entry, "Sts", "Cd") or _text(entry, "Sts")


def _booked_on(entry) -> dt.date | None:
    value = _text(entry, "BookgDt", "Dt") or _text(entry, "BookgDt", "DtTm")
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        return None


def _amount(tx, entry, single: bool, position: str) -> tuple[int | None, str | None]:
    """The returned collection's amount: the instructed amount where the bank gives it
    (charges come on top of a return), then the transaction amount, then, for an entry
    with a single transaction, the entry's own amount."""
    for path in (("AmtDtls", "InstdAmt", "Amt"), ("AmtDtls", "TxAmt", "Amt"), ("Amt",)):
        found = _child(tx, *path)
        if found is not None:
            return _minor_units(found, position)
    if single:
        found = _child(entry, "Amt")
        if found is not None:
            return _minor_units(found, position)
    return None, None


def _parse_root(data: bytes | str):
    return parse_bank_document(
        data, namespace_prefix=NAMESPACE_PREFIX, kind="camt.054", error=Camt054Error
    )


def parse_camt054(data: bytes | str) -> DebitCreditNotification:
    """Parse a camt.054; raises ``Camt054Error(position, reason)`` on malformed input."""
    root = _parse_root(data)
    message = _child(root, "BkToCstmrDbtCdtNtfctn")
    if message is None:
        raise Camt054Error("Document", "missing BkToCstmrDbtCdtNtfctn")
    message_id = _text(message, "GrpHdr", "MsgId")
    if message_id is None:
        raise Camt054Error(_where("GrpHdr", message), "missing GrpHdr/MsgId")
    notifications = _children(message, "Ntfctn")
    if not notifications:
        raise Camt054Error(_where("BkToCstmrDbtCdtNtfctn", message), "no Ntfctn")

    entry_count = 0
    returns: list[NotifiedReturn] = []
    for n_index, notification in enumerate(notifications, start=1):
        for e_index, entry in enumerate(_children(notification, "Ntry"), start=1):
            entry_count += 1
            e_position = f"Ntfctn[{n_index}]/Ntry[{e_index}]"
            entry_side = _text(entry, "CdtDbtInd")
            if entry_side not in ("CRDT", "DBIT"):
                raise Camt054Error(
                    _where(e_position, entry), f"CdtDbtInd must be CRDT or DBIT, not {entry_side!r}"
                )
            details = [
                tx for block in _children(entry, "NtryDtls") for tx in _children(block, "TxDtls")
            ]
            booked = _status(entry) == "BOOK"
            for t_index, tx in enumerate(details, start=1):
                if _child(tx, "RtrInf") is None:
                    continue
                position = f"{e_position}/NtryDtls/TxDtls[{t_index}]"
                side = _text(tx, "CdtDbtInd") or entry_side
                if not booked or side != "DBIT":
                    continue
                end_to_end = _text(tx, "Refs", "EndToEndId")
                if end_to_end is None or end_to_end.upper() in _PLACEHOLDERS:
                    raise Camt054Error(
                        _where(position, tx),
                        "a returned debit without the original Refs/EndToEndId",
                    )
                amount, currency = _amount(tx, entry, len(details) == 1, position)
                returns.append(
                    NotifiedReturn(
                        original_end_to_end_id=end_to_end,
                        reason_code=_text(tx, "RtrInf", "Rsn", "Cd")
                        or _text(tx, "RtrInf", "Rsn", "Prtry"),
                        amount=amount,
                        currency=currency,
                        booked_on=_booked_on(entry),
                        position=_where(position, tx),
                    )
                )
    return DebitCreditNotification(
        message_id=message_id, entry_count=entry_count, returns=tuple(returns)
    )
