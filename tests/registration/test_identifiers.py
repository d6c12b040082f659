"""Each identifier scheme with real valid and invalid numbers."""

import pytest

from registration.rules.identifiers import IdentifierError, mask, normalise

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "scheme,value,expected",
    [
        ("nl_bsn", "111222333", "111222333"),  # the Dutch government's published test BSN
        ("nl_bsn", "123456782", "123456782"),
        ("nl_bsn", "1234.56.782", "123456782"),
        ("uk_nino", "AB 12 34 56 C", "AB123456C"),
        ("uk_nino", "ce123456d", "CE123456D"),
        ("nl_kvk", "69599084", "69599084"),
        ("uk_crn", "00445790", "00445790"),  # Tesco PLC
        ("uk_crn", "SC005336", "SC005336"),  # a Scottish company
        ("uk_crn", "445790", "00445790"),  # leading zeros dropped in some documents
    ],
)
def test_valid_identifiers_normalise(scheme, value, expected):
    assert normalise(scheme, value) == expected


@pytest.mark.parametrize(
    "scheme,value,code",
    [
        ("nl_bsn", "111222334", "invalid_check_digit"),  # last digit changed: fails the 11-check
        ("nl_bsn", "123456781", "invalid_check_digit"),
        ("nl_bsn", "12345", "invalid_identifier"),
        ("uk_nino", "QQ123456C", "invalid_identifier"),  # HMRC's specimen: Q is never second
        ("uk_nino", "DA123456C", "invalid_identifier"),  # D is never a first letter
        ("uk_nino", "GB123456A", "invalid_identifier"),  # GB is never issued
        ("uk_nino", "QQ123456E", "invalid_identifier"),  # suffix must be A-D
        ("nl_kvk", "1234567", "invalid_identifier"),
        ("uk_crn", "XX123456", "invalid_identifier"),
        ("de_steuer", "123", "unknown_identifier_scheme"),
    ],
)
def test_invalid_identifiers_are_refused(scheme, value, code):
    with pytest.raises(IdentifierError) as caught:
        normalise(scheme, value)
    assert caught.value.code == code


def test_wrong_check_digit_is_a_400_with_a_clear_message(api):
    response = api.post(
        "/api/v1/constituents",
        {
            "kind": "person",
            "identifier": {"scheme": "nl_bsn", "value": "111222334"},
            "name": "Jan Jansen",
            "registration": {"purpose": "income tax", "legal_basis": "legal_obligation"},
        },
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_check_digit"
    assert error["field"] == "identifier.value"
    assert "11-check" in error["message"]


def test_mask_shows_only_the_tail():
    assert mask("111222333") == "••••••333"
    assert "111222" not in mask("111222333")
