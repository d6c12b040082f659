"""pain.002 status reports: fixtures for .001.03 and .001.10, and malformed input."""

import dataclasses
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from collection.schemes.calendars import Scheme
from collection.schemes.pain002 import Pain002Error, TransactionStatus, parse_pain002, rejections
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


# --- Batch and group rejects spelled out over the original file's batches ---

REAL = FIXTURES / "real"


def test_real_report_batch_rejected_without_end_to_end_ids():
    """Nordea: batch 02 is RJCT (DT01) and lists its transactions by amount only."""
    report = parse_pain002((REAL / "pain002_001_03_nordea_batch_rejected.xml").read_bytes())
    presented = {
        "20140102-123456-01": ("TEST PMT", "OK-1", "OK-2"),
        "20140102-123456-02": ("B2-1", "B2-2"),
        "20140102-123456-03": ("B3-1", "B3-2"),
        "20140102-123456-04": ("B4-1",),
    }
    rows = [
        (t.original_end_to_end_id, t.reason_code, t.original_payment_info_id)
        for t in rejections(report, presented)
    ]
    assert rows == [
        ("TEST PMT", "NARR", "20140102-123456-01"),
        ("B2-1", "DT01", "20140102-123456-02"),
        ("B2-2", "DT01", "20140102-123456-02"),
    ]


def test_real_report_group_rejected_reason_at_batch_level():
    report = parse_pain002((REAL / "pain002_001_03_nordea_group_rejected.xml").read_bytes())
    assert report.whole_file_rejected and report.group_reason_code is None
    found = rejections(report, {"20140108-123456-01": ("E-1",), "OTHER": ("E-2",)})
    # The reported batch gives DT01; the group rejects the other batch too, with no reason
    # anywhere (the import refuses such an entry as "a reject without a reason code").
    assert [(t.original_end_to_end_id, t.reason_code) for t in found] == [
        ("E-1", "DT01"),
        ("E-2", None),
    ]


def test_real_report_group_rejected_reason_at_transaction_level():
    data = (REAL / "pain002_001_03_nordea_group_rejected_tx_reason.xml").read_bytes()
    report = parse_pain002(data)
    found = rejections(report, {"1547478597597-G-1": ("1547478597597-G-1-P-1",)})
    assert [(t.original_end_to_end_id, t.reason_code, t.amount) for t in found] == [
        ("1547478597597-G-1-P-1", "AM01", 0)
    ]


def _status_doc(group_status, group_reason, batches):
    def reason(code):
        return f"<StsRsnInf><Rsn><Cd>{code}</Cd></Rsn></StsRsnInf>" if code else ""

    body = (
        "<GrpHdr><MsgId>M1</MsgId><CreDtTm>2027-03-31T07:00:00</CreDtTm></GrpHdr>"
        f"<OrgnlGrpInfAndSts><OrgnlMsgId>O1</OrgnlMsgId><GrpSts>{group_status}</GrpSts>"
        f"{reason(group_reason)}</OrgnlGrpInfAndSts>"
    )
    for pmt_id, status, code, txs in batches:
        body += (
            f"<OrgnlPmtInfAndSts><OrgnlPmtInfId>{pmt_id}</OrgnlPmtInfId>"
            f"<PmtInfSts>{status}</PmtInfSts>{reason(code)}{''.join(txs)}</OrgnlPmtInfAndSts>"
        )
    return _doc(body)


def test_batch_reject_without_transactions_covers_the_whole_batch():
    report = parse_pain002(_status_doc("PART", None, [("P1", "RJCT", "AM04", [])]))
    assert report.transactions == ()  # what the old import counted: "0 entries"
    found = rejections(report, {"P1": ("A", "B"), "P2": ("C",)})
    assert [(t.original_end_to_end_id, t.status, t.reason_code) for t in found] == [
        ("A", "RJCT", "AM04"),
        ("B", "RJCT", "AM04"),
    ]
    assert found[0].position.startswith("OrgnlPmtInfAndSts[1] (line")


def test_accepted_and_partial_reports_reject_nothing_more_than_listed():
    report = parse_pain002(_status_doc("ACCP", None, [("P1", "ACCP", None, [])]))
    assert rejections(report, {"P1": ("A",)}) == ()
    report = parse_pain002(_status_doc("PART", None, [("P1", "PART", None, [GOOD_TX])]))
    assert [t.original_end_to_end_id for t in rejections(report, {"P1": ("E1", "E2")})] == ["E1"]


def test_a_tx_without_own_reason_takes_the_batch_then_the_group_reason():
    report = parse_pain002(
        _status_doc("RJCT", "MS03", [("P1", "PART", "AM04", [GOOD_TX]), ("P2", "RJCT", None, [])])
    )
    found = {
        t.original_end_to_end_id: t.reason_code
        for t in rejections(report, {"P1": ("E1",), "P2": ("X",)})
    }
    assert found == {"E1": "AM04", "X": "MS03"}


def test_contradictions_and_unknown_batches_raise():
    accepted = "<TxInfAndSts><OrgnlEndToEndId>A</OrgnlEndToEndId><TxSts>ACCP</TxSts></TxInfAndSts>"
    report = parse_pain002(_status_doc("PART", None, [("P1", "RJCT", "AM04", [accepted])]))
    with pytest.raises(Pain002Error) as excinfo:
        rejections(report, {"P1": ("A",)})
    assert excinfo.value.position.startswith("OrgnlPmtInfAndSts[1]/TxInfAndSts[1]")
    report = parse_pain002(_status_doc("PART", None, [("P9", "RJCT", "AM04", [])]))
    with pytest.raises(Pain002Error) as excinfo:
        rejections(report, {"P1": ("A",)})
    assert "P9" in excinfo.value.reason


def test_a_reject_without_end_to_end_id_outside_a_rejected_batch_is_an_error():
    anonymous = "<TxInfAndSts><TxSts>RJCT</TxSts></TxInfAndSts>"
    with pytest.raises(Pain002Error) as excinfo:
        parse_pain002(_status_doc("PART", None, [("P1", "PART", None, [anonymous])]))
    assert excinfo.value.reason == "missing OrgnlEndToEndId"


# --- Property: a batch or group reject never leaves one of its collections out ---

_ids = st.text(alphabet="ABCDEFGHJKLMNPQRSTUVWXYZ0123456789", min_size=1, max_size=8)


@st.composite
def _file_and_report(draw):
    batch_ids = draw(st.lists(_ids, min_size=1, max_size=4, unique=True))
    counter = iter(range(10_000))
    presented = {
        b: tuple(f"{b}-E{next(counter)}" for _ in range(draw(st.integers(1, 4)))) for b in batch_ids
    }
    group = draw(st.sampled_from(["ACCP", "PART", "RJCT"]))
    statuses = {
        b: draw(st.sampled_from(["ACCP", "PART", "RJCT"])) for b in batch_ids if draw(st.booleans())
    }
    if group == "RJCT":
        statuses = {b: "RJCT" for b in statuses}
    return presented, group, statuses


@given(_file_and_report())
def test_every_collection_of_a_rejected_batch_or_file_is_rejected(case):
    presented, group, statuses = case
    # Batches not in ``statuses`` are not mentioned by the report at all.
    batches = [(b, s, "AM04" if s == "RJCT" else None, []) for b, s in statuses.items()]
    report = parse_pain002(_status_doc(group, "FF01" if group == "RJCT" else None, batches))
    rejected = {t.original_end_to_end_id for t in rejections(report, presented)}
    for batch_id, ids in presented.items():
        status = group if group == "RJCT" else statuses.get(batch_id)
        if status == "RJCT":
            assert set(ids) <= rejected  # nothing of a rejected batch is left to settle
        else:
            assert not set(ids) & rejected  # nothing accepted is rejected by mistake


def test_xinclude_is_refused():
    include = '<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="file:///etc/passwd"/>'
    data = _doc(HEADER + _batch(GOOD_TX.replace("</TxInfAndSts>", include + "</TxInfAndSts>")))
    with pytest.raises(Pain002Error) as excinfo:
        parse_pain002(data)
    assert "XInclude" in excinfo.value.reason
