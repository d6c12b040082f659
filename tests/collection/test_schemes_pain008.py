"""pain.008 generation (.08 by default, .02 on request), checked against the XSDs that
ship with sepaxml."""

import dataclasses
import datetime as dt
from importlib import resources

import pytest
from lxml import etree

from collection.schemes.pain008 import (
    DEFAULT_PAIN008_VERSION,
    CreditorConfig,
    DebitCollection,
    Pain008Error,
    Pain008Version,
    SequenceType,
    build_pain008,
    presented_batches,
    validate_pain008,
)

D = dt.date
NS = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.008.001.08"}
VERSIONS = [Pain008Version.V08, Pain008Version.V02]


def _ns(version):
    return {"p": f"urn:iso:std:iso:20022:tech:xsd:{version}"}


def _bic_tag(version):
    # ISO 20022 2019 renamed the agent's BIC element.
    return "BIC" if version is Pain008Version.V02 else "BICFI"


def _xsd(version):
    """The official XSD, loaded here independently of the module under test."""
    xsd = resources.files("sepaxml") / "schemas" / f"{version}.xsd"
    return etree.XMLSchema(etree.fromstring(xsd.read_bytes()))


CREDITOR = CreditorConfig(
    name="Gemeente Voorbeeld",
    iban="NL91ABNA0417164300",
    bic="ABNANL2A",
    creditor_id="DE98ZZZ09999999999",
)


def _collection(n, **changes):
    base = DebitCollection(
        end_to_end_id=f"E2E-2027-{n:04d}",
        amount=12550,
        debtor_name="Jöhn Dœ",
        debtor_iban="DE89370400440532013000",
        mandate_id=f"MANDATE-{n}",
        mandate_signed_on=D(2026, 1, 5),
        sequence_type=SequenceType.RECURRING,
        collection_date=D(2027, 3, 30),
        remittance_info=f"Parking permit 2027 instalment {n}",
        debtor_bic="COBADEFFXXX",
    )
    return dataclasses.replace(base, **changes)


COLLECTIONS = [
    _collection(1, sequence_type="FRST"),
    _collection(2, amount=1, debtor_bic=None, debtor_iban="nl91 abna 0417 1643 00"),
    _collection(3, amount=250_000),
]


def _parse(xml):
    return etree.fromstring(xml)


def test_the_default_is_pain_008_001_08():
    assert DEFAULT_PAIN008_VERSION is Pain008Version.V08
    doc = _parse(build_pain008(CREDITOR, COLLECTIONS))
    assert etree.QName(doc).namespace == "urn:iso:std:iso:20022:tech:xsd:pain.008.001.08"
    assert _xsd(Pain008Version.V08).validate(doc)
    assert not _xsd(Pain008Version.V02).validate(doc)


@pytest.mark.parametrize("version", VERSIONS)
def test_builds_a_valid_batched_file(version):
    NS = _ns(version)
    xml = build_pain008(dataclasses.replace(CREDITOR, version=version), COLLECTIONS)
    assert isinstance(xml, bytes)
    validate_pain008(xml)  # already done inside build, but this is the contract
    validate_pain008(xml, version)
    schema = _xsd(version)
    assert schema.validate(_parse(xml)), schema.error_log
    doc = _parse(xml)
    assert etree.QName(doc).namespace == NS["p"]
    assert doc.findtext("p:CstmrDrctDbtInitn/p:GrpHdr/p:NbOfTxs", namespaces=NS) == "3"
    # 125.50 + 0.01 + 2500.00, written from integer cents, never floats.
    assert doc.findtext("p:CstmrDrctDbtInitn/p:GrpHdr/p:CtrlSum", namespaces=NS) == "2625.51"
    # Batches are per (sequence type, date): one FRST batch and one RCUR batch.
    batches = doc.findall("p:CstmrDrctDbtInitn/p:PmtInf", namespaces=NS)
    assert sorted(b.findtext("p:PmtTpInf/p:SeqTp", namespaces=NS) for b in batches) == [
        "FRST",
        "RCUR",
    ]
    assert {b.findtext("p:BtchBookg", namespaces=NS) for b in batches} == {"true"}
    assert {b.findtext("p:ReqdColltnDt", namespaces=NS) for b in batches} == {"2027-03-30"}
    ids = doc.xpath("//p:CdtrSchmeId//p:Othr/p:Id/text()", namespaces=NS)
    assert set(ids) == {"DE98ZZZ09999999999"}
    assert doc.xpath("//p:PmtTpInf/p:LclInstrm/p:Cd/text()", namespaces=NS) == ["CORE", "CORE"]


@pytest.mark.parametrize("version", VERSIONS)
def test_transaction_details(version):
    NS = _ns(version)
    bic = _bic_tag(version)
    doc = _parse(build_pain008(dataclasses.replace(CREDITOR, version=version), COLLECTIONS))
    txs = {
        tx.findtext("p:PmtId/p:EndToEndId", namespaces=NS): tx
        for tx in doc.iterfind(".//p:DrctDbtTxInf", namespaces=NS)
    }
    assert set(txs) == {"E2E-2027-0001", "E2E-2027-0002", "E2E-2027-0003"}
    first = txs["E2E-2027-0001"]
    assert first.findtext("p:InstdAmt", namespaces=NS) == "125.50"
    assert first.find("p:InstdAmt", namespaces=NS).get("Ccy") == "EUR"
    assert first.findtext("p:DrctDbtTx/p:MndtRltdInf/p:MndtId", namespaces=NS) == "MANDATE-1"
    assert first.findtext("p:DrctDbtTx/p:MndtRltdInf/p:DtOfSgntr", namespaces=NS) == "2026-01-05"
    # EPC basic Latin, German umlaut convention (collection/schemes/charset.py).
    assert first.findtext("p:Dbtr/p:Nm", namespaces=NS) == "Joehn Doe"
    assert first.findtext(f"p:DbtrAgt/p:FinInstnId/p:{bic}", namespaces=NS) == "COBADEFFXXX"
    creditor_agent = doc.find(".//p:PmtInf/p:CdtrAgt/p:FinInstnId", namespaces=NS)
    assert creditor_agent.findtext(f"p:{bic}", namespaces=NS) == "ABNANL2A"
    second = txs["E2E-2027-0002"]
    assert second.findtext("p:InstdAmt", namespaces=NS) == "0.01"
    assert second.findtext("p:DbtrAcct/p:Id/p:IBAN", namespaces=NS) == "NL91ABNA0417164300"
    # No debtor BIC: the IBAN-only form.
    assert second.findtext("p:DbtrAgt/p:FinInstnId/p:Othr/p:Id", namespaces=NS) == "NOTPROVIDED"
    assert txs["E2E-2027-0003"].findtext("p:InstdAmt", namespaces=NS) == "2500.00"


def test_unbatched_file_has_one_payment_info_per_collection():
    creditor = dataclasses.replace(CREDITOR, batch=False)
    doc = _parse(build_pain008(creditor, COLLECTIONS))
    batches = doc.findall("p:CstmrDrctDbtInitn/p:PmtInf", namespaces=NS)
    assert len(batches) == 3
    assert {b.findtext("p:BtchBookg", namespaces=NS) for b in batches} == {"false"}


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (b"<SeqTp>FRST</SeqTp>", b"<SeqTp>XXXX</SeqTp>"),  # not a sequence type
        (b"<PmtMtd>DD</PmtMtd>", b""),  # mandatory element removed
        (b'<InstdAmt Ccy="EUR">125.50</InstdAmt>', b'<InstdAmt Ccy="EUR">12,50</InstdAmt>'),
        (b"<ChrgBr>SLEV</ChrgBr>", b"<ChrgBr>SLEV</ChrgBr><Unexpected/>"),
    ],
)
@pytest.mark.parametrize("version", VERSIONS)
def test_broken_files_do_not_validate(old, new, version):
    xml = build_pain008(dataclasses.replace(CREDITOR, version=version), COLLECTIONS)
    assert old in xml
    broken = xml.replace(old, new, 1)
    with pytest.raises(Pain008Error) as excinfo:
        validate_pain008(broken)
    assert excinfo.value.item.startswith("line ")


def test_malformed_xml_does_not_validate():
    with pytest.raises(Pain008Error, match="not well-formed"):
        validate_pain008(b"<Document><unclosed></Document>")


def test_wrong_namespace_does_not_validate():
    # A .02 file relabelled .08 (BIC where .08 wants BICFI) fails the .08 XSD.
    old = build_pain008(dataclasses.replace(CREDITOR, version="pain.008.001.02"), COLLECTIONS)
    with pytest.raises(Pain008Error):
        validate_pain008(old.replace(b"pain.008.001.02", b"pain.008.001.08"))
    # A file checked against a version it does not declare fails too.
    with pytest.raises(Pain008Error):
        validate_pain008(old, Pain008Version.V08)
    with pytest.raises(Pain008Error, match="namespace"):
        validate_pain008(old.replace(b"pain.008.001.02", b"pain.008.001.99"))


def test_iban_only_creditor_is_allowed_in_08_and_refused_in_02():
    iban_only = dataclasses.replace(CREDITOR, bic=None)
    doc = _parse(build_pain008(iban_only, COLLECTIONS))
    agent = doc.find(".//p:PmtInf/p:CdtrAgt/p:FinInstnId", namespaces=NS)
    assert agent.findtext("p:Othr/p:Id", namespaces=NS) == "NOTPROVIDED"
    assert _xsd(Pain008Version.V08).validate(doc)
    with pytest.raises(Pain008Error) as excinfo:
        build_pain008(dataclasses.replace(iban_only, version="pain.008.001.02"), COLLECTIONS)
    assert excinfo.value.item == "creditor.bic"
    with pytest.raises(Pain008Error) as excinfo:
        build_pain008(dataclasses.replace(CREDITOR, version="pain.008.001.05"), COLLECTIONS)
    assert excinfo.value.item == "creditor.version"


@pytest.mark.parametrize(
    ("creditor_change", "item"),
    [
        ({"creditor_id": "DE98ZZZ09999999998"}, "creditor.creditor_id"),
        ({"iban": "NL91ABNA0417164301"}, "creditor.iban"),
        ({"iban": "BR1800360305000010009795493C1"}, "creditor.iban"),
        ({"bic": "ABNANL2"}, "creditor.bic"),
        ({"currency": "GBP"}, "creditor.currency"),
        ({"name": ""}, "creditor.name"),
        ({"name": "x" * 71}, "creditor.name"),
    ],
)
def test_bad_creditor_config_names_the_field(creditor_change, item):
    creditor = dataclasses.replace(CREDITOR, **creditor_change)
    with pytest.raises(Pain008Error) as excinfo:
        build_pain008(creditor, COLLECTIONS)
    assert excinfo.value.item == item


@pytest.mark.parametrize(
    ("change", "reason_fragment"),
    [
        ({"debtor_iban": "DE89370400440532013001"}, "invalid_checksum"),
        ({"debtor_iban": "BR1800360305000010009795493C1"}, "not_sepa"),
        ({"debtor_bic": "COBADEF"}, "invalid_bic"),
        ({"amount": 0}, "outside"),
        ({"amount": 100_000_000_000}, "outside"),
        ({"amount": 12.5}, "int in cents"),
        ({"sequence_type": "LAST"}, "sequence type"),
        ({"end_to_end_id": "E2E 2"}, "no spaces"),
        ({"end_to_end_id": "x" * 36}, "1-35"),
        ({"end_to_end_id": "E2E-2\n"}, "1-35"),
        ({"mandate_id": "M//2"}, "'//'"),
        ({"mandate_id": "/M2"}, "'/'"),
        ({"mandate_signed_on": D(2027, 4, 1)}, "mandate signed after"),
        ({"remittance_info": ""}, "empty"),
        ({"remittance_info": "r" * 141}, "140"),
        ({"collection_date": dt.datetime(2027, 3, 30, 9, 0)}, "must be dates"),
    ],
)
def test_bad_collection_names_the_item(change, reason_fragment):
    collections = [COLLECTIONS[0], _collection(2, **change)]
    with pytest.raises(Pain008Error) as excinfo:
        build_pain008(CREDITOR, collections)
    assert excinfo.value.item.startswith("collection 2 (end_to_end_id=")
    assert reason_fragment in excinfo.value.reason


def test_duplicate_end_to_end_ids_are_refused():
    with pytest.raises(Pain008Error, match="duplicate end_to_end_id") as excinfo:
        build_pain008(CREDITOR, [_collection(1), _collection(1, amount=5)])
    assert excinfo.value.item == "collection 2 (end_to_end_id='E2E-2027-0001')"


def test_empty_file_is_refused():
    with pytest.raises(Pain008Error) as excinfo:
        build_pain008(CREDITOR, [])
    assert excinfo.value.item == "collections"


def test_names_and_remittance_are_written_in_the_epc_character_set():
    creditor = dataclasses.replace(CREDITOR, name="Stadt Köln & Umland")
    collection = _collection(
        1,
        debtor_name="  Zoë   O\u2019Brien-Müller  " + "x" * 100,
        remittance_info="Gebühr 2027 \u2013 Straße №5 & more",
    )
    doc = _parse(build_pain008(creditor, [collection]))
    debtor = doc.findtext(".//p:Dbtr/p:Nm", namespaces=NS)
    assert debtor.startswith("Zoe O'Brien-Mueller x")
    assert len(debtor) == 70
    assert doc.findtext(".//p:RmtInf/p:Ustrd", namespaces=NS) == (
        "Gebuehr 2027 - Strasse No5 + more"
    )
    assert doc.findtext(".//p:Cdtr/p:Nm", namespaces=NS) == "Stadt Koeln + Umland"
    assert doc.findtext(".//p:InitgPty/p:Nm", namespaces=NS) == "Stadt Koeln + Umland"
    allowed = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/-?:().,'+ ")
    for path in (".//p:Nm", ".//p:Ustrd"):
        for element in doc.iterfind(path, namespaces=NS):
            assert set(element.text) <= allowed, element.text


def test_a_name_with_nothing_convertible_is_refused():
    with pytest.raises(Pain008Error) as excinfo:
        build_pain008(CREDITOR, [_collection(1, debtor_name="😀😀")])
    assert excinfo.value.item.endswith("debtor_name")
    assert "EPC character set" in excinfo.value.reason


@pytest.mark.parametrize("version", VERSIONS)
def test_presented_batches_reads_back_each_batch_and_its_end_to_end_ids(version):
    xml = build_pain008(dataclasses.replace(CREDITOR, version=version), COLLECTIONS)
    batches = presented_batches(xml)
    doc = _parse(xml)
    ns = _ns(version)
    expected = {
        b.findtext("p:PmtInfId", namespaces=ns): tuple(
            b.xpath("p:DrctDbtTxInf/p:PmtId/p:EndToEndId/text()", namespaces=ns)
        )
        for b in doc.iterfind(".//p:PmtInf", namespaces=ns)
    }
    assert batches == expected
    assert sorted(e for ids in batches.values() for e in ids) == [
        "E2E-2027-0001",
        "E2E-2027-0002",
        "E2E-2027-0003",
    ]
    with pytest.raises(Pain008Error, match="not well-formed"):
        presented_batches(b"<Document>")
