"""National identifier schemes: validation, normalisation, masking.

python-stdnum covers the Dutch BSN (with its 11-check). It has no scheme for the UK
National Insurance number, the Dutch KvK number or the UK Companies House number,
which have no check digit at all: they are validated by their published formats.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from stdnum.exceptions import InvalidChecksum, InvalidFormat, InvalidLength, ValidationError
from stdnum.nl import bsn


class IdentifierError(ValueError):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Scheme:
    code: str
    label: str
    kind: str  # "person" or "organisation": which constituents may carry it


NL_BSN = Scheme("nl_bsn", "Dutch citizen service number (BSN)", "person")
UK_NINO = Scheme("uk_nino", "UK National Insurance number", "person")
NL_KVK = Scheme("nl_kvk", "Dutch Chamber of Commerce (KvK) number", "organisation")
UK_CRN = Scheme("uk_crn", "UK Companies House registration number", "organisation")
SCHEMES = {s.code: s for s in (NL_BSN, UK_NINO, NL_KVK, UK_CRN)}

# HMRC's rules: the first letter is not D, F, I, Q, U or V; the second not D, F, I, O,
# Q, U or V; some prefixes are never issued; the suffix is A to D.
_NINO = re.compile(r"^(?![DFIQUV])[A-Z](?![DFIOQUV])[A-Z]\d{6}[A-D]$")
_NINO_NEVER_ISSUED = {"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"}
# Eight characters: eight digits, or a two-letter register prefix and six digits.
_CRN = re.compile(
    r"^(\d{8}|(SC|NI|OC|SO|NC|R0|LP|SL|NL|FC|SF|NF|GE|IP|SP|IC|SI|NP|NV|RC|SR|NO|"
    r"RS|SA|NA|ZC|SZ|NZ|PC|CE|CS)\d{6})$"
)


def normalise(scheme: str, value: str) -> str:
    """Validate and return the canonical form; raise IdentifierError with a clear reason."""
    if scheme not in SCHEMES:
        raise IdentifierError(
            "unknown_identifier_scheme",
            f"Unknown identifier scheme '{scheme}'; use one of {', '.join(sorted(SCHEMES))}",
        )
    if not isinstance(value, str) or not value.strip():
        raise IdentifierError("invalid_identifier", "The identifier value is empty")
    compact = re.sub(r"[\s.\-]", "", value).upper()
    return _VALIDATORS[scheme](compact)


def _bsn(value: str) -> str:
    if not value.isdigit() or len(value) not in (8, 9):
        # stdnum would zero-pad any short number; a BSN has 8 or 9 digits.
        raise IdentifierError("invalid_identifier", "A BSN has 8 or 9 digits")
    try:
        return bsn.validate(value)
    except InvalidChecksum as exc:
        raise IdentifierError(
            "invalid_check_digit", "This BSN fails the 11-check: a digit is wrong"
        ) from exc
    except (InvalidLength, InvalidFormat) as exc:
        raise IdentifierError("invalid_identifier", "A BSN has 8 or 9 digits") from exc
    except ValidationError as exc:
        raise IdentifierError("invalid_identifier", f"Not a valid BSN: {exc}") from exc


def _nino(value: str) -> str:
    if not _NINO.match(value) or value[:2] in _NINO_NEVER_ISSUED:
        raise IdentifierError(
            "invalid_identifier",
            "A National Insurance number is two letters, six digits and A, B, C or D "
            "(e.g. AB123456C), with a prefix HMRC issues",
        )
    return value


def _kvk(value: str) -> str:
    if not re.fullmatch(r"\d{8}", value):
        raise IdentifierError("invalid_identifier", "A KvK number has exactly 8 digits")
    return value


def _crn(value: str) -> str:
    if len(value) < 8 and value.isdigit():
        value = value.zfill(8)  # Companies House drops leading zeros in some documents
    if not _CRN.match(value):
        raise IdentifierError(
            "invalid_identifier",
            "A Companies House number is 8 digits, or a register prefix (SC, NI, OC, …) "
            "and 6 digits",
        )
    return value


_VALIDATORS = {"nl_bsn": _bsn, "uk_nino": _nino, "nl_kvk": _kvk, "uk_crn": _crn}


def mask(value: str) -> str:
    """Only the last three characters show: enough to tell two records apart."""
    visible = 3 if len(value) > 5 else 1
    return "•" * (len(value) - visible) + value[-visible:]
