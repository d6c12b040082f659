"""Account identifier validation with real example IBANs, BICs and creditor identifiers."""

import pytest

from collection.schemes.accounts import (
    AccountError,
    mask_account,
    sepa_countries,
    validate_bacs_account,
    validate_bic,
    validate_creditor_id,
    validate_iban,
)


def _code(func, *args, **kwargs):
    with pytest.raises(AccountError) as excinfo:
        func(*args, **kwargs)
    assert isinstance(excinfo.value, ValueError)
    return excinfo.value.code


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("NL91ABNA0417164300", "NL91ABNA0417164300"),
        (" nl91 abna 0417 1643 00 ", "NL91ABNA0417164300"),
        ("DE89370400440532013000", "DE89370400440532013000"),
        ("GB82WEST12345698765432", "GB82WEST12345698765432"),
        ("FR1420041010050500013M02606", "FR1420041010050500013M02606"),
        ("BE68539007547034", "BE68539007547034"),
    ],
)
def test_valid_ibans(value, expected):
    assert validate_iban(value) == expected


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("NL91ABNA0417164301", "invalid_checksum"),  # last digit changed
        ("NL92ABNA0417164300", "invalid_checksum"),  # check digit changed
        ("DE89370400440532013001", "invalid_checksum"),
        ("NL91ABNA041716430", "invalid_iban"),  # one character short
        ("XX91ABNA0417164300", "invalid_iban"),  # no such country
        ("NL91ABNA04171643OO", "invalid_iban"),  # letters where NL has digits
        ("", "empty"),
        ("   ", "empty"),
        (None, "empty"),
    ],
)
def test_invalid_ibans(value, code):
    assert _code(validate_iban, value) == code


def test_sepa_only_ibans():
    brazil = "BR1800360305000010009795493C1"  # valid IBAN, outside SEPA
    assert validate_iban(brazil) == brazil
    assert _code(validate_iban, brazil, sepa_only=True) == "not_sepa"
    assert validate_iban("GB82WEST12345698765432", sepa_only=True)  # UK is in SEPA
    assert {"NL", "DE", "GB", "CH"} <= sepa_countries()
    assert "BR" not in sepa_countries()


@pytest.mark.parametrize(
    ("value", "expected"),
    [("ABNANL2A", "ABNANL2A"), ("abnanl2a", "ABNANL2A"), ("DEUTDEFF500", "DEUTDEFF500")],
)
def test_valid_bics(value, expected):
    assert validate_bic(value) == expected


@pytest.mark.parametrize("value", ["ABNANL2", "ABNANL2AXX", "ABNAXX2A", "ABNA1L2A", "ABNANL2_"])
def test_invalid_bics(value):
    assert _code(validate_bic, value) == "invalid_bic"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("DE98ZZZ09999999999", "DE98ZZZ09999999999"),  # the Bundesbank's documented example
        ("de98 zzz 09999999999", "DE98ZZZ09999999999"),
        ("ES23ZZZ47690558N", "ES23ZZZ47690558N"),
        ("NL69ZZZ123456780000", "NL69ZZZ123456780000"),
    ],
)
def test_valid_creditor_ids(value, expected):
    assert validate_creditor_id(value) == expected


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("DE98ZZZ09999999998", "invalid_checksum"),  # last digit changed
        ("DE99ZZZ09999999999", "invalid_checksum"),  # check digits changed
        ("DE98ZZZ0999999999!", "invalid_creditor_id"),
        ("US31ZZZ123456", "not_sepa"),  # correct check digits, but not a SEPA country
        ("", "empty"),
    ],
)
def test_invalid_creditor_ids(value, code):
    assert _code(validate_creditor_id, value) == code


@pytest.mark.parametrize(
    ("sort_code", "account", "expected"),
    [
        ("12-34-56", "12345678", ("123456", "12345678")),
        ("123456", "00012345", ("123456", "00012345")),
        (" 12 34 56 ", " 1234 5678 ", ("123456", "12345678")),
    ],
)
def test_valid_bacs_accounts(sort_code, account, expected):
    assert validate_bacs_account(sort_code, account) == expected


@pytest.mark.parametrize(
    ("sort_code", "account", "code"),
    [
        ("12345", "12345678", "invalid_sort_code"),
        ("12-34-5a", "12345678", "invalid_sort_code"),
        ("12--3456", "12345678", "invalid_sort_code"),
        ("123456", "1234567", "invalid_account_number"),
        ("123456", "123456789", "invalid_account_number"),
        ("123456", "1234567a", "invalid_account_number"),
        ("١٢٣٤٥٦", "12345678", "invalid_sort_code"),  # Arabic-Indic digits
        ("", "12345678", "empty"),
    ],
)
def test_invalid_bacs_accounts(sort_code, account, code):
    assert _code(validate_bacs_account, sort_code, account) == code


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("NL91ABNA0417164300", "NL************4300"),
        ("NL91 ABNA 0417 1643 00", "NL************4300"),
        ("de89370400440532013000", "DE****************3000"),
        ("12345678", "****5678"),
        ("12-34-56", "**3456"),
        ("1234", "****"),  # nothing visible when "the last 4" would be everything
    ],
)
def test_mask_account(value, masked):
    assert mask_account(value) == masked


def test_mask_account_rejects_empty():
    assert _code(mask_account, "") == "empty"
