"""Which event calls for which notice, to whom, in which language, saying what.

Every handler is a ``calls_out`` subscriber: it sends mail, so it runs with no
transaction of the dispatcher's open (hub/events/subscribers.py) and is idempotent on its
own (one notice per event and kind, never sent twice: notifications/services/sending.py).
A send that fails raises, and the outbox retries the event with back-off.

What goes into a template is formatted here, once, for the notice's language: amounts
(``€ 12,50``, ``£12.50``) and dates (``12 mei 2027``) as its readers write them.
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from collection import selectors as collection_selectors
from collection import services as collection_services
from collection.events import (
    DUNNING_STEP,
    INSTALMENT_ADVANCE_NOTICE_DUE,
    INSTALMENT_FAILED,
    MANDATE_ACTIVE,
)
from hub.events.models import Event
from hub.events.subscribers import subscribe
from hub.i18n import format_date
from hub.money import format_money
from notifications.kinds import DUNNING_STEP_KINDS, NoticeKind
from notifications.languages import notice_language
from notifications.links import payment_link_for
from notifications.selectors import notification_settings
from notifications.services import NoticeRequest, send_notice
from payments import selectors as payments_selectors
from payments.events import PAYMENT_SUCCEEDED, REFUND_SUCCEEDED

SEPA = "sepa_core"


def _common(event: Event, language: str, settings=None) -> dict:
    """What every notice says about the agency (``settings``: the agency's notice
    settings, when the caller has read them already)."""
    settings = settings or notification_settings(event.tenant)
    return {
        "agency": settings.sender_name or event.tenant.name,
        "footer": settings.footer,
        "contact": settings.reply_to or event.tenant.contact_email,
        "language": language,
    }


def _language(event: Event, *sources) -> str:
    # The agency's default language is one setting for its pages and its notices
    # (Tenant.default_language), not one per channel.
    return notice_language(*sources, default=event.tenant.default_language)


def _event_day(event: Event) -> dt.date:
    return timezone.localdate(event.created_at)


@subscribe(PAYMENT_SUCCEEDED, name="notifications.payment_confirmation", calls_out=True)
def payment_confirmation(event: Event) -> None:
    if event.payload.get("method") == "direct_debit":
        return  # a collected instalment: the advance notice told the debtor already
    payment = payments_selectors.payment_with_payer(event.tenant, event.subject_id)
    if payment is None:
        return
    language = _language(event, payment, payment.constituent)
    send_notice(
        NoticeRequest(
            kind=NoticeKind.PAYMENT_CONFIRMATION,
            event=event,
            subject_id=payment.pk,
            address=payment.email or getattr(payment.constituent, "email", "") or "",
            constituent=payment.constituent,
            language=language,
            context={
                **_common(event, language),
                "amount": format_money(payment.amount, payment.currency, language),
                "description": payment.description,
                "reference": payment.reference,
                "payment_id": payment.pk,
                "date": format_date(_event_day(event), language),
            },
        )
    )


@subscribe(REFUND_SUCCEEDED, name="notifications.refund_confirmation", calls_out=True)
def refund_confirmation(event: Event) -> None:
    refund = payments_selectors.refund_with_payment(event.tenant, event.subject_id)
    if refund is None:
        return
    payment = refund.payment
    language = _language(event, payment, payment.constituent)
    send_notice(
        NoticeRequest(
            kind=NoticeKind.REFUND_CONFIRMATION,
            event=event,
            subject_id=refund.pk,
            address=payment.email or getattr(payment.constituent, "email", "") or "",
            constituent=payment.constituent,
            language=language,
            context={
                **_common(event, language),
                "amount": format_money(refund.amount, payment.currency, language),
                "paid_amount": format_money(payment.amount, payment.currency, language),
                "description": payment.description,
                "reference": payment.reference,
                "date": format_date(_event_day(event), language),
            },
        )
    )


@subscribe(MANDATE_ACTIVE, name="notifications.mandate_confirmation", calls_out=True)
def mandate_confirmation(event: Event) -> None:
    mandate = collection_selectors.mandate_with_debtor(event.tenant, event.subject_id)
    if mandate is None:
        return
    settings = collection_selectors.collection_settings(event.tenant)
    constituent = mandate.constituent
    language = _language(event, constituent)
    send_notice(
        NoticeRequest(
            kind=NoticeKind.MANDATE_CONFIRMATION,
            event=event,
            subject_id=mandate.pk,
            address=constituent.email,
            constituent=constituent,
            language=language,
            context={
                **_common(event, language),
                "sepa": mandate.scheme == SEPA,
                "mandate_reference": mandate.reference,
                "account_holder": mandate.account_holder_name,
                "account": mandate.account_masked,
                "creditor_id": settings.creditor_id,
                "creditor_name": settings.creditor_name or event.tenant.name,
                "service_user_number": settings.bacs_service_user_number,
                "notice_days": settings.advance_notice_days(mandate.scheme),
                "signed_on": format_date(mandate.signed_on, language),
            },
        )
    )


@subscribe(INSTALMENT_ADVANCE_NOTICE_DUE, name="notifications.advance_notice", calls_out=True)
def advance_notice(event: Event) -> None:
    payload = event.payload
    instalment = collection_selectors.instalment_with_parties(event.tenant, event.subject_id)
    if instalment is None:
        return
    due_date = dt.date.fromisoformat(payload["due_date"])
    constituent = instalment.debt.constituent
    language = _language(event, constituent)
    currency = payload["currency"]

    def tell_collection(notice) -> None:
        collection_services.record_advance_notice(
            tenant=event.tenant,
            instalment_id=instalment.pk,
            due_date=due_date,
            sent_on=timezone.localdate(notice.sent_at),
        )

    send_notice(
        NoticeRequest(
            kind=NoticeKind.ADVANCE_NOTICE,
            event=event,
            subject_id=instalment.pk,
            address=constituent.email,
            constituent=constituent,
            language=language,
            context={
                **_common(event, language),
                "sepa": payload["scheme"] == SEPA,
                "amount": format_money(payload["amount"], currency, language),
                "date": format_date(due_date, language),
                "mandate_reference": payload["mandate_reference"],
                "creditor_id": payload["creditor_id"],
                "creditor_name": payload["creditor_name"] or event.tenant.name,
                "service_user_number": payload["bacs_service_user_number"],
                "account": instalment.mandate.account_masked,
                "reference": instalment.debt.reference,
                "description": instalment.debt.description,
            },
            after_sent=tell_collection,
        )
    )


@subscribe(DUNNING_STEP, name="notifications.dunning_reminder", calls_out=True)
def dunning_reminder(event: Event) -> None:
    kind = DUNNING_STEP_KINDS.get(event.payload.get("step", ""))
    if kind is None:
        return  # a referral or an agency's own step: the agency acts on the webhook
    debt = collection_selectors.debt_with_debtor(event.tenant, event.subject_id)
    if debt is None:
        return
    constituent = debt.constituent
    language = _language(event, constituent)
    balance = event.payload["debt"]["balance"]
    settings = notification_settings(event.tenant)
    send_notice(
        NoticeRequest(
            kind=kind,
            event=event,
            subject_id=debt.pk,
            address=constituent.email,
            constituent=constituent,
            language=language,
            context={
                **_common(event, language, settings),
                "amount": format_money(balance, debt.currency, language),
                "description": debt.description,
                "reference": debt.reference,
                "since": format_date(debt.arrears_since or debt.due_date, language),
                "payment_link": payment_link_for(settings, debt, amount=balance),
            },
        )
    )


@subscribe(INSTALMENT_FAILED, name="notifications.failed_collection", calls_out=True)
def failed_collection(event: Event) -> None:
    payload = event.payload
    instalment = collection_selectors.instalment_with_parties(event.tenant, event.subject_id)
    if instalment is None:
        return
    debt = instalment.debt
    constituent = debt.constituent
    language = _language(event, constituent)
    attempt = payload.get("attempt") or {}
    collected_on = attempt.get("collection_date") or payload["due_date"]
    retry_on = payload.get("retry_on")
    settings = notification_settings(event.tenant)
    send_notice(
        NoticeRequest(
            kind=NoticeKind.FAILED_COLLECTION,
            event=event,
            subject_id=instalment.pk,
            address=constituent.email,
            constituent=constituent,
            language=language,
            context={
                **_common(event, language, settings),
                "amount": format_money(payload["amount"], payload["currency"], language),
                "date": format_date(collected_on, language),
                "retry_date": format_date(retry_on, language) if retry_on else "",
                "returned": bool(payload.get("returned")),
                "reference": debt.reference,
                "description": debt.description,
                "mandate_reference": instalment.mandate.reference,
                # A debit that will be retried needs no payment: the notice says when.
                "payment_link": None
                if retry_on
                else payment_link_for(settings, debt, amount=payload["amount"]),
            },
        )
    )
