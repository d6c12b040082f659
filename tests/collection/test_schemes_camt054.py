"""camt.054 debit/credit notifications: returned direct debits (RtrInf) and nothing else."""

from pathlib import Path

import pytest
from lxml import etree

from collection.schemes.camt054 import Camt054Error, parse_camt054
from tests.collection.conftest import camt054

REAL = Path(__file__).parent / "fixtures" / "real"


def _xsd(version):
    return etree.XMLSchema(etree.parse(str(REAL / "xsd" / f"camt.054.001.{version}.xsd")))


@pytest.mark.parametrize(("name", "version"), [("v2", "02"), ("v8", "08")])
def test_real_notifications_without_returns_parse_and_return_nothing(name, version):
    """genkgo/camt's samples: valid camt.054, ordinary bookings, no R-transaction."""
    data = (REAL / f"genkgo_camt054.{name}.xml").read_bytes()
    assert _xsd(version).validate(etree.fromstring(data))
    notification = parse_camt054(data)
    independent = len(etree.fromstring(data).findall(".//{*}Ntfctn/{*}Ntry"))
    assert notification.entry_count == independent >= 1
    assert notification.returns == ()


@pytest.mark.parametrize("version", ["02", "08"])
def test_returned_debits_are_read_with_reason_amount_and_date(version):
    data = camt054(
        "NTF-1", [("ATT-A", "MD06", "12.50"), ("ATT-B", "AM04", "4.00")], version=version
    )
    assert _xsd(version).validate(etree.fromstring(data)), "the builder writes valid files"
    notification = parse_camt054(data)
    assert notification.message_id == "NTF-1"
    rows = [
        (r.original_end_to_end_id, r.reason_code, r.amount, r.currency, r.booked_on.isoformat())
        for r in notification.returns
    ]
    assert rows == [
        ("ATT-A", "MD06", 1250, "EUR", "2024-03-05"),
        ("ATT-B", "AM04", 400, "EUR", "2024-03-05"),
    ]
    assert notification.returns[1].position.startswith("Ntfctn[1]/Ntry[2]/NtryDtls/TxDtls[1]")


@pytest.mark.parametrize(
    "kwargs", [{"side": "CRDT"}, {"status": "PDNG"}], ids=["credit", "pending"]
)
def test_credits_and_pending_entries_are_not_returns_of_ours(kwargs):
    notification = parse_camt054(camt054("NTF-2", [("ATT-A", "MD06", "1.00")], **kwargs))
    assert notification.returns == ()
    assert notification.entry_count == 1


@pytest.mark.parametrize(
    ("data", "position", "reason"),
    [
        (camt054("N", [("NOTPROVIDED", "MD06", "1.00")]), "Ntfctn[1]/Ntry[1]", "EndToEndId"),
        (camt054("N", [("ATT-A", "MD06", "1,00")]), "Ntfctn[1]/Ntry[1]", "invalid amount"),
        (camt054("N", [("ATT-A", "MD06", "1.001")]), "Ntfctn[1]/Ntry[1]", "fractions"),
        (camt054("N", []).replace(b"<MsgId>N</MsgId>", b""), "GrpHdr", "MsgId"),
        (camt054("N", [("A", "MD06", "1.00")]).replace(b"DBIT", b"XXXX"), "Ntfctn", "CdtDbtInd"),
        (b"<Document><x/></Document>", "Document", "not a camt.054"),
        (b"<Document", "line 1", "not well-formed"),
        (
            camt054("N", []).replace(
                b"<Document",
                b'<!DOCTYPE Document [<!ENTITY x SYSTEM "file:///etc/passwd">]><Document',
                1,
            ),
            "Document",
            "DOCTYPE",
        ),
        (
            camt054("N", []).replace(
                b"</GrpHdr>",
                b'<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="/etc/passwd"/>'
                b"</GrpHdr>",
            ),
            "Document",
            "XInclude",
        ),
    ],
)
def test_malformed_notifications_are_refused_with_a_position(data, position, reason):
    with pytest.raises(Camt054Error) as excinfo:
        parse_camt054(data)
    assert excinfo.value.position.startswith(position)
    assert reason in excinfo.value.reason
