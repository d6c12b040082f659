"""Instalment schedules. Amounts are integers in minor units (cents, pence), never floats."""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterable
from enum import StrEnum

__all__ = [
    "Frequency",
    "ScheduleError",
    "add_months",
    "schedule_dates",
    "split_evenly",
    "validate_explicit",
]


class ScheduleError(ValueError):
    """A schedule that cannot be collected as given. ``code`` is stable for callers/UI."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class Frequency(StrEnum):
    WEEKLY = "weekly"
    FORTNIGHTLY = "fortnightly"
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"


_DAY_STEPS = {Frequency.WEEKLY: 7, Frequency.FORTNIGHTLY: 14}
_MONTH_STEPS = {Frequency.MONTHLY: 1, Frequency.QUARTERLY: 3}


def _is_int(value: object) -> bool:
    # bool is an int subclass; True as an amount is always a bug.
    return isinstance(value, int) and not isinstance(value, bool)


def _is_date(value: object) -> bool:
    # datetime is a date subclass but cannot be compared with plain dates.
    return isinstance(value, dt.date) and not isinstance(value, dt.datetime)


def split_evenly(total: int, count: int) -> list[int]:
    """Split ``total`` minor units into ``count`` instalments differing by at most 1.

    The remainder goes one unit each to the FIRST instalments: the debtor pays the odd cents
    while the arrangement is fresh, the amount owed drops fastest early on (less is left
    outstanding if the plan fails), and the last instalment is never the largest, so a plan
    never ends on a surprise. Putting them first is also deterministic, so the same plan
    computed twice gives the same amounts.
    """
    if not _is_int(total) or not _is_int(count):
        raise TypeError("total and count must be ints (minor units), not floats or bools")
    if count < 1:
        raise ScheduleError("invalid_count", "the number of instalments must be at least 1")
    if total < 1:
        raise ScheduleError("non_positive_amount", "the total must be a positive amount")
    if total < count:
        raise ScheduleError(
            "too_many_instalments",
            f"{total} minor units cannot be split into {count} non-zero instalments",
        )
    base, remainder = divmod(total, count)
    return [base + 1] * remainder + [base] * (count - remainder)


def add_months(anchor: dt.date, months: int) -> dt.date:
    """``anchor`` moved ``months`` ahead, keeping its day-of-month or clamping to month end.

    Always computed from the anchor, never from the previous result: Jan 31 -> Feb 28 ->
    Mar 31, not Mar 28 (which is how chained "add a month" drifts).
    """
    month_index = anchor.month - 1 + months
    year, month = anchor.year + month_index // 12, month_index % 12 + 1
    last_day = calendar.monthrange(year, month)[1]
    return dt.date(year, month, min(anchor.day, last_day))


def schedule_dates(first: dt.date, count: int, frequency: Frequency | str) -> list[dt.date]:
    """Nominal due dates, starting at ``first``.

    These are the dates shown to the debtor; rolling onto business days happens later
    (``lead_times.settlement_date``), so a schedule stays stable across calendar changes.
    """
    if not _is_date(first):
        raise TypeError("first must be a datetime.date")
    if not _is_int(count) or count < 1:
        raise ScheduleError("invalid_count", "the number of instalments must be at least 1")
    try:
        frequency = Frequency(frequency)
    except ValueError:
        allowed = ", ".join(f.value for f in Frequency)
        raise ScheduleError(
            "invalid_frequency", f"unknown frequency {frequency!r}; expected one of {allowed}"
        ) from None
    if frequency in _DAY_STEPS:
        step = dt.timedelta(days=_DAY_STEPS[frequency])
        return [first + i * step for i in range(count)]
    months = _MONTH_STEPS[frequency]
    return [add_months(first, i * months) for i in range(count)]


def _as_pair(position: int, item: object) -> tuple[dt.date, int]:
    if isinstance(item, tuple | list) and len(item) == 2:
        day, amount = item
        if _is_date(day) and _is_int(amount):
            return day, amount
    raise ScheduleError(
        "invalid_item", f"instalment {position} must be a (date, int minor units) pair"
    )


def validate_explicit(
    total: int, items: Iterable[tuple[dt.date, int]]
) -> list[tuple[dt.date, int]]:
    """Check a hand-made schedule; returns it as a list of ``(date, amount)`` tuples.

    Raises ``ScheduleError`` on the first problem found, with codes: ``empty``,
    ``invalid_item``, ``non_positive_amount``, ``dates_not_increasing``, ``total_mismatch``.
    """
    if not _is_int(total):
        raise TypeError("total must be an int (minor units)")
    checked = [_as_pair(position, item) for position, item in enumerate(items, start=1)]
    if not checked:
        raise ScheduleError("empty", "a schedule needs at least one instalment")
    previous: dt.date | None = None
    for position, (day, amount) in enumerate(checked, start=1):
        if amount <= 0:
            raise ScheduleError(
                "non_positive_amount", f"instalment {position} has a non-positive amount {amount}"
            )
        if previous is not None and day <= previous:
            raise ScheduleError(
                "dates_not_increasing",
                f"instalment {position} ({day}) is not after the previous one ({previous})",
            )
        previous = day
    scheduled = sum(amount for _, amount in checked)
    if scheduled != total:
        raise ScheduleError(
            "total_mismatch",
            f"instalments add up to {scheduled} but the total is {total} "
            f"(difference {scheduled - total})",
        )
    return checked
