"""Validation and display helpers for bank account identifiers.

Every validator returns the normalised (compact, upper-case) form to store, or raises
``AccountError`` with a stable ``code`` the UI can translate.
"""

from __future__ import annotations

import re
from functools import lru_cache

from schwifty import BIC, IBAN, registry
from schwifty.exceptions import InvalidChecksumDigits, SchwiftyException
from stdnum.eu import at_02
from stdnum.exceptions import InvalidChecksum, ValidationError

__all__ = [
    "AccountError",
    "mask_account",
    "sepa_countries",
    "validate_bacs_account",
    "validate_bic",
    "validate_creditor_id",
    "validate_iban",
]


class AccountError(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _text(value: object, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise AccountError("empty", f"{what} is empty")
    return value


@lru_cache(maxsize=1)
def sepa_countries() -> frozenset[str]:
    """Country codes schwifty's IBAN registry marks as SEPA members."""
    return frozenset(c for c in registry.get_countries() if registry.get_iban_spec(c).in_sepa_zone)


def validate_iban(value: str, *, sepa_only: bool = False) -> str:
    """Normalised IBAN. Checks the ISO 13616 check digits and the country's BBAN structure,
    plus the national check digits where schwifty knows them (e.g. NL, DE, FR, BE).

    ``sepa_only`` rejects IBANs outside the SEPA zone (a SEPA direct debit cannot reach them).
    """
    value = _text(value, "IBAN")
    try:
        iban = IBAN(value, validate_bban=True)
    except InvalidChecksumDigits:
        raise AccountError("invalid_checksum", f"IBAN {value!r} has wrong check digits") from None
    except SchwiftyException as exc:
        raise AccountError("invalid_iban", f"IBAN {value!r} is not valid: {exc}") from None
    if sepa_only and not iban.in_sepa_zone:
        raise AccountError("not_sepa", f"IBAN {value!r} is not in the SEPA zone")
    return str(iban.compact)


def validate_bic(value: str) -> str:
    """Normalised BIC (8 or 11 characters, known country code)."""
    value = _text(value, "BIC")
    try:
        return str(BIC(value).compact)
    except SchwiftyException as exc:
        raise AccountError("invalid_bic", f"BIC {value!r} is not valid: {exc}") from None


# Country code, 2 check digits, 3-character creditor business code, national identifier; the
# whole thing is at most 35 characters (ISO 20022 Max35Text).
_CREDITOR_ID = re.compile(r"^[A-Z]{2}[0-9]{2}[A-Z0-9]{3}[A-Z0-9]{1,28}$")


def validate_creditor_id(value: str) -> str:
    """Normalised SEPA creditor identifier (EPC "AT-02").

    ``stdnum.eu.at_02`` checks the ISO 7064 mod 97-10 check digits but neither the country
    nor the shape, so both are checked here. National formats (e.g. DE: 18 characters) are not.
    """
    value = _text(value, "Creditor identifier")
    try:
        compact = at_02.validate(value)
    except InvalidChecksum:
        raise AccountError(
            "invalid_checksum", f"creditor identifier {value!r} has wrong check digits"
        ) from None
    except ValidationError as exc:
        raise AccountError(
            "invalid_creditor_id", f"creditor identifier {value!r} is not valid: {exc}"
        ) from None
    if not _CREDITOR_ID.fullmatch(compact):
        raise AccountError(
            "invalid_creditor_id", f"creditor identifier {value!r} has the wrong format"
        )
    if compact[:2] not in sepa_countries():
        raise AccountError("not_sepa", f"creditor identifier {value!r} is not from a SEPA country")
    return compact


# [0-9] rather than \d, which also matches non-ASCII digits such as "١٢٣".
_SORT_CODE = re.compile(r"^[0-9]{2}-?[0-9]{2}-?[0-9]{2}$")
_BACS_ACCOUNT = re.compile(r"^[0-9]{8}$")


def validate_bacs_account(sort_code: str, account_number: str) -> tuple[str, str]:
    """Normalised ``(sort_code, account_number)``: 6 and 8 digits, no separators.

    Only the format is checked. The Vocalink modulus check (which needs the licensed
    sort-code table) is not done here, and 6-, 7-, 9- and 10-digit account numbers must be
    converted to the 8-digit Bacs form by the caller, as the bank instructs.
    """
    sort_code = _text(sort_code, "Sort code").strip().replace(" ", "")
    account_number = _text(account_number, "Account number").strip().replace(" ", "")
    if not _SORT_CODE.fullmatch(sort_code):
        raise AccountError("invalid_sort_code", f"sort code {sort_code!r} must be 6 digits")
    if not _BACS_ACCOUNT.fullmatch(account_number):
        raise AccountError(
            "invalid_account_number", f"account number {account_number!r} must be 8 digits"
        )
    return sort_code.replace("-", ""), account_number


_IBAN_SHAPE = re.compile(r"^[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}$")
_MASK = "*"
_VISIBLE = 4


def mask_account(value: str) -> str:
    """Account identifier for display: only the last 4 characters visible.

    IBANs keep their country code so staff can tell accounts apart ("NL************4300");
    anything else is masked from the start ("****5678"). The mask keeps the length, which for
    an IBAN is fixed by the country anyway. ASCII ``*`` rather than a bullet so it survives
    every channel (SMS, CSV exports, PDF fonts). Values of 4 characters or fewer are masked
    entirely, since showing "the last 4" would show everything.
    """
    compact = re.sub(r"[\s-]", "", _text(value, "Account")).upper()
    if len(compact) <= _VISIBLE:
        return _MASK * len(compact)
    prefix = compact[:2] if _IBAN_SHAPE.fullmatch(compact) else ""
    hidden = len(compact) - len(prefix) - _VISIBLE
    return prefix + _MASK * hidden + compact[-_VISIBLE:]
