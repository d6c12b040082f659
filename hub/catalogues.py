"""Message catalogues without GNU gettext: extract, update, compile and check them.

Every app with a ``locale/`` folder keeps its own catalogues there
(``<app>/locale/<lang>/LC_MESSAGES/django.po``). Django's makemessages and
compilemessages need GNU gettext's ``xgettext`` and ``msgfmt``, which a fresh machine
may not have; Babel (a pure-Python requirement) does the same work here, so the build
needs nothing outside requirements.txt:

    python -m hub.catalogues compile   # .po -> .mo (the build: `make install` runs it)
    python -m hub.catalogues update    # add new strings of the code to every .po
    python -m hub.catalogues check     # every string translated, none fuzzy (exit 1)

Templates are read the way makemessages reads them (Django's ``templatize`` turns
``{% translate %}`` and ``{% blocktranslate %}`` into gettext calls), Python modules
with Babel's extractor, so the strings are the ones Django looks up at run time.
The compiled ``.mo`` files are build output and not committed (.gitignore).
"""

from __future__ import annotations

import io
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_python
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

BASE_DIR = Path(__file__).resolve().parent.parent
TRANSLATED_LANGUAGES = ("nl", "cy")  # English is the source language
DOMAIN = "django"
TEMPLATE_SUFFIXES = {".html", ".txt"}
SKIPPED_DIRS = {"migrations", "locale", "__pycache__"}
# Django's translation functions, as makemessages passes them to xgettext.
KEYWORDS = {
    "gettext": None,
    "gettext_lazy": None,
    "gettext_noop": None,
    "_": None,
    "pgettext": ((1, "c"), 2),
    "pgettext_lazy": ((1, "c"), 2),
    "ngettext": (1, 2),
    "ngettext_lazy": (1, 2),
    "npgettext": ((1, "c"), 2, 3),
    "npgettext_lazy": ((1, "c"), 2, 3),
}


@dataclass
class SourceMessage:
    msgid: str
    context: str | None
    plural: str | None = None
    locations: list[tuple[str, int]] = field(default_factory=list)


def catalogue_apps(base: Path = BASE_DIR) -> list[Path]:
    """Every top-level app with a ``locale/`` folder: each keeps its own catalogues."""
    return sorted(
        path.parent
        for path in base.glob("*/locale")
        if path.is_dir() and (path.parent / "__init__.py").exists()
    )


def po_path(app: Path, language: str) -> Path:
    return app / "locale" / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def _sources(app: Path):
    for path in sorted(app.rglob("*")):
        if not path.is_file() or SKIPPED_DIRS & set(path.relative_to(app).parts):
            continue
        if path.suffix == ".py":
            yield path, path.read_bytes()
        elif path.suffix in TEMPLATE_SUFFIXES and "templates" in path.parts:
            from django.utils.translation.template import templatize

            python = templatize(path.read_text(encoding="utf-8"), origin=str(path))
            yield path, python.encode("utf-8")


def extract(app: Path) -> dict[tuple[str | None, str], SourceMessage]:
    """Every translatable string of the app's Python modules and templates."""
    found: dict[tuple[str | None, str], SourceMessage] = {}
    for path, source in _sources(app):
        for lineno, _funcname, messages, _comments in extract_python(
            io.BytesIO(source), list(KEYWORDS), [], {"encoding": "utf-8"}
        ):
            context, msgid, plural = _parts(_funcname, messages)
            if not msgid:
                continue
            message = found.setdefault((context, msgid), SourceMessage(msgid, context, plural))
            message.locations.append((str(path.relative_to(app.parent)), lineno))
    return found


def _parts(funcname: str, messages) -> tuple[str | None, str | None, str | None]:
    if isinstance(messages, str):
        return None, messages, None
    if funcname.startswith("npgettext"):
        return messages[0], messages[1], messages[2]
    if funcname.startswith("pgettext"):
        return messages[0], messages[1], None
    return None, messages[0], messages[1]


def _read(path: Path, language: str) -> Catalog:
    with path.open("rb") as handle:
        return read_po(handle, locale=language, domain=DOMAIN)


def update(app: Path, languages=TRANSLATED_LANGUAGES) -> list[Path]:
    """Add the code's new strings (untranslated) to each catalogue; keep translations.

    Strings the code no longer has become obsolete entries (``#~``), as with msgmerge.
    """
    template = Catalog(domain=DOMAIN, project=app.name, fuzzy=False)
    for message in extract(app).values():
        msgid = (message.msgid, message.plural) if message.plural else message.msgid
        template.add(msgid, locations=message.locations, context=message.context)
    written = []
    for language in languages:
        path = po_path(app, language)
        if path.exists():
            catalogue = _read(path, language)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            catalogue = Catalog(
                locale=language,
                domain=DOMAIN,
                project=f"hub {app.name}",
                version="1",
                header_comment=(
                    f"# The {language} catalogue of the hub's {app.name} app.\n"
                    "# New strings: python -m hub.catalogues update; the build compiles it."
                ),
                last_translator="hub developers",
                language_team=f"{language}",
                fuzzy=False,
            )
        catalogue.update(template, no_fuzzy_matching=True, update_header_comment=False)
        with path.open("wb") as handle:
            write_po(handle, catalogue, width=96, sort_output=True)
        written.append(path)
    return written


def compile_catalogues(base: Path = BASE_DIR, *, force: bool = False) -> list[Path]:
    """Write each app's ``.mo`` beside its ``.po`` when the ``.po`` is newer.

    Fuzzy entries are left out, as msgfmt does: an unchecked translation is not shown.
    """
    written = []
    for app in catalogue_apps(base):
        for po in sorted((app / "locale").glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
            mo = po.with_suffix(".mo")
            if not force and mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
                continue
            catalogue = _read(po, po.parent.parent.name)
            # Per process: test workers may compile at the same moment.
            partial = mo.with_name(f".{mo.name}.{os.getpid()}.partial")
            with partial.open("wb") as handle:
                write_mo(handle, catalogue, use_fuzzy=False)
            partial.replace(mo)  # a server reading the catalogue never sees half of one
            written.append(mo)
    return written


def problems(app: Path, languages=TRANSLATED_LANGUAGES) -> list[str]:
    """What keeps the app's pages from being wholly in each language; empty: nothing."""
    wanted = extract(app)
    found = []
    for language in languages:
        path = po_path(app, language)
        if not path.exists():
            found.append(f"{path}: missing (run python -m hub.catalogues update)")
            continue
        catalogue = _read(path, language)
        for key, source in sorted(wanted.items(), key=lambda item: item[0][1]):
            where = ", ".join(f"{file}:{line}" for file, line in source.locations[:2])
            entry = catalogue.get(key[1], context=key[0])
            if entry is None:
                found.append(f"{path}: {key[1]!r} ({where}) is not in the catalogue")
            elif entry.fuzzy:
                found.append(f"{path}: {key[1]!r} is fuzzy (not yet checked)")
            elif not _translated(entry.string):
                found.append(f"{path}: {key[1]!r} ({where}) has no translation")
        for entry, errors in catalogue.check():
            found.extend(f"{path}: {entry.id!r}: {error}" for error in errors)
    return found


def _translated(string) -> bool:
    if isinstance(string, tuple | list):
        return bool(string) and all(part.strip() for part in string)
    return bool(string and string.strip())


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "compile"
    if command == "compile":
        for mo in compile_catalogues(force="--force" in argv):
            print(f"compiled {mo.relative_to(BASE_DIR)}")
        return 0
    if command == "update":
        for app in catalogue_apps():
            for path in update(app):
                print(f"updated {path.relative_to(BASE_DIR)}")
        return 0
    if command == "check":
        found = [problem for app in catalogue_apps() for problem in problems(app)]
        print("\n".join(found) or "every catalogue is complete")
        return 1 if found else 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
