"""How a reminder tells the citizen to pay: the agency's payment link, where it allows one.

An agency chooses one of its payment links for reminders (NotificationSettings'
``reminder_payment_link``). A reminder then carries the link's address with the debt's
reference and outstanding amount filled in; the citizen checks them and pays on the
hosted payment page. Without a chosen link, or when the link cannot take this payment
(disabled, expired, a fixed amount that is not the debt's, a reference its pattern
refuses), the notice tells the citizen to pay with the debt's reference instead.
"""

from __future__ import annotations

from payments import selectors as payment_selectors


def payment_link_for(settings, debt, *, amount: int) -> str | None:
    """The prefilled payment-link address for ``amount`` of ``debt``, or None."""
    if settings.reminder_payment_link_id is None:
        return None
    return payment_selectors.prefilled_payment_link_url(
        settings.reminder_payment_link,
        reference=debt.reference,
        amount=amount,
        currency=debt.currency,
    )
