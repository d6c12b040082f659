"""The language a citizen's page is shown in, and dates and money written for it.

The admin is the operator's and stays in English; the pages a citizen meets (the hosted
payment page, its results, payment links) and the notices they receive are in English,
Dutch or Welsh. Which one, in order: what the agency said for this payment (or for the
constituent it is for), else what the citizen's browser asks for (``Accept-Language``),
else the agency's default. Each page activates the language it chose with
``translation.override``; there is no LocaleMiddleware, so nothing else changes language.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from babel.dates import format_date as babel_format_date
from django.utils.translation.trans_real import parse_accept_lang_header

from tenants.models import Language

CITIZEN_LANGUAGES: tuple[str, ...] = tuple(Language.values)
# CLDR locales: British English for "en" (the hub's English is British, as GOV.UK's),
# Welsh as written in Wales.
BABEL_LOCALES = {"en": "en_GB", "nl": "nl_NL", "cy": "cy_GB"}
# At most this many Accept-Language entries are read: the header is the client's to
# make as long as it likes.
MAX_ACCEPT_LANGUAGE_ENTRIES = 20


def babel_locale(language: str) -> str:
    return BABEL_LOCALES.get(language, BABEL_LOCALES["en"])


def from_accept_language(header: str, offered: Iterable[str] = CITIZEN_LANGUAGES) -> str | None:
    """The first language in the browser's preference order that is offered, or None.

    "nl-BE" asks for Dutch; "*" and languages not offered are passed over.
    """
    offered = tuple(offered)
    try:
        ranked = parse_accept_lang_header(header[:1000] or "")
    except ValueError:
        return None
    for tag, _quality in ranked[:MAX_ACCEPT_LANGUAGE_ENTRIES]:
        primary = tag.split("-", 1)[0].lower()
        if primary in offered:
            return primary
    return None


def page_language(
    request,
    *,
    chosen: str = "",
    offered: Iterable[str] = CITIZEN_LANGUAGES,
    fallback: str = Language.ENGLISH,
) -> str:
    """The language to show ``request``'s page in.

    ``chosen`` (the payment's or constituent's language) wins when it is offered; then
    the browser's Accept-Language; then ``fallback`` (the agency's default) if offered;
    then the first offered language.
    """
    offered = tuple(offered) or CITIZEN_LANGUAGES
    if chosen in offered:
        return chosen
    asked = from_accept_language(request.headers.get("Accept-Language", ""), offered)
    if asked:
        return asked
    return fallback if fallback in offered else offered[0]


def format_date(value: date | datetime | str | None, language: str) -> str:
    """A date as a reader of ``language`` writes it: "12 May 2027", "12 mei 2027".

    An ISO date string (as event payloads carry dates) is read first."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = date.fromisoformat(value)
    if isinstance(value, datetime):
        value = value.date()
    return babel_format_date(value, "long", locale=babel_locale(language))
