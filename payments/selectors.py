"""Reads about payments that more than one caller needs. Callers are in a tenant scope
(or ``all_tenants()`` for cross-tenant jobs); nothing here changes a row."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from urllib.parse import urlencode

from django.conf import settings
from django.db.models import (
    BooleanField,
    Case,
    CharField,
    Count,
    Exists,
    F,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Coalesce, TruncDate
from django.urls import reverse
from django.utils import timezone

from hub.iterables import batched
from payments.models import (
    Dispute,
    LedgerAccount,
    LedgerLine,
    Payment,
    PaymentEvent,
    PaymentLink,
    PaymentMethod,
    PaymentState,
    ProviderAccount,
    Refund,
)
from payments.rules.payment_links import reference_matches
from payments.rules.states import PAYABLE
from tenants.models import Service, Tenant
from tenants.scope import acting_for, all_tenants
from tenants.statements import CompiledQuery

# The ledger --------------------------------------------------------------------


def ledger_balances(*, tenant: Tenant, currency: str) -> dict[str, int]:
    """Every account's balance, debit minus credit (credit-normal accounts are negative)."""
    result = dict.fromkeys(LedgerAccount.values, 0)
    with acting_for(tenant):
        rows = (
            LedgerLine.objects.filter(currency=currency)
            .values("account")
            .annotate(debit=Sum("debit"), credit=Sum("credit"))
            .order_by()
        )
        for row in rows:
            result[row["account"]] = (row["debit"] or 0) - (row["credit"] or 0)
    return result


def ledger_currencies(*, tenant: Tenant) -> list[str]:
    with acting_for(tenant):
        return sorted(LedgerLine.objects.values_list("currency", flat=True).distinct().order_by())


def ledger_is_balanced(*, tenant: Tenant) -> bool:
    """Debits equal credits per currency, within every transaction, in one currency each."""
    with acting_for(tenant):
        per_currency = (
            LedgerLine.objects.values("currency")
            .annotate(debit=Sum("debit"), credit=Sum("credit"))
            .order_by()
        )
        if any(row["debit"] != row["credit"] for row in per_currency):
            return False
        unbalanced = (
            LedgerLine.objects.values("transaction_id")
            .annotate(debit=Sum("debit"), credit=Sum("credit"))
            .filter(~Q(debit=F("credit")))
            .order_by()
        )
        if unbalanced.exists():
            return False
        return not LedgerLine.objects.exclude(currency=F("transaction__currency")).exists()


# Payments and refunds -----------------------------------------------------------


def payment_by_provider_reference(tenant: Tenant, ref: str) -> Payment | None:
    """The agency's payment a provider knows as ``ref`` (PaymentIntent, session, mandate
    debit id); None when there is none."""
    if not ref:
        return None
    payments = Payment.objects.filter(tenant=tenant)
    return (
        payments.filter(provider_reference=ref).first()
        or payments.filter(provider_session_id=ref).first()
    )


def payment_by_hosted_token(token: str) -> Payment | None:
    """The hosted page's payment: the token is the credential, so look across agencies."""
    if not token:
        return None
    # The hosted page has no tenant yet and the token is the credential: look it up
    # across agencies (the page then acts in the payment's own scope).
    with all_tenants():
        return (
            Payment.objects.select_related("tenant", "service").filter(hosted_token=token).first()
        )


def payment_link_by_slug(slug: str) -> PaymentLink | None:
    """A payment link's public page: the slug is public, so look across agencies (the
    page then acts in the link's own scope)."""
    if not slug:
        return None
    with all_tenants():
        return PaymentLink.objects.select_related("tenant", "service").filter(slug=slug).first()


def prefilled_payment_link_url(
    link: PaymentLink | None, *, reference: str, amount: int, currency: str
) -> str | None:
    """The address of ``link``'s page with ``reference`` and ``amount`` filled in, or None
    when the link cannot take this payment: disabled or expired, another currency, a
    fixed amount that is not ``amount``, ``amount`` outside the link's range, or a
    reference its pattern refuses. A reminder then gives the reference instead of a
    link that would fail the citizen on the next page."""
    if link is None or not link.active:
        return None
    if link.expires_at is not None and link.expires_at <= timezone.now():
        return None
    if link.currency.upper() != (currency or "").upper() or amount <= 0:
        return None
    if link.amount is not None and link.amount != amount:
        return None
    if link.min_amount is not None and amount < link.min_amount:
        return None
    if link.max_amount is not None and amount > link.max_amount:
        return None
    if not reference_matches(link.reference_pattern, reference):
        return None
    query = {"reference": reference}
    if link.amount is None:
        query["amount"] = str(amount)  # minor units: unambiguous in any language
    path = reverse("payments-link-page", kwargs={"slug": link.slug})
    return f"{settings.HUB_PUBLIC_URL}{path}?{urlencode(query)}"


def refund_by_provider_reference(tenant: Tenant, ref: str) -> Refund | None:
    if not ref:
        return None
    return Refund.objects.filter(tenant=tenant, provider_reference=ref).first()


# Every payment asks for its service's account (no provider named): compiled once per
# process (tenants/statements.py), the agency's id a parameter checked against the scope.
# The constraints allow one active account per service and one active default, so this
# is at most two rows: no ORDER BY, the service's own one is preferred below.
_ACCOUNTS_FOR_SERVICE = CompiledQuery(
    lambda p: ProviderAccount.objects.filter(
        Q(service_id=p.service_id) | Q(service_id=None), tenant_id=p.tenant_id, active=True
    ).order_by(),
    params=["tenant_id", "service_id"],
    tenant_param="tenant_id",
)


def provider_account_for(
    *, tenant: Tenant, service: Service | None, provider: str | None = None
) -> ProviderAccount | None:
    """The active account for this service, else the agency's default one."""
    conditions = {"tenant_id": tenant.pk, "active": True}
    if provider:
        conditions["provider"] = provider
    if service is None:
        return ProviderAccount.objects.filter(service_id=None, **conditions).first()
    if provider:
        candidates = list(
            ProviderAccount.objects.filter(
                Q(service_id=service.pk) | Q(service_id=None), **conditions
            ).order_by()
        )
    else:
        candidates = _ACCOUNTS_FOR_SERVICE.fetch(tenant_id=tenant.pk, service_id=service.pk)
    own = next((account for account in candidates if account.service_id is not None), None)
    return own or next(iter(candidates), None)


def overdue_payments(*, now: datetime) -> QuerySet[Payment]:
    """Unfinished payments past their expiry (any agency; call inside all_tenants())."""
    return Payment.objects.filter(state__in=PAYABLE, expires_at__lte=now).order_by("expires_at")


def _not_checked_since(checked_before: datetime) -> Q:
    return Q(provider_checked_at__isnull=True) | Q(provider_checked_at__lte=checked_before)


def stuck_submitted_payments(*, before: datetime, checked_before: datetime) -> QuerySet[Payment]:
    """Submitted since ``before`` and not asked about since ``checked_before``; the least
    recently checked first, so a long tail of slow direct debits cannot starve the rest."""
    return (
        Payment.objects.filter(state=PaymentState.SUBMITTED, updated_at__lte=before)
        .filter(_not_checked_since(checked_before))
        .order_by(F("provider_checked_at").asc(nulls_first=True), "updated_at")
    )


def payments_awaiting_fee(
    *, provider: str, finished_between: tuple[datetime, datetime], checked_before: datetime
) -> QuerySet[Payment]:
    since, until = finished_between
    return (
        Payment.objects.filter(
            provider=provider,
            state=PaymentState.SUCCESS,
            fee_recorded_at__isnull=True,
            finished_at__gte=since,
            finished_at__lte=until,
        )
        .filter(_not_checked_since(checked_before))
        .order_by(F("provider_checked_at").asc(nulls_first=True), "finished_at")
    )


def stuck_refunds(*, before: datetime) -> QuerySet[Refund]:
    return Refund.objects.filter(state=Refund.State.SUBMITTED, created_at__lte=before).order_by(
        "created_at"
    )


# --- facts for reconciliation ---------------------------------------------------------
#
# Reconciliation reads every payment, refund and return of a period and the ones a
# statement's references name. It gets them here as plain frozen values, not model
# instances: payments owns its tables (nothing outside it queries them or can save a
# row it was handed), and a run reads many thousands of rows, where building a Django
# model per row was most of its time. ``excluding`` is the caller's
# ``Exists(... OuterRef("pk"))`` naming rows to leave out (reconciliation: those it
# matched already), so the exclusion stays one anti-join in the same query.

S = PaymentState
# Not finished yet: the money may still come in.
NOT_YET_COLLECTED = frozenset({S.CREATED, S.STARTED, S.SUBMITTED})


@dataclass(frozen=True, slots=True)
class PaymentFacts:
    """What another app may know about a payment and its money."""

    pk: str
    provider: str
    method: str
    state: str
    amount: int
    fee: int
    currency: str
    reference: str
    payer: str
    finished_at: datetime | None
    collected_at: datetime | None = None  # when the money came in
    returned_at: datetime | None = None  # when a collected direct debit went back

    @property
    def collected(self) -> bool:
        """The money came in (and, for a returned direct debit, went back later)."""
        return self.state == S.SUCCESS or self.returned_at is not None

    @property
    def awaiting_collection(self) -> bool:
        return self.state in NOT_YET_COLLECTED

    @property
    def is_direct_debit(self) -> bool:
        return self.method == PaymentMethod.DIRECT_DEBIT

    @property
    def may_be_returned(self) -> bool:
        """A direct debit the payer's bank can still take back (not returned yet)."""
        return self.returned_at is None and self.state in (S.SUCCESS, S.SUBMITTED)


@dataclass(frozen=True, slots=True)
class RefundFacts:
    """A paid refund, with what it shows as on a statement (its payment's channel)."""

    pk: str
    provider_reference: str
    amount: int
    finished_at: datetime | None
    created_at: datetime
    provider: str
    method: str
    currency: str
    reference: str  # the payment's
    payer: str


@dataclass(frozen=True, slots=True)
class DisputeFacts:
    pk: str
    status: str


_PAYMENT_FIELDS = (
    "id",
    "provider",
    "method",
    "state",
    "amount",
    "fee",
    "currency",
    "reference",
    "constituent__name",
    "metadata__payer_name",
    "finished_at",
)
_REFUND_FIELDS = (
    "id",
    "provider_reference",
    "amount",
    "finished_at",
    "created_at",
    "payment__provider",
    "payment__method",
    "payment__currency",
    "payment__reference",
    "payment__constituent__name",
    "payment__metadata__payer_name",
)


def payment_facts(payment_ids: Collection[str]) -> list[PaymentFacts]:
    """The payments with these ids (the agency's; unknown ids are left out)."""
    return _payment_facts(Payment.objects.filter(pk__any=list(payment_ids)))


def payment_by_id(payment_id: str) -> Payment | None:
    """The payment to hand to a payments service (record_direct_debit_return)."""
    return Payment.objects.filter(pk=payment_id).first()


def payments_named_by(tokens: Collection[str]) -> dict[str, set[str]]:
    """{payment id: the tokens naming it}: a token names a payment when it is its hub id
    (``pay_…``), its provider reference or the agency's reference."""
    hub_ids = [token for token in tokens if token.startswith("pay_")]
    by_field = [("pk", hub_ids), ("provider_reference", tokens), ("reference", tokens)]
    hits: dict[str, set[str]] = defaultdict(set)
    for name, values in by_field:
        if not values:
            continue
        rows = Payment.objects.filter(**{f"{name}__any": list(values)}).values_list(
            "pk", "provider_reference", "reference"
        )
        for pk, provider_reference, reference in rows:
            named = {"pk": pk, "provider_reference": provider_reference, "reference": reference}
            hits[pk].add(named[name])
    return hits


def reference_candidates() -> QuerySet[Payment]:
    """Every payment a statement line's reference may name as money received, as rows
    for a set-based join (reconciliation joins it to its statement lines' tokens in one
    query instead of looking tokens up batch by batch).

    The agency's successful payments, and its failed direct debits (a returned debit
    came in before it went back; which of them did is in their timeline, so the
    joiner treats them as "ask the one-by-one path"). Columns: ``id``,
    ``provider_reference``, ``reference``, ``net_amount`` (amount less fee, what a
    bank credits), ``currency``, ``provider``, ``succeeded`` (state is success) and
    ``batch_reference`` (the collection run's PmtInfId, or null)."""
    return (
        Payment.objects.filter(
            Q(state=S.SUCCESS) | Q(state=S.FAILED, method=PaymentMethod.DIRECT_DEBIT)
        )
        .annotate(
            net_amount=F("amount") - F("fee"),
            succeeded=Case(
                When(state=S.SUCCESS, then=Value(True)),
                default=Value(False),
                output_field=BooleanField(),
            ),
            batch_reference=KeyTextTransform("batch_reference", "metadata"),
        )
        .values(
            "id",
            "provider_reference",
            "reference",
            "net_amount",
            "currency",
            "provider",
            "succeeded",
            "batch_reference",
        )
    )


def collected_payments(
    *,
    finished_from: datetime | None = None,
    finished_before: datetime | None = None,
    currency: str | None = None,
    direct_debits_only: bool = False,
    batch_reference: str | None = None,
    not_provider: str | None = None,
    net_amounts: Collection[int] | None = None,
    tolerance: int = 0,
    excluding: Exists | None = None,
) -> list[PaymentFacts]:
    """Successful payments, filtered by when they finished, currency, direct debits
    only, the collection run (``batch_reference``: its pain.008 PmtInfId), a provider
    they were not made through, and their amount net of fee (``net_amounts`` ±
    ``tolerance``)."""
    payments = Payment.objects.filter(state=S.SUCCESS)
    if batch_reference is not None:
        payments = payments.filter(metadata__batch_reference=batch_reference)
    if currency is not None:
        payments = payments.filter(currency=currency)
    if direct_debits_only:
        payments = payments.filter(method=PaymentMethod.DIRECT_DEBIT)
    if finished_from is not None:
        payments = payments.filter(finished_at__gte=finished_from)
    if finished_before is not None:
        payments = payments.filter(finished_at__lt=finished_before)
    if not_provider is not None:
        payments = payments.exclude(provider=not_provider)
    payments = _excluding(payments, excluding)
    if net_amounts is not None:
        payments = payments.alias(net_amount=F("amount") - F("fee")).filter(
            _amount_filter("net_amount", sorted(set(net_amounts)), tolerance)
        )
    return _payment_facts(payments)


def collected_payments_in_chunks(
    *,
    finished_from: datetime,
    finished_before: datetime,
    chunk_size: int,
    excluding: Exists | None = None,
) -> Iterator[list[PaymentFacts]]:
    """Successful payments that finished in [finished_from, finished_before), in chunks.

    One query read through a server-side cursor (PostgreSQL) as the chunks are consumed:
    one pass over the rows, and memory stays that of one chunk."""
    payments = Payment.objects.filter(
        state=S.SUCCESS, finished_at__gte=finished_from, finished_at__lt=finished_before
    )
    rows = _excluding(payments, excluding).values_list(*_PAYMENT_FIELDS)
    for chunk in batched(rows.iterator(chunk_size=chunk_size), chunk_size):
        yield _facts_from_rows(chunk)


@dataclass(frozen=True, slots=True)
class CollectedSum:
    """What the successful payments of one provider, currency and local day add up to."""

    provider: str
    currency: str
    day: date  # the hub's calendar day of finished_at (a success's collection)
    gross: int
    fee: int
    count: int


def collected_payment_sums(
    *, finished_from: datetime, finished_before: datetime, among: Exists
) -> list[CollectedSum]:
    """``collected_payments_in_chunks`` summed by provider, currency and day in one
    ``GROUP BY``, for the payments ``among`` selects (a correlated subquery on ``pk``):
    what a caller needs of payments it does not list one by one (reconciliation's
    totals of the payments its report shows with their lines)."""
    rows = (
        Payment.objects.filter(
            state=S.SUCCESS, finished_at__gte=finished_from, finished_at__lt=finished_before
        )
        .filter(among)
        # The current time zone's day, as timezone.localtime(finished_at).date().
        .annotate(day=TruncDate("finished_at"))
        .values("provider", "currency", "day")
        .annotate(gross=Sum("amount"), fee_total=Sum("fee"), count=Count("id"))
        .order_by("provider", "currency", "day")
        .values_list("provider", "currency", "day", "gross", "fee_total", "count")
    )
    return [CollectedSum(*row) for row in rows]


def returned_debits_in_chunks(
    *,
    collected: bool,
    moment_from: datetime,
    moment_before: datetime,
    chunk_size: int,
    excluding: Exists | None = None,
) -> Iterator[list[PaymentFacts]]:
    """Collected direct debits the bank took back whose collection (``collected``) or
    return happened in [moment_from, moment_before), in chunks (streamed as above).

    A returned debit's ``finished_at`` is its return, so its collection is found in its
    timeline."""
    moment = S.SUCCESS if collected else S.FAILED
    events = PaymentEvent.objects.filter(
        applied=True, to_state=moment, occurred_at__gte=moment_from, occurred_at__lt=moment_before
    )
    returned = Payment.objects.filter(
        state=S.FAILED,
        pk__in=PaymentEvent.objects.filter(
            applied=True, from_state=S.SUCCESS, to_state=S.FAILED
        ).values("payment_id"),
    ).filter(pk__in=events.values("payment_id"))
    rows = _excluding(returned, excluding).values_list(*_PAYMENT_FIELDS)
    for chunk in batched(rows.iterator(chunk_size=chunk_size), chunk_size):
        facts = []
        for payment in _facts_from_rows(chunk):
            when = payment.collected_at if collected else payment.returned_at
            if when is not None and moment_from <= when < moment_before:
                facts.append(payment)
        if facts:
            yield facts


def payment_labels(payment_ids: Collection[str]) -> dict[str, tuple[str, str]]:
    """{payment id: (the agency's reference, the registered payer's name or "")}."""
    rows = Payment.objects.filter(pk__any=list(payment_ids)).values_list(
        "pk", "reference", "constituent__name"
    )
    return {pk: (reference, name or "") for pk, reference, name in rows}


def payment_label_rows() -> QuerySet[Payment]:
    """``payment_labels`` as rows for a set-based join: every payment of the agency with
    ``id``, ``reference`` and ``payer`` (the registered payer's name or ""), so that a
    report written by one ``INSERT … SELECT`` (reconciliation's report of the lines it
    matched) labels its rows exactly as ``payment_labels`` would, without reading the
    payments into Python."""
    return Payment.objects.annotate(
        payer=Coalesce(F("constituent__name"), Value(""), output_field=CharField())
    ).values("id", "reference", "payer")


def paid_refunds(
    *, ids: Collection[str] | None = None, provider_references: Collection[str] | None = None
) -> list[RefundFacts]:
    refunds = _paid_refunds()
    if ids is not None:
        refunds = refunds.filter(pk__any=list(ids))
    if provider_references is not None:
        refunds = refunds.filter(provider_reference__any=list(provider_references))
    return [_refund_facts(row) for row in refunds.values_list(*_REFUND_FIELDS)]


def paid_refunds_in_chunks(
    *,
    finished_from: datetime,
    finished_before: datetime,
    chunk_size: int,
    excluding: Exists | None = None,
) -> Iterator[list[RefundFacts]]:
    """Refunds paid in [finished_from, finished_before), in chunks (streamed as above)."""
    refunds = _paid_refunds().filter(
        finished_at__gte=finished_from, finished_at__lt=finished_before
    )
    rows = _excluding(refunds, excluding).values_list(*_REFUND_FIELDS)
    for chunk in batched(rows.iterator(chunk_size=chunk_size), chunk_size):
        yield [_refund_facts(row) for row in chunk]


def dispute_by_provider_reference(references: Collection[str]) -> DisputeFacts | None:
    """The (latest) dispute a provider knows by one of ``references`` (``dp_…``)."""
    row = (
        Dispute.objects.filter(provider_reference__any=list(references))
        .values_list("pk", "status")
        .first()
    )
    return DisputeFacts(*row) if row is not None else None


def active_provider_accounts(*, provider: str) -> list[ProviderAccount]:
    """The agency's active accounts with ``provider`` (their credentials included)."""
    return list(ProviderAccount.objects.filter(provider=provider, active=True))


def provider_account_by_id(account_id: str, *, provider: str) -> ProviderAccount | None:
    return ProviderAccount.objects.filter(pk=account_id, provider=provider).first()


def _paid_refunds() -> QuerySet[Refund]:
    return Refund.objects.filter(state=Refund.State.SUCCESS)


def _excluding(queryset: QuerySet, excluding: Exists | None) -> QuerySet:
    return queryset if excluding is None else queryset.exclude(excluding)


def _amount_filter(name: str, amounts: list[int], tolerance: int) -> Q:
    if tolerance == 0:
        return Q(**{f"{name}__in": amounts})
    condition = Q()
    for amount in amounts:
        condition |= Q(**{f"{name}__range": (amount - tolerance, amount + tolerance)})
    return condition


def _payment_facts(payments: QuerySet[Payment]) -> list[PaymentFacts]:
    return _facts_from_rows(list(payments.values_list(*_PAYMENT_FIELDS)))


def _facts_from_rows(rows: list[tuple]) -> list[PaymentFacts]:
    """PaymentFacts from ``values_list(*_PAYMENT_FIELDS)`` rows, with their money moments.

    A success's finished_at is its collection; only failed direct debits (a return is a
    failure) need their timeline read, in one query for all of them."""
    failed = [row[0] for row in rows if row[3] == S.FAILED and row[2] == PaymentMethod.DIRECT_DEBIT]
    moments: dict[str, dict[str, datetime]] = defaultdict(dict)
    if failed:
        events = PaymentEvent.objects.filter(payment_id__any=failed, applied=True).order_by(
            "occurred_at"
        )
        for payment_id, from_state, to_state, occurred_at in events.values_list(
            "payment_id", "from_state", "to_state", "occurred_at"
        ):
            if to_state == S.SUCCESS:
                moments[payment_id].setdefault("collected", occurred_at)
            elif from_state == S.SUCCESS and to_state == S.FAILED:
                moments[payment_id].setdefault("returned", occurred_at)
    facts = []
    for row in rows:
        pk, provider, method, state, amount, fee, currency, reference, name, payer, done = row
        if state == S.SUCCESS:
            collected_at, returned_at = done, None
        else:
            found = moments.get(pk, {})
            collected_at, returned_at = found.get("collected"), found.get("returned")
        facts.append(
            PaymentFacts(
                pk=pk,
                provider=provider,
                method=method,
                state=state,
                amount=amount,
                fee=fee,
                currency=currency,
                reference=reference,
                payer=name or (payer if isinstance(payer, str) else ""),
                finished_at=done,
                collected_at=collected_at,
                returned_at=returned_at,
            )
        )
    return facts


def _refund_facts(row: tuple) -> RefundFacts:
    pk, provider_reference, amount, finished, created, provider, method, currency = row[:8]
    reference, name, payer = row[8:]
    return RefundFacts(
        pk=pk,
        provider_reference=provider_reference,
        amount=amount,
        finished_at=finished,
        created_at=created,
        provider=provider,
        method=method,
        currency=currency,
        reference=reference,
        payer=name or str(payer or ""),
    )


def refund_with_payment(tenant: Tenant, refund_id: str) -> Refund | None:
    """A refund with its payment, its service and its payer (what a confirmation names)."""
    return (
        Refund.objects.filter(tenant=tenant, pk=refund_id)
        .select_related("payment__constituent", "payment__service")
        .first()
    )


def payment_with_payer(tenant: Tenant, payment_id: str) -> Payment | None:
    return (
        Payment.objects.filter(tenant=tenant, pk=payment_id)
        .select_related("constituent", "service")
        .first()
    )
