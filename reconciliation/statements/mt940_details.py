"""The MT940 :86: field ("information to account owner") read into a TransactionDetail.

The field is free text by the standard, but banks structure it in one of three ways:

* German DFÜ/DK subfields: ``166?00SEPA-GUTSCHRIFT?20EREF+E2E-1?21SVWZ+Invoice 17?31IBAN?32Name``
  (purpose in ?20-?29 and ?60-?63, wrapped mid-word at 27 characters; SEPA keywords in it);
* slash keywords (Dutch banks, SWIFT structured): ``/EREF/E2E-1/NAME/J Jansen/REMI/USTD//text/``;
* free text, possibly with the SEPA keywords inline: ``EREF+E2E-1 SVWZ+Invoice 17``.

``remittance_text`` is the unstructured remittance (SVWZ+, /REMI/) if there is one,
otherwise the text no keyword claimed, so free text is never lost.
"""

import re

from .model import TransactionDetail, real_reference

# fmt: off
_SEPA_KEYWORDS = [
    "EREF", "KREF", "MREF", "CRED", "DEBT", "SVWZ", "ABWA", "ABWE", "IBAN", "BIC", "NAME",
    "RTRN", "COAM", "OAMT",
]
_SLASH_KEYS = frozenset([
    "TRTP", "EREF", "KREF", "IREF", "PREF", "MARF", "CSID", "CNTP", "REMI", "PURP", "ULTC",
    "ULTD", "ULTB", "RTRN", "ISDT", "NAME", "IBAN", "BIC", "ORDP", "BENM", "ADDR",
])
# fmt: on
# A keyword counts at the start of a subfield or line (marked by \x00) or after a space.
_SEPA_KEYWORD = re.compile(r"(?:^|(?<=[\x00 ]))(" + "|".join(_SEPA_KEYWORDS) + r")\+")
_SUBFIELD = re.compile(r"\?(\d{2})")
_DFU_START = re.compile(r"\d{3}\?\d{2}")  # the 3-digit business transaction code, then ?00
_PURPOSE = frozenset([*(str(n) for n in range(20, 30)), "60", "61", "62", "63"])
_MOD97 = re.compile(r"[A-Z]{2}\d{2}[A-Z0-9]{1,30}")


def parse_details(text: str) -> tuple[TransactionDetail, str | None]:
    """The transaction detail in ``text``, and the batch reference (/PREF/) if it has one."""
    lines = text.split("\n")
    joined = "".join(lines)  # MT940 wraps lines at 65 characters, not at word ends
    if _DFU_START.match(joined):
        return _from_subfields(joined), None
    if joined.startswith("/") and joined[1:].split("/", 1)[0] in _SLASH_KEYS:
        return _from_slash_keywords(joined)
    keywords = _sepa_keywords([line.strip() for line in lines], glue=" ")
    return _detail(keywords, keywords.get("NAME"), keywords.get("IBAN")), None


def is_valid_mod97(reference: str) -> bool:
    """ISO 7064 MOD 97-10, the check of an IBAN and of an ISO 11649 RF creditor reference."""
    if not _MOD97.fullmatch(reference):
        return False
    rearranged = reference[4:] + reference[:4]
    return int("".join(str(int(char, 36)) for char in rearranged)) % 97 == 1


def _from_subfields(joined: str) -> TransactionDetail:
    parts = _SUBFIELD.split(joined)
    subfields: dict[str, list[str]] = {}
    purpose: list[str] = []
    for code, value in zip(parts[1::2], parts[2::2], strict=True):
        subfields.setdefault(code, []).append(value)
        if code in _PURPOSE:
            purpose.append(value)
    keywords = _sepa_keywords(purpose, glue="")
    name = "".join(subfields.get("32", []) + subfields.get("33", [])).strip() or None
    account = "".join(subfields.get("31", [])).strip() or None
    return _detail(keywords, name or keywords.get("NAME"), account or keywords.get("IBAN"))


def _sepa_keywords(parts: list[str], glue: str) -> dict[str, str]:
    """Keyword values, and under "" the text before the first keyword."""
    pieces = _SEPA_KEYWORD.split("\x00".join(parts))
    found = {"": pieces[0]}
    for keyword, value in zip(pieces[1::2], pieces[2::2], strict=True):
        found.setdefault(keyword, value)
    return {key: value.replace("\x00", glue).strip() for key, value in found.items()}


def _from_slash_keywords(joined: str) -> tuple[TransactionDetail, str | None]:
    values: dict[str, list[str]] = {}
    current: list[str] = []
    for token in joined.split("/")[1:]:
        if token in _SLASH_KEYS and token not in values:
            current = values[token] = []
        else:
            current.append(token)
    fields = {key: "/".join(tokens).rstrip("/").strip() for key, tokens in values.items()}
    # ING puts the counterparty as /CNTP/IBAN/BIC/NAME/CITY/.
    counterparty = [*fields.get("CNTP", "").split("/"), "", "", ""]
    remittance = fields.get("REMI", "")
    creditor_reference = None
    if remittance.startswith("STRD/"):
        creditor_reference, remittance = remittance.rsplit("/", 1)[-1] or None, ""
    elif remittance.startswith("USTD/"):
        remittance = remittance[len("USTD/") :].lstrip("/")
    keywords = {
        "EREF": fields.get("EREF", ""),
        "KREF": fields.get("KREF") or fields.get("IREF", ""),
        "RTRN": fields.get("RTRN", ""),
        "SVWZ": remittance,
    }
    detail = _detail(
        keywords,
        fields.get("NAME") or counterparty[2] or None,
        fields.get("IBAN") or counterparty[0] or None,
        creditor_reference,
    )
    return detail, real_reference(fields.get("PREF"))


def _detail(
    keywords: dict[str, str],
    name: str | None,
    account: str | None,
    creditor_reference: str | None = None,
) -> TransactionDetail:
    remittance = keywords.get("SVWZ") or keywords.get("") or None
    return TransactionDetail(
        end_to_end_id=real_reference(keywords.get("EREF")),
        instruction_id=real_reference(keywords.get("KREF")),
        creditor_reference=real_reference(creditor_reference) or _rf_reference(remittance),
        remittance_text=remittance,
        counterparty_name=name or None,
        counterparty_account=account or None,
        return_reason_code=(keywords.get("RTRN") or "").split("/")[0].split(" ")[0] or None,
    )


def _rf_reference(text: str | None) -> str | None:
    """An ISO 11649 creditor reference opening the remittance text, if its check digits hold.

    It may be written in groups of four ("RF18 5390 0754 7034"), so the longest run of
    leading tokens that validates wins.
    """
    if not text or text[:2].upper() != "RF":
        return None
    found, candidate = None, ""
    for token in text.upper().split():
        candidate += token
        if len(candidate) > 25:
            break
        if is_valid_mod97(candidate):
            found = candidate
    return found
