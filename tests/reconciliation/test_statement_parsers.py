"""The statement parsers against hand-written camt.053 / MT940 files: no Django, no database.

Each fixture is checked for the values an importer relies on (minor-unit amounts, signs,
references, reversal and return information, positions in errors), and both parsers are
checked to agree with the balances the file itself states.
"""

import dataclasses
import importlib.util
import io
import os
import pickle
import tracemalloc
import types
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciliation.statements import (
    CREDIT,
    DEBIT,
    Statement,
    StatementEntry,
    StatementError,
    currency_exponent,
    detect_format,
    iter_camt053,
    iter_mt940,
    iter_statements,
    parse_camt053,
    parse_mt940,
    parse_statement,
    to_minor_units,
)

FIXTURES = Path(__file__).parent / "fixtures"
MAKE_CAMT053 = Path(__file__).resolve().parents[2] / "bench" / "reconciliation" / "make_camt053.py"


def read(name: str) -> tuple[Statement, list[StatementEntry]]:
    statement = parse_statement(FIXTURES / name)
    return statement, list(statement.entries)


def assert_balances_add_up(statement: Statement, entries: list[StatementEntry]) -> None:
    movement = sum(entry.signed_amount for entry in entries)
    assert statement.opening_balance + movement == statement.closing_balance


# --- synthetic camt.053 documents (error cases, property test) --------------------------


def ntry(
    amount: str | None = "1.00",
    currency: str | None = "EUR",
    indicator: str = "CRDT",
    booking: str | None = "<BookgDt><Dt>2024-03-01</Dt></BookgDt>",
    extra: str = "",
    status: str = "<Sts><Cd>BOOK</Cd></Sts>",
) -> str:
    ccy = f' Ccy="{currency}"' if currency is not None else ""
    amt = f"<Amt{ccy}>{amount}</Amt>" if amount is not None else ""
    return f"<Ntry>{amt}<CdtDbtInd>{indicator}</CdtDbtInd>{extra}{status}{booking or ''}</Ntry>"


def balance(code: str, amount: str, currency: str = "EUR", indicator: str | None = "CRDT") -> str:
    mark = "" if indicator is None else f"<CdtDbtInd>{indicator}</CdtDbtInd>"
    return (
        f"<Bal><Tp><CdOrPrtry><Cd>{code}</Cd></CdOrPrtry></Tp>"
        f'<Amt Ccy="{currency}">{amount}</Amt>{mark}'
        "<Dt><Dt>2024-03-01</Dt></Dt></Bal>"
    )


def camt(
    entries: list[str],
    version: str = "08",
    balances: str | None = None,
    account: str = "<Acct><Id><IBAN>NL91ABNA0417164300</IBAN></Id><Ccy>EUR</Ccy></Acct>",
    statement_id: str = "<Id>SYNTH-1</Id>",
    message: str = "camt.053",
) -> bytes:
    if balances is None:
        balances = balance("OPBD", "0.00") + balance("CLBD", "0.00")
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:{message}.001.{version}">'
        "<BkToCstmrStmt><GrpHdr><MsgId>M</MsgId></GrpHdr>"
        f"<Stmt>{statement_id}{account}{balances}{''.join(entries)}</Stmt>"
        "</BkToCstmrStmt></Document>"
    ).encode()


# --- money ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "currency", "minor"),
    [
        ("12.50", "EUR", 1250),
        ("12.5", "EUR", 1250),
        ("12.500", "EUR", 1250),
        ("0.01", "USD", 1),
        (".5", "GBP", 50),
        ("7", "EUR", 700),
        ("-3.10", "EUR", -310),
        ("15000", "JPY", 15000),
        ("1.234", "BHD", 1234),
        ("0.005", "KWD", 5),
        ("1.2345", "CLF", 12345),
        ("999999999999999.99", "EUR", 99999999999999999),
    ],
)
def test_decimal_strings_become_integer_minor_units(text, currency, minor):
    assert to_minor_units(text, currency) == minor


@pytest.mark.parametrize(
    ("text", "currency", "reason"),
    [
        ("abc", "EUR", "amount 'abc' is not a decimal number"),
        ("", "EUR", "amount '' is not a decimal number"),
        ("1,50", "EUR", "is not a decimal number"),
        ("1e3", "EUR", "is not a decimal number"),
        ("NaN", "EUR", "is not a decimal number"),
        ("Infinity", "EUR", "is not a decimal number"),
        ("12.505", "EUR", "amount '12.505' has more decimals than EUR allows (2)"),
        ("1.5", "JPY", "has more decimals than JPY allows (0)"),
        ("1.0001", "BHD", "has more decimals than BHD allows (3)"),
        ("1" * 19, "EUR", "has more than 18 digits"),
        ("1.00", "EU", "currency 'EU' is not a 3-letter ISO 4217 code"),
        ("1.00", "eur", "currency 'eur' is not a 3-letter ISO 4217 code"),
    ],
)
def test_bad_amounts_are_rejected_not_rounded(text, currency, reason):
    with pytest.raises(StatementError) as raised:
        to_minor_units(text, currency)
    assert reason in raised.value.reason
    assert raised.value.position is None


def test_decimal_comma_and_exponent_table():
    assert to_minor_units("1234,56", "EUR", decimal_mark=",") == 123456
    assert to_minor_units("15000,", "JPY", decimal_mark=",") == 15000
    assert [currency_exponent(c) for c in ("EUR", "GBP", "USD", "JPY", "BHD", "KWD")] == [
        2,
        2,
        2,
        0,
        3,
        3,
    ]


def test_statement_error_names_the_entry_and_survives_pickling():
    error = StatementError("amount 'abc' is not a decimal number", 17)
    assert str(error) == "entry 17: amount 'abc' is not a decimal number"
    assert str(StatementError("unrecognised statement format")) == "unrecognised statement format"
    copy = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own bytes, as Celery would
    assert (copy.reason, copy.position) == (error.reason, 17)


# --- camt.053.001.02 --------------------------------------------------------------------


def test_camt053_v02_normal_day():
    statement, entries = read("camt053_v02_normal_day.xml")
    assert statement.format == "camt.053.001.02"
    assert statement.statement_id == "STMT-2024-03-01-001"
    assert statement.sequence_number == "61"
    assert statement.account == "NL91ABNA0417164300"
    assert statement.currency == "EUR"
    assert (statement.opening_balance, statement.closing_balance) == (1_250_000, 1_144_559)
    assert (statement.opening_date, statement.closing_date) == (date(2024, 2, 29), date(2024, 3, 1))
    assert [e.position for e in entries] == [1, 2, 3, 4]
    assert [e.amount for e in entries] == [15000, 4250, 123456, 1235]
    assert [e.direction for e in entries] == [CREDIT, CREDIT, DEBIT, DEBIT]
    assert {e.status for e in entries} == {"BOOK"}
    assert not any(e.is_reversal for e in entries)
    assert_balances_add_up(statement, entries)

    first = entries[0]
    assert first.entry_reference == "BANKREF-0001"
    assert first.booking_date == first.value_date == date(2024, 3, 1)
    assert first.bank_transaction_code == "PMNT/RCDT/ESCT"  # Domn wins over Prtry
    assert (first.counterparty_name, first.counterparty_account) == (
        "Jan Jansen",
        "DE89370400440532013000",
    )
    (detail,) = first.details
    assert detail.end_to_end_id == "E2E-INV-2024-0001"
    assert detail.instruction_id == "INSTR-77"
    assert detail.creditor_reference == "RF18539007547034"
    assert (detail.amount, detail.currency) == (15000, "EUR")
    assert first.references() == (
        "BANKREF-0001",
        "E2E-INV-2024-0001",
        "INSTR-77",
        "RF18539007547034",
    )

    second = entries[1]
    assert second.details[0].end_to_end_id is None  # NOTPROVIDED
    assert second.details[0].remittance_text == "Parking fine PF-998877"
    assert second.references() == ("BANKREF-0002",)

    payout = entries[2]
    # For an outgoing payment the counterparty is the creditor, not the account owner.
    assert payout.counterparty_name == "Office Supplies GmbH"
    assert payout.counterparty_account == "DE02120300000000202051"
    assert payout.details[0].payment_information_id == "PAYRUN-2024-03-01-A"

    fee = entries[3]
    assert fee.details == ()
    assert fee.bank_transaction_code == "ACMT/MDOP/CHRG"
    assert fee.additional_info == "Account maintenance fee March"
    assert fee.references() == ("BANKREF-0004",)


def test_camt053_v02_sepa_direct_debit_return_with_reason_am04():
    statement, entries = read("camt053_v02_sepa_dd_return.xml")
    assert statement.sequence_number == "68"  # LglSeqNb when there is no ElctrncSeqNb
    # OPBD is preferred over PRCD when a bank sends both.
    assert (statement.opening_balance, statement.opening_date) == (100_000, date(2024, 3, 5))
    assert statement.closing_balance == 109_990
    assert_balances_add_up(statement, entries)

    collection, returned = entries
    assert collection.bank_transaction_code == "PMNT/RDDT/ESDD"
    assert [d.amount for d in collection.details] == [9990, 4995]
    assert sum(d.amount for d in collection.details) == collection.amount == 14985
    assert [d.end_to_end_id for d in collection.details] == ["DD-2024-03-0001", "DD-2024-03-0002"]
    assert collection.return_reason_code is None

    assert returned.direction == DEBIT
    assert returned.amount == 4995
    assert returned.bank_transaction_code == "PMNT/RDDT/UPDD"
    assert returned.return_reason_code == "AM04"
    assert returned.details[0].return_reason_code == "AM04"
    assert returned.details[0].end_to_end_id == "DD-2024-03-0002"
    assert (returned.booking_date, returned.value_date) == (date(2024, 3, 8), date(2024, 3, 5))
    # The parties keep their roles from the collection: the payer is the debtor.
    assert returned.counterparty_name == "Klaas Klaassen"
    assert returned.counterparty_account == "NL20INGB0001234567"


def test_camt053_truncated_xml_fails_at_the_entry_it_cuts():
    statement = parse_camt053(FIXTURES / "camt053_v02_truncated.xml")
    entries = statement.entries
    assert next(entries).entry_reference == "BANKREF-0001"
    with pytest.raises(StatementError) as raised:
        next(entries)
    assert raised.value.position == 2
    assert raised.value.reason.startswith("malformed XML")
    assert str(raised.value).startswith("entry 2: malformed XML")


# --- camt.053.001.08 --------------------------------------------------------------------


def test_camt053_v08_normal_day_with_prefixed_namespace():
    statement, entries = read("camt053_v08_normal_day.xml")
    assert statement.format == "camt.053.001.08"
    assert statement.sequence_number == "64"
    assert statement.opening_balance == -50_000  # DBIT balance: overdrawn
    assert statement.closing_balance == 99_957_499
    assert statement.closing_date == date(2024, 3, 4)  # from DtTm
    assert [e.amount for e in entries] == [9999, 100_000_000, 2500]
    assert_balances_add_up(statement, entries)

    licence, grant, refund = entries
    assert licence.status == "BOOK"  # <Sts><Cd>BOOK</Cd></Sts>
    assert licence.booking_date == date(2024, 3, 4)  # the bank's day, offset not applied
    assert licence.value_date == date(2024, 3, 5)
    assert licence.counterparty_name == "Acme Holding BV"  # Dbtr/Pty/Nm
    assert licence.details[0].creditor_reference == "RF712348231"
    assert licence.details[0].amount == 9999  # TxDtls/Amt
    assert grant.details[0].remittance_text == "Grant repayment contract 2024-7"
    assert grant.bank_transaction_code == "PMNT/RCDT/XBCT"
    assert refund.direction == DEBIT
    assert (refund.counterparty_name, refund.counterparty_account) == (
        "Refund Recipient",
        "123456789",
    )
    assert refund.references() == ("2024030400003", "RFND-0003", "RFND-BATCH-1")


def test_camt053_v08_batch_details_sum_to_the_entry_amount():
    statement, entries = read("camt053_v08_batch.xml")
    batch, single = entries
    assert len(batch.details) == 3
    assert [d.amount for d in batch.details] == [10000, 12550, 7450]
    assert sum(d.amount for d in batch.details) == batch.amount == 30000
    assert [d.end_to_end_id for d in batch.details] == ["DD-0001", "DD-0002", "DD-0003"]
    assert [d.counterparty_name for d in batch.details] == [
        "Anna de Boer",
        "Bram Bakker",
        "Chris Claes",
    ]
    assert batch.details[1].creditor_reference == "RF18539007547034"
    assert batch.batch_reference == "COLLRUN-2024-03-06"
    assert batch.counterparty_name is None  # many payers: no single counterparty
    assert batch.references() == (
        "COLL-2024-03-06",
        "COLLRUN-2024-03-06",
        "DD-0001",
        "INST-0001",
        "DD-0002",
        "INST-0002",
        "RF18539007547034",
        "DD-0003",
    )
    assert single.value_date is None
    assert single.counterparty_name == "Dirk Dekker"
    assert single.details[0].amount is None  # not split out: the entry amount is it
    assert_balances_add_up(statement, entries)


def test_camt053_v08_reversals():
    statement, entries = read("camt053_v08_reversal.xml")
    original, reversal, reversed_charge = entries
    assert (original.direction, original.is_reversal) == (CREDIT, False)
    assert (reversal.direction, reversal.is_reversal) == (DEBIT, True)
    assert reversal.amount == original.amount == 7500
    assert reversal.details[0].end_to_end_id == original.details[0].end_to_end_id == "E2E-REV-1"
    assert reversal.counterparty_name == "Wrong Payer"  # roles of the original credit
    assert reversal.additional_info == "Reversal of B-0001"
    assert (reversed_charge.direction, reversed_charge.is_reversal) == (CREDIT, True)  # "1"
    assert reversed_charge.value_date is None
    assert_balances_add_up(statement, entries)


def test_camt053_v08_missing_references():
    statement, entries = read("camt053_v08_missing_references.xml")
    assert statement.account == "0417164300"  # Othr/Id
    assert statement.currency == "EUR"  # no Acct/Ccy: taken from the balances
    assert statement.opening_balance == 0  # PRCD
    assert statement.sequence_number == "12"
    assert [e.references() for e in entries] == [(), (), ("ONLY-BANK-REF",)]
    assert entries[0].details[0].end_to_end_id is None
    assert entries[1].details == ()
    assert entries[1].bank_transaction_code == "NTRF+051"  # proprietary only
    assert entries[1].additional_info == "CASH DEPOSIT"
    blank = entries[2].details[0]
    assert (blank.end_to_end_id, blank.instruction_id, blank.remittance_text) == (None, None, None)
    assert_balances_add_up(statement, entries)


def test_camt053_multi_currency_file_yields_each_statement():
    statements = []
    for statement in iter_camt053(FIXTURES / "camt053_v08_multi_currency.xml"):
        entries = list(statement.entries)
        assert_balances_add_up(statement, entries)
        statements.append((statement, entries))
    assert [(s.statement_id, s.currency) for s, _ in statements] == [
        ("MC-EUR", "EUR"),
        ("MC-USD", "USD"),
        ("MC-JPY", "JPY"),
        ("MC-BHD", "BHD"),
    ]
    assert [[e.position for e in entries] for _, entries in statements] == [[1, 2], [3, 4], [5], []]
    assert [e.amount for e in statements[1][1]] == [250075, 25]
    assert {e.currency for e in statements[1][1]} == {"USD"}
    assert statements[2][1][0].amount == 15000  # JPY has no minor unit
    bhd = statements[3][0]
    assert (bhd.opening_balance, bhd.closing_balance) == (-1234, -1234)  # 3 decimals


def test_skipping_a_statements_entries_still_reads_them():
    statements = iter_statements(FIXTURES / "camt053_v08_multi_currency.xml")
    first = next(statements)
    next(first.entries)
    first.entries.close()  # abandoned half-way
    second = next(statements)
    assert second.statement_id == "MC-USD"
    assert [e.position for e in second.entries] == [3, 4]
    assert [s.statement_id for s in statements] == ["MC-JPY", "MC-BHD"]


def test_skipped_bad_entry_still_raises_when_moving_on():
    one = camt([ntry("1.00"), ntry("x"), ntry("3.00")]).decode()
    stmt = one[one.index("<Stmt>") : one.index("</Stmt>") + len("</Stmt>")]
    two = one.replace(stmt, stmt + stmt.replace("SYNTH-1", "SYNTH-2"))
    statements = iter_camt053(io.BytesIO(two.encode()))
    assert next(statements).statement_id == "SYNTH-1"  # its entries are never looked at
    with pytest.raises(StatementError) as raised:
        next(statements)
    assert raised.value.position == 2


def test_parse_camt053_refuses_to_drop_a_second_statement():
    statement = parse_camt053(FIXTURES / "camt053_v08_multi_currency.xml")
    assert statement.statement_id == "MC-EUR"
    entries = statement.entries
    assert [next(entries).position, next(entries).position] == [1, 2]
    with pytest.raises(StatementError, match="more than one statement"):
        next(entries)


def test_camt053_bad_amount_in_entry_3_raises_when_reached():
    statement = parse_camt053(FIXTURES / "camt053_v08_bad_amount_entry3.xml")  # header is fine
    assert isinstance(statement.entries, types.GeneratorType)
    seen = []
    with pytest.raises(StatementError) as raised:
        for entry in statement.entries:
            seen.append(entry.amount)
    assert seen == [100, 200]
    assert raised.value.position == 3
    assert str(raised.value) == "entry 3: entry: amount 'abc' is not a decimal number"


@pytest.mark.parametrize(
    ("bad_entry", "reason"),
    [
        (ntry(amount=None), "entry has no amount (Amt)"),
        (ntry(amount="12,50"), "amount '12,50' is not a decimal number"),
        (ntry(amount="-5.00"), "is negative"),
        (ntry(amount="1.001"), "more decimals than EUR allows"),
        (ntry(currency="EU"), "currency 'EU' is not a 3-letter ISO 4217 code"),
        (ntry(currency=None), "currency '' is not a 3-letter ISO 4217 code"),
        (ntry(indicator="CRED"), "unknown CdtDbtInd 'CRED'"),
        (ntry(booking=None), "entry has no booking date (BookgDt)"),
        (ntry(booking="<BookgDt><Dt>2024-02-30</Dt></BookgDt>"), "'2024-02-30' is not an ISO"),
        (ntry(booking="<BookgDt><DtTm>yesterday</DtTm></BookgDt>"), "'yesterday' is not an ISO"),
        (ntry(extra="<RvslInd>maybe</RvslInd>"), "RvslInd 'maybe' is not a boolean"),
    ],
)
def test_malformed_camt053_entry_raises_with_its_position(bad_entry, reason):
    statement = parse_camt053(io.BytesIO(camt([ntry("1.00"), bad_entry, ntry("2.00")])))
    entries = statement.entries
    assert next(entries).position == 1
    with pytest.raises(StatementError) as raised:
        next(entries)
    assert raised.value.position == 2
    assert reason in raised.value.reason


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        (camt([], balances=balance("OPBD", "1.00")), "has no CLBD closing balance"),
        (
            camt([], balances=balance("OPBD", "1.00", "USD") + balance("CLBD", "1.00", "USD")),
            "opening balance currency USD of statement 'SYNTH-1' does not match account currency"
            " EUR",
        ),
        (
            camt([], balances=balance("OPBD", "1.00") + balance("CLBD", "1.00", indicator="X")),
            "balance 2 (closing) of statement 'SYNTH-1' has an unknown CdtDbtInd 'X'",
        ),
        (
            camt([], balances=balance("OPBD", "1.00") + balance("CLBD", "1.00", indicator=None)),
            "balance 2 (closing) of statement 'SYNTH-1' has no CdtDbtInd",
        ),
        (camt([], statement_id=""), "statement 1 has no Id"),
        (camt([], account="<Acct><Ccy>EUR</Ccy></Acct>"), "has no account Id"),
        (camt([], message="camt.052"), "is not camt.053"),
        (camt([], version="11"), "unsupported camt.053 version 11"),
        (b"<?xml version='1.0'?><Document><BkToCstmrStmt/></Document>", "is not camt.053"),
        (b"this is not xml", "unrecognised statement format"),
        (b"<<<>>>", "not a well-formed XML document"),
        (b"", "not a well-formed XML document"),
    ],
)
def test_malformed_camt053_header_raises_without_a_position(document, reason):
    with pytest.raises(StatementError) as raised:
        parse_camt053(io.BytesIO(document))
    assert raised.value.position is None
    assert reason in raised.value.reason


def test_camt053_without_any_statement():
    document = camt([]).replace(b"<Stmt>", b"<!--").replace(b"</Stmt>", b"-->")
    with pytest.raises(StatementError, match="contains no statement"):
        parse_camt053(io.BytesIO(document))


def test_xml_that_is_not_a_statement():
    with pytest.raises(StatementError) as raised:
        parse_statement(FIXTURES / "not_camt053_pain001.xml")
    assert raised.value.position is None
    assert "pain.001.001.09}Document is not camt.053" in raised.value.reason


@pytest.mark.parametrize("version", ["02", "04", "06", "08", "10"])
def test_camt053_versions_are_read_from_the_namespace(version):
    status = "<Sts>BOOK</Sts>" if version == "02" else "<Sts><Cd>BOOK</Cd></Sts>"
    document = camt([ntry("3.00", status=status)], version=version)
    statement = parse_statement(io.BytesIO(document))
    assert statement.format == f"camt.053.001.{version}"
    (entry,) = statement.entries
    assert (entry.amount, entry.status) == (300, "BOOK")


def test_elements_of_another_namespace_are_ignored():
    foreign = '<x:Amt xmlns:x="urn:other" Ccy="EUR">999.00</x:Amt>'
    document = camt([ntry("1.00", extra=f"<AddtlNtryInf>ok</AddtlNtryInf>{foreign}")])
    (entry,) = parse_camt053(io.BytesIO(document)).entries
    assert entry.amount == 100


def test_a_doctype_with_external_entities_is_refused(tmp_path):
    # As pain.002 is: a DOCTYPE is refused outright, whatever it declares.
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    document = camt([ntry(extra="<AddtlNtryInf>&xxe;</AddtlNtryInf>")]).replace(
        b"<Document",
        f'<!DOCTYPE Document [<!ENTITY xxe SYSTEM "file://{secret}">]><Document'.encode(),
        1,
    )
    with pytest.raises(StatementError, match="DOCTYPE declarations are not accepted"):
        list(parse_camt053(io.BytesIO(document)).entries)
    with pytest.raises(StatementError, match="DOCTYPE"):
        detect_format(document[:4096])


@pytest.mark.parametrize(
    "doctype",
    [
        "<!DOCTYPE Document>",
        '<!DOCTYPE Document SYSTEM "http://example.org/camt.dtd">',
        '<!DOCTYPE Document [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">]>',
    ],
)
def test_any_doctype_is_refused(doctype):
    document = camt([ntry()]).replace(b"<Document", doctype.encode() + b"<Document", 1)
    with pytest.raises(StatementError, match="DOCTYPE"):
        list(parse_camt053(io.BytesIO(document)).entries)


def test_xinclude_is_refused():
    include = (
        '<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="file:///etc/passwd"'
        ' parse="text"/>'
    )
    document = camt([ntry(extra=f"<AddtlNtryInf>{include}</AddtlNtryInf>")])
    with pytest.raises(StatementError, match="XInclude is not accepted"):
        list(parse_camt053(io.BytesIO(document)).entries)


# --- MT940 ------------------------------------------------------------------------------


def test_mt940_normal_day_in_a_swift_envelope_with_german_subfields():
    statement, entries = read("mt940_normal_day.sta")
    assert statement.format == "mt940"
    assert statement.statement_id == "STARTUMSE"
    assert statement.account == "37040044/0532013000"
    assert statement.sequence_number == "00061/001"
    assert (statement.opening_balance, statement.closing_balance) == (1_250_000, 1_144_559)
    assert (statement.opening_date, statement.closing_date) == (date(2024, 2, 29), date(2024, 3, 1))
    # The same day as camt053_v02_normal_day.xml: the same amounts come out.
    assert [e.signed_amount for e in entries] == [15000, 4250, -123456, -1235]
    assert [e.entry_reference for e in entries] == [f"BANKREF-000{i}" for i in range(1, 5)]
    assert {e.status for e in entries} == {"BOOK"}
    assert_balances_add_up(statement, entries)

    first = entries[0]
    assert first.booking_date == first.value_date == date(2024, 3, 1)
    assert first.bank_transaction_code == "NTRF"
    assert first.customer_reference is None  # NONREF
    detail = first.details[0]
    assert detail.end_to_end_id == "E2E-INV-2024-0001"
    assert detail.instruction_id == "INSTR-77"  # KREF+, wrapped across two lines
    assert detail.creditor_reference == "RF18539007547034"
    assert (first.counterparty_name, first.counterparty_account) == (
        "Jan Jansen",
        "DE89370400440532013000",
    )

    second = entries[1].details[0]
    assert second.end_to_end_id is None  # EREF+NOTPROVIDED
    assert second.remittance_text == "Parking fine PF-998877 - thank you"
    assert entries[1].counterparty_name == "Maria Garcia"

    payout = entries[2]
    assert payout.direction == DEBIT
    assert payout.customer_reference == "PAYOUT-17"
    assert payout.counterparty_name == "Office Supplies GmbH"  # ?32 + ?33
    assert payout.details[0].remittance_text == "Invoice 2024-118"
    assert payout.references() == ("BANKREF-0003", "PAYOUT-17", "PAYOUT-2024-03-01-17")

    fee = entries[3]
    assert fee.bank_transaction_code == "NCHG"
    assert fee.additional_info == "Account fee"  # :61: supplementary details
    assert fee.details[0].remittance_text == "Kontofuehrung Maerz"


def test_mt940_slash_keywords_and_direct_debit_return():
    statement, entries = read("mt940_sepa_dd_return.sta")
    assert statement.account == "NL91ABNA0417164300"  # the appended "EUR" is dropped
    assert statement.closing_balance == 112_490
    assert_balances_add_up(statement, entries)

    collection, returned, transfer = entries
    assert collection.batch_reference == "PMTINF-2024-03"
    assert collection.details[0].remittance_text == "Collection run March"

    assert (returned.direction, returned.amount) == (DEBIT, 4995)
    assert returned.return_reason_code == "AM04"
    detail = returned.details[0]
    assert detail.end_to_end_id == "DD-2024-03-0002"
    assert detail.remittance_text == "Dog licence 2024"
    assert (returned.counterparty_name, returned.counterparty_account) == (
        "Klaas Klaassen",
        "NL20INGB0001234567",
    )

    assert transfer.details[0].end_to_end_id == "E2E/2024/77"  # slashes inside a value
    assert transfer.details[0].creditor_reference == "RF18539007547034"  # /REMI/STRD/
    assert (transfer.counterparty_name, transfer.counterparty_account) == (
        "J. de Vries",
        "NL44RABO0123456789",
    )  # /CNTP/IBAN/BIC/NAME/CITY/


def test_mt940_reversal_marks():
    statement, entries = read("mt940_reversal.sta")
    assert [(e.direction, e.is_reversal) for e in entries] == [
        (CREDIT, False),
        (DEBIT, True),  # RC: reversal of a credit
        (CREDIT, True),  # RD: reversal of a debit
    ]
    assert [e.amount for e in entries] == [7500, 7500, 2000]
    assert entries[1].details[0].end_to_end_id == "E2E-REV-1"  # EREF+ in free text
    assert entries[1].details[0].remittance_text == "Reversal of B-0001"
    assert entries[2].details[0].remittance_text == "Reversed charge"
    assert_balances_add_up(statement, entries)


def test_mt940_missing_references_intermediate_balances_and_year_end():
    statement, entries = read("mt940_missing_references.sta")
    assert (statement.opening_balance, statement.closing_balance) == (-1000, 2500)  # :60M:/:62M:
    first, second = entries
    assert (first.value_date, first.booking_date) == (date(2023, 12, 31), date(2024, 1, 2))
    assert first.details == ()
    assert first.references() == ()
    assert second.amount == 500  # "5," has no decimals
    assert second.details[0].remittance_text == "CASH DEPOSIT BRANCH 12"
    assert second.references() == ()
    assert_balances_add_up(statement, entries)


def test_mt940_multi_currency_file():
    statements = [(s, list(s.entries)) for s in iter_mt940(FIXTURES / "mt940_multi_currency.sta")]
    assert [(s.statement_id, s.currency) for s, _ in statements] == [
        ("MC-EUR", "EUR"),
        ("MC-USD", "USD"),
        ("MC-JPY", "JPY"),
    ]
    assert [[e.position for e in entries] for _, entries in statements] == [[1, 2], [3], [4]]
    assert statements[0][1][0].details[0].end_to_end_id == "E2E-EUR-1"
    assert statements[1][1][0].amount == 250075
    assert statements[1][1][0].customer_reference == "WIRE-USD-1"
    assert statements[1][1][0].counterparty_name == "Federal Grants Office"
    assert statements[2][1][0].amount == 15000
    for statement, entries in statements:
        assert_balances_add_up(statement, entries)

    single = parse_mt940(FIXTURES / "mt940_multi_currency.sta")
    with pytest.raises(StatementError, match="more than one statement"):
        list(single.entries)


def test_mt940_missing_opening_balance():
    with pytest.raises(StatementError) as raised:
        parse_statement(FIXTURES / "mt940_missing_60f.sta")
    assert raised.value.position is None
    assert "has no opening balance (:60F:)" in raised.value.reason


def test_mt940_unparseable_statement_line_in_entry_2():
    statement = parse_mt940(FIXTURES / "mt940_bad_61_entry2.sta")
    entries = statement.entries
    assert next(entries).details[0].remittance_text == "first entry is fine"
    with pytest.raises(StatementError) as raised:
        next(entries)
    assert raised.value.position == 2
    assert "does not parse" in str(raised.value)


def test_mt940_balance_currency_mismatch():
    with pytest.raises(StatementError) as raised:
        parse_mt940(FIXTURES / "mt940_currency_mismatch.sta")
    assert raised.value.position is None
    assert "closing balance currency USD of statement 1 ('MISMATCH') does not match" in (
        raised.value.reason
    )


@pytest.mark.parametrize(
    ("text", "position", "reason"),
    [
        (":25:NL91ABNA0417164300\n:60F:C240301EUR0,00\n", None, "missing :20:"),
        (":20:X\n:60F:C240301EUR0,00\n:62F:C240301EUR0,00\n", None, "has no account (:25:)"),
        (":20:X\n:25:A\n:60F:C240301EUR0,00\n", None, "has no closing balance (:62F:)"),
        (":20:X\n:25:A\n:60F:C240301EUR0.00\n:62F:C240301EUR0,00\n", None, "is not an MT940"),
        (":20:X\n:25:A\n:60F:C240301EUR0,00\n:64:C240301GBP0,00\n:62F:C240301EUR0,00\n", None,
         ":64: balance currency GBP"),
        (":20:X\n:25:A\n:60F:C240301EUR0,00\n:61:240301C1.00NTRFNONREF\n:62F:C240301EUR1,00\n",
         1, "amount '1.00' is not an MT940 amount"),
        (":20:X\n:25:A\n:60F:C240301EUR0,00\n:61:240301C1,001NTRFNONREF\n:62F:C240301EUR1,00\n",
         1, "more decimals than EUR allows"),
        (":20:X\n:25:A\n:60F:C240301EUR0,00\n:61:241301C1,00NTRFNONREF\n:62F:C240301EUR1,00\n",
         1, "date '241301' is not a valid YYMMDD date"),
    ],
)  # fmt: skip
def test_malformed_mt940(text, position, reason):
    with pytest.raises(StatementError) as raised:
        list(parse_mt940(io.BytesIO(text.encode())).entries)
    assert raised.value.position == position
    assert reason in raised.value.reason


# --- detection --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", sorted(p.name for p in FIXTURES.iterdir() if not p.name.startswith("not_"))
)
def test_detect_format_from_content(name):
    head = (FIXTURES / name).read_bytes()[:4096]
    expected = "mt940" if name.startswith("mt940") else f"camt.053.001.{name[9:11]}"
    assert detect_format(head) == expected


@pytest.mark.parametrize(
    "head",
    [b"", b"hello world", b"%PDF-1.4\n", b"date,amount\n2024-03-01,12.50\n", b":20:ONLY\n"],
)
def test_unrecognised_formats(head):
    with pytest.raises(StatementError, match="unrecognised statement format") as raised:
        detect_format(head)
    assert raised.value.position is None


def test_parse_statement_ignores_the_file_name_and_accepts_streams(tmp_path):
    misnamed = tmp_path / "statement.sta"
    misnamed.write_bytes((FIXTURES / "camt053_v08_batch.xml").read_bytes())
    assert parse_statement(misnamed).format == "camt.053.001.08"

    class Pipe(io.RawIOBase):  # a stream that cannot seek, like an upload or a socket
        def __init__(self, data: bytes) -> None:
            self._data = io.BytesIO(data)

        def readable(self) -> bool:
            return True

        def readinto(self, buffer) -> int:
            chunk = self._data.read(len(buffer))
            buffer[: len(chunk)] = chunk
            return len(chunk)

    for name in ("camt053_v08_batch.xml", "mt940_normal_day.sta"):
        data = (FIXTURES / name).read_bytes()
        from_path = [dataclasses.astuple(e) for e in parse_statement(FIXTURES / name).entries]
        with open(FIXTURES / name, "rb") as handle:
            from_file = [dataclasses.astuple(e) for e in parse_statement(handle).entries]
        from_pipe = [dataclasses.astuple(e) for e in parse_statement(Pipe(data)).entries]
        assert from_path == from_file == from_pipe
        assert len(from_path) in (2, 4)


def test_text_mode_files_are_refused():
    with open(FIXTURES / "mt940_reversal.sta") as handle, pytest.raises(TypeError):
        parse_statement(handle)


def test_model_objects_are_frozen():
    (entry, *_) = read("camt053_v08_batch.xml")[1]
    with pytest.raises(dataclasses.FrozenInstanceError):
        entry.amount = 1
    with pytest.raises(dataclasses.FrozenInstanceError):
        entry.details[0].amount = 1


# --- properties and scale ---------------------------------------------------------------

_CURRENCIES = st.sampled_from(["EUR", "USD", "JPY", "BHD", "GBP"])


def _decimal(minor: int, exponent: int, extra_zeros: int) -> str:
    """``minor`` written as a decimal string, with some harmless trailing zeros."""
    if exponent == 0:
        return str(minor) + ("." + "0" * extra_zeros if extra_zeros else "")
    whole, fraction = divmod(minor, 10**exponent)
    return f"{whole}.{fraction:0{exponent}d}" + "0" * extra_zeros


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    currency=_CURRENCIES,
    version=st.sampled_from(["02", "08"]),
    opening=st.integers(-(10**12), 10**12),
    movements=st.lists(
        st.tuples(st.integers(0, 10**13), st.booleans(), st.integers(0, 2)), max_size=25
    ),
)
def test_generated_camt053_round_trips_to_the_same_minor_units(
    currency, version, opening, movements
):
    exponent = currency_exponent(currency)
    closing = opening + sum(minor if credit else -minor for minor, credit, _ in movements)
    status = "<Sts>BOOK</Sts>" if version == "02" else "<Sts><Cd>BOOK</Cd></Sts>"
    entries = [
        ntry(
            _decimal(minor, exponent, zeros), currency, "CRDT" if credit else "DBIT", status=status
        )
        for minor, credit, zeros in movements
    ]
    balances = "".join(
        balance(code, _decimal(abs(value), exponent, 0), currency, "CRDT" if value >= 0 else "DBIT")
        for code, value in (("OPBD", opening), ("CLBD", closing))
    )
    account = f"<Acct><Id><IBAN>NL91ABNA0417164300</IBAN></Id><Ccy>{currency}</Ccy></Acct>"
    document = camt(entries, version=version, balances=balances, account=account)

    statement = parse_statement(io.BytesIO(document))
    parsed = list(statement.entries)
    assert (statement.opening_balance, statement.closing_balance) == (opening, closing)
    assert [(e.amount, e.direction == CREDIT) for e in parsed] == [(m, c) for m, c, _ in movements]
    assert statement.opening_balance + sum(e.signed_amount for e in parsed) == closing


@settings(max_examples=40, deadline=None)
@given(
    currency=_CURRENCIES,
    movements=st.lists(st.tuples(st.integers(0, 10**12), st.booleans()), max_size=20),
)
def test_generated_mt940_round_trips_to_the_same_minor_units(currency, movements):
    exponent = currency_exponent(currency)

    def comma(minor: int) -> str:
        text = _decimal(abs(minor), exponent, 0)
        return text.replace(".", ",") if exponent else text + ","

    closing = sum(minor if credit else -minor for minor, credit in movements)
    lines = [":20:GEN", ":25:NL91ABNA0417164300", f":60F:C240301{currency}0,"]
    for minor, credit in movements:
        lines.append(f":61:240301{'C' if credit else 'D'}{comma(minor)}NTRFNONREF")
    lines.append(f":62F:{'C' if closing >= 0 else 'D'}240301{currency}{comma(closing)}")
    statement = parse_mt940(io.BytesIO("\r\n".join(lines).encode()))
    parsed = list(statement.entries)
    assert [(e.amount, e.direction == CREDIT) for e in parsed] == movements
    assert statement.closing_balance == closing == sum(e.signed_amount for e in parsed)


def _load_generator() -> types.ModuleType:
    spec = importlib.util.spec_from_file_location("make_camt053", MAKE_CAMT053)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _resident_bytes() -> int | None:
    """Current resident set size (Linux); None where /proc is not there."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except OSError:
        return None
    return pages * os.sysconf("SC_PAGE_SIZE")


def test_20000_entry_camt053_streams_in_flat_memory(tmp_path):
    generator = _load_generator()
    path = tmp_path / "large.xml"
    assert generator.main(["make_camt053.py", "20000", str(path)]) == 0
    size = path.stat().st_size

    class CountingReader(io.RawIOBase):
        def __init__(self, handle) -> None:
            self.handle, self.consumed = handle, 0

        def readable(self) -> bool:
            return True

        def readinto(self, buffer) -> int:
            chunk = self.handle.read(len(buffer))
            buffer[: len(chunk)] = chunk
            self.consumed += len(chunk)
            return len(chunk)

    with open(path, "rb") as handle:
        reader = CountingReader(handle)
        statement = parse_statement(reader)
        assert isinstance(statement.entries, types.GeneratorType)
        first = next(statement.entries)
        # The first entry arrives long before the file has been read.
        assert first.details[0].end_to_end_id == "E2E-000000001"
        assert reader.consumed < size / 10

        resident_before = _resident_bytes()
        resident_peak = resident_before
        tracemalloc.start()
        count, total, last = 1, first.amount, first
        for entry in statement.entries:
            count += 1
            total += entry.amount
            last = entry
            if count % 1000 == 0 and resident_before is not None:
                resident_peak = max(resident_peak, _resident_bytes())
        _, traced_peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()

    assert count == 20000
    assert last.position == 20000
    assert last.details[0].end_to_end_id == "E2E-000020000"
    assert last.amount == generator.amount_minor(20000)
    assert total == generator.total_minor(20000)
    assert statement.closing_balance - statement.opening_balance == total
    assert traced_peak < 20 * 1024 * 1024
    if resident_before is not None:
        # Keeping the parsed tree would grow the process by well over 100 MB here.
        assert resident_peak - resident_before < 40 * 1024 * 1024
