"""The language of a notice: the payment's or constituent's own, else the agency's default.

Payments and constituents get a ``language`` field with the citizen-facing pages; until
then (and for rows without one) ``getattr`` finds nothing and the agency's default applies.
"""

from __future__ import annotations

NOTICE_LANGUAGES = (("en", "English"), ("nl", "Nederlands"), ("cy", "Cymraeg"))
SUPPORTED = {code for code, _ in NOTICE_LANGUAGES}


def _supported(value: object) -> str:
    """ "en-GB" -> "en"; "" or an unsupported language -> ""."""
    if not isinstance(value, str) or not value:
        return ""
    code = value.strip().lower().replace("_", "-").split("-")[0]
    return code if code in SUPPORTED else ""


def notice_language(*sources: object, default: str) -> str:
    """The first supported ``language`` among ``sources`` (most specific first)."""
    for source in sources:
        if source is not None and (code := _supported(getattr(source, "language", ""))):
            return code
    return _supported(default) or "en"
