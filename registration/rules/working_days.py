"""Working days for the time an agency has to answer a life event.

Not a clearing calendar (collection/schemes/calendars.py is SEPA's and Bacs's, and a
higher layer): an agency's office is closed at weekends and on the public holidays of
its country, which ``holidays`` knows. The hub uses one calendar for every agency,
``HUB_WORKING_DAY_CALENDAR`` (an ISO 3166 country code, optionally with a subdivision:
``NL``, ``GB-ENG``); docs/operator-guide.md says how to set it.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

import holidays

_ONE_DAY = dt.timedelta(days=1)


@lru_cache(maxsize=64)
def public_holidays(calendar: str, year: int) -> frozenset[dt.date]:
    country, _, subdivision = calendar.partition("-")
    return frozenset(holidays.country_holidays(country, subdiv=subdivision or None, years=year))


def is_working_day(day: dt.date, calendar: str) -> bool:
    return day.weekday() < 5 and day not in public_holidays(calendar, day.year)


def add_working_days(day: dt.date, count: int, calendar: str) -> dt.date:
    """The ``count``-th working day after ``day`` (``day`` itself does not count)."""
    if count < 0:
        raise ValueError("count must not be negative")
    while count:
        day += _ONE_DAY
        if is_working_day(day, calendar):
            count -= 1
    return day


def working_days_between(start: dt.date, end: dt.date, calendar: str) -> int:
    """Working days after ``start`` up to and including ``end`` (0 when end <= start)."""
    days, day = 0, start
    while day < end:
        day += _ONE_DAY
        days += is_working_day(day, calendar)
    return days
