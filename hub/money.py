"""Money as people read it: "€12,50", "£12.50", "€1.234,50".

Inside the hub money is an integer of minor units; this is the one place that turns it into
text for a person (payment pages, admin lists, the finance report). Spreadsheets and CSV
get plain Decimals instead (reconciliation/reports/cells.py), because a spreadsheet must
be able to add them up.

Each currency is written the way its own users write it: the euro with a decimal comma
and a point between thousands (as in the Netherlands, Germany, France), sterling and the
dollar with a decimal point. A currency we have no convention for is written "12.50 CHF",
which nobody misreads.

A citizen's page passes its language instead: the amount is then written as a reader of
that language writes it (CLDR, through Babel): "€ 12,50" in Dutch, "€12.50" and
"£12.50" in British English and Welsh.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from babel.numbers import format_currency

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


def format_money(minor: int | None, currency: str, language: str | None = None) -> str:
    """Minor units as a person writes them; "" for no amount.

    Without ``language``, in the currency's own convention (the admin, reports); with
    one (en, nl, cy), as a reader of that language writes it.
    """
    if minor is None:
        return ""
    currency = (currency or "").upper()
    places = minor_unit_exponent(currency)
    if language is not None:
        return _format_for_language(minor, currency, places, language)
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


def _format_for_language(minor: int, currency: str, places: int, language: str) -> str:
    # Imported here: hub.i18n reads tenants.models, which the callers of format_money
    # that need no language (reports, benchmarks) need not load.
    from hub.i18n import babel_locale

    amount = Decimal(int(minor)).scaleb(-places)
    return format_currency(amount, currency, locale=babel_locale(language))
