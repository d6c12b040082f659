"""Payment links in a real Chromium: from the link's page, through the hosted payment
page, to the result; the refusals a citizen can meet; English, Welsh and Dutch, with no
English left on the Welsh and Dutch pages."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from payments import services
from payments.models import Payment
from tenants.scope import all_tenants, tenant_scope
from tests.payments.conftest import DECLINED_CARD, SUCCESS_CARD
from tests.support.untranslated import untranslated

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WELSH = {
    "title": "Dirwy parcio",
    "description": "Talu dirwy parcio a gawsoch drwy'r post",
    "reference_label": "Rhif y ddirwy",
    "reference_hint": "Mae ar frig y llythyr, er enghraifft PF-123456",
}
DUTCH = {
    "title": "Parkeerboete",
    "description": "Betaal een parkeerboete die u per post hebt gekregen",
    "reference_label": "Boetenummer",
    "reference_hint": "Het staat bovenaan de brief, bijvoorbeeld PF-123456",
}


@pytest.fixture
def make_link(tenant, service):
    def make(**overrides):
        fields = {
            "title": "Parking fine",
            "description": "Pay a parking fine you received by post",
            "reference_label": "Fine number",
            "reference_hint": "It is at the top of the letter, for example PF-123456",
            "reference_pattern": r"PF-\d{6}",
            "amount": 6000,
            **overrides,
        }
        with tenant_scope(tenant):
            return services.create_payment_link(tenant=tenant, service=service, **fields)

    return make


def open_link(page, live_server, link, query=""):
    return page.goto(f"{live_server.url}/pay/link/{link.slug}/{query}")


def spaced(text: str) -> str:
    """Dutch amounts have a no-break space after the euro sign; compare as plain text."""
    return text.replace("\u00a0", " ")


def heading(page) -> str:
    return page.get_by_role("heading", level=1).inner_text()


def fill_card_fields(page, number):
    # By id: the labels are in the page's language.
    page.fill("#id_card_number", number)
    page.fill("#id_expiry_month", "04")
    page.fill("#id_expiry_year", "30")
    page.fill("#id_cardholder_name", "A. Citizen")
    page.fill("#id_security_code", "123")


def the_payment() -> Payment:
    with all_tenants():
        return Payment.objects.get()


def assert_all_in(page, language):
    assert page.locator("html").get_attribute("lang") == language
    assert untranslated(page.inner_text("body"), language) == []


def test_a_fixed_amount_link_in_english_from_reference_to_paid(page, live_server, make_link):
    link = make_link()
    response = open_link(page, live_server, link)
    assert response.status == 200
    assert heading(page) == "Parking fine"
    assert "€60.00" in page.locator(".summary").inner_text()
    page.get_by_label("Fine number").fill("PF-123456")
    page.get_by_role("button", name="Continue to payment").click()
    assert heading(page) == "Enter card details"
    assert "€60.00" in page.locator(".summary").inner_text()
    fill_card_fields(page, SUCCESS_CARD)
    page.get_by_role("button", name="Pay €60.00").click()
    assert heading(page) == "Payment successful"
    assert "You paid €60.00 for Parking fine." in page.inner_text("main")
    payment = the_payment()
    assert (payment.state, payment.payment_link_id) == ("success", link.pk)
    assert (payment.reference, payment.amount) == ("PF-123456", 6000)


def test_a_variable_amount_outside_the_range_is_refused(page, live_server, make_link):
    link = make_link(amount=None, min_amount=500, max_amount=20000)
    open_link(page, live_server, link)
    assert page.get_by_text("Between €5.00 and €200.00").is_visible()
    page.get_by_label("Fine number").fill("PF-123456")
    for typed, message in (
        ("4,99", "The amount must be €5.00 or more"),
        ("200.01", "The amount must be €200.00 or less"),
        ("lots", "Enter the amount in numbers, for example 12.50"),
    ):
        page.get_by_label("Amount").fill(typed)
        page.get_by_role("button", name="Continue to payment").click()
        summary = page.get_by_role("alert")
        assert message in summary.inner_text()
        # The summary's link takes the citizen to the field in question.
        summary.get_by_role("link", name=message).click()
        assert page.evaluate("document.activeElement.id") == "id_amount"
    with all_tenants():
        assert not Payment.objects.exists()
    page.get_by_label("Amount").fill("25,50")
    page.get_by_role("button", name="Continue to payment").click()
    assert heading(page) == "Enter card details"
    assert "€25.50" in page.locator(".summary").inner_text()
    assert the_payment().amount == 2550


def test_a_reference_not_in_the_agencys_form_is_refused(page, live_server, make_link):
    link = make_link()
    open_link(page, live_server, link)
    page.get_by_label("Fine number").fill("PF-12")
    page.get_by_role("button", name="Continue to payment").click()
    assert "Enter the reference exactly as it is written on your letter or invoice" in (
        page.get_by_role("alert").inner_text()
    )
    assert page.get_by_label("Fine number").input_value() == "PF-12"  # kept for correcting
    page.get_by_label("Fine number").fill("")
    page.get_by_role("button", name="Continue to payment").click()
    assert "Enter the reference" in page.get_by_role("alert").inner_text()
    with all_tenants():
        assert not Payment.objects.exists()


def test_a_disabled_link_says_so(page, live_server, tenant, make_link):
    link = make_link()
    with tenant_scope(tenant):
        services.disable_payment_link(link=link)
    response = open_link(page, live_server, link)
    assert response.status == 410
    assert heading(page) == "This payment link has been disabled"
    assert "Contact Tax Office to find out how to pay." in page.inner_text("main")


def test_a_link_disabled_while_the_citizen_fills_it_in_takes_no_payment(
    page, live_server, tenant, make_link
):
    link = make_link()
    open_link(page, live_server, link)
    page.get_by_label("Fine number").fill("PF-123456")
    with tenant_scope(tenant):
        services.disable_payment_link(link=link)
    page.get_by_role("button", name="Continue to payment").click()
    assert heading(page) == "This payment link has been disabled"
    with all_tenants():
        assert not Payment.objects.exists()


def test_in_welsh_from_the_link_to_the_result(page, live_server, make_link):
    link = make_link(languages=["en", "cy"], translations={"cy": WELSH})
    open_link(page, live_server, link)
    assert heading(page) == "Parking fine"  # the link's first language, for an en-GB browser
    page.get_by_role("link", name="Cymraeg").click()
    assert heading(page) == "Dirwy parcio"
    assert_all_in(page, "cy")
    page.get_by_label("Rhif y ddirwy").fill("PF-1")
    page.get_by_role("button", name="Parhau i dalu").click()
    assert "Rhowch y cyfeirnod yn union" in page.get_by_role("alert").inner_text()
    assert_all_in(page, "cy")
    page.get_by_label("Rhif y ddirwy").fill("PF-123456")
    page.get_by_role("button", name="Parhau i dalu").click()
    # The hosted page goes on in the language the citizen chose.
    assert heading(page) == "Rhowch fanylion y cerdyn"
    assert_all_in(page, "cy")
    page.get_by_role("button", name="Talu €60.00").click()  # nothing filled in
    assert "Rhowch rif y cerdyn" in page.get_by_role("alert").inner_text()
    assert_all_in(page, "cy")
    fill_card_fields(page, DECLINED_CARD)
    page.get_by_role("button", name="Talu €60.00").click()
    assert heading(page) == "Mae eich taliad wedi'i wrthod"
    assert_all_in(page, "cy")
    assert the_payment().language == "cy"


def test_in_dutch_for_a_dutch_browser_with_dates_and_amounts_written_the_dutch_way(
    page_in, live_server, make_link
):
    page = page_in("nl-NL")
    link = make_link(
        amount=None,
        min_amount=500,
        max_amount=20000,
        languages=["en", "nl"],
        translations={"nl": DUTCH},
    )
    open_link(page, live_server, link)
    assert heading(page) == "Parkeerboete"
    assert page.get_by_text("Tussen € 5,00 en € 200,00").is_visible()
    assert_all_in(page, "nl")
    page.get_by_label("Boetenummer").fill("PF-123456")
    page.get_by_label("Bedrag").fill("1,50")
    page.get_by_role("button", name="Doorgaan naar betalen").click()
    assert "Het bedrag moet minstens € 5,00 zijn" in spaced(page.get_by_role("alert").inner_text())
    assert_all_in(page, "nl")
    page.get_by_label("Bedrag").fill("12,50")
    page.get_by_role("button", name="Doorgaan naar betalen").click()
    assert heading(page) == "Vul uw kaartgegevens in"
    assert "€ 12,50" in spaced(page.locator(".summary").inner_text())
    assert_all_in(page, "nl")
    fill_card_fields(page, SUCCESS_CARD)
    page.get_by_role("button", name="Betaal € 12,50").click()
    assert heading(page) == "Betaling gelukt"
    assert_all_in(page, "nl")

    expired = make_link(
        expires_at=timezone.make_aware(dt.datetime(2026, 5, 12, 12)),
        languages=["nl"],
        translations={"nl": DUTCH},
    )
    assert open_link(page, live_server, expired).status == 410
    assert heading(page) == "Deze betaallink is verlopen"
    assert "12 mei 2026" in page.inner_text("main")
    assert_all_in(page, "nl")


def test_a_payments_own_language_beats_the_browsers(page_in, live_server, create_payment):
    page = page_in("nl-NL")
    payment = create_payment(language="cy")
    page.goto(live_server.url + "/pay/" + payment["next_url"].rsplit("/pay/", 1)[1])
    assert heading(page) == "Rhowch fanylion y cerdyn"
    assert_all_in(page, "cy")
