"""EPC basic Latin conversion of names and remittance text (collection/schemes/charset)."""

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from collection.schemes.charset import EPC_BASIC_LATIN, MAX_NAME, MAX_REMITTANCE, to_epc_text

ALLOWED = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/-?:().,'+ "


def test_the_allowed_set_is_exactly_the_epc_basic_latin_set():
    assert set(ALLOWED) == EPC_BASIC_LATIN
    assert len(EPC_BASIC_LATIN) == 26 * 2 + 10 + 10 + 1


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # German convention for umlauts and ß.
        ("Jürgen Müller-Lüdenscheidt", "Juergen Mueller-Luedenscheidt"),
        ("Ärztekammer Öhringen Übach", "Aerztekammer Oehringen Uebach"),
        ("Straße", "Strasse"),
        ("a\u0308rger", "aerger"),  # decomposed umlaut: the same rule
        # Accents elsewhere: the base letter.
        ("José Ñúñez Çelik", "Jose Nunez Celik"),
        ("Ångström Citroën Dvořák", "Angstroem Citroen Dvorak"),  # ö: the umlaut rule
        ("Łódź Ærø Œuvre Søren Þór", "Lodz AEro OEuvre Soren Thor"),
        # Other scripts.
        ("Иванов", "Ivanov"),
        ("Παπαδόπουλος", "Papadopoulos"),
        # Punctuation.
        ("Smith & Sons", "Smith + Sons"),
        ("O\u2019Brien \u201cJr\u201d", "O'Brien 'Jr'"),
        ("2024\u20132025 tax_year", "2024-2025 tax-year"),
        ("Invoice #12; paid @ desk! 50% €", "Invoice 12 paid desk 50 EUR"),
        # Blanks: collapsed, no leading or trailing ones, tabs and line breaks become blanks.
        ("  Jan \t\n  Jansen  ", "Jan Jansen"),
        ("Jan\u00a0Jansen", "Jan Jansen"),
        # Already fine: unchanged.
        ("TAX-2024/001 (1 of 3), ref: a.b'c+d?", "TAX-2024/001 (1 of 3), ref: a.b'c+d?"),
        # Nothing convertible.
        ("😀 ☃", ""),
    ],
)
def test_conversions(raw, expected):
    assert to_epc_text(raw, MAX_REMITTANCE) == expected


def test_names_and_remittance_are_cut_to_their_field_length_without_a_trailing_blank():
    name = "Gemeente " + "Voorbeeld " * 10
    converted = to_epc_text(name, MAX_NAME)
    assert len(converted) <= MAX_NAME
    assert not converted.endswith(" ")
    assert converted == name[:MAX_NAME].rstrip()
    # An umlaut spelled out makes the text longer; the cut applies after the conversion.
    assert to_epc_text("ü" * 100, MAX_REMITTANCE) == "ue" * 70
    assert len(to_epc_text("ß" * 80, MAX_NAME)) == MAX_NAME


def test_max_length_must_be_positive():
    with pytest.raises(ValueError):
        to_epc_text("x", 0)


@given(st.text(), st.integers(min_value=1, max_value=200))
def test_output_is_always_in_the_set_trimmed_and_short_enough(value, limit):
    converted = to_epc_text(value, limit)
    assert set(converted) <= EPC_BASIC_LATIN
    assert len(converted) <= limit
    assert converted == converted.strip(" ")
    assert "  " not in converted


@given(st.text(), st.integers(min_value=1, max_value=200))
def test_conversion_is_idempotent(value, limit):
    once = to_epc_text(value, limit)
    assert to_epc_text(once, limit) == once


@given(st.text(alphabet=ALLOWED, max_size=MAX_REMITTANCE))
def test_text_already_in_the_set_only_loses_extra_blanks(value):
    expected = " ".join(value.split())
    assert to_epc_text(value, MAX_REMITTANCE) == expected


@given(st.text(alphabet=st.characters(categories=["Lu", "Ll"]), min_size=1, max_size=30))
def test_latin_letters_with_accents_never_vanish(value):
    # Every letter whose decomposition starts with a basic Latin letter keeps that letter.
    bases = [
        unicodedata.normalize("NFKD", c)[0]
        for c in unicodedata.normalize("NFC", value)
        if unicodedata.normalize("NFKD", c)[0] in EPC_BASIC_LATIN
        and unicodedata.normalize("NFKD", c)[0].isalpha()
    ]
    converted = to_epc_text(value, 1000)
    letters = [c for c in converted if c.isalpha()]
    assert len(letters) >= len(bases)
