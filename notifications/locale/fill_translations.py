"""Fill the nl and cy catalogues from TRANSLATIONS after ``makemessages``.

    cd notifications && ../manage.py makemessages -l nl -l cy && \
        ../.venv/bin/python locale/fill_translations.py

A msgid without a translation here fails the script (and tests/notifications checks
that every catalogue entry is translated), so a new string cannot ship in English.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
HEADER = {
    "nl": ("Dutch", "nplurals=2; plural=(n != 1);"),
    "cy": (
        "Welsh",
        "nplurals=4; plural=(n==1) ? 0 : (n==2) ? 1 : (n != 8 && n != 11) ? 2 : 3;",
    ),
}
_ENTRY = re.compile(r'^(msgid|msgid_plural|msgstr(?:\[\d\])?) "(.*)"$')


def _quote(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _unquote(text: str) -> str:
    return text.replace('\\"', '"').replace("\\n", "\n").replace("\\\\", "\\")


def parse(path: Path) -> list[dict]:
    entries: list[dict] = []
    comments: list[str] = []
    current: dict | None = None
    key = None
    for line in path.read_text().splitlines():
        match = _ENTRY.match(line)
        if match:
            key, value = match.group(1), _unquote(match.group(2))
            if key == "msgid":
                current = {"msgid": value, "comments": comments}
                entries.append(current)
                comments = []
            elif current is not None:
                current[key] = value
        elif line.startswith('"') and current is not None and key:
            current[key] += _unquote(line[1:-1])
        elif line.startswith("#"):
            comments.append(line)
            current, key = None, None
        elif not line.strip():
            current, key = None, None
    return entries


def _translations() -> dict:
    from translations import TRANSLATIONS

    return TRANSLATIONS


def write(language: str) -> list[str]:
    path = HERE / language / "LC_MESSAGES" / "django.po"
    name, plural_forms = HEADER[language]
    missing: list[str] = []
    out = [
        f"# {name} translations of the hub's notices to citizens.",
        "# Filled by locale/fill_translations.py from locale/translations.py.",
        'msgid ""',
        'msgstr ""',
        '"Project-Id-Version: hub notifications\\n"',
        f'"Language: {language}\\n"',
        '"MIME-Version: 1.0\\n"',
        '"Content-Type: text/plain; charset=UTF-8\\n"',
        '"Content-Transfer-Encoding: 8bit\\n"',
        f'"Plural-Forms: {plural_forms}\\n"',
        "",
    ]
    for entry in parse(path):
        msgid = entry["msgid"]
        if not msgid:
            continue
        translated = _translations().get(msgid, {}).get(language)
        if not translated:
            missing.append(msgid)
            continue
        out += [line for line in entry.get("comments", []) if line.startswith("#:")]
        out.append(f'msgid "{_quote(msgid)}"')
        if "msgid_plural" in entry:
            out.append(f'msgid_plural "{_quote(entry["msgid_plural"])}"')
            forms = translated if isinstance(translated, list) else [translated]
            count = int(plural_forms.split(";")[0].split("=")[1])
            for n in range(count):
                out.append(f'msgstr[{n}] "{_quote(forms[min(n, len(forms) - 1)])}"')
        else:
            out.append(f'msgstr "{_quote(translated)}"')
        out.append("")
    path.write_text("\n".join(out))
    return missing


if __name__ == "__main__":
    sys.path.insert(0, str(HERE))
    failed = False
    for language in HEADER:
        for msgid in write(language):
            failed = True
            print(f"{language}: no translation for {msgid!r}")
    sys.exit(1 if failed else 0)
