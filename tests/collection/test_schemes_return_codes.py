"""Reason code -> action table, and the retry policy."""

import dataclasses
import datetime as dt

import pytest

from collection.schemes.calendars import Scheme
from collection.schemes.return_codes import (
    RULES,
    RetryPolicy,
    ReturnAction,
    ReturnRule,
    rule_for,
)

D = dt.date
SEPA = Scheme.SEPA_CORE
BACS = Scheme.BACS
RETRY = ReturnAction.RETRY
CANCEL = ReturnAction.STOP_CANCEL_MANDATE
SUSPEND = ReturnAction.STOP_SUSPEND_DEBT
STOP = ReturnAction.STOP

# Written out independently of the module so that changing an action is a visible decision.
EXPECTED = {
    (SEPA, "AM04"): RETRY,
    (SEPA, "MS02"): RETRY,
    (SEPA, "MS03"): RETRY,
    (SEPA, "ED05"): RETRY,
    (SEPA, "AC01"): CANCEL,
    (SEPA, "AC04"): CANCEL,
    (SEPA, "AC06"): CANCEL,
    (SEPA, "AG01"): CANCEL,
    (SEPA, "MD01"): CANCEL,
    (SEPA, "MD02"): CANCEL,
    (SEPA, "MD07"): SUSPEND,
    (SEPA, "MD06"): STOP,
    (SEPA, "AM05"): STOP,
    (SEPA, "BE05"): STOP,
    (SEPA, "FF01"): STOP,
    (SEPA, "AG02"): STOP,
    (SEPA, "RC01"): STOP,
    (SEPA, "CNOR"): STOP,
    (SEPA, "DNOR"): STOP,
    (SEPA, "RR01"): STOP,
    (SEPA, "RR02"): STOP,
    (SEPA, "RR03"): STOP,
    (SEPA, "RR04"): STOP,
    (SEPA, "SL01"): STOP,
    (SEPA, "FOCR"): STOP,
    (BACS, "0"): RETRY,
    (BACS, "1"): CANCEL,
    (BACS, "2"): SUSPEND,
    (BACS, "3"): CANCEL,
    (BACS, "4"): STOP,
    (BACS, "5"): CANCEL,
    (BACS, "6"): CANCEL,
    (BACS, "7"): STOP,
    (BACS, "8"): STOP,
    (BACS, "9"): STOP,
    (BACS, "A"): STOP,
    (BACS, "B"): CANCEL,
}


def test_table_has_exactly_the_expected_codes():
    assert set(RULES) == set(EXPECTED)


@pytest.mark.parametrize(("key", "action"), sorted(EXPECTED.items()))
def test_every_code_maps_to_its_action(key, action):
    scheme, code = key
    rule = rule_for(code, scheme)
    assert rule.action is action
    assert rule.code == code
    assert rule.scheme is scheme
    assert rule.retryable is (action is RETRY)
    assert rule.description
    assert not rule.unknown


def test_md06_refund_keeps_the_mandate():
    # A refund under the 8-week right does not revoke the mandate; only this instalment stops.
    rule = rule_for("MD06", SEPA)
    assert rule.action is STOP
    assert not rule.retryable


def test_unspecified_reasons_are_retried_only_once():
    assert rule_for("MS02", SEPA).max_retries == 1
    assert rule_for("MS03", SEPA).max_retries == 1
    assert rule_for("AM04", SEPA).max_retries is None  # policy limit applies


def test_codes_are_normalised():
    assert rule_for(" am04 ", SEPA).code == "AM04"
    assert rule_for("b", BACS).action is CANCEL
    assert rule_for("0", "bacs").action is RETRY


@pytest.mark.parametrize(
    ("code", "scheme"),
    [("ZZ99", SEPA), ("AM04", BACS), ("0", SEPA), ("", SEPA), ("Z", BACS)],
)
def test_unknown_codes_stop_conservatively(code, scheme):
    rule = rule_for(code, scheme)
    assert rule.unknown
    assert rule.action is STOP
    assert not rule.retryable


def test_rules_are_frozen_and_consistent():
    rule = rule_for("AM04", SEPA)
    with pytest.raises(dataclasses.FrozenInstanceError):
        rule.action = STOP
    with pytest.raises(ValueError):
        ReturnRule("X", SEPA, STOP, "inconsistent", retryable=True)


# --- RetryPolicy ----------------------------------------------------------------------------


def test_default_retry_schedule_and_limit():
    policy = RetryPolicy()
    assert (policy.max_attempts, policy.delays) == (3, (3, 7, 14))
    failed = D(2027, 3, 24)  # Wednesday before Easter 2027
    # +3 TARGET days: Thu 25, (Good Friday, weekend, Easter Monday) Tue 30, Wed 31.
    assert policy.next_retry_date(failed, 1, SEPA) == D(2027, 3, 31)
    # +7: Thu 25, Tue 30, Wed 31, Thu 1, Fri 2, Mon 5, Tue 6 April.
    assert policy.next_retry_date(failed, 2, SEPA) == D(2027, 4, 6)
    # +14: ... Wed 7, Thu 8, Fri 9, Mon 12, Tue 13, Wed 14, Thu 15 April.
    assert policy.next_retry_date(failed, 3, SEPA) == D(2027, 4, 15)
    # Fourth retry: limit reached.
    assert policy.next_retry_date(failed, 4, SEPA) is None


def test_retry_respects_the_rule():
    policy = RetryPolicy()
    failed = D(2027, 6, 14)  # Monday
    ms02 = rule_for("MS02", SEPA)
    # +3 TARGET days from Mon 14 June 2027: Thu 17.
    assert policy.next_retry_date(failed, 1, SEPA, rule=ms02) == D(2027, 6, 17)
    assert policy.next_retry_date(failed, 2, SEPA, rule=ms02) is None  # retry once only
    assert policy.next_retry_date(failed, 1, SEPA, rule=rule_for("MD07", SEPA)) is None
    assert policy.next_retry_date(failed, 1, SEPA, rule=rule_for("XX01", SEPA)) is None
    assert policy.next_retry_date(failed, 2, SEPA, rule=rule_for("AM04", SEPA)) is not None


def test_custom_policy_repeats_the_last_delay():
    policy = RetryPolicy(max_attempts=5, delays=(2,))
    # Fri 2027-05-28 + 2 Bacs days: (Mon 31 holiday) Tue 1, Wed 2 June.
    assert policy.next_retry_date(D(2027, 5, 28), 5, BACS) == D(2027, 6, 2)
    assert policy.next_retry_date(D(2027, 5, 28), 6, BACS) is None
    assert RetryPolicy(max_attempts=0).next_retry_date(D(2027, 5, 28), 1, BACS) is None


def test_bacs_representation_window():
    policy = RetryPolicy()
    first = D(2027, 5, 4)  # first presented; re-presentation allowed up to 4 June 2027
    # Failed Tue 25 May, third retry +14 Bacs days (Mon 31 May is a holiday): Tue 15 June,
    # past the one-month window.
    assert policy.next_retry_date(D(2027, 5, 25), 3, BACS, first_presented=first) is None
    # First retry +3: Wed 26, Thu 27, Fri 28 May -> inside the window.
    assert policy.next_retry_date(D(2027, 5, 25), 1, BACS, first_presented=first) == D(2027, 5, 28)
    # SEPA has no such window: +14 TARGET days from Tue 25 May (31 May is open) = Mon 14 June.
    assert policy.next_retry_date(D(2027, 5, 25), 3, SEPA, first_presented=first) == D(2027, 6, 14)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_attempts": -1},
        {"delays": ()},
        {"delays": (3, 0)},
        {"delays": (-1,)},
        {"delays": (1.5,)},
    ],
)
def test_invalid_policies(kwargs):
    with pytest.raises(ValueError):
        RetryPolicy(**kwargs)


def test_attempt_numbers_start_at_one():
    with pytest.raises(ValueError):
        RetryPolicy().next_retry_date(D(2027, 5, 25), 0, SEPA)
