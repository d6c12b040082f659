"""Streaming parser for ISO 20022 camt.053 (bank-to-customer statement), .001.02 to .001.10.

A statement file can hold a year of entries for a busy collection account, so the
document is never built in memory: lxml's iterparse reports each ``Stmt`` and ``Ntry``,
an entry is turned into a StatementEntry when its end tag is read, and the element is
then cleared and unlinked so the tree stays a few elements deep.

The versions differ in details this parser reads both ways (``Sts`` as text in .02 and
as ``Sts/Cd`` later, ``Dbtr/Nm`` vs ``Dbtr/Pty/Nm``, ``TxDtls/Amt`` only from .04 on);
the namespace tells which version it is and only that namespace's elements are read.

A document may hold several ``Stmt`` (one per account or currency): iter_camt053 yields
each, parse_camt053 is for the usual single-statement file and raises if there is more.
"""

import re
from collections.abc import Iterator
from contextlib import suppress
from datetime import date, datetime

from lxml import etree

from .errors import StatementError
from .model import (
    CREDIT,
    DEBIT,
    Statement,
    StatementEntry,
    TransactionDetail,
    real_reference,
    single_statement,
    split_statements,
    to_minor_units,
)
from .sources import Source, open_source, peek

Element = etree._Element

NAMESPACE = re.compile(r"urn:iso:std:iso:20022:tech:xsd:camt\.053\.001\.(\d{2})")
SUPPORTED_VERSIONS = range(2, 11)

_DIRECTIONS = {"CRDT": CREDIT, "DBIT": DEBIT}
_BOOLEANS = {"true": True, "1": True, "false": False, "0": False}
_DATE = re.compile(r"(\d{4}-\d{2}-\d{2})(?:Z|[+-]\d{2}:\d{2})?")
XINCLUDE_NAMESPACES = ("{http://www.w3.org/2001/XInclude}", "{http://www.w3.org/2003/XInclude}")
XINCLUDE_TAGS = tuple(f"{namespace}*" for namespace in XINCLUDE_NAMESPACES)
# The SEPA rulebook's filler for "the originator gave no end-to-end id".
_NOT_PROVIDED = "NOTPROVIDED"


def parse_camt053(source: Source) -> Statement:
    """Read the header of the single statement in ``source`` (a path or a binary file).

    Header problems raise here; entry problems raise from ``Statement.entries`` when the
    iteration reaches the entry, with its position.
    """
    return single_statement(_walk(source), "camt.053")


def iter_camt053(source: Source) -> Iterator[Statement]:
    """Every statement of ``source`` in file order, each with lazy entries."""
    statements = split_statements(_walk(source))
    first = next(statements, None)
    if first is None:
        raise StatementError("camt.053 file contains no statement")
    yield first
    yield from statements


def camt053_format(head: bytes) -> str:
    """The format name ("camt.053.001.NN") of a document starting with ``head``.

    Raises StatementError when it is not XML, or XML but not a supported camt.053.
    """
    namespace, name = _root(head)
    return _format_of(namespace, name)


# --- the root element ------------------------------------------------------------------


def _root(head: bytes) -> tuple[str | None, str]:
    # Only the first start event is used, so a head cut off after the root tag is fine.
    parser = etree.XMLPullParser(
        events=("start",), resolve_entities=False, no_network=True, load_dtd=False
    )
    # Whatever was read before a syntax error is still reported below.
    with suppress(etree.XMLSyntaxError):
        parser.feed(head)
    for _event, element in parser.read_events():
        if element.getroottree().docinfo.doctype:
            # As for pain.002: a bank's statement has no DTD; one here could only declare
            # entities (external files, expansion bombs) for a parser to resolve.
            raise StatementError("DOCTYPE declarations are not accepted in statements")
        qname = etree.QName(element)
        return qname.namespace, qname.localname
    raise StatementError("unrecognised statement format: not a well-formed XML document")


def _format_of(namespace: str | None, name: str) -> str:
    match = NAMESPACE.fullmatch(namespace or "")
    if name != "Document" or match is None:
        root = f"{{{namespace}}}{name}" if namespace else name
        raise StatementError(f"unrecognised statement format: XML root {root} is not camt.053")
    if int(match.group(1)) not in SUPPORTED_VERSIONS:
        raise StatementError(f"unsupported camt.053 version {match.group(1)}")
    return f"camt.053.001.{match.group(1)}"


# --- the event walk --------------------------------------------------------------------


def _walk(source: Source) -> Iterator[Statement | StatementEntry]:
    with open_source(source) as raw:
        head, stream = peek(raw)
        namespace, name = _root(head)
        reader = _Reader(namespace, _format_of(namespace, name))
        events = etree.iterparse(
            stream,
            events=("start", "end"),
            tag=(reader.stmt, reader.ntry, *XINCLUDE_TAGS),
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            remove_comments=True,
            remove_pis=True,
        )
        position = 0
        open_entry: int | None = None  # position of a Ntry whose end tag is still to come
        statement = None
        statements = 0  # Stmt elements seen, to name one that has no usable Id
        header_sent = False
        try:
            for event, element in events:
                if element.tag.startswith(XINCLUDE_NAMESPACES):
                    # lxml never performs XInclude unless asked; refused all the same, so
                    # that nothing downstream is tempted to.
                    raise StatementError("XInclude is not accepted in statements", position)
                if element.tag == reader.stmt:
                    if event == "start":
                        statement, header_sent = element, False
                        statements += 1
                        continue
                    if not header_sent:  # a statement without entries
                        yield reader.header(element, statements)
                    _discard(element)
                    statement = None
                elif event == "start":
                    if statement is None:
                        raise StatementError("Ntry outside a Stmt", position + 1)
                    if not header_sent:
                        # The header elements precede the first Ntry and are complete now.
                        yield reader.header(statement, statements)
                        header_sent = True
                    position += 1
                    open_entry = position
                else:
                    try:
                        entry = reader.entry(element, position)
                    except StatementError as error:
                        raise error.at(position) from None
                    open_entry = None
                    _discard(element)
                    yield entry
        except etree.XMLSyntaxError as error:
            raise StatementError(
                f"malformed XML at line {error.lineno}: {error.msg}", open_entry
            ) from None


def _discard(element: Element) -> None:
    """Free an element that has been read, and the siblings read before it."""
    element.clear(keep_tail=True)
    parent = element.getparent()
    if parent is not None:
        while element.getprevious() is not None:
            del parent[0]


# Descendants of one element by path below it ("RltdPties/Dbtr/Nm"). Flattening a subtree
# in one pass is several times faster than a find() per field, which matters at 1M entries.
Flat = dict[str, Element]
_UNSEEN = object()


class _Reader:
    """Turns the elements of one camt.053 namespace into model objects."""

    def __init__(self, namespace: str, format_name: str) -> None:
        self.prefix = f"{{{namespace}}}"
        self.format = format_name
        self.stmt = self.tag("Stmt")
        self.ntry = self.tag("Ntry")
        self.local: dict[object, str | None] = {}  # tag -> local name (flatten)

    def tag(self, name: str) -> str:
        return self.prefix + name

    def flatten(self, element: Element, skip: frozenset[str] = frozenset()) -> Flat:
        """The first occurrence of every path below ``element``, not entering ``skip``.

        Children are read level by level from a stack of the elements read so far, each
        parent's in document order, so that a descendant is read only if its parent was:
        that leaves out, with everything below them, the skipped paths, repeated paths
        after their first occurrence (the first sibling of a name wins, whatever order
        the levels are visited in), and other namespaces' elements (SplmtryData envelopes
        carry nothing read here). Each tag's local name is worked out once per file
        (``self.local``): a dict lookup per element instead of a type check, a prefix
        test and a slice, and no ``getparent()`` either (about 30% faster an entry)."""
        flat: Flat = {}
        local_names = self.local
        stack = [("", element)]
        while stack:
            base, parent = stack.pop()
            for child in parent:
                tag = child.tag
                local = local_names.get(tag, _UNSEEN)
                if local is _UNSEEN:
                    local = local_names[tag] = self._local_name(tag)
                if local is None:
                    continue
                path = base + local
                if path in flat or path in skip:
                    continue
                flat[path] = child
                if len(child):
                    stack.append((path + "/", child))
        return flat

    def _local_name(self, tag: object) -> str | None:
        """The name of an element of this namespace; None for anything else (another
        namespace's element, an entity reference)."""
        if isinstance(tag, str) and tag.startswith(self.prefix):
            return tag[len(self.prefix) :]
        return None

    # --- statement header ---

    def header(self, stmt: Element, number: int) -> Statement:
        # Entries already parsed ahead of this point are not part of the header.
        flat = self.flatten(stmt, frozenset(("Ntry", "Bal", "TxsSummry")))
        statement_id = _text(flat, "Id")
        if statement_id is None:
            raise StatementError(f"statement {number} has no Id")
        name = f"statement {statement_id!r}"
        account = _text(flat, "Acct/Id/IBAN", "Acct/Id/Othr/Id")
        if account is None:
            raise StatementError(f"{name} has no account Id")
        balances: dict[str, tuple[int, Flat]] = {}
        for index, balance in enumerate(stmt.iterchildren(self.tag("Bal")), start=1):
            fields = self.flatten(balance)
            code = _text(fields, "Tp/CdOrPrtry/Cd", "Tp/CdOrPrtry/Prtry")
            balances.setdefault(code or "", (index, fields))
        # ISO 20022 makes every balance optional; a statement without an opening balance
        # is still a statement (the importer derives it and warns). Without a closing
        # balance nothing about the entries can be checked.
        opening = balances.get("OPBD", balances.get("PRCD"))
        closing = balances.get("CLBD")
        if closing is None:
            raise StatementError(f"{name} has no CLBD closing balance")
        opening_amount = opening_date = None
        if opening is not None:
            opening_amount, opening_currency, opening_date = _balance(
                opening[1], f"balance {opening[0]} (opening) of {name}"
            )
        closing_amount, closing_currency, closing_date = _balance(
            closing[1], f"balance {closing[0]} (closing) of {name}"
        )
        account_currency = _text(flat, "Acct/Ccy")
        currency = account_currency or closing_currency
        found = [("closing", closing_currency)]
        if opening is not None:
            found.insert(0, ("opening", opening_currency))
        for label, balance_currency in found:
            if balance_currency != currency:
                against = "account currency" if account_currency else "closing balance currency"
                raise StatementError(
                    f"{label} balance currency {balance_currency} of {name} does not match "
                    f"{against} {currency}"
                )
        return Statement(
            format=self.format,
            statement_id=statement_id,
            account=account,
            currency=currency,
            opening_balance=opening_amount,
            closing_balance=closing_amount,
            opening_date=opening_date,
            closing_date=closing_date,
            entries=iter(()),
            sequence_number=_text(flat, "ElctrncSeqNb", "LglSeqNb"),
        )

    # --- entries ---

    def entry(self, ntry: Element, position: int) -> StatementEntry:
        flat = self.flatten(ntry, frozenset(("NtryDtls",)))
        amount, currency = _amount(flat, "Amt", "entry")
        direction = _direction(flat, "entry")
        reversal = _text(flat, "RvslInd")
        if reversal is not None and reversal not in _BOOLEANS:
            raise StatementError(f"RvslInd {reversal!r} is not a boolean")
        is_reversal = _BOOLEANS.get(reversal or "false", False)
        booking_date = _date(flat, "BookgDt")
        if booking_date is None:
            raise StatementError("entry has no booking date (BookgDt)")
        details: tuple[TransactionDetail, ...] = ()
        batch_reference = None
        for entry_details in ntry.iterchildren(self.tag("NtryDtls")):
            for batch in entry_details.iterchildren(self.tag("Btch")):
                batch_reference = batch_reference or _provided(
                    _text(self.flatten(batch), "PmtInfId")
                )
            details += tuple(
                self._detail(self.flatten(tx), direction, is_reversal)
                for tx in entry_details.iterchildren(self.tag("TxDtls"))
            )
        # With one underlying transaction its party is the entry's; a batch has many.
        party = details[0] if len(details) == 1 else TransactionDetail()
        return StatementEntry(
            position=position,
            entry_reference=_provided(_text(flat, "AcctSvcrRef", "NtryRef")),
            booking_date=booking_date,
            value_date=_date(flat, "ValDt"),
            amount=amount,
            currency=currency,
            direction=direction,
            is_reversal=is_reversal,
            status=_text(flat, "Sts/Cd", "Sts/Prtry", "Sts"),
            bank_transaction_code=_bank_transaction_code(flat),
            counterparty_name=party.counterparty_name,
            counterparty_account=party.counterparty_account,
            details=details,
            additional_info=_text(flat, "AddtlNtryInf"),
            batch_reference=batch_reference,
        )

    def _detail(self, flat: Flat, direction: str, is_reversal: bool) -> TransactionDetail:
        amount = currency = None
        amount_path = "Amt" if "Amt" in flat else "AmtDtls/TxAmt/Amt"  # TxDtls/Amt is .04+
        if amount_path in flat:
            amount, currency = _amount(flat, amount_path, "transaction")
        return_reason = _text(flat, "RtrInf/Rsn/Cd", "RtrInf/Rsn/Prtry")
        # Related parties keep their roles from the original payment, so for a returned or
        # reversed one the other side is in the opposite role.
        credit_side = (direction == CREDIT) != (is_reversal or return_reason is not None)
        role = "RltdPties/Dbtr" if credit_side else "RltdPties/Cdtr"
        remittance = flat.get("RmtInf")
        unstructured = (
            [(u.text or "").strip() for u in remittance.iterchildren(self.tag("Ustrd"))]
            if remittance is not None
            else []
        )
        return TransactionDetail(
            end_to_end_id=_provided(_text(flat, "Refs/EndToEndId")),
            instruction_id=_provided(_text(flat, "Refs/InstrId")),
            payment_information_id=_provided(_text(flat, "Refs/PmtInfId")),
            creditor_reference=_provided(_text(flat, "RmtInf/Strd/CdtrRefInf/Ref")),
            remittance_text=" ".join(u for u in unstructured if u) or None,
            amount=amount,
            currency=currency,
            counterparty_name=_text(flat, f"{role}/Nm", f"{role}/Pty/Nm"),
            counterparty_account=_text(flat, f"{role}Acct/Id/IBAN", f"{role}Acct/Id/Othr/Id"),
            return_reason_code=return_reason,
        )


def _text(flat: Flat, *paths: str) -> str | None:
    """Stripped text of the first of ``paths`` that has some."""
    for path in paths:
        element = flat.get(path)
        if element is not None and element.text:
            text = element.text.strip()
            if text:
                return text
    return None


def _balance(flat: Flat, label: str) -> tuple[int, str, date | None]:
    amount, currency = _amount(flat, "Amt", label)
    signed = amount if _direction(flat, label) == CREDIT else -amount
    return signed, currency, _date(flat, "Dt")


def _amount(flat: Flat, path: str, what: str) -> tuple[int, str]:
    element = flat.get(path)
    if element is None:
        raise StatementError(f"{what} has no amount (Amt)")
    currency = (element.get("Ccy") or "").strip()
    try:
        amount = to_minor_units(element.text or "", currency)
    except StatementError as error:
        raise StatementError(f"{what}: {error.reason}") from None
    if amount < 0:
        raise StatementError(
            f"{what}: amount {element.text!r} is negative; CdtDbtInd carries the sign"
        )
    return amount, currency


def _direction(flat: Flat, what: str) -> str:
    indicator = _text(flat, "CdtDbtInd")
    if indicator is None:
        raise StatementError(f"{what} has no CdtDbtInd")
    if indicator not in _DIRECTIONS:
        raise StatementError(f"{what} has an unknown CdtDbtInd {indicator!r}")
    return _DIRECTIONS[indicator]


def _date(flat: Flat, choice: str) -> date | None:
    """A date-or-date-time choice (``Dt`` or ``DtTm``) as the calendar date written in it."""
    text = _text(flat, f"{choice}/Dt")
    try:
        if text is not None:
            match = _DATE.fullmatch(text)
            if match is None:
                raise ValueError(text)
            return date.fromisoformat(match.group(1))
        text = _text(flat, f"{choice}/DtTm")
        # The bank's own calendar day counts, so the UTC offset is not applied.
        return datetime.fromisoformat(text).date() if text is not None else None
    except ValueError:
        raise StatementError(f"date {text!r} is not an ISO 8601 date") from None


def _bank_transaction_code(flat: Flat) -> str | None:
    domain = _text(flat, "BkTxCd/Domn/Cd")
    if domain is not None:
        family = _text(flat, "BkTxCd/Domn/Fmly/Cd") or ""
        sub_family = _text(flat, "BkTxCd/Domn/Fmly/SubFmlyCd") or ""
        return "/".join((domain, family, sub_family))
    return _text(flat, "BkTxCd/Prtry/Cd")


def _provided(reference: str | None) -> str | None:
    return real_reference(reference)
