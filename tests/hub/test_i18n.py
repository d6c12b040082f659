"""A citizen's language, and money and dates written for it (hub/i18n.py, hub/money.py)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import RequestFactory

from hub.i18n import format_date, from_accept_language, page_language
from hub.money import format_money

NBSP = "\u00a0"


@pytest.mark.parametrize(
    "minor,currency,language,text",
    [
        (1250, "EUR", "nl", f"€{NBSP}12,50"),
        (123450, "EUR", "nl", f"€{NBSP}1.234,50"),
        (1250, "GBP", "en", "£12.50"),
        (123456789, "GBP", "en", "£1,234,567.89"),
        (1250, "EUR", "en", "€12.50"),
        (1250, "GBP", "cy", "£12.50"),
        (-1250, "EUR", "nl", f"€{NBSP}-12,50"),
        (1250, "JPY", "en", "JP¥1,250"),
        (None, "EUR", "nl", ""),
    ],
)
def test_money_for_a_reader_of_the_language(minor, currency, language, text):
    assert format_money(minor, currency, language) == text


def test_without_a_language_money_keeps_the_currencys_own_convention():
    assert format_money(1250, "EUR") == "€12,50"
    assert format_money(1250, "GBP") == "£12.50"


@pytest.mark.parametrize(
    "language,text",
    [("nl", "12 mei 2027"), ("en", "12 May 2027"), ("cy", "12 Mai 2027")],
)
def test_dates_for_a_reader_of_the_language(language, text):
    assert format_date(dt.date(2027, 5, 12), language) == text
    assert format_date(dt.datetime(2027, 5, 12, 9, 30, tzinfo=dt.UTC), language) == text


@pytest.mark.parametrize(
    "header,offered,expected",
    [
        ("nl-BE,nl;q=0.9,en;q=0.8", ("en", "nl", "cy"), "nl"),
        ("fr-FR, cy;q=0.5, en;q=0.7", ("en", "nl", "cy"), "en"),  # by quality
        ("fr-FR, cy;q=0.5, en;q=0.7", ("nl", "cy"), "cy"),  # what the link offers
        ("*", ("en", "nl", "cy"), None),
        ("", ("en", "nl", "cy"), None),
        ("en;q=banana", ("en",), None),
        ("x" * 5000, ("en",), None),
    ],
)
def test_accept_language(header, offered, expected):
    assert from_accept_language(header, offered) == expected


def test_the_chosen_language_beats_the_browser_and_the_default_comes_last():
    factory = RequestFactory()
    dutch_browser = factory.get("/", HTTP_ACCEPT_LANGUAGE="nl")
    french_browser = factory.get("/", HTTP_ACCEPT_LANGUAGE="fr")
    assert page_language(dutch_browser, chosen="cy") == "cy"
    assert page_language(dutch_browser, chosen="") == "nl"
    assert page_language(french_browser, fallback="cy") == "cy"
    # A choice the page does not offer is passed over; so is a default it does not offer.
    assert page_language(dutch_browser, chosen="cy", offered=("en", "nl")) == "nl"
    assert page_language(french_browser, offered=("cy", "en"), fallback="nl") == "cy"
