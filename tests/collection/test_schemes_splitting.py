"""Instalment amounts and dates."""

import calendar
import datetime as dt
import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from collection.schemes.splitting import (
    Frequency,
    ScheduleError,
    schedule_dates,
    split_evenly,
    validate_explicit,
)

D = dt.date


# --- split_evenly ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("total", "count", "expected"),
    [
        (1000, 3, [334, 333, 333]),  # the odd cent goes to the first instalment
        (1001, 3, [334, 334, 333]),  # two odd cents: first two instalments
        (100, 4, [25, 25, 25, 25]),
        (5, 5, [1, 1, 1, 1, 1]),
        (99_999, 1, [99_999]),
    ],
)
def test_split_evenly_examples(total, count, expected):
    assert split_evenly(total, count) == expected


@pytest.mark.parametrize(
    ("total", "count", "code"),
    [
        (1, 2, "too_many_instalments"),  # would need a zero instalment
        (0, 1, "non_positive_amount"),
        (-100, 2, "non_positive_amount"),
        (100, 0, "invalid_count"),
    ],
)
def test_split_evenly_rejects(total, count, code):
    with pytest.raises(ScheduleError) as excinfo:
        split_evenly(total, count)
    assert excinfo.value.code == code
    assert isinstance(excinfo.value, ValueError)


@pytest.mark.parametrize(("total", "count"), [(10.0, 2), (1000, 2.0), (True, 1), (100, True)])
def test_split_evenly_refuses_non_int(total, count):
    with pytest.raises(TypeError):
        split_evenly(total, count)


@given(data=st.data(), total=st.integers(min_value=1, max_value=10**12))
def test_split_evenly_properties(data, total):
    count = data.draw(st.integers(min_value=1, max_value=min(total, 400)))
    amounts = split_evenly(total, count)
    assert len(amounts) == count
    assert sum(amounts) == total
    assert max(amounts) - min(amounts) <= 1
    assert all(isinstance(a, int) and a > 0 for a in amounts)
    # Larger instalments first, never a larger one after a smaller one.
    assert amounts == sorted(amounts, reverse=True)
    assert split_evenly(total, count) == amounts  # deterministic


# --- schedule_dates -------------------------------------------------------------------------


def test_monthly_from_month_end_clamps_without_drifting():
    # Anchored on the 31st: clamp to Feb 28 / Apr 30, but come back to the 31st in March/May.
    assert schedule_dates(D(2027, 1, 31), 5, "monthly") == [
        D(2027, 1, 31),
        D(2027, 2, 28),
        D(2027, 3, 31),
        D(2027, 4, 30),
        D(2027, 5, 31),
    ]


def test_monthly_in_a_leap_year():
    # 2028 is a leap year: the January 31st anchor lands on 29 February.
    assert schedule_dates(D(2028, 1, 31), 3, Frequency.MONTHLY) == [
        D(2028, 1, 31),
        D(2028, 2, 29),
        D(2028, 3, 31),
    ]


def test_monthly_from_leap_day_keeps_the_29th():
    assert schedule_dates(D(2028, 2, 29), 4, "monthly") == [
        D(2028, 2, 29),
        D(2028, 3, 29),
        D(2028, 4, 29),
        D(2028, 5, 29),
    ]


def test_monthly_across_year_end():
    # Anchor 30th: Dec 30, Jan 30, then February 2028 has 29 days.
    assert schedule_dates(D(2027, 11, 30), 4, "monthly") == [
        D(2027, 11, 30),
        D(2027, 12, 30),
        D(2028, 1, 30),
        D(2028, 2, 29),
    ]


def test_quarterly():
    # From the leap day: 29th of every third month, and Feb 2029 clamps to the 28th.
    assert schedule_dates(D(2028, 2, 29), 5, "quarterly") == [
        D(2028, 2, 29),
        D(2028, 5, 29),
        D(2028, 8, 29),
        D(2028, 11, 29),
        D(2029, 2, 28),
    ]
    assert schedule_dates(D(2027, 11, 30), 2, "quarterly") == [D(2027, 11, 30), D(2028, 2, 29)]


def test_weekly_and_fortnightly():
    assert schedule_dates(D(2027, 12, 27), 3, "weekly") == [
        D(2027, 12, 27),
        D(2028, 1, 3),
        D(2028, 1, 10),
    ]
    # Fortnightly across the leap day.
    assert schedule_dates(D(2028, 2, 15), 3, "fortnightly") == [
        D(2028, 2, 15),
        D(2028, 2, 29),
        D(2028, 3, 14),
    ]


def test_schedule_dates_rejects():
    with pytest.raises(ScheduleError) as excinfo:
        schedule_dates(D(2027, 1, 1), 3, "daily")
    assert excinfo.value.code == "invalid_frequency"
    with pytest.raises(ScheduleError) as excinfo:
        schedule_dates(D(2027, 1, 1), 0, "monthly")
    assert excinfo.value.code == "invalid_count"
    with pytest.raises(TypeError):
        schedule_dates(dt.datetime(2027, 1, 1, 9, 0), 2, "monthly")


@given(
    first=st.dates(min_value=D(2000, 1, 1), max_value=D(2080, 12, 31)),
    count=st.integers(min_value=1, max_value=40),
    frequency=st.sampled_from(["monthly", "quarterly"]),
)
def test_month_based_schedules_stay_on_the_anchor_day(first, count, frequency):
    step = 1 if frequency == "monthly" else 3
    dates = schedule_dates(first, count, frequency)
    assert len(dates) == count
    assert dates[0] == first
    for i, day in enumerate(dates):
        months = first.month - 1 + i * step
        assert (day.year, day.month) == (first.year + months // 12, months % 12 + 1)
        assert day.day == min(first.day, calendar.monthrange(day.year, day.month)[1])
    assert all(a < b for a, b in itertools.pairwise(dates))


# --- validate_explicit ----------------------------------------------------------------------


def test_validate_explicit_accepts_an_exact_schedule():
    items = [(D(2027, 1, 31), 5000), (D(2027, 2, 28), 2500), (D(2027, 3, 31), 2501)]
    assert validate_explicit(10_001, items) == items


@pytest.mark.parametrize(
    ("total", "items", "code"),
    [
        (100, [], "empty"),
        # Off by one cent in either direction.
        (10_000, [(D(2027, 1, 1), 5000), (D(2027, 2, 1), 4999)], "total_mismatch"),
        (10_000, [(D(2027, 1, 1), 5000), (D(2027, 2, 1), 5001)], "total_mismatch"),
        (5000, [(D(2027, 1, 1), 5000), (D(2027, 2, 1), 0)], "non_positive_amount"),
        (5000, [(D(2027, 1, 1), 6000), (D(2027, 2, 1), -1000)], "non_positive_amount"),
        (200, [(D(2027, 1, 1), 100), (D(2027, 1, 1), 100)], "dates_not_increasing"),
        (200, [(D(2027, 2, 1), 100), (D(2027, 1, 1), 100)], "dates_not_increasing"),
        (200, [(D(2027, 1, 1), 100.0), (D(2027, 2, 1), 100)], "invalid_item"),
        (200, [(D(2027, 1, 1), 100, "x")], "invalid_item"),
        (200, [("2027-01-01", 200)], "invalid_item"),
    ],
)
def test_validate_explicit_rejects(total, items, code):
    with pytest.raises(ScheduleError) as excinfo:
        validate_explicit(total, items)
    assert excinfo.value.code == code
    assert excinfo.value.message == str(excinfo.value)


def test_validate_explicit_reports_the_difference():
    with pytest.raises(ScheduleError, match="difference -1"):
        validate_explicit(10_000, [(D(2027, 1, 1), 9999)])
