"""Amounts and dates as a reader of the notice's language writes them (Babel's CLDR data).

"€ 12,50" and "12 mei 2027" in Dutch, "£12.50" and "12 May 2027" in British English,
"12 Mai 2027" in Welsh. Inside the hub money stays integer minor units (hub/money.py).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from babel.dates import format_date
from babel.numbers import format_currency

from hub.money import minor_unit_exponent

# The CLDR locale each notice language is written in.
LOCALES = {"en": "en_GB", "nl": "nl_NL", "cy": "cy_GB"}


def _locale(language: str) -> str:
    return LOCALES.get(language, "en_GB")


def format_amount(minor: int, currency: str, language: str) -> str:
    amount = Decimal(int(minor)).scaleb(-minor_unit_exponent(currency))
    return format_currency(amount, currency.upper(), locale=_locale(language))


def format_day(day: dt.date | str, language: str) -> str:
    if isinstance(day, str):
        day = dt.date.fromisoformat(day)
    return format_date(day, format="long", locale=_locale(language))
