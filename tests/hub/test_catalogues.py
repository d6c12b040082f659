"""The message catalogues against the code: every string the templates and modules of an
app with a locale/ folder mark for translation has a checked Dutch and Welsh translation.

Generic over apps: a new app (notifications/) with a locale/ folder is checked the day it
arrives. The checker itself is tested on a small app made here, so it can fail.
"""

from __future__ import annotations

import gettext

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import write_po

from hub import catalogues


def test_every_app_with_catalogues_is_fully_translated():
    apps = catalogues.catalogue_apps()
    assert "payments" in {app.name for app in apps}
    problems = [problem for app in apps for problem in catalogues.problems(app)]
    assert problems == [], "\n".join(problems)


def test_the_payment_pages_strings_are_found():
    found = {msgid for _context, msgid in catalogues.extract(catalogues.BASE_DIR / "payments")}
    # From a template's {% translate %}, a {% blocktranslate %} with a variable, a
    # form's gettext_lazy and the sandbox provider's card descriptions.
    assert {"Enter card details", "Pay %(amount)s", "Card number", "succeeds"} <= found


def _small_app(tmp_path, translations: dict[str, tuple[str, bool]]):
    app = tmp_path / "letters"
    (app / "templates" / "letters").mkdir(parents=True)
    (app / "__init__.py").write_text("")
    (app / "templates" / "letters" / "page.html").write_text(
        "{% load i18n %}<h1>{% translate 'Hello' %}</h1>"
        "<p>{% blocktranslate %}You owe {{ amount }}{% endblocktranslate %}</p>"
    )
    (app / "notices.py").write_text(
        "from django.utils.translation import gettext_lazy as _\nSUBJECT = _('Your receipt')\n"
    )
    for language in catalogues.TRANSLATED_LANGUAGES:
        catalogue = Catalog(locale=language, domain="django")
        for msgid, (string, fuzzy) in translations.items():
            catalogue.add(msgid, string, flags=["fuzzy"] if fuzzy else [])
        path = catalogues.po_path(app, language)
        path.parent.mkdir(parents=True)
        with path.open("wb") as handle:
            write_po(handle, catalogue)
    return app


COMPLETE = {
    "Hello": ("Hallo", False),
    "You owe %(amount)s": ("U bent %(amount)s verschuldigd", False),
    "Your receipt": ("Uw ontvangstbewijs", False),
}


def test_a_complete_app_passes(tmp_path):
    assert catalogues.problems(_small_app(tmp_path, COMPLETE)) == []
    assert [app.name for app in catalogues.catalogue_apps(tmp_path)] == ["letters"]


@pytest.mark.parametrize(
    "change,complaint",
    [
        ({"Hello": ("", False)}, "has no translation"),
        ({"Hello": ("Hallo", True)}, "is fuzzy"),
        ({"You owe %(amount)s": ("U bent %(bedrag)s verschuldigd", False)}, "placeholder"),
    ],
)
def test_an_untranslated_fuzzy_or_broken_string_is_reported(tmp_path, change, complaint):
    app = _small_app(tmp_path, COMPLETE | change)
    found = catalogues.problems(app)
    assert found and all(complaint in problem for problem in found), found


def test_a_string_missing_from_the_catalogue_is_reported(tmp_path):
    app = _small_app(tmp_path, {k: v for k, v in COMPLETE.items() if k != "Your receipt"})
    found = catalogues.problems(app)
    assert len(found) == len(catalogues.TRANSLATED_LANGUAGES)
    assert all(
        "'Your receipt'" in problem and "not in the catalogue" in problem for problem in found
    )


def test_update_adds_new_strings_and_keeps_translations(tmp_path):
    app = _small_app(tmp_path, {"Hello": ("Hallo", False)})
    catalogues.update(app)
    found = catalogues.problems(app)
    assert not any("'Hello'" in problem for problem in found)
    assert any("'Your receipt'" in problem and "has no translation" in problem for problem in found)


def test_compiled_catalogues_are_what_gettext_reads_without_fuzzy_entries(tmp_path):
    app = _small_app(tmp_path, COMPLETE | {"Your receipt": ("Uw bon", True)})
    written = catalogues.compile_catalogues(tmp_path)
    assert len(written) == len(catalogues.TRANSLATED_LANGUAGES)
    with (app / "locale" / "nl" / "LC_MESSAGES" / "django.mo").open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    assert compiled.gettext("Hello") == "Hallo"
    assert compiled.gettext("Your receipt") == "Your receipt"  # fuzzy: not shown
    assert catalogues.compile_catalogues(tmp_path) == []  # up to date: nothing rewritten
