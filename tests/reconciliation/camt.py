"""Writing camt.053.001.08 statements for tests: a bank's view of a day the test made.

Amounts are signed minor units (credit positive); the closing balance is computed, so
every statement adds up unless a test says otherwise.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import date
from xml.sax.saxutils import escape

NAMESPACE = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.{version}"
_counter = itertools.count(1)


@dataclass
class Tx:
    """One underlying transaction (TxDtls) of an entry."""

    amount: int | None = None
    end_to_end_id: str | None = None
    creditor_reference: str | None = None
    remittance: str | None = None
    name: str | None = None
    return_code: str | None = None


@dataclass
class Entry:
    amount: int  # signed minor units
    booked: date | None = None
    end_to_end_id: str | None = None
    creditor_reference: str | None = None
    remittance: str | None = None
    name: str | None = None
    iban: str | None = None
    return_code: str | None = None
    reversal: bool = False
    batch: list[Tx] = field(default_factory=list)
    batch_reference: str | None = None
    bank_code: tuple[str, str, str] = ("PMNT", "RCDT", "ESCT")
    info: str | None = None
    status: str = "BOOK"


def _money(minor: int) -> str:
    minor = abs(minor)
    return f"{minor // 100}.{minor % 100:02d}"


def _text(tag: str, value: str | None) -> str:
    return f"<{tag}>{escape(value)}</{tag}>" if value else ""


def _tx(entry: Entry, tx: Tx, currency: str) -> str:
    credit = entry.amount > 0
    party_role = "Dbtr" if credit != bool(tx.return_code or entry.reversal) else "Cdtr"
    remittance = ""
    if tx.creditor_reference:
        remittance = (
            f"<RmtInf><Strd><CdtrRefInf><Ref>{escape(tx.creditor_reference)}</Ref>"
            "</CdtrRefInf></Strd></RmtInf>"
        )
    elif tx.remittance:
        remittance = f"<RmtInf><Ustrd>{escape(tx.remittance)}</Ustrd></RmtInf>"
    amount = f'<Amt Ccy="{currency}">{_money(tx.amount)}</Amt>' if tx.amount is not None else ""
    party = (
        f"<RltdPties><{party_role}><Pty><Nm>{escape(tx.name)}</Nm></Pty></{party_role}>"
        + (
            f"<{party_role}Acct><Id><IBAN>{entry.iban}</IBAN></Id></{party_role}Acct>"
            if entry.iban
            else ""
        )
        + "</RltdPties>"
        if tx.name
        else ""
    )
    refs = f"<Refs>{_text('EndToEndId', tx.end_to_end_id)}</Refs>" if tx.end_to_end_id else ""
    returned = f"<RtrInf><Rsn><Cd>{tx.return_code}</Cd></Rsn></RtrInf>" if tx.return_code else ""
    return f"<TxDtls>{refs}{amount}{party}{remittance}{returned}</TxDtls>"


def _entry(entry: Entry, currency: str, booked: date) -> str:
    number = next(_counter)
    txs = entry.batch or [
        Tx(
            end_to_end_id=entry.end_to_end_id,
            creditor_reference=entry.creditor_reference,
            remittance=entry.remittance,
            name=entry.name,
            return_code=entry.return_code,
        )
    ]
    has_detail = entry.batch or any(
        (
            entry.end_to_end_id,
            entry.creditor_reference,
            entry.remittance,
            entry.name,
            entry.return_code,
        )
    )
    batch = (
        f"<Btch>{_text('PmtInfId', entry.batch_reference)}<NbOfTxs>{len(txs)}</NbOfTxs></Btch>"
        if entry.batch or entry.batch_reference
        else ""
    )
    details = (
        "<NtryDtls>" + batch + "".join(_tx(entry, tx, currency) for tx in txs) + "</NtryDtls>"
        if has_detail or batch
        else ""
    )
    domain, family, sub = entry.bank_code
    day = (entry.booked or booked).isoformat()
    return (
        f'<Ntry><Amt Ccy="{currency}">{_money(entry.amount)}</Amt>'
        f"<CdtDbtInd>{'CRDT' if entry.amount > 0 else 'DBIT'}</CdtDbtInd>"
        + ("<RvslInd>true</RvslInd>" if entry.reversal else "")
        + f"<Sts><Cd>{entry.status}</Cd></Sts>"
        f"<BookgDt><Dt>{day}</Dt></BookgDt><ValDt><Dt>{day}</Dt></ValDt>"
        f"<AcctSvcrRef>BANK-{number:06d}</AcctSvcrRef>"
        f"<BkTxCd><Domn><Cd>{domain}</Cd><Fmly><Cd>{family}</Cd>"
        f"<SubFmlyCd>{sub}</SubFmlyCd></Fmly></Domn></BkTxCd>"
        f"{details}{_text('AddtlNtryInf', entry.info)}</Ntry>"
    )


def _balance(code: str, minor: int, currency: str, day: date) -> str:
    return (
        f"<Bal><Tp><CdOrPrtry><Cd>{code}</Cd></CdOrPrtry></Tp>"
        f'<Amt Ccy="{currency}">{_money(minor)}</Amt>'
        f"<CdtDbtInd>{'CRDT' if minor >= 0 else 'DBIT'}</CdtDbtInd><Dt><Dt>{day}</Dt></Dt></Bal>"
    )


def camt053(
    entries: list[Entry],
    *,
    booked: date,
    statement_id: str | None = None,
    account: str = "NL91ABNA0417164300",
    currency: str = "EUR",
    opening: int = 0,
    closing: int | None = None,
    sequence: str | None = None,
    version: str = "08",
    with_opening: bool = True,
) -> bytes:
    number = next(_counter)
    statement_id = statement_id or f"STMT-{booked.isoformat()}-{number}"
    booked_entries = [e for e in entries if e.status == "BOOK"]
    if closing is None:
        closing = opening + sum(e.amount for e in booked_entries)
    body = "".join(_entry(entry, currency, booked) for entry in entries)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<Document xmlns="{NAMESPACE.format(version=version)}"><BkToCstmrStmt>'
        f"<GrpHdr><MsgId>MSG-{number}</MsgId><CreDtTm>{booked}T22:00:00</CreDtTm></GrpHdr>"
        f"<Stmt><Id>{escape(statement_id)}</Id>"
        f"<ElctrncSeqNb>{sequence or number}</ElctrncSeqNb>"
        f"<Acct><Id><IBAN>{account}</IBAN></Id><Ccy>{currency}</Ccy></Acct>"
        f"{_balance('OPBD', opening, currency, booked) if with_opening else ''}"
        f"{_balance('CLBD', closing, currency, booked)}"
        f"{body}</Stmt></BkToCstmrStmt></Document>"
    ).encode()
