"""Direct debits in batches: what a collection run of 100,000 instalments calls.

The one-by-one services (``create_payment`` + ``submit_direct_debit``,
``confirm_direct_debit``) cost about twenty SQL round trips per payment: fine for an
API call, 50 minutes for a national run. These functions write the same rows, the
same timeline, the same events and the same ledger postings for a whole batch with
one statement per table, inside the caller's transaction (a collection batch that
holds its instalments' row locks). tests/collection/test_bulk_equivalence.py keeps
the two paths identical.

Refusals stay per payment: a request the one-by-one service would refuse (a closed
service, a constituent the agency no longer holds) gets the same ``HubError`` back in
its place, and the rest of the batch goes on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from django.db import transaction
from django.utils import timezone

from hub import bulk
from hub.errors import HubError, InvalidRequest
from hub.events.outbox import EventSpec, publish_batched
from payments.events import PAYMENT_CREATED, PAYMENT_SUBMITTED, PAYMENT_SUCCEEDED, payment_payload
from payments.models import (
    LedgerLine,
    LedgerTransaction,
    Payment,
    PaymentEvent,
    PaymentMethod,
    PaymentState,
)
from payments.services import postings
from payments.services.direct_debit import SOURCE as DIRECT_DEBIT_SOURCE
from payments.services.lifecycle import (
    check_service,
    choose_provider,
    validate_payment_fields,
)
from registration.models import Registration
from tenants.ids import new_id
from tenants.models import Service, Tenant
from tenants.scope import acting_for

S = PaymentState
TICK = timedelta(microseconds=1)


@dataclass(frozen=True)
class DirectDebitRequest:
    """One debit to record. ``provider_reference`` set: the debit is submitted at once
    (a bank file: the bank knows it by its end-to-end id, no outside call needed)."""

    service: Service
    amount: int
    currency: str
    description: str
    reference: str
    constituent_id: str | None
    metadata: dict
    provider_reference: str = ""


def create_direct_debits(
    *, tenant: Tenant, provider: str, requests: Sequence[DirectDebitRequest]
) -> list[Payment | HubError]:
    """Record a batch of direct debits: a ``Payment`` for each request, or the error
    ``create_payment`` would have raised for it, in the requests' order.

    Rows written, as the one-by-one path writes them: the payment; its timeline
    (created, and submitted when a provider reference is given); ``payment.created``
    (and ``payment.submitted``) with the payload of that moment.
    """
    results: list[Payment | HubError] = []
    with acting_for(tenant), transaction.atomic():
        registered = _registered_constituents(tenant, requests)
        service_refusal: dict[str, HubError | None] = {}
        chosen: dict[str, tuple | HubError] = {}
        now = timezone.now()
        defaults = _payment_defaults()
        payments: list[Payment] = []
        timeline: list[dict] = []
        events: list[EventSpec] = []
        for request in requests:
            try:
                validate_payment_fields(
                    amount=request.amount,
                    currency=request.currency,
                    description=request.description,
                    reference=request.reference,
                )
                _raise_cached(
                    service_refusal, request.service.pk, check_service, tenant, request.service
                )
                if request.constituent_id and request.constituent_id not in registered:
                    raise InvalidRequest(
                        "No such constituent", code="does_not_exist", field="constituent"
                    )
                choice = chosen.get(request.service.pk)
                if choice is None:
                    try:
                        choice = choose_provider(
                            tenant=tenant,
                            service=request.service,
                            method=PaymentMethod.DIRECT_DEBIT,
                            requested=provider,
                        )
                    except HubError as exc:
                        choice = exc
                    chosen[request.service.pk] = choice
                if isinstance(choice, HubError):
                    raise choice
            except HubError as exc:
                results.append(exc)
                continue
            name, _plugin, account = choice
            payment = _new_payment(
                defaults,
                tenant=tenant,
                service=request.service,
                account=account,
                values={
                    "constituent_id": request.constituent_id or None,
                    "method": PaymentMethod.DIRECT_DEBIT,
                    "amount": request.amount,
                    "currency": request.currency,
                    "description": request.description.strip(),
                    "reference": request.reference.strip(),
                    "metadata": request.metadata or {},
                    "provider": name,
                    "created_at": now,
                    "updated_at": now,
                },
            )
            timeline.append(_timeline(payment, "", S.CREATED, "direct_debit", now))
            events.append(EventSpec(tenant, PAYMENT_CREATED, payment.pk, payment_payload(payment)))
            if request.provider_reference:
                payment.provider_reference = request.provider_reference[:255]
                payment.state = S.SUBMITTED
                # A microsecond later: the timeline orders by time, and "created" comes first.
                timeline.append(
                    _timeline(payment, S.CREATED, S.SUBMITTED, DIRECT_DEBIT_SOURCE, now + TICK)
                )
                events.append(
                    EventSpec(tenant, PAYMENT_SUBMITTED, payment.pk, payment_payload(payment))
                )
            payments.append(payment)
            results.append(payment)
        if payments:
            # COPY on PostgreSQL (hub.bulk): a batch's rows without one INSERT literal
            # per field.
            bulk.insert_objects(Payment, payments)
            bulk.insert(PaymentEvent, timeline)
            publish_batched(events)
    return results


def confirm_direct_debits(*, tenant: Tenant, collected: Sequence[tuple[str, date]]) -> list[str]:
    """Bank-file debits collected on their settlement date: ``collected`` is (payment
    id, provisional until). Returns the ids confirmed.

    As ``confirm_direct_debit`` does for one: only a payment still ``submitted``
    becomes ``success`` (a reject that arrived meanwhile left it failed: skipped); the
    collection is posted to the ledger and ``payment.succeeded`` is published. The
    payments are locked (in id order, so two settlements cannot deadlock) for the
    caller's transaction.
    """
    if not collected:
        return []
    until = dict(collected)
    with acting_for(tenant), transaction.atomic():
        locked = list(
            Payment.objects.select_for_update(of=("self",))
            .filter(pk__any=list(until), method=PaymentMethod.DIRECT_DEBIT, state=S.SUBMITTED)
            .order_by("pk")
        )
        if not locked:
            return []
        # Every row is the scope's agency's: one Tenant for the batch, not one per row.
        tenant_field = Payment._meta.get_field("tenant")
        for payment in locked:
            if payment.tenant_id == tenant.pk:
                tenant_field.set_cached_value(payment, tenant)
        now = timezone.now()
        timeline, events, ledger_transactions, ledger_lines = [], [], [], []
        for payment in locked:
            payment.provisional_until = until[payment.pk]
            payment.state = S.SUCCESS
            payment.finished_at = now
            payment.updated_at = now
            timeline.append(_timeline(payment, S.SUBMITTED, S.SUCCESS, DIRECT_DEBIT_SOURCE, now))
            events.append(
                EventSpec(tenant, PAYMENT_SUCCEEDED, payment.pk, payment_payload(payment))
            )
            # A bank charges no per-debit fee the hub learns of: recorded as 0 at once,
            # after the event (as ``confirm_direct_debit(fee=0)`` records it).
            payment.fee = 0
            payment.fee_recorded_at = now
            posting, lines = postings.payment_collected_rows(payment)
            ledger_transactions.append(posting)
            ledger_lines.extend(lines)
        changed = [
            "provisional_until",
            "state",
            "finished_at",
            "updated_at",
            "fee",
            "fee_recorded_at",
        ]
        bulk.update(
            Payment,
            [{"pk": p.pk, **{name: getattr(p, name) for name in changed}} for p in locked],
            changed,
        )
        bulk.insert(PaymentEvent, timeline)
        # Each cause is posted once (the unique idempotency key): a payment confirmed by
        # another path already left its submitted state and is not in ``locked``.
        bulk.insert(LedgerTransaction, ledger_transactions)
        bulk.insert(LedgerLine, ledger_lines)
        publish_batched(events)
    return [payment.pk for payment in locked]


_PAYMENT_FIELDS = Payment._meta.concrete_fields
_PAYMENT_ATTNAMES = [field.attname for field in _PAYMENT_FIELDS]
_tenant_field = Payment._meta.get_field("tenant")
_service_field = Payment._meta.get_field("service")
_account_field = Payment._meta.get_field("provider_account")


def _payment_defaults() -> dict:
    """Every column's default, once per batch (``_new_payment`` gives the id and each
    value that is not a constant)."""
    return {field.attname: field.get_default() for field in _PAYMENT_FIELDS}


def _new_payment(defaults: dict, *, tenant, service, account, values: dict) -> Payment:
    """``Payment(tenant=…, service=…, provider_account=…, **values)``, built the way
    Django builds a row it read (every column given in order, no per-field default
    look-up: that was most of a batch's Payment() cost), with the same related objects
    cached."""
    row = {
        **defaults,
        **values,
        "tenant_id": tenant.pk,
        "id": new_id("pay"),
        "service_id": service.pk,
        "provider_account_id": account.pk if account is not None else None,
    }
    payment = Payment(*[row[name] for name in _PAYMENT_ATTNAMES])
    _tenant_field.set_cached_value(payment, tenant)
    _service_field.set_cached_value(payment, service)
    _account_field.set_cached_value(payment, account)
    return payment


def _registered_constituents(tenant: Tenant, requests: Sequence[DirectDebitRequest]) -> set[str]:
    """The constituents among the requests the agency actively holds (one query)."""
    wanted = {request.constituent_id for request in requests if request.constituent_id}
    if not wanted:
        return set()
    return set(
        Registration.objects.filter(
            tenant=tenant, constituent_id__any=list(wanted), status=Registration.Status.ACTIVE
        ).values_list("constituent_id", flat=True)
    )


def _raise_cached(cache: dict, key, check, *args) -> None:
    """Run ``check`` once per key; raise its error again for every later request."""
    if key not in cache:
        try:
            check(*args)
            cache[key] = None
        except HubError as exc:
            cache[key] = exc
    if cache[key] is not None:
        raise cache[key]


def _timeline(payment: Payment, from_state: str, to_state: str, source: str, now) -> dict:
    """A timeline row as ``PaymentEvent`` would write it, for ``hub.bulk.insert``."""
    return {
        "tenant_id": payment.tenant_id,
        "payment_id": payment.pk,
        "from_state": from_state,
        "to_state": to_state,
        "applied": True,
        "source": source,
        "detail": {},
        "occurred_at": now,
    }
