"""pain.002 status reports: fixtures for .001.03 and .001.10, and malformed input."""

import dataclasses
from pathlib import Path

import pytest

from collection.schemes.calendars import Scheme
from collection.schemes.pain002 import Pain002Error, TransactionStatus, parse_pain002
from collection.schemes.return_codes import ReturnAction, rule_for

FIXTURES = Path(__file__).parent / "fixtures"


def _fixture(name):
    return (FIXTURES / name).read_bytes()


def test_pain002_001_03_partial_report():
    report = parse_pain002(_fixture("pain002_001_03_partial.xml"))
    assert report.message_id == "STATUS-2027-03-31-0001"
    assert report.original_message_id == "20270325101500-a1b2c3d4e5f6"
    assert report.original_message_type == "pain.008.001.02"
    assert report.group_status == "PART"
    assert not report.whole_file_rejected
    assert [
        (p.original_payment_info_id, p.status, p.reason_code) for p in report.payment_infos
    ] == [
        ("GemeenteVoorbeeld-0a1b2c3d4e5f", "PART", None),
        ("GemeenteVoorbeeld-6f5e4d3c2b1a", "RJCT", "AC04"),
    ]
    rows = [
        (t.original_end_to_end_id, t.status, t.reason_code, t.amount, t.currency)
        for t in report.transactions
    ]
    assert rows == [
        ("E2E-2027-0001", "RJCT", "AM04", 12550, "EUR"),
        ("E2E-2027-0002", "RJCT", "MD07", 25000, "EUR"),  # "250" -> 25000 cents
        ("E2E-2027-0003", "RJCT", "BANK42", None, None),  # proprietary reason, no amount
        ("E2E-2027-0004", "ACCP", None, 1, "EUR"),
        # No TxSts of its own: inherits the batch's RJCT and its reason AC04.
        ("E2E-2027-0005", "RJCT", "AC04", 12624, "EUR"),
    ]
    first = report.transactions[0]
    assert first.additional_info == ("Insufficient funds",)
    assert first.original_payment_info_id == "GemeenteVoorbeeld-0a1b2c3d4e5f"
    assert report.transactions[4].original_payment_info_id == "GemeenteVoorbeeld-6f5e4d3c2b1a"
    assert [t.original_end_to_end_id for t in report.rejected_transactions] == [
        "E2E-2027-0001",
        "E2E-2027-0002",
        "E2E-2027-0003",
        "E2E-2027-0005",
    ]


def test_pain002_001_10_report():
    report = parse_pain002(_fixture("pain002_001_10_rejects.xml"))
    assert report.message_id == "PSR-20270601-7781"
    assert report.original_message_type == "pain.008.001.08"
    rows = [
        (t.original_end_to_end_id, t.status, t.reason_code, t.amount) for t in report.transactions
    ]
    assert rows == [
        ("E2E-10-A", "RJCT", "MS02", 123_456_789),
        ("E2E-10-B", "RJCT", "AC01", None),
    ]


def test_whole_file_rejected():
    report = parse_pain002(_fixture("pain002_001_03_file_rejected.xml"))
    assert report.whole_file_rejected
    assert report.group_reason_code == "FF01"
    assert report.transactions == ()
    assert report.payment_infos == ()


def test_parsed_reasons_feed_the_return_rules():
    report = parse_pain002(_fixture("pain002_001_03_partial.xml"))
    actions = {
        t.original_end_to_end_id: rule_for(t.reason_code, Scheme.SEPA_CORE).action
        for t in report.rejected_transactions
    }
    assert actions == {
        "E2E-2027-0001": ReturnAction.RETRY,
        "E2E-2027-0002": ReturnAction.STOP_SUSPEND_DEBT,
        "E2E-2027-0003": ReturnAction.STOP,  # unknown proprietary code: conservative stop
        "E2E-2027-0005": ReturnAction.STOP_CANCEL_MANDATE,
    }


def test_accepts_text_input_and_results_are_frozen():
    report = parse_pain002(_fixture("pain002_001_10_rejects.xml").decode("utf-8"))
    assert isinstance(report.transactions[0], TransactionStatus)
    with pytest.raises(dataclasses.FrozenInstanceError):
        report.transactions[0].status = "ACCP"


def _doc(body, namespace="urn:iso:std:iso:20022:tech:xsd:pain.002.001.03"):
    return (
        f'<?xml version="1.0"?><Document xmlns="{namespace}">'
        f"<CstmrPmtStsRpt>{body}</CstmrPmtStsRpt></Document>"
    )


HEADER = (
    "<GrpHdr><MsgId>M1</MsgId><CreDtTm>2027-03-31T07:00:00</CreDtTm></GrpHdr>"
    "<OrgnlGrpInfAndSts><OrgnlMsgId>O1</OrgnlMsgId><OrgnlMsgNmId>pain.008.001.02</OrgnlMsgNmId>"
    "<GrpSts>PART</GrpSts></OrgnlGrpInfAndSts>"
)
GOOD_TX = "<TxInfAndSts><OrgnlEndToEndId>E1</OrgnlEndToEndId><TxSts>RJCT</TxSts></TxInfAndSts>"


def _batch(*transactions, status=""):
    return (
        "<OrgnlPmtInfAndSts><OrgnlPmtInfId>P1</OrgnlPmtInfId>"
        + status
        + "".join(transactions)
        + "</OrgnlPmtInfAndSts>"
    )


def _amount_tx(amount):
    return (
        "<TxInfAndSts><OrgnlEndToEndId>E2</OrgnlEndToEndId><TxSts>RJCT</TxSts>"
        f'<OrgnlTxRef><Amt><InstdAmt Ccy="EUR">{amount}</InstdAmt></Amt></OrgnlTxRef>'
        "</TxInfAndSts>"
    )


def test_minimal_document_parses():
    report = parse_pain002(_doc(HEADER + _batch(GOOD_TX)))
    assert [t.original_end_to_end_id for t in report.transactions] == ["E1"]


@pytest.mark.parametrize(
    ("data", "position", "reason"),
    [
        (b"this is not xml", "line 1", "not well-formed"),
        (b"", "line", "not well-formed"),
        (_doc(HEADER).replace("</Document>", ""), "line", "not well-formed"),
        (
            _doc(HEADER, namespace="urn:iso:std:iso:20022:tech:xsd:pain.001.001.03"),
            "Document",
            "not a pain.002",
        ),
        ("<Document><CstmrPmtStsRpt/></Document>", "Document", "not a pain.002"),
        (
            '<Other xmlns="urn:iso:std:iso:20022:tech:xsd:pain.002.001.03"/>',
            "Document",
            "not a pain.002",
        ),
        (
            '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.002.001.03"/>',
            "Document",
            "missing CstmrPmtStsRpt",
        ),
        (_doc(HEADER.replace("<MsgId>M1</MsgId>", "")), "GrpHdr", "missing GrpHdr/MsgId"),
        (
            _doc(HEADER.split("<OrgnlGrpInfAndSts>")[0]),
            "CstmrPmtStsRpt",
            "missing OrgnlGrpInfAndSts",
        ),
        (
            _doc(HEADER.replace("<OrgnlMsgId>O1</OrgnlMsgId>", "")),
            "OrgnlGrpInfAndSts",
            "missing OrgnlMsgId",
        ),
        (
            _doc(HEADER + "<OrgnlPmtInfAndSts>" + GOOD_TX + "</OrgnlPmtInfAndSts>"),
            "OrgnlPmtInfAndSts[1]",
            "missing OrgnlPmtInfId",
        ),
    ],
)
def test_malformed_documents(data, position, reason):
    with pytest.raises(Pain002Error) as excinfo:
        parse_pain002(data)
    assert excinfo.value.position.startswith(position)
    assert reason in excinfo.value.reason
    assert isinstance(excinfo.value, ValueError)


def test_missing_end_to_end_id_fails_the_whole_report():
    # The first transaction is fine, the second is broken: nothing is returned at all.
    bad = "<TxInfAndSts><TxSts>RJCT</TxSts></TxInfAndSts>"
    with pytest.raises(Pain002Error) as excinfo:
        parse_pain002(_doc(HEADER + _batch(GOOD_TX, bad)))
    assert excinfo.value.position.startswith("OrgnlPmtInfAndSts[1]/TxInfAndSts[2] (line ")
    assert excinfo.value.reason == "missing OrgnlEndToEndId"


@pytest.mark.parametrize("amount", ["12.345", "-5.00", "1e3", "12,50", "", "abc"])
def test_bad_amounts(amount):
    with pytest.raises(Pain002Error) as excinfo:
        parse_pain002(_doc(HEADER + _batch(_amount_tx(amount))))
    assert "TxInfAndSts[1]" in excinfo.value.position
    assert "amount" in excinfo.value.reason


@pytest.mark.parametrize(("amount", "cents"), [("0.5", 50), ("12.500", 1250), ("7", 700)])
def test_amounts_in_minor_units(amount, cents):
    report = parse_pain002(_doc(HEADER + _batch(_amount_tx(amount))))
    assert report.transactions[0].amount == cents


def test_invalid_status_code():
    tx = GOOD_TX.replace("<TxSts>RJCT</TxSts>", "<TxSts>rejected</TxSts>")
    with pytest.raises(Pain002Error, match="invalid TxSts"):
        parse_pain002(_doc(HEADER + _batch(tx)))


def test_transaction_without_status_under_partial_batch_is_an_error():
    # Batch and group are both PART, so there is no single status to inherit.
    tx = "<TxInfAndSts><OrgnlEndToEndId>E1</OrgnlEndToEndId></TxInfAndSts>"
    with pytest.raises(Pain002Error, match="no TxSts"):
        parse_pain002(_doc(HEADER + _batch(tx, status="<PmtInfSts>PART</PmtInfSts>")))


def test_transaction_inherits_group_status_when_batch_has_none():
    header = HEADER.replace("<GrpSts>PART</GrpSts>", "<GrpSts>RJCT</GrpSts>")
    tx = "<TxInfAndSts><OrgnlEndToEndId>E1</OrgnlEndToEndId></TxInfAndSts>"
    report = parse_pain002(_doc(header + _batch(tx)))
    assert report.transactions[0].status == "RJCT"


def test_doctype_and_entities_are_refused():
    data = (
        '<?xml version="1.0"?><!DOCTYPE Document [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        + _doc(HEADER + _batch(GOOD_TX.replace("E1", "&x;"))).split("?>", 1)[1]
    )
    with pytest.raises(Pain002Error) as excinfo:
        parse_pain002(data)
    assert "DOCTYPE" in excinfo.value.reason


def test_xinclude_is_refused():
    include = '<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="file:///etc/passwd"/>'
    data = _doc(HEADER + _batch(GOOD_TX.replace("</TxInfAndSts>", include + "</TxInfAndSts>")))
    with pytest.raises(Pain002Error) as excinfo:
        parse_pain002(data)
    assert "XInclude" in excinfo.value.reason
