"""SEPA Core direct-debit initiation files (ISO 20022 pain.008), built with sepaxml.

pain.008.001.08 (ISO 20022 2019) is the default: the EPC SDD rulebooks and the German banks'
DFÜ agreement require it since November 2025. pain.008.001.02 stays available as an agency
setting for banks that still take it. The two differ where sepaxml already knows it (BICFI
instead of BIC for agents; the creditor agent's BIC is optional in .08, required in .02).

Everything is checked before sepaxml sees it, so a bad input fails with an error naming the
item instead of as an anonymous schema error; the finished file is then validated against the
official XSD of its version, as shipped with sepaxml.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from importlib import resources

from lxml import etree
from sepaxml import SepaDD

from .accounts import AccountError, validate_bic, validate_creditor_id, validate_iban
from .charset import MAX_NAME, MAX_REMITTANCE, to_epc_text

__all__ = [
    "DEFAULT_PAIN008_VERSION",
    "PAIN008_SCHEMA",
    "CreditorConfig",
    "DebitCollection",
    "Pain008Error",
    "Pain008Version",
    "SequenceType",
    "build_pain008",
    "presented_batches",
    "validate_pain008",
]


class Pain008Version(StrEnum):
    V08 = "pain.008.001.08"  # ISO 20022 2019, the EPC rulebook version since November 2025
    V02 = "pain.008.001.02"  # ISO 20022 2009, for banks that have not moved yet


DEFAULT_PAIN008_VERSION = Pain008Version.V08
PAIN008_SCHEMA = DEFAULT_PAIN008_VERSION.value  # kept for callers that name the default
_NAMESPACE_PREFIX = "urn:iso:std:iso:20022:tech:xsd:"

# EPC rulebook maximum for a single SEPA collection: EUR 999,999,999.99.
MAX_AMOUNT = 99_999_999_999

# Identifiers (end-to-end id, mandate id) use the EPC restricted Latin character set. Spaces are
# left out on purpose: several banks reject them in identifiers and we generate these ids.
_SEPA_ID = re.compile(r"^[A-Za-z0-9/\-?:().,'+]{1,35}$")


class SequenceType(StrEnum):
    FIRST = "FRST"
    RECURRING = "RCUR"
    ONE_OFF = "OOFF"
    FINAL = "FNAL"


class Pain008Error(ValueError):
    """``item`` names what is wrong (a config field, a collection, a line of XML)."""

    def __init__(self, item: str, reason: str) -> None:
        super().__init__(f"{item}: {reason}")
        self.item = item
        self.reason = reason


@dataclass(frozen=True)
class CreditorConfig:
    name: str
    iban: str
    bic: str | None  # required by pain.008.001.02; optional in .08 (IBAN-only)
    creditor_id: str
    currency: str = "EUR"
    batch: bool = True  # one PmtInf per sequence type and date, booked as one credit
    version: Pain008Version | str = DEFAULT_PAIN008_VERSION


@dataclass(frozen=True)
class DebitCollection:
    end_to_end_id: str
    amount: int  # minor units (cents)
    debtor_name: str
    debtor_iban: str
    mandate_id: str
    mandate_signed_on: dt.date
    sequence_type: SequenceType | str
    collection_date: dt.date
    remittance_info: str
    debtor_bic: str | None = None


def _account(item: str, check: Callable[..., str], value: str, **kwargs: bool) -> str:
    try:
        return check(value, **kwargs)
    except AccountError as exc:
        raise Pain008Error(item, f"{exc.code}: {exc.message}") from None


def _text(item: str, value: object, limit: int) -> str:
    if not isinstance(value, str) or not value.strip():
        raise Pain008Error(item, "must not be empty")
    if len(value) > limit:
        raise Pain008Error(item, f"longer than {limit} characters")
    return value.strip()


def _epc_text(item: str, value: object, input_limit: int, field_limit: int) -> str:
    """Checked like ``_text``, then converted to the EPC basic Latin set (see ``charset``)
    and cut to the field's length. Text that converts to nothing is an error, not a blank."""
    converted = to_epc_text(_text(item, value, input_limit), field_limit)
    if not converted:
        raise Pain008Error(item, "has no character that converts to the EPC character set")
    return converted


def _sepa_id(item: str, value: object) -> str:
    if not isinstance(value, str) or not _SEPA_ID.fullmatch(value):
        raise Pain008Error(
            item, "must be 1-35 characters from A-Z a-z 0-9 / - ? : ( ) . , ' + (no spaces)"
        )
    if value.startswith("/") or value.endswith("/") or "//" in value:
        raise Pain008Error(item, "must not start or end with '/' or contain '//'")
    return value


def _is_date(value: object) -> bool:
    return isinstance(value, dt.date) and not isinstance(value, dt.datetime)


def _version(value: object) -> Pain008Version:
    try:
        return Pain008Version(value)
    except ValueError:
        known = ", ".join(v.value for v in Pain008Version)
        raise Pain008Error("creditor.version", f"{value!r} is not one of {known}") from None


def _creditor_dict(creditor: CreditorConfig, version: Pain008Version) -> dict:
    if creditor.currency != "EUR":
        raise Pain008Error("creditor.currency", "SEPA direct debits are in EUR only")
    config = {
        "name": _epc_text("creditor.name", creditor.name, MAX_NAME, MAX_NAME),
        "IBAN": _account("creditor.iban", validate_iban, creditor.iban, sepa_only=True),
        "creditor_id": _account("creditor.creditor_id", validate_creditor_id, creditor.creditor_id),
        "currency": "EUR",
        "batch": bool(creditor.batch),
        "instrument": "CORE",
    }
    if creditor.bic:
        config["BIC"] = _account("creditor.bic", validate_bic, creditor.bic)
    elif version is Pain008Version.V02:
        raise Pain008Error("creditor.bic", "pain.008.001.02 needs the creditor's BIC")
    return config


def _payment_dict(index: int, c: DebitCollection) -> dict:
    label = f"collection {index} (end_to_end_id={c.end_to_end_id!r})"
    if isinstance(c.amount, bool) or not isinstance(c.amount, int):
        raise Pain008Error(label, "amount must be an int in cents")
    if not 0 < c.amount <= MAX_AMOUNT:
        raise Pain008Error(label, f"amount {c.amount} is outside 1..{MAX_AMOUNT} cents")
    try:
        sequence = SequenceType(c.sequence_type)
    except ValueError:
        raise Pain008Error(label, f"unknown sequence type {c.sequence_type!r}") from None
    if not _is_date(c.collection_date) or not _is_date(c.mandate_signed_on):
        raise Pain008Error(label, "collection_date and mandate_signed_on must be dates")
    if c.mandate_signed_on > c.collection_date:
        raise Pain008Error(label, "mandate signed after the collection date")
    payment = {
        "endtoend_id": _sepa_id(f"{label} end_to_end_id", c.end_to_end_id),
        "amount": c.amount,
        # Account holder names may be up to 140 characters; Nm takes 70, cut as banks do.
        "name": _epc_text(f"{label} debtor_name", c.debtor_name, 140, MAX_NAME),
        "IBAN": _account(f"{label} debtor_iban", validate_iban, c.debtor_iban, sepa_only=True),
        "mandate_id": _sepa_id(f"{label} mandate_id", c.mandate_id),
        "mandate_date": c.mandate_signed_on,
        "type": sequence.value,
        "collection_date": c.collection_date,
        "description": _epc_text(
            f"{label} remittance_info", c.remittance_info, MAX_REMITTANCE, MAX_REMITTANCE
        ),
    }
    # Only set when known: sepaxml writes "NOTPROVIDED" for a missing debtor BIC.
    if c.debtor_bic:
        payment["BIC"] = _account(f"{label} debtor_bic", validate_bic, c.debtor_bic)
    return payment


def build_pain008(creditor: CreditorConfig, collections: Sequence[DebitCollection]) -> bytes:
    """The pain.008 file (``creditor.version``) as UTF-8 bytes, validated against its XSD.

    MsgId and PmtInfId are generated by sepaxml; read them back from the file to store them.
    """
    version = _version(creditor.version)
    if not collections:
        raise Pain008Error("collections", "at least one collection is needed")
    config = _creditor_dict(creditor, version)
    payments = [_payment_dict(i, c) for i, c in enumerate(collections, start=1)]
    seen: set[str] = set()
    for i, payment in enumerate(payments, start=1):
        # The bank's status report (pain.002) is matched back on the end-to-end id.
        if payment["endtoend_id"] in seen:
            raise Pain008Error(
                f"collection {i} (end_to_end_id={payment['endtoend_id']!r})",
                "duplicate end_to_end_id in this file",
            )
        seen.add(payment["endtoend_id"])
    # clean=False: the text is already converted (charset.to_epc_text); sepaxml's own
    # cleaning would transliterate differently (ä -> a) and keep characters banks refuse.
    sdd = SepaDD(config, schema=version.value, clean=False)
    for payment in payments:
        sdd.add_payment(payment)
    xml = sdd.export(validate=False)  # validated below, with our own error type
    validate_pain008(xml, version)
    return xml


def _parser() -> etree.XMLParser:
    # No entity expansion, DTD loading or network access: the input may not be ours.
    return etree.XMLParser(resolve_entities=False, load_dtd=False, no_network=True)


@lru_cache(maxsize=len(Pain008Version))
def _schema(version: Pain008Version) -> etree.XMLSchema:
    xsd = resources.files("sepaxml") / "schemas" / f"{version.value}.xsd"
    return etree.XMLSchema(etree.fromstring(xsd.read_bytes(), _parser()))


# An lxml XMLSchema keeps its error log on the object, so concurrent validations would mix
# their errors; validations are fast, so serialising them is the simple fix.
_schema_lock = threading.Lock()


def _declared_version(document) -> Pain008Version:
    namespace = etree.QName(document).namespace or ""
    try:
        return Pain008Version(namespace.removeprefix(_NAMESPACE_PREFIX))
    except ValueError:
        known = ", ".join(v.value for v in Pain008Version)
        raise Pain008Error("Document", f"namespace {namespace!r} is not one of {known}") from None


def validate_pain008(xml_bytes: bytes, version: Pain008Version | str | None = None) -> None:
    """Validate against the official XSD of ``version`` (by default the version the file
    declares in its namespace); raise ``Pain008Error`` if invalid."""
    try:
        document = etree.fromstring(xml_bytes, _parser())
    except etree.XMLSyntaxError as exc:
        raise Pain008Error(f"line {exc.lineno}", f"not well-formed XML: {exc.msg}") from None
    expected = _declared_version(document) if version is None else Pain008Version(version)
    with _schema_lock:
        schema = _schema(expected)
        if schema.validate(document):
            return
        errors = list(schema.error_log)
    first = errors[0]
    more = f" (and {len(errors) - 1} more errors)" if len(errors) > 1 else ""
    raise Pain008Error(f"line {first.line}", f"{first.message}{more}")


def presented_batches(xml_bytes: bytes) -> dict[str, tuple[str, ...]]:
    """The file's batches: PmtInfId -> the end-to-end ids of its transactions, in order.

    A bank's status report may reject a batch by its PmtInfId alone, so the returns
    import reads the run's own file to know which collections that batch held. Works on
    local names, so any pain.008 version we produced reads the same way.
    """
    try:
        root = etree.fromstring(xml_bytes, _parser())
    except etree.XMLSyntaxError as exc:
        raise Pain008Error(f"line {exc.lineno}", f"not well-formed XML: {exc.msg}") from None
    batches: dict[str, tuple[str, ...]] = {}
    for index, pmt in enumerate(root.iterfind(".//{*}PmtInf"), start=1):
        pmt_id = (pmt.findtext("{*}PmtInfId") or "").strip()
        if not pmt_id:
            raise Pain008Error(f"PmtInf[{index}]", "missing PmtInfId")
        batches[pmt_id] = tuple(
            (e.text or "").strip() for e in pmt.iterfind("{*}DrctDbtTxInf/{*}PmtId/{*}EndToEndId")
        )
    return batches
