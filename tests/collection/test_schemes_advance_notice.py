"""The advance-notice periods on real calendars: month ends, TARGET2 and Bacs holidays."""

from __future__ import annotations

import datetime as dt

import pytest

from collection.schemes import (
    Scheme,
    notice_deadline,
    notice_is_timely,
    notice_period_error,
    notice_window_opens,
    rescheduled_due_date,
)

D = dt.date
SEPA, BACS = Scheme.SEPA_CORE, Scheme.BACS


@pytest.mark.parametrize(
    "due,period,deadline",
    [
        (D(2024, 3, 1), 14, D(2024, 2, 16)),  # across the end of a leap February
        (D(2025, 1, 2), 14, D(2024, 12, 19)),  # across the year end
        (D(2025, 5, 2), 5, D(2025, 4, 27)),  # calendar days: Easter and 1 May count
        (D(2025, 5, 2), 1, D(2025, 5, 1)),  # the shortest period an agency may agree
    ],
)
def test_sepa_counts_calendar_days(due, period, deadline):
    assert notice_deadline(due, SEPA, period) == deadline
    assert notice_is_timely(due, deadline, SEPA, period)
    assert not notice_is_timely(due, deadline + dt.timedelta(days=1), SEPA, period)


@pytest.mark.parametrize(
    "due,period,deadline",
    [
        # 10 working days before Friday 3 January 2025, over Christmas, Boxing Day and
        # New Year's Day (England & Wales): Tuesday 17 December.
        (D(2025, 1, 3), 10, D(2024, 12, 17)),
        # Easter 2025: Good Friday 18 and Easter Monday 21 April are no working days, so
        # 3 working days before Tuesday 22 April leave from Tuesday 15 (16, 17, 22).
        (D(2025, 4, 22), 3, D(2025, 4, 15)),
        # A due date on a bank holiday (Monday 26 May 2025): the debit is taken on the
        # Tuesday, and the notice needs its period of working days before that.
        (D(2025, 5, 26), 3, D(2025, 5, 20)),
    ],
)
def test_bacs_counts_working_days(due, period, deadline):
    assert notice_deadline(due, BACS, period) == deadline
    assert notice_is_timely(due, deadline, BACS, period)
    assert not notice_is_timely(due, deadline + dt.timedelta(days=1), BACS, period)


def test_a_notice_sent_on_a_weekend_counts_as_sent_on_the_friday_before():
    # Due Friday 14 March 2025, 10 working days: Friday 28 February and the weekend after
    # it all leave exactly 10 working days (3-14 March).
    for sent in (D(2025, 2, 28), D(2025, 3, 1), D(2025, 3, 2)):
        assert notice_is_timely(D(2025, 3, 14), sent, BACS, 10)
    assert not notice_is_timely(D(2025, 3, 14), D(2025, 3, 3), BACS, 10)
    assert notice_deadline(D(2025, 3, 14), BACS, 10) == D(2025, 3, 2)


def test_the_window_opens_three_days_before_the_deadline():
    assert notice_window_opens(D(2024, 3, 1), SEPA, 14) == D(2024, 2, 13)


def test_a_late_instalment_moves_to_a_business_day_a_notice_sent_now_covers():
    # 29 February 2024 + 3 days for retries + 14 days = Sunday 17 March: Monday 18.
    assert rescheduled_due_date(D(2024, 2, 29), SEPA, 14) == D(2024, 3, 18)
    # Bacs over Easter 2024 (29 March, 1 April closed): 10 working days after 28 March.
    assert rescheduled_due_date(D(2024, 3, 25), BACS, 10) == D(2024, 4, 15)


@pytest.mark.parametrize(
    "scheme,days,ok",
    [
        (SEPA, 1, True),
        (SEPA, 0, False),
        (SEPA, 14, True),
        (BACS, 3, True),
        (BACS, 2, False),
        (BACS, 10, True),
        (SEPA, 61, False),
        (SEPA, True, False),
        (BACS, "10", False),
    ],
)
def test_agreed_periods_have_the_schemes_minimum(scheme, days, ok):
    assert (notice_period_error(scheme, days) is None) is ok
