"""Money as people read it: "€12,50", "£12.50", "€1.234,50".

Inside the hub money is an integer of minor units; this is the one place that turns it into
text for a person (payment pages, admin lists, the finance report). Spreadsheets and CSV
get plain Decimals instead (reconciliation/reports/cells.py), because a spreadsheet must
be able to add them up.

Each currency is written the way its own users write it: the euro with a decimal comma
and a point between thousands (as in the Netherlands, Germany, France), sterling and the
dollar with a decimal point. A currency we have no convention for is written "12.50 CHF",
which nobody misreads.
"""

from __future__ import annotations

from dataclasses import dataclass

# ISO 4217 minor units that are not 2; every other well-formed code uses 2.
# fmt: off
_EXPONENTS = dict.fromkeys([
    "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG",
    "RWF", "UGX", "UYI", "VND", "VUV", "XAF", "XOF", "XPF",
], 0) | dict.fromkeys([
    "BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND",
], 3) | dict.fromkeys([
    "CLF", "UYW",
], 4)
# fmt: on


@dataclass(frozen=True)
class _Convention:
    symbol: str
    decimal_mark: str
    thousands: str


_CONVENTIONS = {
    "EUR": _Convention("€", ",", "."),
    "GBP": _Convention("£", ".", ","),
    "USD": _Convention("$", ".", ","),
}


def minor_unit_exponent(currency: str) -> int:
    return _EXPONENTS.get((currency or "").upper(), 2)


def format_money(minor: int | None, currency: str) -> str:
    """Minor units as a person writes them; "" for no amount."""
    if minor is None:
        return ""
    currency = (currency or "").upper()
    places = minor_unit_exponent(currency)
    convention = _CONVENTIONS.get(currency)
    sign = "-" if minor < 0 else ""
    whole, fraction = divmod(abs(int(minor)), 10**places)
    thousands = convention.thousands if convention else ","
    decimal_mark = convention.decimal_mark if convention else "."
    text = f"{whole:,}".replace(",", thousands)
    if places:
        text += f"{decimal_mark}{fraction:0{places}d}"
    if convention:
        return f"{sign}{convention.symbol}{text}"
    return f"{sign}{text} {currency}"
