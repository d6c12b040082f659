"""Business-day calendars, checked against real TARGET2 and England & Wales closing days."""

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from collection.schemes.calendars import (
    Scheme,
    add_business_days,
    is_business_day,
    next_business_day,
    previous_business_day,
    subtract_business_days,
)

D = dt.date
SEPA = Scheme.SEPA_CORE
BACS = Scheme.BACS


def test_scheme_values():
    assert Scheme("sepa_core") is SEPA
    assert Scheme("bacs") is BACS


@pytest.mark.parametrize(
    "day",
    [
        D(2027, 1, 1),  # New Year's Day (Friday)
        D(2027, 3, 26),  # Good Friday
        D(2027, 3, 29),  # Easter Monday
        D(2028, 5, 1),  # Labour Day (Monday)
        D(2028, 12, 25),  # Christmas Day (Monday)
        D(2028, 12, 26),  # 26 December (Tuesday)
        D(2001, 12, 31),  # one-off TARGET closing day
        D(2027, 3, 27),  # Saturday
        D(2027, 3, 28),  # Sunday
    ],
)
def test_target2_closing_days(day):
    assert not is_business_day(day, SEPA)


@pytest.mark.parametrize(
    "day",
    [
        D(2027, 5, 3),  # UK early May bank holiday, but TARGET2 is open
        D(2027, 5, 31),  # UK spring bank holiday, TARGET2 open
        D(2027, 8, 30),  # UK summer bank holiday, TARGET2 open
        D(2027, 12, 27),  # UK "Christmas Day (observed)"; TARGET2 does not shift holidays
        D(2028, 1, 3),  # UK "New Year's Day (observed)"; TARGET2 open
    ],
)
def test_target2_open_on_uk_only_holidays(day):
    assert is_business_day(day, SEPA)
    assert not is_business_day(day, BACS)


@pytest.mark.parametrize(
    "day",
    [
        D(2027, 3, 26),  # Good Friday
        D(2027, 3, 29),  # Easter Monday
        D(2027, 5, 3),  # early May bank holiday
        D(2027, 5, 31),  # spring bank holiday
        D(2027, 8, 30),  # summer bank holiday
        D(2027, 12, 27),  # Christmas Day falls on Saturday -> observed Monday
        D(2027, 12, 28),  # Boxing Day falls on Sunday -> observed Tuesday
        D(2022, 9, 19),  # one-off: state funeral of Queen Elizabeth II
        D(2023, 5, 8),  # one-off: coronation of Charles III
    ],
)
def test_england_bank_holidays(day):
    assert not is_business_day(day, BACS)


def test_christmas_eve_is_open_in_both():
    # Fri 24 December 2027: neither TARGET2 nor Bacs closes on Christmas Eve.
    assert is_business_day(D(2027, 12, 24), SEPA)
    assert is_business_day(D(2027, 12, 24), BACS)


def test_bacs_ignores_scotland_only_holidays():
    # 2 January and St Andrew's Day are Scottish bank holidays only.
    assert is_business_day(D(2029, 1, 2), BACS)
    assert is_business_day(D(2027, 11, 30), BACS)


def test_labour_day_is_target_only():
    # 1 May 2028 is a Monday: TARGET2 closed for Labour Day; in England it is the early May
    # bank holiday anyway. 1 May 2029 (Tuesday): TARGET2 closed, Bacs open.
    assert not is_business_day(D(2029, 5, 1), SEPA)
    assert is_business_day(D(2029, 5, 1), BACS)


def test_next_and_previous_business_day():
    # A business day is its own next/previous business day.
    assert next_business_day(D(2027, 3, 25), SEPA) == D(2027, 3, 25)
    assert previous_business_day(D(2027, 3, 25), SEPA) == D(2027, 3, 25)
    # Easter 2027: Fri 26 .. Mon 29 closed in both schemes.
    assert next_business_day(D(2027, 3, 26), SEPA) == D(2027, 3, 30)
    assert previous_business_day(D(2027, 3, 29), SEPA) == D(2027, 3, 25)
    # Christmas 2027 in England: Sat 25, Sun 26, observed Mon 27 and Tue 28.
    assert next_business_day(D(2027, 12, 25), BACS) == D(2027, 12, 29)
    # ... while TARGET2 is simply open again on Monday 27.
    assert next_business_day(D(2027, 12, 25), SEPA) == D(2027, 12, 27)


def test_add_and_subtract_business_days():
    # Thu 25 March 2027 + 1 TARGET day skips Good Friday, the weekend and Easter Monday.
    assert add_business_days(D(2027, 3, 25), 1, SEPA) == D(2027, 3, 30)
    assert subtract_business_days(D(2027, 3, 30), 1, SEPA) == D(2027, 3, 25)
    # Fri 28 May 2027 + 2 Bacs days: Mon 31 is the spring bank holiday -> Tue 1, Wed 2 June.
    assert add_business_days(D(2027, 5, 28), 2, BACS) == D(2027, 6, 2)
    # Same in TARGET2, which is open on 31 May: Mon 31 May, Tue 1 June.
    assert add_business_days(D(2027, 5, 28), 2, SEPA) == D(2027, 6, 1)


def test_add_business_days_edge_cases():
    saturday = D(2027, 3, 27)
    assert add_business_days(saturday, 0, SEPA) == saturday  # zero means "no move"
    assert add_business_days(saturday, 1, SEPA) == D(2027, 3, 30)  # first business day after
    assert subtract_business_days(saturday, 1, SEPA) == D(2027, 3, 25)
    assert add_business_days(D(2027, 3, 30), -1, SEPA) == D(2027, 3, 25)
    assert subtract_business_days(D(2027, 3, 25), -1, SEPA) == D(2027, 3, 30)
    # Across the year end: Thu 30 Dec 2027 + 2 Bacs days = Fri 31 Dec, Mon 3 Jan 2028 is the
    # observed New Year's Day, so Tue 4 Jan.
    assert add_business_days(D(2027, 12, 30), 2, BACS) == D(2028, 1, 4)


def test_rejects_datetimes_and_float_counts():
    with pytest.raises(TypeError):
        is_business_day(dt.datetime(2027, 3, 25, 12, 0), SEPA)
    with pytest.raises(TypeError):
        add_business_days(D(2027, 3, 25), 1.0, SEPA)
    with pytest.raises(ValueError):
        is_business_day(D(2027, 3, 25), "ach")


def test_accepts_scheme_string_values():
    assert not is_business_day(D(2027, 5, 31), "bacs")
    assert is_business_day(D(2027, 5, 31), "sepa_core")


@given(
    day=st.dates(min_value=D(2000, 1, 1), max_value=D(2060, 12, 31)),
    n=st.integers(min_value=1, max_value=60),
    scheme=st.sampled_from(list(Scheme)),
)
def test_add_then_subtract_round_trips(day, n, scheme):
    start = next_business_day(day, scheme)
    later = add_business_days(start, n, scheme)
    assert is_business_day(later, scheme)
    assert later > start
    assert subtract_business_days(later, n, scheme) == start
