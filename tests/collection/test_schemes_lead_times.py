"""Settlement and submission dates against the real 2026-2028 calendars.

Each expected date is worked out by hand in the comment next to it.
"""

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from collection.schemes.calendars import Scheme, is_business_day
from collection.schemes.lead_times import (
    earliest_settlement_date,
    is_due_for_submission,
    refund_right_end,
    return_window_end,
    settlement_date,
    submission_date,
)

D = dt.date
SEPA = Scheme.SEPA_CORE
BACS = Scheme.BACS


@pytest.mark.parametrize(
    ("due", "settlement", "submission"),
    [
        # Due on Good Friday 2027-03-26: TARGET2 is closed Fri 26 and Mon 29 (Easter Monday),
        # so settlement rolls forward to Tue 30. D-1 from Tue 30: Mon 29 closed, the weekend,
        # Fri 26 closed -> Thu 25.
        (D(2027, 3, 26), D(2027, 3, 30), D(2027, 3, 25)),
        # Labour Day 2027 is a Saturday; TARGET2 is open on Mon 3 May (the UK May bank
        # holiday is not a TARGET2 day), so settlement Mon 3, submission Fri 30 April.
        (D(2027, 5, 1), D(2027, 5, 3), D(2027, 4, 30)),
        # An ordinary Wednesday needs no rolling: settlement Wed 2027-06-16, submission Tue 15.
        (D(2027, 6, 16), D(2027, 6, 16), D(2027, 6, 15)),
        # Christmas Day 2026 is a Friday, 26 December a Saturday: next TARGET2 day is Mon 28.
        # D-1: Sun 27, Sat 26, Fri 25 closed -> Thu 24 December.
        (D(2026, 12, 25), D(2026, 12, 28), D(2026, 12, 24)),
        # New Year's Day 2028 is a Saturday. TARGET2 has no "observed" holidays, so Mon 3
        # January is open: settlement Mon 3, submission Fri 31 December 2027.
        (D(2028, 1, 1), D(2028, 1, 3), D(2027, 12, 31)),
        # Leap day 2028-02-29 is a Tuesday: no rolling, submission Mon 28 February.
        (D(2028, 2, 29), D(2028, 2, 29), D(2028, 2, 28)),
    ],
)
def test_sepa_core_dates(due, settlement, submission):
    assert settlement_date(due, SEPA) == settlement
    assert submission_date(due, SEPA) == submission


@pytest.mark.parametrize(
    ("due", "settlement", "submission"),
    [
        # Due Mon 2027-05-31, the spring bank holiday: settlement Tue 1 June. Two business days
        # back: Mon 31 closed, weekend, Fri 28 (1), Thu 27 (2) -> input day Thu 27 May.
        (D(2027, 5, 31), D(2027, 6, 1), D(2027, 5, 27)),
        # Due on Good Friday 2027-03-26: Fri 26 and Mon 29 closed -> settlement Tue 30.
        # Back two: Thu 25 (1), Wed 24 (2).
        (D(2027, 3, 26), D(2027, 3, 30), D(2027, 3, 24)),
        # Mon 2027-05-03 is the early May bank holiday: settlement Tue 4 May (TARGET2 would be
        # open that day). Back two: Mon 3 closed, weekend, Fri 30 April (1), Thu 29 (2).
        (D(2027, 5, 3), D(2027, 5, 4), D(2027, 4, 29)),
        # Christmas 2027: Sat 25, Sun 26, observed holidays Mon 27 and Tue 28 -> Wed 29.
        # Back two: Tue 28, Mon 27, Sun, Sat closed; Fri 24 (1), Thu 23 (2).
        (D(2027, 12, 25), D(2027, 12, 29), D(2027, 12, 23)),
        # Christmas 2026: Fri 25, Sat 26, Boxing Day observed Mon 28 -> settlement Tue 29.
        # Back two: Thu 24 (1), Wed 23 (2).
        (D(2026, 12, 25), D(2026, 12, 29), D(2026, 12, 23)),
        # Ordinary Wednesday 2027-06-16: input Mon 14, processing Tue 15, settlement Wed 16.
        (D(2027, 6, 16), D(2027, 6, 16), D(2027, 6, 14)),
        # Due Mon 2022-09-19, the Queen's state funeral (a one-off bank holiday): Tue 20.
        # Back two: Mon 19 closed, weekend, Fri 16 (1), Thu 15 (2).
        (D(2022, 9, 19), D(2022, 9, 20), D(2022, 9, 15)),
    ],
)
def test_bacs_dates(due, settlement, submission):
    assert settlement_date(due, BACS) == settlement
    assert submission_date(due, BACS) == submission


def test_state_funeral_was_a_target2_business_day():
    assert settlement_date(D(2022, 9, 19), SEPA) == D(2022, 9, 19)


def test_buffer_days_for_banks_with_earlier_cut_offs():
    # Good Friday due date, settlement Tue 2027-03-30; D-1 is Thu 25, one extra day: Wed 24.
    assert submission_date(D(2027, 3, 26), SEPA, buffer_days=1) == D(2027, 3, 24)
    with pytest.raises(ValueError):
        submission_date(D(2027, 3, 26), SEPA, buffer_days=-1)


def test_is_due_for_submission():
    due = D(2027, 3, 26)  # submission date Thu 2027-03-25 (see above)
    assert not is_due_for_submission(due, D(2027, 3, 24), SEPA)
    assert is_due_for_submission(due, D(2027, 3, 25), SEPA)
    # Overdue: still reported as due, the caller re-dates it.
    assert is_due_for_submission(due, D(2027, 3, 26), SEPA)
    # Bacs for the same due date must go in one business day earlier (Wed 24).
    assert is_due_for_submission(due, D(2027, 3, 24), BACS)
    assert not is_due_for_submission(due, D(2027, 3, 23), BACS)


def test_earliest_settlement_date():
    # Submitted Thu 2027-03-25: next TARGET2 day after that is Tue 30.
    assert earliest_settlement_date(D(2027, 3, 25), SEPA) == D(2027, 3, 30)
    # Submitted on Saturday 27 March: processed Tue 30, settles Wed 31.
    assert earliest_settlement_date(D(2027, 3, 27), SEPA) == D(2027, 3, 31)
    # Bacs input Thu 2027-05-27: processing Fri 28, (Mon 31 holiday) settlement Tue 1 June.
    assert earliest_settlement_date(D(2027, 5, 27), BACS) == D(2027, 6, 1)


def test_return_windows():
    # SEPA D+5 TARGET days from Tue 2027-03-23: Wed 24, Thu 25, (Good Friday, weekend,
    # Easter Monday) Tue 30, Wed 31, Thu 1 April.
    assert return_window_end(D(2027, 3, 23), SEPA) == D(2027, 4, 1)
    # Bacs ARUDD +2 from Fri 2027-05-28: (Mon 31 holiday) Tue 1, Wed 2 June.
    assert return_window_end(D(2027, 5, 28), BACS) == D(2027, 6, 2)


def test_refund_right():
    # 8 weeks = 56 calendar days: Tue 2027-03-30 + 56 days = Tue 2027-05-25.
    assert refund_right_end(D(2027, 3, 30), SEPA) == D(2027, 5, 25)
    # Direct Debit Guarantee: no end date.
    assert refund_right_end(D(2027, 3, 30), BACS) is None


@given(
    due=st.dates(min_value=D(2000, 1, 1), max_value=D(2060, 12, 31)),
    scheme=st.sampled_from(list(Scheme)),
)
def test_submission_and_settlement_are_consistent(due, scheme):
    settlement = settlement_date(due, scheme)
    submission = submission_date(due, scheme)
    assert is_business_day(settlement, scheme)
    assert is_business_day(submission, scheme)
    assert due <= settlement < due + dt.timedelta(days=10)  # only ever rolls forward
    assert submission < settlement
    # Submitting on the submission date reaches exactly the settlement date.
    assert earliest_settlement_date(submission, scheme) == settlement


def test_latest_run_date_is_the_longest_lead_time_plus_the_buffer_in_business_days():
    from collection.schemes import latest_run_date

    thursday = dt.date(2024, 2, 29)
    # Bacs' two days is the longest lead: Thursday + 2 business days = Monday.
    assert latest_run_date(thursday) == dt.date(2024, 3, 4)
    assert latest_run_date(thursday, buffer_days=1) == dt.date(2024, 3, 5)
    # Over Easter (Good Friday and Easter Monday close TARGET2 and Bacs) it reaches further.
    assert latest_run_date(dt.date(2024, 3, 28)) == dt.date(2024, 4, 3)
