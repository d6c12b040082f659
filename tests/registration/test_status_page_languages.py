"""The notifier's status page picks its language as the payment pages do: the language
the citizen picked on the page, else the constituent's own, else the browser's, else
English; and the pair (reference, secret) never goes into an address to switch."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from registration.models import LifeEventResponse
from registration.rules.life_events import KINDS
from registration.web.status_page import KIND_NAMES, OUTCOME_WORDS
from tests.conftest import client_for
from tests.registration.conftest import person_body

pytestmark = pytest.mark.django_db

NOTIFIER = {"name": "Marie Jansen", "relationship": "spouse_or_partner", "contact": "06 1234 5678"}


@pytest.fixture
def reported(api, make_tenant, bsn):
    """A death reported with a notifier; the pensions office answered "actioned"."""

    def report(language=""):
        pensions = client_for(make_tenant(name="Pensions Office"))
        body = person_body(bsn, **({"language": language} if language else {}))
        con = api.post("/api/v1/constituents", body)
        assert con.status_code == 201, con.json()
        pensions.post("/api/v1/constituents", person_body(bsn))
        event = api.post(
            f"/api/v1/constituents/{con.json()['id']}/life-events",
            {"kind": "death", "occurred_on": "2025-03-14", "notifier": NOTIFIER},
            format="json",
        ).json()
        answered = pensions.post(
            f"/api/v1/life-events/{event['id']}/responses",
            {"outcome": "actioned", "text": "State pension stopped from 3 May"},
            format="json",
        )
        assert answered.status_code == 201
        return event["tell_us_once"]

    return report


def look(pair, accept_language="en-GB", **extra):
    return Client(headers={"Accept-Language": accept_language}).post(
        "/tell-us-once/", {"reference": pair["reference"], "secret": pair["secret"], **extra}
    )


def html_lang(response) -> str:
    return re.search(r'<html lang="([^"]*)"', response.content.decode()).group(1)


def test_without_a_known_language_the_browser_decides(reported):
    pair = reported()
    dutch = look(pair, accept_language="nl-BE,nl;q=0.9,en;q=0.5")
    html = dutch.content.decode()
    assert html_lang(dutch) == "nl" and dutch["Content-Language"] == "nl"
    assert "Overlijden van Jan Jansen" in html
    assert "14 maart 2025" in html and "Afgehandeld" in html
    # The agency's own words stay as it wrote them.
    assert "State pension stopped from 3 May" in html and "Pensions Office" in html
    assert "Accept-Language" in dutch["Vary"]

    english = look(pair, accept_language="de-DE,fr;q=0.8")
    assert html_lang(english) == "en"
    assert "Death of Jan Jansen" in english.content.decode()
    assert "14 March 2025" in english.content.decode()


def test_the_constituents_language_beats_the_browsers(reported):
    pair = reported(language="cy")
    welsh = look(pair, accept_language="nl-NL,en;q=0.5")
    html = welsh.content.decode()
    assert html_lang(welsh) == "cy"
    assert "Marwolaeth: Jan Jansen" in html
    assert "14 Mawrth 2025" in html and "Wedi&#x27;i wneud" in html


def test_a_language_picked_on_the_page_beats_the_constituents(reported):
    pair = reported(language="cy")
    dutch = look(pair, accept_language="cy-GB", language="nl")
    assert html_lang(dutch) == "nl"
    assert "Overlijden van Jan Jansen" in dutch.content.decode()


def test_a_wrong_secret_does_not_tell_the_constituents_language(reported):
    pair = reported(language="cy")
    refused = look({**pair, "secret": "not-the-secret"}, accept_language="en-GB")
    assert html_lang(refused) == "en"
    assert "do not match" in refused.content.decode()
    dutch = look({**pair, "secret": "not-the-secret"}, accept_language="nl")
    assert "horen niet bij elkaar" in dutch.content.decode()


def test_the_switcher_on_the_result_posts_the_pair_and_never_links_it(reported):
    pair = reported()
    page = look(pair).content.decode()
    switches = re.findall(r'<form method="post">.*?</form>', page, flags=re.S)
    assert len(switches) == 2  # Nederlands and Cymraeg
    assert all(f'value="{pair["secret"]}"' in switch for switch in switches)
    assert {re.search(r'name="language" value="(\w+)"', s).group(1) for s in switches} == {
        "nl",
        "cy",
    }
    hrefs = re.findall(r'href="([^"]*)"', page)
    assert not [href for href in hrefs if pair["secret"] in href or pair["reference"] in href]


def test_the_lookup_form_keeps_a_language_picked_by_link(client):
    welsh = client.get("/tell-us-once/?lang=cy", headers={"Accept-Language": "nl"})
    html = welsh.content.decode()
    assert html_lang(welsh) == "cy" and "Cyfeirnod Dweud Wrthym Unwaith" in html
    assert '<input type="hidden" name="language" value="cy"' in html
    assert 'href="?lang=nl"' in html and 'href="?lang=en"' in html
    # Not picked: the hidden field stays empty, so a matched constituent's language wins.
    plain = client.get("/tell-us-once/", headers={"Accept-Language": "nl"}).content.decode()
    assert "Kenmerk van Eén keer melden" in plain
    assert re.search(r'<input type="hidden" name="language"(?! value)', plain)


def test_every_kind_and_outcome_has_a_name_for_the_citizen():
    assert set(KIND_NAMES) == set(KINDS)
    assert set(OUTCOME_WORDS) == set(LifeEventResponse.Outcome.values)
