"""The payer's language: the payment's own beats the browser's, the constituent's stands
in for it, the agency's default comes last; and amounts are written for that language."""

from __future__ import annotations

import pytest

from registration.models import Constituent
from tests.payments.conftest import page_path
from tests.registration.conftest import person_body

pytestmark = pytest.mark.django_db


def register_person(api, **extra) -> dict:
    response = api.post("/api/v1/constituents", person_body(**extra), format="json")
    assert response.status_code == 201, response.content
    return response.json()


def create(api, service, **overrides):
    body = {
        "amount": 1250,
        "currency": "EUR",
        "description": "Parking permit",
        "reference": "PP-1",
        "service": service.pk,
        **overrides,
    }
    response = api.post("/api/v1/payments", body, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def test_the_payments_language_beats_the_browsers(client, api, service):
    payment = create(api, service, language="cy")
    assert payment["language"] == "cy"
    page = client.get(page_path(payment["next_url"]), HTTP_ACCEPT_LANGUAGE="nl-NL,nl;q=0.9")
    assert page["Content-Language"] == "cy"
    assert '<html lang="cy">' in page.text
    assert "Rhowch fanylion y cerdyn" in page.text and "Enter card details" not in page.text
    assert "€12.50" in page.text  # as a Welsh reader writes the euro


def test_without_a_language_the_browser_decides(client, api, service):
    payment = create(api, service)
    assert payment["language"] == ""
    dutch = client.get(page_path(payment["next_url"]), HTTP_ACCEPT_LANGUAGE="fr, nl-BE;q=0.8")
    assert dutch["Content-Language"] == "nl" and "Accept-Language" in dutch["Vary"]
    assert "Vul uw kaartgegevens in" in dutch.text
    assert "€\u00a012,50" in dutch.text  # "€ 12,50", with a no-break space
    english = client.get(page_path(payment["next_url"]), HTTP_ACCEPT_LANGUAGE="en-GB")
    assert "Enter card details" in english.text and "€12.50" in english.text


def test_a_browser_asking_for_no_language_we_offer_gets_the_agencys_default(
    client, api, tenant, service
):
    tenant.default_language = "nl"
    tenant.save()
    payment = create(api, service)
    page = client.get(page_path(payment["next_url"]), HTTP_ACCEPT_LANGUAGE="fr-FR, de")
    assert page["Content-Language"] == "nl"


def test_the_constituents_language_stands_in_for_the_payments(client, api, tenant, service):
    constituent = register_person(api)
    changed = api.patch(
        f"/api/v1/constituents/{constituent['id']}", {"language": "cy"}, format="json"
    )
    assert changed.status_code == 200 and changed.json()["language"] == "cy"
    payment = create(api, service, constituent=constituent["id"])
    assert payment["language"] == "cy"
    page = client.get(page_path(payment["next_url"]), HTTP_ACCEPT_LANGUAGE="en")
    assert page["Content-Language"] == "cy"
    # The agency's own choice for a payment still wins over the constituent's.
    assert create(api, service, constituent=constituent["id"], language="nl")["language"] == "nl"


@pytest.mark.parametrize("language", ["fr", "EN", "english"])
def test_an_unknown_language_is_refused(api, service, language):
    response = api.post(
        "/api/v1/payments",
        {
            "amount": 1250,
            "currency": "EUR",
            "description": "Parking permit",
            "reference": "PP-1",
            "service": service.pk,
            "language": language,
        },
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "language"
    assert response.json()["error"]["code"] == "invalid_choice"


def test_a_constituent_is_registered_with_a_language(api, unscoped):
    registered = register_person(api, language="nl")
    assert registered["language"] == "nl"
    assert Constituent.objects.get(pk=registered["id"]).language == "nl"
    refused = api.patch(f"/api/v1/constituents/{registered['id']}", {"language": "de"})
    assert refused.status_code == 400 and refused.json()["error"]["field"] == "language"
