"""What a parsed bank statement looks like, whatever file format it came from.

Money is always an int of minor units (cents): floats cannot represent 0.10 exactly, and
a reconciliation that is off by a rounding error is not a reconciliation.
"""

import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from typing import Literal

from hub.money import minor_unit_exponent

from .errors import StatementError

CREDIT = "credit"
DEBIT = "debit"
Direction = Literal["credit", "debit"]

_CURRENCY = re.compile(r"[A-Z]{3}")
# xs:decimal without exponent notation: Decimal() alone would also take "1E3" and "NaN".
_DECIMAL = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")
# ISO 20022 amounts have at most 18 digits; anything longer is garbage, not money.
_MAX_DIGITS = 18
# What banks write where a reference field must not be empty but they have none: the SEPA
# filler (NOTPROVIDED), the SWIFT one (NONREF), and a bare SEPA keyword label with
# nothing after it ("EREF+", "KREF+"). Matching on them would pair unrelated payments.
_PLACEHOLDERS = frozenset(["NONREF", "NOTPROVIDED", "NOT PROVIDED", "NONE", "N/A"])
_BARE_LABEL = re.compile(r"[A-Z]{4}\+")


def real_reference(value: str | None) -> str | None:
    """``value`` stripped, or None when it is empty or only a placeholder."""
    if value is None:
        return None
    text = value.strip()
    if not text or text.upper() in _PLACEHOLDERS or _BARE_LABEL.fullmatch(text.upper()):
        return None
    return text


def currency_exponent(currency: str) -> int:
    """Number of decimals of ``currency``; raises StatementError for a malformed code."""
    if not isinstance(currency, str) or not _CURRENCY.fullmatch(currency):
        raise StatementError(f"currency {currency!r} is not a 3-letter ISO 4217 code")
    return minor_unit_exponent(currency)


def to_minor_units(text: str, currency: str, *, decimal_mark: str = ".") -> int:
    """Convert a decimal string such as "12.50" to signed minor units (1250 for EUR).

    Trailing zeros are fine ("12.500" EUR is 1250); a value that would need more decimals
    than the currency has ("12.505" EUR) is rejected rather than rounded.
    """
    exponent = currency_exponent(currency)
    raw = text.strip() if isinstance(text, str) else ""
    normalised = raw.replace(decimal_mark, ".") if decimal_mark != "." else raw
    if not _DECIMAL.fullmatch(normalised):
        raise StatementError(f"amount {text!r} is not a decimal number")
    if len(normalised.lstrip("+-").replace(".", "").lstrip("0")) > _MAX_DIGITS:
        raise StatementError(f"amount {text!r} has more than {_MAX_DIGITS} digits")
    scaled = Decimal(normalised).scaleb(exponent)
    if scaled != scaled.to_integral_value():
        raise StatementError(
            f"amount {text!r} has more decimals than {currency} allows ({exponent})"
        )
    return int(scaled)


@dataclass(frozen=True, slots=True)
class TransactionDetail:
    """One underlying transaction of an entry (camt.053 ``TxDtls``, MT940 ``:86:``).

    ``amount`` (minor units of ``currency``) is None when the bank does not split it out,
    which is usual for a single transaction: the entry amount is then the amount.
    """

    end_to_end_id: str | None = None
    instruction_id: str | None = None
    payment_information_id: str | None = None
    creditor_reference: str | None = None
    remittance_text: str | None = None
    amount: int | None = None
    currency: str | None = None
    counterparty_name: str | None = None
    counterparty_account: str | None = None
    return_reason_code: str | None = None


@dataclass(frozen=True, slots=True)
class StatementEntry:
    """One booking on the account (camt.053 ``Ntry``, MT940 ``:61:`` + ``:86:``).

    ``direction`` is the effect on the balance: a reversal of a credit is a debit with
    ``is_reversal`` set (camt ``RvslInd``, MT940 ``RC``), as both standards report it.
    ``position`` counts entries from the start of the file, across statements.
    """

    position: int
    entry_reference: str | None
    booking_date: date
    value_date: date | None
    amount: int
    currency: str
    direction: Direction
    is_reversal: bool = False
    status: str | None = None
    bank_transaction_code: str | None = None
    counterparty_name: str | None = None
    counterparty_account: str | None = None
    details: tuple[TransactionDetail, ...] = ()
    # MT940 "reference for the account owner" (:61: subfield 7); camt.053 has none.
    customer_reference: str | None = None
    # camt.053 AddtlNtryInf, MT940 :61: supplementary details: free text about the entry.
    additional_info: str | None = None
    # The payment-information id of a batch booked as this one entry (camt.053
    # NtryDtls/Btch/PmtInfId, MT940 /PREF/): it names the collection or payment run.
    batch_reference: str | None = None

    @property
    def signed_amount(self) -> int:
        """Amount with the sign of its effect on the balance."""
        return self.amount if self.direction == CREDIT else -self.amount

    @property
    def return_reason_code(self) -> str | None:
        """The first return reason of any detail (a direct-debit return, say)."""
        return next((d.return_reason_code for d in self.details if d.return_reason_code), None)

    def references(self) -> tuple[str, ...]:
        """Every non-empty reference of the entry and its details, once each, in order."""
        candidates = [self.entry_reference, self.customer_reference, self.batch_reference]
        for detail in self.details:
            candidates += [
                detail.end_to_end_id,
                detail.instruction_id,
                detail.payment_information_id,
                detail.creditor_reference,
            ]
        return tuple(dict.fromkeys(ref for ref in map(real_reference, candidates) if ref))


@dataclass(frozen=True)
class Statement:
    """A statement's header and its entries.

    ``entries`` is a one-shot iterator: the parsers read entries from the file as it is
    consumed, so a bad entry raises StatementError only when the iteration reaches it. A
    caller that needs all-or-nothing (the importer) consumes it inside one DB transaction.
    """

    format: str  # "camt.053.001.02" … "camt.053.001.10" or "mt940"
    statement_id: str
    account: str
    currency: str
    # None when the file has none (camt.053 allows a statement without OPBD/PRCD): the
    # importer then derives it from the closing balance and records a warning.
    opening_balance: int | None
    closing_balance: int
    opening_date: date | None
    closing_date: date | None
    entries: Iterator[StatementEntry] = field(compare=False, repr=False)
    # camt.053 ElctrncSeqNb (or LglSeqNb), MT940 :28C: statement/sequence number.
    sequence_number: str | None = None


# The parsers produce one flat stream: a Statement (with no entries yet) followed by its
# entries, then the next Statement, and so on. That is the order of the file, which is
# what lets them stream. The functions below turn the flat stream into Statements
# whose entries are read only as they are consumed.


def split_statements(stream: Iterator[Statement | StatementEntry]) -> Iterator[Statement]:
    """Yield each statement of ``stream`` with lazy entries.

    As with itertools.groupby, moving on to the next statement first reads (and so
    validates) whatever entries of the previous statement the caller left unread.
    """
    pending = next(stream, None)
    while pending is not None:
        if not isinstance(pending, Statement):
            raise StatementError("entry found outside a statement", pending.position)
        section = _Section(stream)
        yield replace(pending, entries=section.entries)
        pending = section.finish()


def single_statement(stream: Iterator[Statement | StatementEntry], kind: str) -> Statement:
    """The only statement of ``stream``; reading its entries past the end raises if the file
    holds another one, so that no statement is silently dropped."""
    statements = split_statements(stream)
    first = next(statements, None)
    if first is None:
        raise StatementError(f"{kind} file contains no statement")

    def entries() -> Iterator[StatementEntry]:
        yield from first.entries
        following = next(statements, None)
        if following is not None:
            raise StatementError(
                f"{kind} file holds more than one statement (next: {following.statement_id!r});"
                " read it with iter_statements()"
            )

    return replace(first, entries=entries())


class _Section:
    """The entries of one statement, cut from the shared stream."""

    def __init__(self, stream: Iterator[Statement | StatementEntry]) -> None:
        self._stream = stream
        self._next: Statement | None = None
        self._done = False
        self.entries = self._read()

    def _read(self) -> Iterator[StatementEntry]:
        for item in self._stream:
            if isinstance(item, Statement):
                self._next = item
                break
            yield item
        self._done = True

    def finish(self) -> Statement | None:
        """Skip to the next statement header (None at the end of the file)."""
        for _ in self.entries:
            pass
        if not self._done:  # the caller closed its entries iterator early
            for item in self._stream:
                if isinstance(item, Statement):
                    return item
        return self._next
