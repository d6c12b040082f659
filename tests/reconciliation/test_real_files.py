"""Bank statement files as real banks write them, uploaded through the API.

The files under real_files/ come from the test data of public statement parsers and ERP
bank-import modules; MANIFEST.csv records each one's bank, country, origin (repository,
commit, path), licence and what the hub must do with it:

- ``accept``: every statement and entry is stored, and each entry's amount, sign, dates
  and bank reference, and each statement's balances, are what an independent reading
  of the file gives;
- ``accept-with-warning``: the same, and the import carries a warning containing
  ``reason``;
- ``refuse``: a 400 whose message contains ``reason`` (and the entry ``position`` when
  the manifest gives one), and nothing stored.

The independent reading below uses a plain XML tree (camt.053) or line regexes (MT940),
and none of the hub's parsing code, so a parser that drops or misreads an entry
disagrees with it.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from lxml import etree

from reconciliation.models import BankStatement, StatementImport, StatementLine
from tenants.scope import tenant_scope
from tests.reconciliation.conftest import upload

pytestmark = pytest.mark.django_db

CORPUS = Path(__file__).parent / "real_files"
MANIFEST = list(csv.DictReader((CORPUS / "MANIFEST.csv").open(encoding="utf-8")))
# Every currency in the corpus has two decimals; a new one must be added here knowingly.
TWO_DECIMALS = {"EUR", "CHF", "GBP", "USD", "SEK", "PLN", "HUF", "MKD", "HKD", "NGN", "DEM"}
# Placeholders banks write where a reference must not be empty: never a reference.
PLACEHOLDERS = {"NONREF", "NOTPROVIDED"}


@dataclass(frozen=True)
class Entry:
    amount: int  # signed minor units
    booking_date: date
    value_date: date | None
    reference: str  # the bank's reference for the entry, "" when it gives none


@dataclass(frozen=True)
class Header:
    statement_id: str
    opening: int | None
    closing: int
    entries: tuple[Entry, ...]


def minor(text: str, currency: str) -> int:
    assert currency in TWO_DECIMALS, currency
    return int(Decimal(text.replace(",", ".")).scaleb(2))


def reference(text: str | None) -> str:
    text = (text or "").strip()
    return "" if text.upper() in PLACEHOLDERS else text


# --- camt.053: a whole-document XML tree ------------------------------------------------


def read_camt(data: bytes) -> list[Header]:
    root = etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True))
    ns = {"c": etree.QName(root).namespace}
    statements = []
    for stmt in root.iterfind(".//c:Stmt", ns):
        balances = {}
        for bal in stmt.iterfind("c:Bal", ns):
            code = bal.findtext("c:Tp/c:CdOrPrtry/c:Cd", namespaces=ns)
            amount = bal.find("c:Amt", ns)
            sign = -1 if bal.findtext("c:CdtDbtInd", namespaces=ns) == "DBIT" else 1
            balances.setdefault(code, sign * minor(amount.text, amount.get("Ccy")))
        entries = []
        for ntry in stmt.iterfind("c:Ntry", ns):
            amount = ntry.find("c:Amt", ns)
            sign = -1 if ntry.findtext("c:CdtDbtInd", namespaces=ns) == "DBIT" else 1
            entries.append(
                Entry(
                    amount=sign * minor(amount.text, amount.get("Ccy")),
                    booking_date=camt_date(ntry, "BookgDt", ns),
                    value_date=camt_date(ntry, "ValDt", ns),
                    reference=reference(
                        ntry.findtext("c:AcctSvcrRef", namespaces=ns)
                        or ntry.findtext("c:NtryRef", namespaces=ns)
                    ),
                )
            )
        statements.append(
            Header(
                statement_id=stmt.findtext("c:Id", namespaces=ns),
                opening=balances.get("OPBD", balances.get("PRCD")),
                closing=balances["CLBD"],
                entries=tuple(entries),
            )
        )
    return statements


def camt_date(ntry, name: str, ns: dict) -> date | None:
    text = ntry.findtext(f"c:{name}/c:Dt", namespaces=ns) or ntry.findtext(
        f"c:{name}/c:DtTm", namespaces=ns
    )
    return date.fromisoformat(text.strip()[:10]) if text else None


# --- MT940: lines and regular expressions ----------------------------------------------

STATEMENT_LINE = re.compile(
    r"^:61:(?P<value>\d{6})(?P<entry>\d{4})?(?P<mark>RC|RD|C|D)[A-Z]?(?P<amount>\d+(?:,\d*)?)"
    r"(?P<rest>.*)$"
)
BALANCE = re.compile(
    r"^:(?P<tag>60F|60M|62F|62M):(?P<mark>[CD])\d{6}(?P<ccy>[A-Z]{3})(?P<amount>[\d,]+)"
)


def read_mt940(data: bytes) -> list[Header]:
    text = data.decode("latin-1").replace("\r\n", "\n").replace("\r", "\n")
    text = text.replace("{4:", "\n")  # a SWIFT block wrapper puts :20: after "{4:"
    statements = []
    # Each statement starts at a :20: line; whatever precedes the first is transport.
    for block in re.split(r"(?m)^(?=:20:)", text)[1:]:
        lines = block.split("\n")
        statement_id = lines[0][4:].strip()
        balances: dict[str, int] = {}
        currency = "EUR"
        for line in lines:
            match = BALANCE.match(line)
            if match:
                currency = match["ccy"]
                sign = -1 if match["mark"] == "D" else 1
                balances.setdefault(match["tag"][:2], sign * minor(match["amount"], currency))
        entries = []
        for line in lines:
            match = STATEMENT_LINE.match(line.strip())
            if not match:
                continue
            # RC (reversal of a credit) takes money out; RD puts it back.
            sign = -1 if match["mark"] in ("D", "RC") else 1
            value = date(
                2000 + int(match["value"][:2]), int(match["value"][2:4]), int(match["value"][4:])
            )
            entries.append(
                Entry(
                    amount=sign * minor(match["amount"], currency),
                    booking_date=entry_date(match["entry"], value),
                    value_date=value,
                    reference=reference(match["rest"].partition("//")[2]),
                )
            )
        statements.append(
            Header(
                statement_id=statement_id,
                opening=balances.get("60"),
                closing=balances.get("62"),
                entries=tuple(entries),
            )
        )
    return statements


def entry_date(mmdd: str | None, value: date) -> date:
    if not mmdd:
        return value
    month, day = int(mmdd[:2]), int(mmdd[2:])
    year = value.year + (1 if value.month == 12 and month == 1 else 0)
    year -= 1 if value.month == 1 and month == 12 else 0
    return date(year, month, day)


def independent_reading(row: dict) -> list[Header]:
    data = (CORPUS / row["file"]).read_bytes()
    return read_mt940(data) if row["format"] == "mt940" else read_camt(data)


def stored(tenant) -> tuple[int, int, int]:
    with tenant_scope(tenant):
        return (
            StatementImport.objects.count(),
            BankStatement.objects.count(),
            StatementLine.objects.count(),
        )


# --- the corpus -------------------------------------------------------------------------


def test_the_corpus_is_what_the_documentation_says():
    """≥40 files, ≥15 banks, ≥6 countries, both formats, each with its origin."""
    banks = {row["bank"] for row in MANIFEST}
    countries = {row["country"] for row in MANIFEST}
    formats = {row["format"] for row in MANIFEST}
    assert len(MANIFEST) >= 40 and len(banks) >= 15 and len(countries) >= 6
    assert "mt940" in formats and len({f for f in formats if f.startswith("camt.053")}) >= 5
    files = {str(path.relative_to(CORPUS)) for path in CORPUS.rglob("*") if path.is_file()}
    assert files - {"MANIFEST.csv"} == {row["file"] for row in MANIFEST}
    for row in MANIFEST:
        assert re.fullmatch(r"[0-9a-f]{40}", row["commit"]), row["file"]
        assert row["origin_repo"] and row["path"] and row["licence"], row["file"]
        assert row["expected"] in ("accept", "accept-with-warning", "refuse"), row["file"]
        assert row["expected"] == "accept" or row["reason"], row["file"]


ACCEPTED = [row for row in MANIFEST if row["expected"].startswith("accept")]
REFUSED = [row for row in MANIFEST if row["expected"] == "refuse"]


@pytest.mark.parametrize("row", ACCEPTED, ids=[row["file"] for row in ACCEPTED])
def test_a_consistent_bank_file_is_imported_with_every_entry_right(finance_api, tenant, row):
    expected = independent_reading(row)
    response = upload(finance_api, CORPUS / row["file"])

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["format"] == row["format"]
    assert body["statement_count"] == len(expected)
    assert body["line_count"] == sum(len(statement.entries) for statement in expected)
    if row["expected"] == "accept-with-warning":
        assert any(row["reason"] in warning for warning in body["warnings"]), body["warnings"]
    else:
        assert body["warnings"] == []

    with tenant_scope(tenant):
        lines = list(StatementLine.objects.order_by("position"))
        headers = list(BankStatement.objects.all())
    assert [line.position for line in lines] == list(range(1, len(lines) + 1))
    got = [
        Entry(line.amount, line.booking_date, line.value_date, line.entry_reference)
        for line in lines
    ]
    assert got == [entry for statement in expected for entry in statement.entries]
    # Every statement with its balances (derived when the file has no opening balance:
    # the closing balance less the booked entries) and its number of entries.
    assert sorted(
        (s.statement_id, s.opening_balance, s.closing_balance, s.line_count) for s in headers
    ) == sorted(
        (
            h.statement_id,
            h.closing - sum(e.amount for e in h.entries) if h.opening is None else h.opening,
            h.closing,
            len(h.entries),
        )
        for h in expected
    )
    # Uploading the same bytes again changes nothing.
    again = upload(finance_api, CORPUS / row["file"])
    assert again.status_code == 200 and again.json()["id"] == body["id"]
    assert stored(tenant) == (1, len(expected), len(lines))


@pytest.mark.parametrize("row", REFUSED, ids=[row["file"] for row in REFUSED])
def test_a_broken_bank_file_is_refused_whole_and_says_where(finance_api, tenant, row):
    response = upload(finance_api, CORPUS / row["file"])

    assert response.status_code == 400, response.json()
    error = response.json()["error"]
    assert row["reason"] in error["message"], error["message"]
    assert error["message"].endswith("Nothing was imported.")
    if row["position"]:
        assert error["position"] == int(row["position"])
        assert error["message"].startswith(f"Entry {row['position']}: ")
    else:
        # A refusal outside any entry names the statement or balance it is about.
        assert re.search(r"[Ss]tatement|balance|format|XML", error["message"]), error["message"]
    assert stored(tenant) == (0, 0, 0)
    if row["reason"] == "does not add up":
        # The independent reading agrees: some statement's entries do not lead from its
        # opening to its closing balance.
        assert any(
            h.opening + sum(e.amount for e in h.entries) != h.closing
            for h in independent_reading(row)
        )
