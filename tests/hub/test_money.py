"""Money as people read it: each currency in its own users' convention."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.money import format_money


@pytest.mark.parametrize(
    "minor,currency,text",
    [
        (1250, "EUR", "€12,50"),
        (123450, "EUR", "€1.234,50"),
        (5, "EUR", "€0,05"),
        (-1250, "EUR", "-€12,50"),
        (1250, "GBP", "£12.50"),
        (123456789, "GBP", "£1,234,567.89"),
        (1250, "USD", "$12.50"),
        (1250, "JPY", "1,250 JPY"),
        (1250, "KWD", "1.250 KWD"),
        (1250, "CHF", "12.50 CHF"),
        (None, "EUR", ""),
    ],
)
def test_examples(minor, currency, text):
    assert format_money(minor, currency) == text


@given(st.integers(min_value=-(10**15), max_value=10**15))
def test_euro_text_reads_back_as_the_same_minor_units(minor):
    text = format_money(minor, "EUR")
    digits = text.replace("€", "").replace(".", "").replace(",", "")
    assert int(digits) == minor
    assert text.count(",") == 1
