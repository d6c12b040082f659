"""Parser for SWIFT MT940 customer statements, plain or wrapped in SWIFT {1:}{2:}{4: blocks.

Hand-written rather than built on the ``mt-940`` package: that package merges the
statements of a multi-statement file into one (each header overwrites the last), reads
RC (reversal of a credit, i.e. a debit) as a credit, and reports a bad :61: as a bare
RuntimeError with no entry position. Those three are what an importer needs.

MT940 writes the closing balance after the entries, so the whole file is read up front
(such files are small); entries are still parsed one by one as they are consumed, like
the camt.053 parser.
"""

import re
from collections.abc import Iterator
from datetime import date

from .errors import StatementError
from .model import (
    CREDIT,
    DEBIT,
    Statement,
    StatementEntry,
    real_reference,
    single_statement,
    split_statements,
    to_minor_units,
)
from .mt940_details import is_valid_mod97, parse_details
from .sources import Source, open_source, read_all

_TAG = re.compile(r":(\d{2}[A-Z]?|NS):(.*)")
_BALANCE = re.compile(r"(?P<mark>[CD])(?P<date>\d{6})(?P<currency>[A-Z]{3})(?P<amount>[\d,.]+)")
# Written as banks write it, not only as SWIFT specifies it: a blank between the amount
# and the type code (Commerzbank, Deutsche Bank), a type code padded with blanks ("NIT ",
# "NOV " at Triodos and ING, "S   " at Sberbank), or no type code at all (Zenith Bank;
# before NONREF). The NONREF look-ahead keeps "NONR" from being read as a type code.
_STATEMENT_LINE = re.compile(
    r"(?P<value_date>\d{6})(?P<entry_date>\d{4})?(?P<mark>RC|RD|C|D)(?P<funds_code>[A-Z])?"
    r"(?P<amount>\d[\d,.]*) ?(?P<type>(?!NONREF)[NSF](?:[A-Z0-9]{3}|[A-Z0-9]{0,2} +))?"
    r"(?P<customer_ref>.*?)(?://(?P<bank_ref>.*))?"
)
# A decimal comma, as SWIFT writes it; Knab leaves it out of whole amounts ("C500NTRF").
_AMOUNT = re.compile(r"\d+(?:,\d*)?")
# Transmission control characters some banks leave in the file: SOH/ETX around each
# message (mBank), an EOF mark (0x1A) after the last one. They are never content.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# RC and RD are reversals; the mark is the effect on the balance, as in camt.053.
_MARKS = {"C": (CREDIT, False), "D": (DEBIT, False), "RD": (CREDIT, True), "RC": (DEBIT, True)}


def parse_mt940(source: Source) -> Statement:
    """The single statement of an MT940 file (a path or a binary file object)."""
    return single_statement(_walk(source), "MT940")


def iter_mt940(source: Source) -> Iterator[Statement]:
    """Every statement of an MT940 file, in file order."""
    statements = split_statements(_walk(source))
    first = next(statements, None)
    if first is None:
        raise StatementError("MT940 file contains no statement")
    yield first
    yield from statements


def looks_like_mt940(head: bytes) -> bool:
    """True if ``head`` has an MT940 :20: tag followed by a :25: or an opening balance."""
    text = _decode(head)
    return bool(
        re.search(r"(?m)(?:^|\{4:)\s*:20:", text) and re.search(r"(?m)^:(?:25|60[FM]):", text)
    )


def _walk(source: Source) -> Iterator[Statement | StatementEntry]:
    with open_source(source) as stream:
        data = read_all(stream)
    before = 0  # entries in earlier statements: positions count from the start of the file
    for number, fields in enumerate(_statements(_fields(_decode(data))), start=1):
        header = _header(fields, number)
        yield header
        yield from _entries(fields, header.currency, before)
        before += sum(1 for tag, _ in fields if tag == "61")


def _decode(data: bytes) -> str:
    # SWIFT's character set is ASCII; banks that go beyond it use UTF-8 or Latin-1.
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    return _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


def _fields(text: str) -> list[tuple[str, str]]:
    """(tag, value) pairs; continuation lines stay in the value, joined by newlines."""
    if "{4:" in text:
        # Keep only the text blocks: {1:}/{2:} headers and {5:} trailers are transport.
        text = "\n".join(part.split("-}")[0] for part in text.split("{4:")[1:])
    fields: list[tuple[str, list[str]]] = []
    # A line "-" ends a message. What follows it until the next tag is not part of any
    # field: a header block before each statement (ABN AMRO writes "ABNANL2A", "940",
    # "ABNANL2A"), or padding. Reading it as a continuation of the closing balance is
    # what refused those files.
    in_message = False
    for line in text.split("\n"):
        match = _TAG.match(line)
        if match:
            fields.append((match.group(1), [match.group(2)]))
            in_message = True
        elif line.strip() == "-":
            in_message = False
        elif in_message and line.strip():
            fields[-1][1].append(line)
    return [(tag, "\n".join(lines).strip()) for tag, lines in fields]


def _statements(fields: list[tuple[str, str]]) -> Iterator[list[tuple[str, str]]]:
    """The fields of each statement: a :20: and everything up to the next one."""
    statement: list[tuple[str, str]] | None = None
    for tag, value in fields:
        if tag == "20":
            if statement is not None:
                yield statement
            statement = []
        elif statement is None:
            raise StatementError(f"missing :20: (transaction reference) before :{tag}:")
        statement.append((tag, value))
    if statement is not None:
        yield statement


def _header(fields: list[tuple[str, str]], number: int) -> Statement:
    values: dict[str, str] = {}
    for tag, value in fields:
        values.setdefault(tag, value)
    statement_id = values["20"]
    if not statement_id:
        raise StatementError(f"statement {number} has an empty :20: transaction reference")
    name = f"statement {number} ({statement_id!r})"
    opening_field = values.get("60F", values.get("60M"))
    closing_field = values.get("62F", values.get("62M"))
    if values.get("25") is None:
        raise StatementError(f"{name} has no account (:25:)")
    if opening_field is None:
        raise StatementError(f"{name} has no opening balance (:60F:)")
    if closing_field is None:
        raise StatementError(f"{name} has no closing balance (:62F:)")
    opening, currency, opening_date = _balance(opening_field, f"opening balance of {name}")
    closing, closing_currency, closing_date = _balance(closing_field, f"closing balance of {name}")
    others = [(tag, values[tag]) for tag in ("64", "65") if tag in values]
    for label, found in [("closing", closing_currency)] + [
        (f":{tag}:", _balance(value, f":{tag}: balance of {name}")[1]) for tag, value in others
    ]:
        if found != currency:
            raise StatementError(
                f"{label} balance currency {found} of {name} does not match opening balance"
                f" currency {currency}"
            )
    return Statement(
        format="mt940",
        statement_id=statement_id,
        account=_account(values["25"], currency),
        currency=currency,
        opening_balance=opening,
        closing_balance=closing,
        opening_date=opening_date,
        closing_date=closing_date,
        entries=iter(()),
        sequence_number=values.get("28C", values.get("28")),
    )


def _balance(value: str, label: str) -> tuple[int, str, date]:
    match = _BALANCE.fullmatch(value.replace(" ", ""))
    if match is None:
        raise StatementError(f"{label} {value!r} is not an MT940 balance")
    try:
        amount = _amount(match.group("amount"), match.group("currency"))
        day = _yymmdd(match.group("date"))
    except StatementError as error:
        raise StatementError(f"{label}: {error.reason}") from None
    signed = amount if match.group("mark") == "C" else -amount
    return signed, match.group("currency"), day


def _account(value: str, currency: str) -> str:
    """The account as camt.053 would name it, so that both formats land on one account.

    Banks append the currency to the IBAN, with or without a blank ("NL20INGB0001234567EUR"
    at ING, "NL34RABO0142623393 EUR" at Rabobank and bunq), or write the IBAN in groups
    of four; an IBAN is kept in its compact form. Anything else (a German "BLZ/Konto")
    stays as written.
    """
    account = value.split("\n")[0].strip()
    compact = account.replace(" ", "").upper()
    if compact.endswith(currency) and is_valid_mod97(compact[: -len(currency)]):
        return compact[: -len(currency)]
    if is_valid_mod97(compact):
        return compact
    return account


def _entries(fields: list[tuple[str, str]], currency: str, before: int) -> Iterator[StatementEntry]:
    position = before
    for index, (tag, value) in enumerate(fields):
        if tag != "61":
            continue
        position += 1
        following = fields[index + 1] if index + 1 < len(fields) else None
        information = following[1] if following and following[0] == "86" else None
        try:
            yield _entry(value, information, currency, position)
        except StatementError as error:
            raise error.at(position) from None


def _entry(value: str, information: str | None, currency: str, position: int) -> StatementEntry:
    first_line, _, supplementary = value.partition("\n")
    match = _STATEMENT_LINE.fullmatch(first_line.strip())
    if match is None:
        raise StatementError(f":61: statement line {first_line!r} does not parse")
    value_date = _yymmdd(match.group("value_date"))
    booking_date = _entry_date(match.group("entry_date"), value_date)
    direction, is_reversal = _MARKS[match.group("mark")]
    customer_ref = real_reference(match.group("customer_ref"))
    type_code = (match.group("type") or "").strip() or None
    detail, batch_reference = parse_details(information) if information else (None, None)
    details = (detail,) if detail else ()
    party = details[0] if details else None
    return StatementEntry(
        position=position,
        entry_reference=real_reference(match.group("bank_ref")),
        booking_date=booking_date,
        value_date=value_date,
        amount=_amount(match.group("amount"), currency),
        currency=currency,
        direction=direction,
        is_reversal=is_reversal,
        status="BOOK",  # an MT940 (unlike an MT942) reports booked entries only
        bank_transaction_code=type_code,
        counterparty_name=party.counterparty_name if party else None,
        counterparty_account=party.counterparty_account if party else None,
        details=details,
        customer_reference=customer_ref,
        additional_info=supplementary.strip() or None,
        batch_reference=batch_reference,
    )


def _amount(text: str, currency: str) -> int:
    if not _AMOUNT.fullmatch(text):
        raise StatementError(f"amount {text!r} is not an MT940 amount (digits, decimal comma)")
    return to_minor_units(text, currency, decimal_mark=",")


def _yymmdd(text: str) -> date:
    try:
        return date(2000 + int(text[:2]), int(text[2:4]), int(text[4:6]))
    except ValueError:
        raise StatementError(f"date {text!r} is not a valid YYMMDD date") from None


def _entry_date(mmdd: str | None, value_date: date) -> date:
    """The MMDD entry date, in whichever year puts it nearest the value date."""
    if mmdd is None:
        return value_date
    candidates = []
    for year in (value_date.year - 1, value_date.year, value_date.year + 1):
        try:
            candidates.append(date(year, int(mmdd[:2]), int(mmdd[2:])))
        except ValueError:
            continue
    if not candidates:
        raise StatementError(f"entry date {mmdd!r} is not a valid MMDD date")
    return min(candidates, key=lambda day: abs((day - value_date).days))
