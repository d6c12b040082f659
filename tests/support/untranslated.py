"""English left on a page that should be in another language.

The English source strings are the catalogues' msgids (every app with a locale/ folder,
hub/catalogues.py); a page in Dutch or Welsh that still shows one of them, where the
translation says otherwise, has untranslated text.
"""

from __future__ import annotations

import re

from babel.messages.pofile import read_po

from hub import catalogues

# Placeholders ("%(amount)s") and markup split a message into the literal parts a page
# shows; parts shorter than this ("Pay", "for") are words, not evidence.
_SPLIT = re.compile(r"%\([^)]*\)[sd]|<[^>]+>")
MIN_FRAGMENT = 4


def english_fragments(language: str) -> set[str]:
    fragments = set()
    for app in catalogues.catalogue_apps():
        path = catalogues.po_path(app, language)
        with path.open("rb") as handle:
            catalogue = read_po(handle, locale=language)
        for message in catalogue:
            if not message.id or not isinstance(message.id, str):
                continue
            translation = message.string or ""
            for part in _SPLIT.split(message.id):
                part = part.strip(" .,:;\u2013-")  # \u2013: the titles' en dash
                if len(part) >= MIN_FRAGMENT and part not in translation:
                    fragments.add(part)
    return fragments


def untranslated(text: str, language: str) -> list[str]:
    """The English fragments ``text`` (a page's visible text) still contains."""
    return sorted(
        fragment
        for fragment in english_fragments(language)
        if re.search(rf"(?<!\w){re.escape(fragment)}(?!\w)", text)
    )
