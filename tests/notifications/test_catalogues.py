"""The Dutch and Welsh notices contain no untranslated text: a rendered notice shows the
compiled catalogues' words. (That every string of the templates has a checked nl and cy
translation is tests/hub/test_catalogues.py's, for every app with a locale/ folder.)"""

from __future__ import annotations

import pytest
from django.utils import translation

from notifications.kinds import NoticeKind
from notifications.rendering import render_notice

LANGUAGES = ["nl", "cy"]


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
