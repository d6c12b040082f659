"""The life-event table (registration/rules/life_events.py) with plain values."""

from __future__ import annotations

import datetime as dt

import pytest

from registration.rules import life_events as rules
from registration.rules.working_days import add_working_days, working_days_between

ADDRESS = {"line1": "Stationsplein 1", "postcode": "1012 AB", "city": "Amsterdam", "country": "NL"}

# For every new kind: facts that pass, and one wrong version of them per rule.
VALID = {
    "birth": {"place_of_birth": "Utrecht", "parent_name": "Anna de Vries"},
    "marriage": {"partner_name": "Piet Pietersen", "place": "Amsterdam"},
    "civil_partnership": {"partner_name": "Sam Bakker"},
    "partnership_ended": {"partner_name": "Piet Pietersen", "how": "divorce"},
    "job_loss": {"employer": "Fokker", "reason": "redundancy"},
    "business_started": {
        "business_identifier": {"scheme": "nl_kvk", "value": "12345678"},
        "activity": "Bakery",
    },
}
WRONG = [
    ("birth", {"parent_name": "Anna de Vries"}, "missing_field", "details.place_of_birth"),
    ("birth", {**VALID["birth"], "weight": 3}, "unknown_field", "details.weight"),
    ("marriage", {"place": "Amsterdam"}, "missing_field", "details.partner_name"),
    ("marriage", {"partner_name": "x" * 301}, "too_long", "details.partner_name"),
    ("civil_partnership", {"partner_name": "   "}, "missing_field", "details.partner_name"),
    ("partnership_ended", {"partner_name": "Piet"}, "missing_field", "details.how"),
    ("partnership_ended", {"partner_name": "P", "how": "quarrel"}, "invalid_choice", "details.how"),
    (
        "partnership_ended",
        {"partner_name": "P", "how": "divorce", "new_address": {**ADDRESS, "country": "nl"}},
        "invalid_value",
        "details.new_address.country",
    ),
    ("job_loss", {"employer": "Fokker"}, "missing_field", "details.reason"),
    (
        "job_loss",
        {**VALID["job_loss"], "notice_given_on": "31-01-2024"},
        "invalid_date",
        "details.notice_given_on",
    ),
    ("business_started", {"activity": "Bakery"}, "missing_field", "details.business_identifier"),
    (
        "business_started",
        {"business_identifier": {"scheme": "nl_bsn", "value": "111222333"}, "activity": "B"},
        "invalid_choice",
        "details.business_identifier.scheme",
    ),
    (
        "business_started",
        {"business_identifier": {"scheme": "nl_kvk", "value": "1234"}, "activity": "B"},
        "invalid_identifier",
        "details.business_identifier.value",
    ),
]


@pytest.mark.parametrize("kind", sorted(VALID))
def test_each_new_kind_accepts_its_facts(kind):
    facts = rules.validate_facts(rules.KINDS[kind], VALID[kind])
    assert set(facts) == set(VALID[kind])


@pytest.mark.parametrize("kind,details,code,field", WRONG)
def test_each_new_kind_refuses_wrong_facts_naming_the_field(kind, details, code, field):
    with pytest.raises(rules.FactError) as refused:
        rules.validate_facts(rules.KINDS[kind], details)
    assert (refused.value.code, refused.value.field) == (code, field)


def test_facts_are_canonical():
    facts = rules.validate_facts(
        rules.KINDS["business_started"],
        {
            "business_identifier": {"scheme": "nl_kvk", "value": "1234 5678"},
            "activity": " Bakery  shop ",
        },
    )
    assert facts == {
        "business_identifier": {"scheme": "nl_kvk", "value": "12345678"},
        "activity": "Bakery shop",
    }


@pytest.mark.parametrize(
    "kind,follow_up",
    [
        ("birth", "constituent.born"),
        ("marriage", "constituent.partnership_formed"),
        ("civil_partnership", "constituent.partnership_formed"),
        ("partnership_ended", "constituent.partnership_ended"),
        ("job_loss", "constituent.employment_ended"),
        ("business_started", "constituent.business_started"),
        ("death", "constituent.deceased"),
        ("business_ceased", "constituent.ceased"),
        ("address_change", None),
    ],
)
def test_each_kind_declares_its_follow_up_event(kind, follow_up):
    assert rules.KINDS[kind].follow_up_event == follow_up


def test_implied_events_follow_from_the_facts_given():
    marriage = rules.KINDS["marriage"]
    assert rules.implied_events(marriage, {"partner_name": "P"}) == []
    assert rules.implied_events(marriage, {"partner_name": "P", "new_name": "Jan Pietersen"}) == [
        ("name_change", {"name": "Jan Pietersen"})
    ]
    ended = rules.KINDS["partnership_ended"]
    assert rules.implied_events(ended, {"partner_name": "P", "new_address": ADDRESS}) == [
        ("address_change", {"address": ADDRESS})
    ]
    started = rules.KINDS["business_started"]
    assert rules.implied_events(started, {"trading_address": ADDRESS}) == [
        ("address_change", {"address": ADDRESS})
    ]


def test_who_may_report_is_declared_per_kind():
    death = rules.KINDS["death"]
    assert rules.check_reporter(death, "executor") is rules.Reporter.EXECUTOR
    assert rules.check_reporter(death, None) is rules.Reporter.AGENCY
    with pytest.raises(rules.FactError) as refused:
        rules.check_reporter(death, "self")  # nobody reports their own death
    assert refused.value.code == "reporter_not_allowed"
    with pytest.raises(rules.FactError):
        rules.check_reporter(rules.KINDS["job_loss"], "parent")
    assert rules.check_reporter(rules.KINDS["job_loss"], "self") is rules.Reporter.SELF


def test_subject_and_dates():
    today = dt.date(2025, 6, 1)
    with pytest.raises(rules.FactError) as refused:
        rules.check_subject(
            rules.KINDS["business_started"],
            subject_kind="person",
            occurred_on=today,
            today=today,
            date_of_birth=None,
        )
    assert refused.value.code == "kind_mismatch"
    with pytest.raises(rules.FactError) as refused:
        rules.check_subject(
            rules.KINDS["birth"],
            subject_kind="person",
            occurred_on=dt.date(2025, 5, 2),
            today=today,
            date_of_birth=dt.date(2025, 5, 1),
        )
    assert refused.value.code == "date_of_birth_differs"


def test_a_second_report_conflicts_only_where_both_say_something_different():
    recorded = {"place_of_death": "Utrecht"}
    same_day = dt.date(2025, 3, 14)
    assert (
        rules.conflicts(
            recorded_on=same_day, recorded_facts=recorded, reported_on=same_day, reported_facts={}
        )
        == []
    )
    assert (
        rules.conflicts(
            recorded_on=same_day,
            recorded_facts=recorded,
            reported_on=same_day,
            reported_facts={"place_of_death": " utrecht "},
        )
        == []
    )
    found = rules.conflicts(
        recorded_on=same_day,
        recorded_facts=recorded,
        reported_on=dt.date(2025, 3, 15),
        reported_facts={"place_of_death": "Zwolle"},
    )
    assert [c.field for c in found] == ["occurred_on", "details.place_of_death"]


def test_identity_makes_a_death_one_event_and_two_marriages_two():
    death = rules.KINDS["death"]
    assert rules.identity(death, dt.date(2025, 1, 1), {}) == rules.identity(
        death, dt.date(2025, 2, 2), {"place_of_death": "X"}
    )
    marriage = rules.KINDS["marriage"]
    first = rules.identity(marriage, dt.date(2001, 1, 1), {"partner_name": "Ann Smith"})
    again = rules.identity(marriage, dt.date(2001, 1, 2), {"partner_name": "ann  smith"})
    other = rules.identity(marriage, dt.date(2011, 1, 1), {"partner_name": "Bea Jones"})
    assert first == again and first != other


def test_offers_apply_to_the_kinds_declared_and_the_ages_given():
    offer = rules.Offerable(kinds=frozenset({"death"}), min_age=18, max_age=66)
    born = dt.date(1960, 6, 1)
    on = dt.date(2025, 5, 31)  # aged 64
    assert rules.offer_applies(
        offer, kind="death", subject_kind="person", date_of_birth=born, occurred_on=on
    )
    assert not rules.offer_applies(
        offer, kind="birth", subject_kind="person", date_of_birth=born, occurred_on=on
    )
    assert not rules.offer_applies(
        offer,
        kind="death",
        subject_kind="person",
        date_of_birth=dt.date(1950, 1, 1),
        occurred_on=on,
    )
    assert rules.offer_applies(
        offer, kind="death", subject_kind="person", date_of_birth=None, occurred_on=on
    )
    assert rules.age_on(dt.date(2000, 6, 2), dt.date(2025, 6, 1)) == 24


def test_working_days_skip_weekends_and_public_holidays():
    # Friday 25 April 2025 + 1 working day in NL: Monday 28 April (King's Day is Sunday
    # 27 April that year and falls on Saturday 26 April instead).
    assert add_working_days(dt.date(2025, 4, 25), 1, "NL") == dt.date(2025, 4, 28)
    # Christmas: 25 and 26 December are holidays in NL.
    assert add_working_days(dt.date(2024, 12, 24), 1, "NL") == dt.date(2024, 12, 27)
    # Ten working days from Monday 3 March 2025: Monday 17 March.
    assert add_working_days(dt.date(2025, 3, 3), 10, "NL") == dt.date(2025, 3, 17)
    assert working_days_between(dt.date(2025, 3, 3), dt.date(2025, 3, 17), "NL") == 10
    # England's late-summer bank holiday, Monday 25 August 2025.
    assert add_working_days(dt.date(2025, 8, 22), 1, "GB-ENG") == dt.date(2025, 8, 26)
