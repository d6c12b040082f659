"""Advance notice (pre-notification): the debtor is told amount and date before each debit.

SEPA Core rulebook (SDD Core, "Pre-notification"): the creditor tells the debtor at least
14 calendar days before the due date, unless creditor and debtor agreed another period
(the agency's ``sepa_advance_notice_days``; the hub accepts 1 day at the least).

Bacs Direct Debit (the Direct Debit Guarantee and the Service User's Guide): notice
10 working days before the first collection and before any change of amount or date,
or another period agreed with the payer, never under 3 working days. Working days are
Bacs processing days (``calendars``: England & Wales bank holidays).

One definition serves every question: a notice sent on day S covers the due date D when
the earliest due date a notice sent on S can announce is not after D
(``earliest_noticed_due_date``). The deadline and the window follow from it, so the
rule the run enforces and the rule the notice job plans with cannot disagree.
"""

from __future__ import annotations

import datetime as dt

from .calendars import Scheme, add_business_days, next_business_day, subtract_business_days

__all__ = [
    "DEFAULT_NOTICE_DAYS",
    "MINIMUM_NOTICE_DAYS",
    "SEND_AHEAD_DAYS",
    "earliest_noticed_due_date",
    "notice_deadline",
    "notice_is_timely",
    "notice_period_error",
    "notice_window_opens",
    "rescheduled_due_date",
]

# Calendar days for SEPA Core, Bacs working days for Bacs.
DEFAULT_NOTICE_DAYS: dict[Scheme, int] = {Scheme.SEPA_CORE: 14, Scheme.BACS: 10}
MINIMUM_NOTICE_DAYS: dict[Scheme, int] = {Scheme.SEPA_CORE: 1, Scheme.BACS: 3}
MAXIMUM_NOTICE_DAYS = 60
# The notice job sends a notice this many calendar days before its deadline, so a mail
# server that is down has days of retries (hub/events back-off) before the deadline.
SEND_AHEAD_DAYS = 3
_ONE_DAY = dt.timedelta(days=1)


def notice_period_error(scheme: Scheme, days: object) -> str | None:
    """Why ``days`` is not an acceptable agreed notice period, or None when it is."""
    scheme = Scheme(scheme)
    low = MINIMUM_NOTICE_DAYS[scheme]
    if (
        isinstance(days, bool)
        or not isinstance(days, int)
        or not low <= days <= MAXIMUM_NOTICE_DAYS
    ):
        unit = "calendar days" if scheme is Scheme.SEPA_CORE else "working days"
        return f"must be a whole number of {unit} from {low} to {MAXIMUM_NOTICE_DAYS}"
    return None


def earliest_noticed_due_date(sent_on: dt.date, scheme: Scheme, period: int) -> dt.date:
    """The earliest due date a notice sent on ``sent_on`` gives the debtor time for."""
    scheme = Scheme(scheme)
    if scheme is Scheme.SEPA_CORE:
        return sent_on + dt.timedelta(days=period)
    return add_business_days(sent_on, period, scheme)


def notice_is_timely(due: dt.date, sent_on: dt.date, scheme: Scheme, period: int) -> bool:
    return earliest_noticed_due_date(sent_on, scheme, period) <= due


def notice_deadline(due: dt.date, scheme: Scheme, period: int) -> dt.date:
    """The last day a notice for ``due`` can be sent in time."""
    scheme = Scheme(scheme)
    if scheme is Scheme.SEPA_CORE:
        day = due - dt.timedelta(days=period)
    else:
        # One working day more than the period: in time even when ``due`` itself is no
        # working day (a debit due on a bank holiday is taken the working day after).
        day = subtract_business_days(due, period + 1, scheme)
    # A Bacs notice sent on a weekend counts from the same working day as one sent on
    # the Friday before: step forward while the next day still covers ``due``.
    while notice_is_timely(due, day + _ONE_DAY, scheme, period):
        day += _ONE_DAY
    return day


def notice_window_opens(due: dt.date, scheme: Scheme, period: int) -> dt.date:
    """The day the notice job sends the notice for ``due``: ahead of the deadline."""
    return notice_deadline(due, scheme, period) - dt.timedelta(days=SEND_AHEAD_DAYS)


def rescheduled_due_date(today: dt.date, scheme: Scheme, period: int) -> dt.date:
    """Where an instalment whose notice did not go out in time moves to.

    The earliest due date a notice sent ``SEND_AHEAD_DAYS`` from now still covers (the
    notice is sent at once; the margin is for retries), on a business day of the scheme
    so that the debit date and the date in the notice are the same.
    """
    scheme = Scheme(scheme)
    return next_business_day(
        earliest_noticed_due_date(today + dt.timedelta(days=SEND_AHEAD_DAYS), scheme, period),
        scheme,
    )
