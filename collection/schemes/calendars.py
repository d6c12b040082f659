"""Business-day calendars for the direct-debit schemes.

A "business day" is a day on which the scheme's clearing system settles:

* SEPA Core settles in TARGET2 (T2), which is closed on weekends, New Year's Day, Good Friday,
  Easter Monday, 1 May and 25/26 December. ``holidays`` ships that calendar as the ECB
  financial calendar (aliases ``ECB``/``TAR``/``XECB``), including the one-off closing days
  of 1999-12-31 and 2001-12-31.
* Bacs runs on England & Wales bank holidays, including one-off days such as the 2022 state
  funeral, which ``holidays.UK(subdiv="ENG")`` covers. Wales has the same bank holidays, and
  Bacs does not close for Scotland- or Northern Ireland-only holidays.

Future one-off closing days (a royal event, say) are only known once ``holidays`` ships them.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from functools import lru_cache

import holidays

__all__ = [
    "Scheme",
    "add_business_days",
    "closing_days",
    "is_business_day",
    "next_business_day",
    "previous_business_day",
    "subtract_business_days",
]

_ONE_DAY = dt.timedelta(days=1)


class Scheme(StrEnum):
    SEPA_CORE = "sepa_core"
    BACS = "bacs"


@lru_cache(maxsize=256)
def closing_days(scheme: Scheme, year: int) -> frozenset[dt.date]:
    """Weekday closing days (holidays) of ``scheme`` in ``year``.

    A frozen set per year rather than a shared ``HolidayBase``: that object fills itself in
    lazily when queried, which is mutation shared between threads.
    """
    scheme = Scheme(scheme)
    if scheme is Scheme.SEPA_CORE:
        calendar = holidays.financial_holidays("ECB", years=year)
    else:
        calendar = holidays.country_holidays("GB", subdiv="ENG", years=year)
    return frozenset(calendar)


def _check_date(day: dt.date) -> None:
    # datetime is a subclass of date; letting it through would make comparisons with plain
    # dates raise deep inside callers, so reject it here where the cause is obvious.
    if isinstance(day, dt.datetime) or not isinstance(day, dt.date):
        raise TypeError(f"expected a datetime.date, got {type(day).__name__}")


def is_business_day(day: dt.date, scheme: Scheme) -> bool:
    _check_date(day)
    return day.weekday() < 5 and day not in closing_days(Scheme(scheme), day.year)


def next_business_day(day: dt.date, scheme: Scheme) -> dt.date:
    """``day`` itself when it is a business day, otherwise the first one after it."""
    while not is_business_day(day, scheme):
        day += _ONE_DAY
    return day


def previous_business_day(day: dt.date, scheme: Scheme) -> dt.date:
    """``day`` itself when it is a business day, otherwise the last one before it."""
    while not is_business_day(day, scheme):
        day -= _ONE_DAY
    return day


def _step(day: dt.date, n: int, scheme: Scheme, step: dt.timedelta) -> dt.date:
    _check_date(day)
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError("the number of business days must be an int")
    while n > 0:
        day += step
        if is_business_day(day, scheme):
            n -= 1
    return day


def add_business_days(day: dt.date, n: int, scheme: Scheme) -> dt.date:
    """The ``n``-th business day after ``day``. ``day`` itself need not be a business day.

    ``n == 0`` returns ``day`` unchanged; a negative ``n`` counts backwards.
    """
    if n < 0:
        return subtract_business_days(day, -n, scheme)
    return _step(day, n, scheme, _ONE_DAY)


def subtract_business_days(day: dt.date, n: int, scheme: Scheme) -> dt.date:
    """The ``n``-th business day before ``day``; a negative ``n`` counts forwards."""
    if n < 0:
        return add_business_days(day, -n, scheme)
    return _step(day, n, scheme, -_ONE_DAY)
