"""When a mandate may first be used, and when an unused SEPA mandate expires.

* SEPA Core: the creditor holds the signed mandate; there is nothing to register with the
  debtor's bank, so it is usable at once. A mandate under which no collection has been
  presented for 36 months expires and must not be used again (SDD Core rulebook, "expiry
  of a mandate"); a mandate never used counts from its date of signature.
* Bacs: the new Direct Debit Instruction is lodged with the payer's bank (AUDDIS) and goes
  through the three-day cycle before the first collection may rely on it, so it becomes
  usable on the third Bacs business day after lodgement. (The payer's 10-working-day advance
  notice of the first collection is the agency's letter, not modelled here.)
"""

from __future__ import annotations

import datetime as dt

from .calendars import Scheme, add_business_days
from .splitting import add_months

__all__ = [
    "BACS_LODGEMENT_BUSINESS_DAYS",
    "SEPA_MANDATE_EXPIRY_MONTHS",
    "mandate_usable_from",
    "sepa_mandate_expiry",
]

SEPA_MANDATE_EXPIRY_MONTHS = 36
BACS_LODGEMENT_BUSINESS_DAYS = 3


def mandate_usable_from(lodged_on: dt.date, scheme: Scheme) -> dt.date:
    if Scheme(scheme) is Scheme.BACS:
        return add_business_days(lodged_on, BACS_LODGEMENT_BUSINESS_DAYS, Scheme.BACS)
    return lodged_on


def sepa_mandate_expiry(signed_on: dt.date, last_presented_on: dt.date | None) -> dt.date:
    """First day on which an unused SEPA mandate is expired."""
    return add_months(last_presented_on or signed_on, SEPA_MANDATE_EXPIRY_MONTHS)
