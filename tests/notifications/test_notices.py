"""Each notice kind, in English, Dutch and Welsh: from the event that causes it to the
message in Django's outbox and the record of it."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.test import Client
from freezegun import freeze_time

from collection.models import Instalment, Mandate
from collection.services import advance_notices, debts, dunning, mandates
from hub.events.models import Event
from notifications.models import Notice
from payments import services as payments
from tenants.scope import all_tenants, tenant_scope
from tests.collection.conftest import dispatch_pending
from tests.collection.test_returns import collected_first_instalment, latest_attempt
from tests.notifications.conftest import give_email, notice_settings
from tests.payments.conftest import new_payment, paid_payment

pytestmark = pytest.mark.django_db

LANGUAGES = ["en", "nl", "cy"]


def only_notice(tenant, kind) -> Notice:
    with tenant_scope(tenant):
        [notice] = Notice.objects.filter(kind=kind)
        return notice


def assert_recorded(tenant, kind, message, *, language, event_type):
    notice = only_notice(tenant, kind)
    assert notice.status == Notice.Status.SENT
    assert notice.language == language
    assert notice.recipient_masked == f"{message.to[0][0]}***@example.org"
    assert notice.provider_message_id == message.extra_headers["Message-ID"]
    assert notice.subject == message.subject
    with all_tenants():
        assert Event.objects.get(pk=notice.event_id).type == event_type
    return notice


@pytest.fixture
def card_service(tenant):
    from tenants import services as tenant_services

    return tenant_services.create_service(
        tenant=tenant, code="passport", name="Passport", interaction_kind="discretionary"
    )


PAYMENT_TEXT = {
    "en": ("Your payment of €85.50 to Tax Office", "12 May 2027", "What for: Passport renewal"),
    "nl": ("Uw betaling van € 85,50 aan Tax Office", "12 mei 2027", "Waarvoor: Passport renewal"),
    "cy": ("Eich taliad o €85.50 i Tax Office", "12 Mai 2027", "Am beth: Passport renewal"),
}


@pytest.mark.parametrize("language", LANGUAGES)
def test_payment_confirmation(language, tenant, card_service):
    notice_settings(tenant, default_language=language, footer="Open 9-17, 0800 123")
    with freeze_time("2027-05-12 10:00"):
        payment = paid_payment(tenant, card_service, email="citizen@example.org")
        dispatch_pending()
    [message] = mail.outbox
    subject, day, line = PAYMENT_TEXT[language]
    assert message.subject == subject
    assert day in message.body and line in message.body and "PASS-0001" in message.body
    assert "Open 9-17, 0800 123" in message.body
    assert message.to == ["citizen@example.org"]
    assert message.from_email == f"{tenant.name} <notices@hub.localhost>"
    notice = assert_recorded(
        tenant, "payment_confirmation", message, language=language, event_type="payment.succeeded"
    )
    assert notice.subject_id == payment.pk


REFUND_TEXT = {
    "en": "Tax Office has refunded €20.00",
    "nl": "Tax Office heeft € 20,00 terugbetaald",
    "cy": "Mae Tax Office wedi ad-dalu €20.00",
}


@pytest.mark.parametrize("language", LANGUAGES)
def test_refund_confirmation(language, tenant, card_service):
    notice_settings(tenant, default_language=language, payment_confirmations=False)
    payment = paid_payment(tenant, card_service, email="citizen@example.org")
    with tenant_scope(tenant):
        payments.create_refund(payment=payment, amount=2000, reason="overpaid")
    dispatch_pending()
    [message] = mail.outbox  # the payment confirmation is switched off
    assert message.subject == REFUND_TEXT[language]
    assert_recorded(
        tenant, "refund_confirmation", message, language=language, event_type="refund.succeeded"
    )
    with tenant_scope(tenant):
        assert not Notice.objects.filter(kind="payment_confirmation").exists()


MANDATE_TEXT = {
    "en": ("Your direct debit to Tax Office is set up", "Creditor identifier: DE98ZZZ09999999999"),
    "nl": (
        "Uw automatische incasso door Tax Office is ingesteld",
        "Incassant-ID: DE98ZZZ09999999999",
    ),
    "cy": (
        "Mae eich debyd uniongyrchol i Tax Office wedi'i sefydlu",
        "Dynodwr y credydwr: DE98ZZZ09999999999",
    ),
}


@pytest.mark.parametrize("language", LANGUAGES)
def test_sepa_mandate_confirmation_names_reference_and_creditor_id(language, tenant, collections):
    notice_settings(tenant, default_language=language)
    constituent = collections.constituent()
    give_email(constituent, "debtor@example.org")
    mandate = collections.mandate(constituent, scheme="sepa_core")
    dispatch_pending()
    [message] = mail.outbox
    subject, creditor_line = MANDATE_TEXT[language]
    assert message.subject == subject
    assert creditor_line in message.body and mandate.reference in message.body
    assert "8" in message.body  # the eight-week refund right
    assert_recorded(
        tenant, "mandate_confirmation", message, language=language, event_type="mandate.active"
    )


GUARANTEE = {
    "en": [
        "The Direct Debit Guarantee",
        "This Guarantee is offered by all banks and building societies that accept "
        "instructions to pay Direct Debits",
        "Tax Office will notify you 10 working days in advance of your account being debited",
        "you are entitled to a full and immediate refund of the amount paid",
        "You can cancel a Direct Debit at any time by simply contacting your bank",
    ],
    "cy": ["Y Sicrwydd Debyd Uniongyrchol", "yn eich hysbysu 10 diwrnod gwaith"],
    "nl": ["De Direct Debit-garantie", "10 werkdagen"],
}


@pytest.mark.parametrize("language", LANGUAGES)
def test_bacs_mandate_confirmation_carries_the_direct_debit_guarantee(language, make_tenant):
    from tests.collection.conftest import Collections

    agency = make_tenant("bacs-office", name="Tax Office")
    collections = Collections(agency, provider="stripe")
    collections.update_settings(creditor_name="Tax Office", bacs_service_user_number="123456")
    notice_settings(agency, default_language=language)
    constituent = collections.constituent()
    give_email(constituent, "payer@example.org")
    mandate = collections.mandate(constituent, scheme="bacs")
    with tenant_scope(agency):
        mandates.activate_due_mandates(tenant=agency, today=dt.date(2024, 2, 1))
        assert Mandate.objects.get(pk=mandate.pk).state == Mandate.State.ACTIVE
    dispatch_pending()
    [message] = mail.outbox
    for text in GUARANTEE[language]:
        assert text in message.body
    assert "123456" in message.body


def arrears_debt(collections, tenant, *, address="late@example.org"):
    debt = collections.debt(amount=4250, due_date=dt.date(2024, 1, 2))
    give_email(debt.constituent, address)
    with tenant_scope(tenant):
        debts.mark_overdue_debts_in_arrears(tenant=tenant, today=dt.date(2024, 1, 10))
    return debt


REMINDER_SUBJECTS = {
    "en": ("Reminder: €42.50 to pay to Tax Office", "Final notice: €42.50 to pay to Tax Office"),
    "nl": (
        "Herinnering: € 42,50 te betalen aan Tax Office",
        "Laatste aanmaning: € 42,50 te betalen aan Tax Office",
    ),
    "cy": (
        "Nodyn atgoffa: €42.50 i'w dalu i Tax Office",
        "Hysbysiad terfynol: €42.50 i'w dalu i Tax Office",
    ),
}


@pytest.mark.parametrize("language", LANGUAGES)
def test_reminder_and_final_notice_say_how_to_pay_by_reference(language, tenant, collections):
    notice_settings(tenant, default_language=language)
    debt = arrears_debt(collections, tenant)
    with tenant_scope(tenant):
        dunning.run_dunning(tenant=tenant, today=dt.date(2024, 1, 14))
        dispatch_pending()
        assert len(mail.outbox) == 1
        dunning.run_dunning(tenant=tenant, today=dt.date(2024, 1, 30))
    dispatch_pending()
    reminder, final = mail.outbox
    assert (reminder.subject, final.subject) == REMINDER_SUBJECTS[language]
    assert debt.reference in reminder.body and debt.reference in final.body
    assert_recorded(tenant, "reminder", reminder, language=language, event_type="dunning.step")
    assert_recorded(tenant, "final_notice", final, language=language, event_type="dunning.step")


def reminder_link(tenant, service, **fields):
    values = {
        "title": "Tax arrears",
        "reference_label": "Your tax reference",
        "reference_pattern": r"TAX-\d{1,9}",
        "amount": None,
        "min_amount": 100,
        "max_amount": 1_000_000,
        **fields,
    }
    with tenant_scope(tenant):
        link = payments.create_payment_link(tenant=tenant, service=service, **values)
    notice_settings(tenant, reminder_payment_link=link)
    return link


def test_a_reminder_links_to_the_agencys_payment_link_with_reference_and_amount(
    tenant, collections, card_service, settings
):
    link = reminder_link(tenant, card_service)
    debt = arrears_debt(collections, tenant)
    with tenant_scope(tenant):
        dunning.run_dunning(tenant=tenant, today=dt.date(2024, 1, 14))
    dispatch_pending()
    [message] = mail.outbox
    url = f"{settings.HUB_PUBLIC_URL}/pay/link/{link.slug}/?reference={debt.reference}&amount=4250"
    assert f"Pay online: {url}" in message.body
    assert "quote the reference" not in message.body

    # The page the citizen opens shows the reference and amount filled in, to check.
    page = Client().get(url.removeprefix(settings.HUB_PUBLIC_URL))
    assert page.status_code == 200
    html = page.content.decode()
    assert f'value="{debt.reference}"' in html and 'value="42.50"' in html


@pytest.mark.parametrize(
    "fields",
    [
        {"active": False},
        {"amount": 6000, "min_amount": None, "max_amount": None},  # fixed, not the debt's
        {"max_amount": 4000},  # the balance is above what the link takes
        {"reference_pattern": r"PF-\d{6}"},  # the debt's reference is not one it accepts
        {"currency": "GBP"},
    ],
    ids=["disabled", "other-fixed-amount", "above-maximum", "reference-refused", "currency"],
)
def test_a_reminder_gives_the_reference_when_the_link_cannot_take_the_payment(
    fields, tenant, collections, card_service
):
    active = fields.pop("active", True)
    currency = fields.pop("currency", None)
    link = reminder_link(tenant, card_service, **fields)
    if not active or currency:
        with tenant_scope(tenant):
            type(link).objects.filter(pk=link.pk).update(
                active=active, currency=currency or link.currency
            )
    arrears_debt(collections, tenant)
    with tenant_scope(tenant):
        dunning.run_dunning(tenant=tenant, today=dt.date(2024, 1, 14))
    dispatch_pending()
    [message] = mail.outbox
    assert "/pay/link/" not in message.body
    assert "quote the reference" in message.body


def test_the_reminder_link_must_be_the_agencys_own(tenant, other_tenant, card_service):
    from django.core.exceptions import ValidationError

    from tenants import services as tenant_services

    other_service = tenant_services.create_service(
        tenant=other_tenant, code="parking", name="Parking", interaction_kind="discretionary"
    )
    with tenant_scope(other_tenant):
        theirs = payments.create_payment_link(
            tenant=other_tenant,
            service=other_service,
            title="Parking",
            reference_label="Fine",
            amount=6000,
        )
    settings_row = notice_settings(tenant)
    settings_row.reminder_payment_link = theirs
    with pytest.raises(ValidationError, match="this agency's own"):
        settings_row.clean()


FAILED_TEXT = {
    "en": ("Your direct debit payment of €4.00 to Tax Office was not made", "again on"),
    "nl": ("Uw incassobetaling van € 4,00 aan Tax Office is niet gelukt", "opnieuw te incasseren"),
    "cy": ("Ni wnaed eich taliad debyd uniongyrchol o €4.00 i Tax Office", "eto ar"),
}


@pytest.mark.parametrize("language", LANGUAGES)
def test_failed_collection_says_what_happens_next(language, tenant, collections):
    notice_settings(tenant, default_language=language, mandate_confirmations=False)
    debt, _, _, instalment = collected_first_instalment(tenant, collections, "sepa_core")
    give_email(debt.constituent, "debtor@example.org")
    attempt = latest_attempt(tenant, instalment)
    payments.record_direct_debit_return(
        payment=attempt.payment, reason_code="AM04", returned_on=dt.date(2024, 3, 5), source="t"
    )
    dispatch_pending()
    [message] = mail.outbox
    subject, next_step = FAILED_TEXT[language]
    assert message.subject == subject and next_step in message.body
    with tenant_scope(tenant):
        instalment.refresh_from_db()
    assert instalment.state == Instalment.State.RETRYING
    assert_recorded(
        tenant, "failed_collection", message, language=language, event_type="instalment.failed"
    )


ADVANCE_TEXT = {
    "en": ("Tax Office will collect €4.00 by direct debit on 1 March 2024", "Creditor identifier"),
    "nl": ("Tax Office incasseert € 4,00 op 1 maart 2024", "Incassant-ID"),
    "cy": ("Bydd Tax Office yn casglu €4.00 drwy ddebyd uniongyrchol ar 1 Mawrth 2024", "Dynodwr"),
}


@pytest.mark.parametrize("language", LANGUAGES)
def test_advance_notice_is_sent_in_time_and_the_run_collects(language, tenant, collections):
    collections.update_settings(advance_notices_by_hub=True)
    notice_settings(tenant, default_language=language, mandate_confirmations=False)
    debt, mandate, plan = collections.debt_in_plan(amount=1200, first_date=dt.date(2024, 3, 1))
    give_email(debt.constituent, "debtor@example.org")
    with tenant_scope(tenant):
        first = plan.instalments.get(sequence=1)
        # The deadline for 1 March is 16 February (14 days); the window opens 3 days
        # before it, so a failed send has days of retries.
        for day, asked in ((dt.date(2024, 2, 12), 0), (dt.date(2024, 2, 13), 1)):
            assert advance_notices.request_advance_notices(tenant=tenant, today=day) == asked
    with freeze_time("2024-02-13 06:00"):
        dispatch_pending()
    [message] = mail.outbox
    subject, creditor = ADVANCE_TEXT[language]
    assert message.subject == subject
    assert creditor in message.body and mandate.reference in message.body
    assert_recorded(
        tenant,
        "advance_notice",
        message,
        language=language,
        event_type="instalment.advance_notice_due",
    )
    with tenant_scope(tenant):
        first.refresh_from_db()
        assert first.advance_notice_for == dt.date(2024, 3, 1)
        assert first.advance_notice_sent_on == dt.date(2024, 2, 13)
    from tests.collection.test_returns import run_on

    run_on(tenant, first.submit_on)
    attempt = latest_attempt(tenant, first)
    assert attempt is not None and attempt.collection_date == dt.date(2024, 3, 1)


def test_a_run_moves_an_instalment_whose_notice_was_not_sent_and_says_so(tenant, collections):
    collections.update_settings(advance_notices_by_hub=True)
    _, _, plan = collections.debt_in_plan(amount=1200, first_date=dt.date(2024, 3, 1))
    # No email address: the notice cannot go out.
    with tenant_scope(tenant):
        advance_notices.request_advance_notices(tenant=tenant, today=dt.date(2024, 2, 13))
    dispatch_pending()
    assert mail.outbox == []
    notice = only_notice(tenant, "advance_notice")
    assert (notice.status, notice.suppressed_reason) == ("suppressed", "no_address")
    with tenant_scope(tenant):
        first = plan.instalments.get(sequence=1)
    from tests.collection.test_returns import run_on

    run_on(tenant, first.submit_on)  # 29 February
    assert latest_attempt(tenant, first) is None  # not collected
    with tenant_scope(tenant):
        first.refresh_from_db()
    # A notice sent from 3 days after the run covers 14 days later: 17 March is a Sunday.
    assert first.due_date == dt.date(2024, 3, 18)
    with all_tenants():
        [moved] = Event.objects.filter(type="instalment.rescheduled", subject_id=first.pk)
    assert moved.payload["reason"] == "advance_notice_not_sent"
    assert moved.payload["previous_due_date"] == "2024-03-01"
    with all_tenants():
        asked = Event.objects.filter(type="instalment.advance_notice_due", subject_id=first.pk)
        assert [e.payload["due_date"] for e in asked.order_by("created_at")] == [
            "2024-03-01",
            "2024-03-18",
        ]


def test_payment_with_no_address_is_recorded_but_nothing_sent(tenant, card_service):
    payment = new_payment(tenant, card_service)
    from payments.services.sandbox_payments import pay_with_test_card

    with tenant_scope(tenant):
        pay_with_test_card(payment=payment, card_number="4242 4242 4242 4242")
    dispatch_pending()
    assert mail.outbox == []
    notice = only_notice(tenant, "payment_confirmation")
    assert notice.suppressed_reason == "no_address"
