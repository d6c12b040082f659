"""Turning report values into cells: money for display, text made safe for spreadsheets.

Money stays integer minor units until this point; it is shown as a Decimal with the
currency's number of decimals (never a float). Text that came from outside the hub (a
bank's remittance text, a payer's name, an agency's reference) is neutralised against
spreadsheet formula injection the way GOV.UK Pay's CSV exports do it: a cell starting
with = + - @ tab or carriage return gets a leading apostrophe, so Excel and LibreOffice
show it as text instead of running it.
"""

from __future__ import annotations

from decimal import Decimal

from reconciliation.statements import StatementError, currency_exponent

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def safe_text(value: object) -> str:
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_TRIGGERS):
        return "'" + text
    return text


def exponent(currency: str) -> int:
    try:
        return currency_exponent(currency)
    except StatementError:
        return 2


def money(minor: int | None, currency: str) -> Decimal | None:
    """Minor units as a Decimal in major units (1250 EUR → Decimal("12.50"))."""
    if minor is None:
        return None
    places = exponent(currency)
    return Decimal(minor).scaleb(-places).quantize(Decimal(1).scaleb(-places))


def money_text(minor: int | None, currency: str) -> str:
    value = money(minor, currency)
    return "" if value is None else f"{value:f}"


def number_format(currency: str) -> str:
    places = exponent(currency)
    return "#,##0" + ("." + "0" * places if places else "")
