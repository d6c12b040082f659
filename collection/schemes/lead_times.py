"""When a collection must be submitted, and how long it can still come back.

Vocabulary (all dates, no times; cut-off *times* are the bank's and not modelled here):

* due date: the nominal date of an instalment, as shown to the debtor.
* settlement date: the business day the money moves. A due date on a closing day rolls
  FORWARD, never back, so a debtor is never debited before the date they were told.
* submission date: the last business day on which the file can reach the bank.

SEPA Core: since the 2016 SDD Core rulebook (version 9.0, in force 20 November 2016) the
inter-bank lead time is D-1 TARGET business day for every sequence type (FRST, RCUR, OOFF and
FNAL); the earlier D-5 / D-2 split is gone. Many creditor banks still ask for files earlier
than the inter-bank minimum; ``buffer_days`` adds that bank-specific margin.

Bacs: the three-day cycle. Input on day 1 (by the Bacs input deadline), processing on day 2,
entry to the accounts and settlement on day 3, so submission = settlement - 2 business days.
"""

from __future__ import annotations

import datetime as dt

from .calendars import Scheme, add_business_days, next_business_day, subtract_business_days

__all__ = [
    "LEAD_TIME_BUSINESS_DAYS",
    "RETURN_WINDOW_BUSINESS_DAYS",
    "SEPA_REFUND_RIGHT",
    "earliest_settlement_date",
    "is_due_for_submission",
    "latest_run_date",
    "refund_right_end",
    "return_window_end",
    "run_collection_date",
    "settlement_date",
    "submission_date",
]

LEAD_TIME_BUSINESS_DAYS: dict[Scheme, int] = {
    Scheme.SEPA_CORE: 1,
    Scheme.BACS: 2,
}

# How many business days after settlement the debtor's bank may still send the collection back
# for "technical" reasons without the debtor claiming a refund.
#
# SEPA Core rulebook, section on Returns: the debtor bank can return a collection up to
# 5 inter-bank (TARGET) business days after settlement (D+5).
#
# Bacs: unpaid Direct Debits come back through ARUDD (Automated Return of Unpaid Direct Debits),
# which Bacs produces on day 4 and at the latest on day 5 of the three-day cycle, i.e. at most
# 2 business days after the day-3 settlement (Bacs "Direct Debit Service User's Guide and
# Rules", section on ARUDD / unpaid Direct Debits). Indemnity claims under the Direct Debit
# Guarantee (DDICA) are separate and have no time limit; see ``refund_right_end``.
RETURN_WINDOW_BUSINESS_DAYS: dict[Scheme, int] = {
    Scheme.SEPA_CORE: 5,
    Scheme.BACS: 2,
}

# SEPA Core: for an *authorised* collection the debtor may ask their bank for a refund, no
# questions asked, for 8 weeks after the debit (PSD2 arts. 76-77, SDD Core rulebook). Unauthorised
# collections (no valid mandate) can be disputed for 13 months; that is a claim to investigate,
# not a date to wait for, so it is not modelled as a window here.
SEPA_REFUND_RIGHT = dt.timedelta(weeks=8)


def settlement_date(due: dt.date, scheme: Scheme) -> dt.date:
    """The due date, rolled forward to the next business day when it is not one."""
    return next_business_day(due, scheme)


def submission_date(due: dt.date, scheme: Scheme, *, buffer_days: int = 0) -> dt.date:
    """Last business day to submit a collection for an instalment due on ``due``.

    ``buffer_days`` are extra business days the creditor's own bank demands on top of the
    scheme minimum (0 = the scheme minimum).
    """
    if buffer_days < 0:
        raise ValueError("buffer_days cannot be negative")
    lead = LEAD_TIME_BUSINESS_DAYS[Scheme(scheme)] + buffer_days
    return subtract_business_days(settlement_date(due, scheme), lead, scheme)


def is_due_for_submission(
    due: dt.date, run_date: dt.date, scheme: Scheme, *, buffer_days: int = 0
) -> bool:
    """True once ``run_date`` has reached the submission date of an instalment due on ``due``.

    Whether the instalment was already collected is the caller's state to check. A run date
    past the submission date also returns True: the instalment is overdue for submission, and
    the caller must then give it a new settlement date (see ``earliest_settlement_date``)
    because the bank will reject a collection date it can no longer meet.
    """
    return run_date >= submission_date(due, scheme, buffer_days=buffer_days)


def earliest_settlement_date(submitted_on: dt.date, scheme: Scheme) -> dt.date:
    """Earliest settlement date reachable by a file submitted on ``submitted_on``.

    A file sent on a closing day is only processed on the next business day.
    """
    start = next_business_day(submitted_on, scheme)
    return add_business_days(start, LEAD_TIME_BUSINESS_DAYS[Scheme(scheme)], scheme)


def run_collection_date(
    due: dt.date, run_date: dt.date, scheme: Scheme, *, buffer_days: int = 0
) -> dt.date:
    """Settlement date a run on ``run_date`` asks for, for an instalment due on ``due``.

    The due date rolled forward, as promised to the debtor; or, when the run is already past
    the submission date (a paused run, a retry scheduled closer than the lead time), the
    earliest date a file sent today can still reach, so the bank never refuses the date.
    """
    if buffer_days < 0:
        raise ValueError("buffer_days cannot be negative")
    wanted = settlement_date(due, scheme)
    earliest = add_business_days(earliest_settlement_date(run_date, scheme), buffer_days, scheme)
    return max(wanted, earliest)


def return_window_end(settlement: dt.date, scheme: Scheme) -> dt.date:
    """Last business day on which the debtor's bank can still return the collection."""
    days = RETURN_WINDOW_BUSINESS_DAYS[Scheme(scheme)]
    return add_business_days(settlement, days, scheme)


def refund_right_end(settlement: dt.date, scheme: Scheme) -> dt.date | None:
    """Last day of the debtor's no-questions-asked refund right, or None if unlimited.

    SEPA Core: settlement + 8 weeks (calendar). Bacs: the Direct Debit Guarantee gives an
    immediate refund of an error with no time limit, so there is no end date.
    """
    if Scheme(scheme) is Scheme.SEPA_CORE:
        return settlement + SEPA_REFUND_RIGHT
    return None


def latest_run_date(today: dt.date, *, buffer_days: int = 0) -> dt.date:
    """The furthest ahead a collection run may be dated when started on ``today``.

    A run on day R presents every instalment whose submission date has come by R, so a
    run dated months ahead would present months of future instalments at once. A run a
    little ahead is legitimate (a file prepared the day before for the bank's cut-off):
    up to the longest scheme lead time plus the agency's bank buffer, in business days.
    """
    if buffer_days < 0:
        raise ValueError("buffer_days cannot be negative")
    return max(
        add_business_days(today, lead + buffer_days, scheme)
        for scheme, lead in LEAD_TIME_BUSINESS_DAYS.items()
    )
