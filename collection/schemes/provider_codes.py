"""Stripe's failure codes for direct debits, translated into the scheme's own reason codes.

Stripe reports a failed or returned ``sepa_debit`` / ``bacs_debit`` with its own
vocabulary (``insufficient_funds``, ``account_closed`` …) rather than the ISO 20022 or ARUDD
code the bank sent. The return rules (``return_codes``) are written per scheme code, so the
translation happens here, once; a code that is already a scheme code passes through, and a
code nobody knows stays as it is and gets the conservative "unknown: stop for review" rule.

Source: Stripe's documentation of SEPA Direct Debit and Bacs Direct Debit failures and its
network decline codes table (several codes exist in two spellings: the older
``account_closed`` and the newer ``bank_account_closed``).
"""

from __future__ import annotations

from .calendars import Scheme
from .return_codes import RULES

__all__ = ["scheme_reason_code"]

_SEPA = {
    "insufficient_funds": "AM04",
    "account_closed": "AC04",
    "bank_account_closed": "AC04",
    "no_account": "AC01",
    "invalid_account_number": "AC01",
    "bank_account_invalid_details": "AC01",
    "branch_does_not_exist": "AC01",
    "account_frozen": "AC06",
    "bank_account_frozen": "AC06",
    "bank_account_restricted": "AC06",
    "debit_instrument_not_supported": "AG01",
    "debit_not_authorized": "MD01",
    "bank_ownership_changed": "MD01",
    "debit_authorization_not_match": "MD02",
    "incorrect_account_holder_name": "MD02",
    "debit_disputed": "MD06",
    "recipient_deceased": "MD07",
    "account_holder_deceased": "MD07",
    "refer_to_customer": "MS02",
    "generic_could_not_process": "MS03",
}

_BACS = {
    "insufficient_funds": "0",
    "refer_to_customer": "0",
    "debit_not_authorized": "1",
    "recipient_deceased": "2",
    "account_holder_deceased": "2",
    "bank_ownership_changed": "3",
    "debit_disputed": "4",
    "no_account": "5",
    "invalid_account_number": "5",
    "bank_account_invalid_details": "5",
    "branch_does_not_exist": "5",
    "account_closed": "B",
    "bank_account_closed": "B",
}

_BY_SCHEME = {Scheme.SEPA_CORE: _SEPA, Scheme.BACS: _BACS}


def scheme_reason_code(code: str, scheme: Scheme) -> str:
    """The scheme reason code for ``code``, which may be a scheme code or a Stripe code."""
    scheme = Scheme(scheme)
    raw = (code or "").strip()
    if (scheme, raw.upper()) in RULES:
        return raw.upper()
    return _BY_SCHEME[scheme].get(raw.lower(), raw)
