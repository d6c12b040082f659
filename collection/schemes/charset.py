"""Text in the EPC basic Latin character set, for names and remittance text in SEPA files.

The EPC rulebooks guarantee only this set end to end (EPC217-08, "SEPA requirements for an
extended character set"): ``a-z A-Z 0-9 / - ? : ( ) . , ' +`` and the space. A bank may
pass more, or reject the file, or replace what it does not know with ``?`` or blanks; so
the hub converts before it writes, and the debtor reads what we chose, not what a bank
guessed.

The conversion, in order, for each character:

1. allowed characters stay;
2. German umlauts follow the German banking convention: ä→ae, ö→oe, ü→ue, Ä→Ae, Ö→Oe,
   Ü→Ue, ß→ss (so "Müller" stays "Mueller", as on German statements, not "Muller");
3. ``&`` becomes ``+`` (the EPC's own example), typographic quotes and apostrophes
   become ``'``, dashes and ``_`` become ``-``, any white space becomes a blank;
4. other accented Latin letters lose their accent (é→e, ñ→n, ç→c, å→a; ligatures such as
   æ→ae, œ→oe, ø→o, ł→l are spelled out);
5. other scripts are transliterated to Latin (Иванов→Ivanov, Παπαδόπουλος→Papadopoulos);
6. anything still outside the set is dropped.

Then runs of blanks collapse to one, leading and trailing blanks go (the rulebook: no
trailing blanks), and the text is cut to the field's maximum length (Nm 70, Ustrd 140);
a blank left at the cut goes too.

Identifiers (end-to-end id, mandate id) are not converted: we generate them within the
restricted set, and changing an identifier would break matching. They are checked instead
(see ``pain008``).
"""

from __future__ import annotations

import re
import unicodedata

from text_unidecode import unidecode

__all__ = [
    "EPC_BASIC_LATIN",
    "MAX_NAME",
    "MAX_REMITTANCE",
    "to_epc_text",
]

EPC_BASIC_LATIN = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/-?:().,'+ "
)
MAX_NAME = 70  # Nm (debtor, creditor)
MAX_REMITTANCE = 140  # RmtInf/Ustrd

_GERMAN = {"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue", "ß": "ss", "ẞ": "SS"}
_PUNCTUATION = {
    "&": "+",
    "_": "-",
    "\u2010": "-",  # hyphen
    "\u2011": "-",  # non-breaking hyphen
    "\u2012": "-",  # figure dash
    "\u2013": "-",  # en dash
    "\u2014": "-",  # em dash
    "\u2212": "-",  # minus sign
    '"': "'",
    "`": "'",
    "\u00b4": "'",  # acute accent on its own
    "\u2018": "'",
    "\u2019": "'",
    "\u201a": "'",
    "\u201b": "'",
    "\u201c": "'",
    "\u201d": "'",
    "\u201e": "'",
    "\u00ab": "'",
    "\u00bb": "'",
}
# Letters that do not decompose into base letter + accent.
_LETTERS = {
    "æ": "ae",
    "Æ": "AE",
    "œ": "oe",
    "Œ": "OE",
    "ø": "o",
    "Ø": "O",
    "ł": "l",
    "Ł": "L",
    "đ": "d",
    "Đ": "D",
    "ð": "d",
    "Ð": "D",
    "þ": "th",
    "Þ": "Th",
    "\u0131": "i",  # dotless i
}
_BLANKS = re.compile(r" {2,}")


def _allowed_only(text: str) -> str:
    return "".join(c for c in text if c in EPC_BASIC_LATIN)


def _convert(char: str) -> str:
    if char in EPC_BASIC_LATIN:
        return char
    for table in (_GERMAN, _PUNCTUATION, _LETTERS):
        if char in table:
            return table[char]
    if char.isspace():
        return " "
    # Base letter + combining accents (é -> e + U+0301), and compatibility forms (ﬁ -> fi).
    decomposed = "".join(
        c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c)
    )
    if decomposed and all(c in EPC_BASIC_LATIN for c in decomposed):
        return decomposed
    return _allowed_only(unidecode(char))


def to_epc_text(value: str, max_length: int) -> str:
    """``value`` in the EPC basic Latin set, blanks collapsed and trimmed, at most
    ``max_length`` characters. May return "" (nothing convertible): the caller decides
    whether an empty field is an error."""
    if max_length < 1:
        raise ValueError("max_length must be at least 1")
    # NFC first, so a decomposed "a" + U+0308 is the umlaut "ä" the German rule knows.
    text = "".join(_convert(c) for c in unicodedata.normalize("NFC", value))
    text = _BLANKS.sub(" ", text).strip(" ")
    return text[:max_length].rstrip(" ")
