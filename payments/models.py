"""Payments, their timeline, refunds, provider accounts and the double-entry ledger.

The integrator-facing states follow GOV.UK Pay: created → started → submitted →
success | failed | cancelled | expired | error. Transitions live in
payments/services/transitions.py and nowhere else.
"""

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone

from hub.crypto import EncryptedTextField
from tenants.ids import PrefixedId
from tenants.models import Language
from tenants.scoping import TenantOwnedModel


class PaymentState(models.TextChoices):
    CREATED = "created"
    STARTED = "started"
    SUBMITTED = "submitted"
    SUCCESS = "success"
    FAILED = "failed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    ERROR = "error"


FINISHED_STATES = frozenset(
    {
        PaymentState.SUCCESS,
        PaymentState.FAILED,
        PaymentState.CANCELLED,
        PaymentState.EXPIRED,
        PaymentState.ERROR,
    }
)


class PaymentMethod(models.TextChoices):
    CARD = "card"
    DIRECT_DEBIT = "direct_debit"


class ProviderAccount(TenantOwnedModel):
    """An agency's account with a payment provider; credentials encrypted at rest."""

    id = models.CharField(
        primary_key=True, max_length=40, default=PrefixedId("pac"), editable=False
    )
    provider = models.CharField(max_length=30)  # "sandbox", "stripe"
    service = models.ForeignKey(
        "tenants.Service",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        help_text="Empty: the agency's default for every service",
    )
    secret_key = EncryptedTextField(blank=True, default="")
    webhook_secret = EncryptedTextField(blank=True, default="")
    publishable_key = models.CharField(max_length=200, blank=True)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "service"],
                condition=models.Q(active=True),
                name="one_active_provider_per_service",
            ),
            models.UniqueConstraint(
                fields=["tenant"],
                condition=models.Q(active=True, service__isnull=True),
                name="one_active_default_provider",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.provider} for {self.tenant}"


class PaymentLink(TenantOwnedModel):
    """A public page where anyone can pay the agency without an integration (GOV.UK
    Pay's payment links): the citizen gives the reference the agency asks for (and the
    amount, when it is not fixed), then pays on the ordinary hosted payment page.

    The amount is either fixed (``amount``) or the citizen's to enter between
    ``min_amount`` and ``max_amount``; the checks are payments/rules/payment_links.py.
    """

    id = models.CharField(
        primary_key=True, max_length=40, default=PrefixedId("plk"), editable=False
    )
    slug = models.SlugField(
        max_length=60,
        unique=True,
        help_text="The page's address: /pay/link/<slug>/ (unique across the hub)",
    )
    service = models.ForeignKey("tenants.Service", on_delete=models.PROTECT, related_name="+")
    title = models.CharField(max_length=255, help_text="What the citizen pays for")
    description = models.TextField(max_length=2000, blank=True)
    currency = models.CharField(max_length=3)
    amount = models.BigIntegerField(
        null=True, blank=True, help_text="Fixed amount, minor units; empty: the citizen enters it"
    )
    min_amount = models.BigIntegerField(
        null=True, blank=True, help_text="Least the citizen may enter, minor units"
    )
    max_amount = models.BigIntegerField(
        null=True, blank=True, help_text="Most the citizen may enter, minor units"
    )
    reference_label = models.CharField(
        max_length=100, help_text='What the reference is called, e.g. "Invoice number"'
    )
    reference_hint = models.CharField(
        max_length=255, blank=True, help_text='Where to find it, e.g. "At the top of your letter"'
    )
    reference_pattern = models.CharField(
        max_length=200,
        blank=True,
        help_text="A regular expression the whole reference must match (RE2 syntax, "
        r"e.g. INV-\d{6}); empty: any reference",
    )
    languages = models.JSONField(
        default=list,
        blank=True,
        help_text='Languages the page is offered in, e.g. ["en", "cy"]; the first is the '
        "default. Empty: every language the hub offers",
    )
    translations = models.JSONField(
        default=dict,
        blank=True,
        help_text="The title, description, reference label and hint in the link's other "
        'languages, e.g. {"cy": {"title": "…", "reference_label": "…"}}; what is not '
        "given is shown as above",
    )
    active = models.BooleanField(default=True, help_text="Off: the page says the link is disabled")
    expires_at = models.DateTimeField(
        null=True, blank=True, help_text="After this the page says the link has expired"
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(amount__gt=0, min_amount__isnull=True, max_amount__isnull=True)
                    | models.Q(
                        amount__isnull=True,
                        min_amount__gt=0,
                        max_amount__gte=models.F("min_amount"),
                    )
                ),
                name="payment_link_fixed_or_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.slug})"

    TRANSLATABLE_FIELDS = ("title", "description", "reference_label", "reference_hint")

    @property
    def fixed_amount(self) -> bool:
        return self.amount is not None

    def text_in(self, language: str) -> dict[str, str]:
        """The agency's wording for a page in ``language``: its translation where the
        agency gave one, else the wording of the link's own fields."""
        translated = (self.translations or {}).get(language) or {}
        return {
            field: translated.get(field) or getattr(self, field)
            for field in self.TRANSLATABLE_FIELDS
        }


class Payment(TenantOwnedModel):
    id = models.CharField(
        primary_key=True, max_length=40, default=PrefixedId("pay"), editable=False
    )
    service = models.ForeignKey("tenants.Service", on_delete=models.PROTECT, related_name="+")
    constituent = models.ForeignKey(
        "registration.Constituent",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    method = models.CharField(
        max_length=20, choices=PaymentMethod.choices, default=PaymentMethod.CARD
    )
    amount = models.BigIntegerField(help_text="Minor units")
    currency = models.CharField(max_length=3)
    description = models.CharField(max_length=255)
    reference = models.CharField(max_length=255, db_index=True)
    email = models.EmailField(blank=True)
    return_url = models.URLField(max_length=2000, blank=True)
    metadata = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)
    language = models.CharField(
        max_length=2,
        choices=Language.choices,
        blank=True,
        help_text="The payer's pages in this language; empty: the payer's browser decides",
    )
    payment_link = models.ForeignKey(
        PaymentLink,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="payments",
        help_text="The payment link the citizen started this payment from",
    )
    state = models.CharField(
        max_length=20, choices=PaymentState.choices, default=PaymentState.CREATED, db_index=True
    )
    failure_code = models.CharField(max_length=50, blank=True)
    failure_message = models.CharField(max_length=500, blank=True)
    provider = models.CharField(max_length=30)
    provider_reference = models.CharField(
        max_length=255,
        blank=True,
        db_index=True,
        help_text="Provider's id (Stripe PaymentIntent/charge)",
    )
    provider_session_id = models.CharField(
        max_length=255,
        blank=True,
        db_index=True,
        help_text="Provider's checkout session (Stripe cs_…), before a PaymentIntent exists",
    )
    provider_account = models.ForeignKey(
        ProviderAccount,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The credentials this payment was made with (refunds and re-syncs use them)",
    )
    next_url = models.URLField(max_length=2000, blank=True)
    # The secret in the hosted page's URL: whoever holds next_url may pay, nobody else.
    hosted_token = models.CharField(
        max_length=64, null=True, blank=True, unique=True, editable=False
    )
    provider_checked_at = models.DateTimeField(
        null=True, blank=True, help_text="When the stuck-payment check last asked the provider"
    )
    fee = models.BigIntegerField(default=0, help_text="Provider fee, minor units")
    fee_recorded_at = models.DateTimeField(
        null=True, blank=True, help_text="Empty: the provider has not told us its fee yet"
    )
    amount_refunded = models.BigIntegerField(
        default=0, help_text="Refunds submitted or succeeded: what is no longer refundable"
    )
    # Direct debits stay provisional until the scheme's return window has passed.
    provisional_until = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["tenant", "state", "created_at"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(amount__gt=0), name="payment_amount_positive"
            ),
            # The last line of defence against over-refunding (services lock the row).
            models.CheckConstraint(
                condition=models.Q(amount_refunded__gte=0, amount_refunded__lte=models.F("amount")),
                name="payment_refunds_within_amount",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.id} {self.amount} {self.currency} {self.state}"

    @property
    def amount_refundable(self) -> int:
        if self.state != PaymentState.SUCCESS:
            return 0
        return self.amount - self.amount_refunded

    @property
    def finished(self) -> bool:
        return self.state in FINISHED_STATES


class PaymentEvent(TenantOwnedModel):
    """The payment's timeline: every transition, and every ignored late event."""

    payment = models.ForeignKey(Payment, on_delete=models.CASCADE, related_name="timeline")
    from_state = models.CharField(max_length=20, blank=True)
    to_state = models.CharField(max_length=20)
    applied = models.BooleanField(default=True, help_text="False: recorded but ignored")
    source = models.CharField(max_length=50, help_text="api, sandbox, stripe_webhook, janitor…")
    detail = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)
    occurred_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["occurred_at", "id"]

    def __str__(self) -> str:
        return f"{self.payment_id}: {self.from_state} → {self.to_state}"


class Refund(TenantOwnedModel):
    class State(models.TextChoices):
        SUBMITTED = "submitted"
        SUCCESS = "success"
        ERROR = "error"

    id = models.CharField(
        primary_key=True, max_length=40, default=PrefixedId("ref"), editable=False
    )
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    amount = models.BigIntegerField()
    reason = models.CharField(max_length=255, blank=True)
    state = models.CharField(max_length=20, choices=State.choices, default=State.SUBMITTED)
    provider_reference = models.CharField(max_length=255, blank=True, db_index=True)
    failure_code = models.CharField(max_length=50, blank=True)
    failure_message = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="refund_amount_positive")
        ]

    def __str__(self) -> str:
        return f"{self.id} {self.amount} ({self.state})"

    @property
    def finished(self) -> bool:
        return self.state != self.State.SUBMITTED


class Dispute(TenantOwnedModel):
    """A payer's dispute (chargeback or inquiry) of a card payment, as the provider
    reports it. It never changes the payment's state: the payment stays a success while
    its money is withdrawn, reinstated or lost."""

    class Status(models.TextChoices):
        # Stripe's dispute statuses; warning_* are inquiries (no money moves).
        WARNING_NEEDS_RESPONSE = "warning_needs_response"
        WARNING_UNDER_REVIEW = "warning_under_review"
        WARNING_CLOSED = "warning_closed"
        NEEDS_RESPONSE = "needs_response"
        UNDER_REVIEW = "under_review"
        WON = "won"
        LOST = "lost"

    CLOSED_STATUSES = frozenset({Status.WARNING_CLOSED, Status.WON, Status.LOST})

    id = models.CharField(
        primary_key=True, max_length=40, default=PrefixedId("dsp"), editable=False
    )
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="disputes")
    provider_reference = models.CharField(
        max_length=255, help_text="The provider's dispute id (Stripe dp_…/du_…)"
    )
    amount = models.BigIntegerField(help_text="Disputed amount, minor units")
    currency = models.CharField(max_length=3)
    reason = models.CharField(max_length=50, blank=True, help_text="The provider's reason code")
    status = models.CharField(max_length=30, choices=Status.choices, db_index=True)
    evidence_due_by = models.DateTimeField(null=True, blank=True)
    funds_withdrawn = models.BigIntegerField(
        default=0, help_text="Disputed amount the provider took from the balance, minor units"
    )
    fee = models.BigIntegerField(default=0, help_text="Dispute fee charged, minor units")
    funds_reinstated = models.BigIntegerField(
        default=0, help_text="Disputed amount given back after a won dispute, minor units"
    )
    fee_reinstated = models.BigIntegerField(
        default=0, help_text="Dispute fee given back, minor units"
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "provider_reference"], name="dispute_once_per_tenant"
            ),
            models.CheckConstraint(
                condition=models.Q(amount__gt=0), name="dispute_amount_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.id} {self.amount} {self.currency} ({self.status})"

    @property
    def closed(self) -> bool:
        return self.status in self.CLOSED_STATUSES

    @property
    def outcome(self) -> str | None:
        """won, lost, or warning_closed (an inquiry that ended without a chargeback)."""
        return self.status if self.closed else None


class LedgerAccount(models.TextChoices):
    """Chart of accounts, per agency and currency.

    Debit-normal: provider_clearing (money the provider holds for the agency),
    bank (money in the agency's account), fees (expense, dispute fees included),
    refunds (contra-revenue: what was given back), disputes (contra-revenue: what a
    chargeback took back, until a won dispute reinstates it). Credit-normal: revenue
    (what the agency earned).
    receivable is for the collection app (debts owed to the agency).
    """

    PROVIDER_CLEARING = "provider_clearing"
    BANK = "bank"
    FEES = "fees"
    REVENUE = "revenue"
    REFUNDS = "refunds"
    DISPUTES = "disputes"
    RECEIVABLE = "receivable"


class LedgerTransaction(TenantOwnedModel):
    """One balanced posting: the sum of its debit lines equals the sum of its credits."""

    id = models.CharField(
        primary_key=True, max_length=40, default=PrefixedId("ltx"), editable=False
    )
    currency = models.CharField(max_length=3)
    kind = models.CharField(max_length=50)  # payment_succeeded, refund, fee, dd_return, payout…
    reference = models.CharField(
        max_length=255, db_index=True, help_text="What caused it: a pay_/ref_/… id"
    )
    description = models.CharField(max_length=255, blank=True)
    posted_at = models.DateTimeField(default=timezone.now, db_index=True)
    idempotency_key = models.CharField(
        max_length=255, unique=True, help_text="One posting per cause, even if applied twice"
    )

    class Meta:
        ordering = ["-posted_at", "-id"]

    def __str__(self) -> str:
        return f"{self.kind} {self.reference}"


class LedgerLine(TenantOwnedModel):
    transaction = models.ForeignKey(
        LedgerTransaction, on_delete=models.PROTECT, related_name="lines"
    )
    account = models.CharField(max_length=30, choices=LedgerAccount.choices)
    currency = models.CharField(max_length=3)
    debit = models.BigIntegerField(default=0)
    credit = models.BigIntegerField(default=0)

    class Meta:
        ordering = ["transaction_id", "id"]
        indexes = [models.Index(fields=["tenant", "currency", "account"])]
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(debit__gte=0, credit=0) | models.Q(debit=0, credit__gte=0)),
                name="ledger_line_one_side",
            )
        ]

    def __str__(self) -> str:
        return f"{self.account} D{self.debit} C{self.credit}"


class StripeEventReceipt(TenantOwnedModel):
    """Inbound Stripe events already applied: Stripe retries, we apply once."""

    stripe_event_id = models.CharField(max_length=255)
    type = models.CharField(max_length=100)
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "stripe_event_id"], name="stripe_event_once_per_tenant"
            )
        ]

    def __str__(self) -> str:
        return self.stripe_event_id
