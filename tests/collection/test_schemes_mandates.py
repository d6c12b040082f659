"""Scheme rules added for mandates and Stripe's failure codes (pure Python, no database)."""

import datetime as dt

import pytest

from collection.schemes import (
    Scheme,
    mandate_usable_from,
    rule_for,
    scheme_reason_code,
    sepa_mandate_expiry,
)

D = dt.date


@pytest.mark.parametrize(
    "code,scheme,expected",
    [
        ("insufficient_funds", Scheme.SEPA_CORE, "AM04"),
        ("account_closed", Scheme.SEPA_CORE, "AC04"),
        ("bank_account_closed", Scheme.SEPA_CORE, "AC04"),
        ("debit_not_authorized", Scheme.SEPA_CORE, "MD01"),
        ("debit_disputed", Scheme.SEPA_CORE, "MD06"),
        ("recipient_deceased", Scheme.SEPA_CORE, "MD07"),
        ("insufficient_funds", Scheme.BACS, "0"),
        ("recipient_deceased", Scheme.BACS, "2"),
        ("account_closed", Scheme.BACS, "B"),
        ("am04", Scheme.SEPA_CORE, "AM04"),  # already a scheme code: normalised, kept
        ("b", Scheme.BACS, "B"),
        ("something_new", Scheme.SEPA_CORE, "something_new"),
    ],
)
def test_stripe_codes_become_scheme_codes(code, scheme, expected):
    assert scheme_reason_code(code, scheme) == expected


def test_every_translated_code_has_a_known_rule():
    from collection.schemes.provider_codes import _BY_SCHEME

    for scheme, table in _BY_SCHEME.items():
        for stripe_code in table:
            assert not rule_for(scheme_reason_code(stripe_code, scheme), scheme).unknown


def test_an_unknown_stripe_code_stops_for_review():
    rule = rule_for(scheme_reason_code("something_new", Scheme.SEPA_CORE), Scheme.SEPA_CORE)
    assert rule.unknown and rule.action.value == "stop"


@pytest.mark.parametrize(
    "lodged,scheme,usable",
    [
        (D(2024, 3, 1), Scheme.SEPA_CORE, D(2024, 3, 1)),
        (D(2024, 3, 1), Scheme.BACS, D(2024, 3, 6)),  # Fri → Mon, Tue, Wed
        (D(2024, 3, 27), Scheme.BACS, D(2024, 4, 3)),  # Good Friday and Easter Monday
        (D(2024, 3, 2), Scheme.BACS, D(2024, 3, 6)),  # lodged on a Saturday
    ],
)
def test_mandates_are_usable_after_the_schemes_lodgement(lodged, scheme, usable):
    assert mandate_usable_from(lodged, scheme) == usable


def test_an_unused_sepa_mandate_expires_after_36_months():
    assert sepa_mandate_expiry(D(2021, 2, 28), None) == D(2024, 2, 28)
    assert sepa_mandate_expiry(D(2020, 1, 15), D(2021, 8, 31)) == D(2024, 8, 31)
    assert sepa_mandate_expiry(D(2021, 3, 31), D(2021, 5, 31)) == D(2024, 5, 31)
