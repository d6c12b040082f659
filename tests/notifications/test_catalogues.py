"""The Dutch and Welsh notices contain no untranslated text: the catalogues hold exactly
the strings the templates use today, each translated, and the compiled catalogues are
what a rendered notice shows."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import translation

from notifications.kinds import NoticeKind
from notifications.rendering import render_notice

APP = Path(settings.BASE_DIR) / "notifications"
sys.path.insert(0, str(APP / "locale"))
import fill_translations  # noqa: E402  (notifications/locale/fill_translations.py)

LANGUAGES = ["nl", "cy"]


def msgids(path: Path) -> dict[str, dict]:
    return {entry["msgid"]: entry for entry in fill_translations.parse(path) if entry["msgid"]}


@pytest.fixture(scope="module")
def template_strings(tmp_path_factory) -> set[str]:
    """What ``makemessages`` finds in the templates now (in a copy: the app is not touched)."""
    work = tmp_path_factory.mktemp("catalogue")
    shutil.copytree(APP / "templates", work / "templates")
    (work / "locale").mkdir()
    subprocess.run(
        [sys.executable, str(Path(settings.BASE_DIR) / "manage.py"), "makemessages", "-l", "nl"],
        cwd=work,
        check=True,
        capture_output=True,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "hub.settings"},
    )
    return set(msgids(work / "locale" / "nl" / "LC_MESSAGES" / "django.po"))


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_catalogue_has_every_template_string_translated(language, template_strings):
    catalogue = msgids(APP / "locale" / language / "LC_MESSAGES" / "django.po")
    assert template_strings, "makemessages found no strings: the templates are not translated"
    assert template_strings - set(catalogue) == set(), "run makemessages + fill_translations"
    assert set(catalogue) - template_strings == set(), "strings no template uses any more"
    for msgid, entry in catalogue.items():
        forms = [value for key, value in entry.items() if key.startswith("msgstr")]
        assert forms and all(forms), f"{language}: {msgid!r} is not translated"
        assert all(form != msgid for form in forms if len(msgid) > 12), (
            f"{language}: {msgid!r} is left in English"
        )


FULL_CONTEXT = {
    "agency": "Tax Office",
    "footer": "",
    "contact": "help@agency.example",
    "amount": "€ 12,50",
    "paid_amount": "€ 20,00",
    "date": "12 mei 2027",
    "retry_date": "",
    "returned": True,
    "description": "Income tax",
    "reference": "TAX-1",
    "payment_id": "pay_1",
    "mandate_reference": "M-1",
    "creditor_id": "DE98ZZZ09999999999",
    "creditor_name": "Tax Office",
    "service_user_number": "123456",
    "account": "NL** **** **** **00",
    "account_holder": "J. Jansen",
    "notice_days": 14,
    "since": "1 mei 2027",
    "payment_link": None,
}


class _Agency:
    slug = "no-such-agency"


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("kind", list(NoticeKind))
@pytest.mark.parametrize("sepa", [True, False])
def test_no_english_sentence_in_a_dutch_or_welsh_notice(language, kind, sepa):
    english = render_notice(
        kind=kind, tenant=_Agency(), language="en", context={**FULL_CONTEXT, "sepa": sepa}
    )
    rendered = render_notice(
        kind=kind, tenant=_Agency(), language=language, context={**FULL_CONTEXT, "sepa": sepa}
    )
    assert rendered.subject != english.subject
    english_lines = {line.strip() for line in english.body.splitlines() if len(line) > 25}
    for line in rendered.body.splitlines():
        # Lines of values only ("Reference: TAX-1") differ by their label; a sentence that
        # came out in English is one of the English notice's own lines.
        assert line.strip() not in english_lines, f"{kind} in {language}: {line!r}"
    assert translation.get_language() != language  # override() restored the language
