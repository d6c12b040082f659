"""Row locks that serialise every change to one payment (API, webhooks, jobs, admin).

On PostgreSQL ``select_for_update`` makes concurrent writers queue; the SQLite default
takes the database write lock at the start of each transaction, which serialises them
too. Callers are inside ``transaction.atomic()`` and the payment's tenant scope.
"""

from __future__ import annotations

from payments.models import Payment, Refund


def lock_payment(payment_or_id: Payment | str) -> Payment:
    pk = payment_or_id.pk if isinstance(payment_or_id, Payment) else payment_or_id
    return Payment.objects.select_for_update(of=("self",)).select_related("tenant").get(pk=pk)


def lock_refund(refund_or_id: Refund | str) -> Refund:
    pk = refund_or_id.pk if isinstance(refund_or_id, Refund) else refund_or_id
    return Refund.objects.select_for_update(of=("self",)).get(pk=pk)
