"""Write a camt.053.001.08 statement with N credit entries, for parser and matching benchmarks.

    python bench/reconciliation/make_camt053.py N OUT.xml

Entry i (1-based) has end-to-end id E2E-{i:09d} and the amount amount_minor(i) in EUR
cents, so a benchmark can check what it matched without reading the file back. The file
is written entry by entry: a million entries need no more memory than ten.
"""

import sys
from collections.abc import Iterator
from typing import TextIO

NAMESPACE = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"
ACCOUNT = "NL91ABNA0417164300"
BOOKING_DATE = "2024-03-01"
OPENING_BALANCE = 1_000_000  # EUR cents


def amount_minor(i: int) -> int:
    """Deterministic, varied, never zero: 0.01 to 9,999.99 EUR."""
    return (i * 7_919) % 999_999 + 1


def total_minor(n: int) -> int:
    return sum(amount_minor(i) for i in range(1, n + 1))


def _money(minor: int) -> str:
    return f"{minor // 100}.{minor % 100:02d}"


def _balance(code: str, minor: int) -> str:
    indicator = "CRDT" if minor >= 0 else "DBIT"
    return (
        f"<Bal><Tp><CdOrPrtry><Cd>{code}</Cd></CdOrPrtry></Tp>"
        f'<Amt Ccy="EUR">{_money(abs(minor))}</Amt><CdtDbtInd>{indicator}</CdtDbtInd>'
        f"<Dt><Dt>{BOOKING_DATE}</Dt></Dt></Bal>\n"
    )


def _entry(i: int) -> str:
    return (
        f'<Ntry><NtryRef>{i}</NtryRef><Amt Ccy="EUR">{_money(amount_minor(i))}</Amt>'
        "<CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>"
        f"<BookgDt><Dt>{BOOKING_DATE}</Dt></BookgDt><ValDt><Dt>{BOOKING_DATE}</Dt></ValDt>"
        f"<AcctSvcrRef>BANK-{i:09d}</AcctSvcrRef>"
        "<BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>ESCT</SubFmlyCd></Fmly>"
        "</Domn></BkTxCd>"
        f"<NtryDtls><TxDtls><Refs><EndToEndId>E2E-{i:09d}</EndToEndId></Refs>"
        f'<Amt Ccy="EUR">{_money(amount_minor(i))}</Amt><CdtDbtInd>CRDT</CdtDbtInd>'
        f"<RltdPties><Dbtr><Pty><Nm>Payer {i}</Nm></Pty></Dbtr>"
        "<DbtrAcct><Id><IBAN>DE89370400440532013000</IBAN></Id></DbtrAcct></RltdPties>"
        f"<RmtInf><Ustrd>Payment {i}</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>\n"
    )


def chunks(n: int) -> Iterator[str]:
    """The document, piece by piece."""
    closing = OPENING_BALANCE + total_minor(n)  # balances come before the entries
    yield (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<Document xmlns="{NAMESPACE}"><BkToCstmrStmt>\n'
        f"<GrpHdr><MsgId>BENCH-{n}</MsgId><CreDtTm>{BOOKING_DATE}T23:00:00</CreDtTm></GrpHdr>\n"
        f"<Stmt><Id>BENCH-STMT-{n}</Id><ElctrncSeqNb>1</ElctrncSeqNb>"
        f"<CreDtTm>{BOOKING_DATE}T23:00:00</CreDtTm>"
        f"<Acct><Id><IBAN>{ACCOUNT}</IBAN></Id><Ccy>EUR</Ccy></Acct>\n"
    )
    yield _balance("OPBD", OPENING_BALANCE)
    yield _balance("CLBD", closing)
    for i in range(1, n + 1):
        yield _entry(i)
    yield "</Stmt></BkToCstmrStmt></Document>\n"


def write(n: int, out: TextIO) -> None:
    for chunk in chunks(n):
        out.write(chunk)


def main(argv: list[str]) -> int:
    if len(argv) != 3 or not argv[1].isdigit():
        print(__doc__, file=sys.stderr)
        return 2
    with open(argv[2], "w", encoding="utf-8") as out:
        write(int(argv[1]), out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
