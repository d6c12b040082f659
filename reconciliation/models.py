"""Statements the hub was told about, what they were matched to, and each run's findings.

Reported money: a ``StatementImport`` (one uploaded bank file, or one Stripe payout)
holds ``BankStatement`` headers, whose ``StatementLine`` rows (with their
``StatementLineDetail`` transactions) are what a bank or Stripe says moved.

Expected money lives in payments (payments, refunds, direct-debit returns) and, for
Stripe payouts, here. A ``Match`` ties lines to expected items; a line and an item are
each matched at most once (``MatchLine.line`` is one-to-one, ``MatchItem`` is unique
per item), which is what makes a second receipt of the same payment a duplicate.

A ``ReconciliationRun`` reports a period: its ``RunItem`` rows are a snapshot of what
matched and what did not, so a report reads the same tomorrow as today. Problems are
``ReconciliationException`` rows that outlive runs: one per problem (a fingerprint),
resolved by a finance user, and never raised again once resolved.

Money is integer minor units everywhere; line and item amounts are signed (money in
is positive, money out negative).
"""

from django.conf import settings
from django.db import models
from django.utils import timezone

from tenants.ids import PrefixedId
from tenants.scoping import TenantOwnedModel


def _default(name: str):
    return settings.HUB_RECONCILIATION_DEFAULTS[name]


def default_date_window_days() -> int:
    return _default("date_window_days")


def default_amount_tolerance() -> int:
    return _default("amount_tolerance")


def default_lookback_days() -> int:
    return _default("lookback_days")


class Channel(models.TextChoices):
    """Where money is reported: the agency's bank account, or its Stripe balance."""

    BANK = "bank"
    STRIPE = "stripe"


class ReconciliationSettings(TenantOwnedModel):
    """One agency's matching tolerances (created with the hub-wide defaults)."""

    date_window_days = models.PositiveSmallIntegerField(
        default=default_date_window_days,
        help_text="Days a receipt may be booked before or after the payment it pays; also "
        "how long after its date a missing receipt is awaited before it is an exception",
    )
    amount_tolerance = models.PositiveIntegerField(
        default=default_amount_tolerance,
        help_text="Largest difference in minor units that still counts as the same amount",
    )
    lookback_days = models.PositiveSmallIntegerField(
        default=default_lookback_days,
        help_text="How far before a run's period unmatched items are still looked at",
    )
    daily_run_enabled = models.BooleanField(
        default=True, help_text="Reconcile yesterday every morning (Celery beat)"
    )
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "reconciliation settings"
        verbose_name_plural = "reconciliation settings"
        constraints = [
            models.UniqueConstraint(
                fields=["tenant"], name="one_reconciliation_settings_per_tenant"
            )
        ]

    def __str__(self) -> str:
        return f"±{self.date_window_days} days, ±{self.amount_tolerance} minor units"


class StatementImport(TenantOwnedModel):
    """One file (or Stripe payout) imported whole, once: its content hash is unique."""

    class Source(models.TextChoices):
        BANK_FILE = "bank_file"
        STRIPE_PAYOUT = "stripe_payout"

    id = models.CharField(
        primary_key=True, max_length=40, default=PrefixedId("sti"), editable=False
    )
    source = models.CharField(max_length=20, choices=Source.choices)
    format = models.CharField(max_length=30, help_text="camt.053.001.NN, mt940 or stripe")
    file_name = models.CharField(max_length=255, blank=True)
    content_sha256 = models.CharField(max_length=64)
    size_bytes = models.BigIntegerField(default=0)
    statement_count = models.PositiveIntegerField(default=0)
    line_count = models.PositiveIntegerField(default=0)
    imported_by = models.CharField(max_length=200, help_text="api_key:…, admin:…, stripe")
    warnings = models.JSONField(
        default=list,
        blank=True,
        help_text="What the file left unchecked though it was imported: a statement "
        "without an opening balance, entries the bank left out of the closing balance",
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "content_sha256"], name="statement_import_content_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.id} ({self.format}, {self.line_count} lines)"


class BankStatement(TenantOwnedModel):
    """A statement header: a bank account's day (or period), or one Stripe payout.

    A payout is kept as a statement of the agency's Stripe balance: its lines are the
    payout's balance transactions, its closing balance the amount paid to the bank.
    """

    id = models.CharField(
        primary_key=True, max_length=40, default=PrefixedId("stm"), editable=False
    )
    statement_import = models.ForeignKey(
        StatementImport, on_delete=models.PROTECT, related_name="statements"
    )
    channel = models.CharField(max_length=10, choices=Channel.choices)
    statement_id = models.CharField(max_length=255, help_text="The bank's id, or po_… for Stripe")
    account = models.CharField(max_length=255)
    currency = models.CharField(max_length=3)
    sequence_number = models.CharField(max_length=64, blank=True, default="")
    opening_balance = models.BigIntegerField()
    closing_balance = models.BigIntegerField()
    opening_date = models.DateField(null=True, blank=True)
    closing_date = models.DateField(
        null=True, blank=True, db_index=True, help_text="Stripe: the payout's arrival date"
    )
    line_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # The same statement from a second, different file is refused (409): which
            # copy is right is for a person to decide, not the importer. The day and the
            # opening balance are part of what makes it the same: German banks write the
            # same :20: (STARTUMSE) and :28C: on every day's statement, and a second
            # statement of one day starts where the first ended. A corrected re-issue
            # (same day, same opening, other entries) is still the same statement.
            models.UniqueConstraint(
                fields=[
                    "tenant",
                    "account",
                    "currency",
                    "statement_id",
                    "sequence_number",
                    "closing_date",
                    "opening_balance",
                ],
                name="bank_statement_once",
            )
        ]

    def __str__(self) -> str:
        return f"{self.statement_id} {self.account} {self.currency}"


class StatementLine(TenantOwnedModel):
    """One booking: a bank entry (camt.053 Ntry, MT940 :61:) or a Stripe balance
    transaction. ``references`` are the tokens matching looks up, extracted at import."""

    id = models.CharField(
        primary_key=True, max_length=40, default=PrefixedId("stl"), editable=False
    )
    statement = models.ForeignKey(BankStatement, on_delete=models.PROTECT, related_name="lines")
    channel = models.CharField(max_length=10, choices=Channel.choices)
    position = models.PositiveIntegerField(help_text="Entry number in the file, from 1")
    booking_date = models.DateField()
    value_date = models.DateField(null=True, blank=True)
    amount = models.BigIntegerField(help_text="Signed minor units: money in is positive")
    fee = models.BigIntegerField(default=0, help_text="Stripe's fee on this transaction")
    currency = models.CharField(max_length=3)
    kind = models.CharField(
        max_length=40, blank=True, help_text="Stripe balance transaction type (charge, refund…)"
    )
    status = models.CharField(max_length=10, blank=True, help_text="BOOK, PDNG…; Stripe status")
    is_reversal = models.BooleanField(default=False)
    return_reason_code = models.CharField(max_length=10, blank=True)
    entry_reference = models.CharField(max_length=255, blank=True)
    customer_reference = models.CharField(max_length=255, blank=True)
    batch_reference = models.CharField(max_length=255, blank=True)
    bank_transaction_code = models.CharField(max_length=64, blank=True)
    counterparty_name = models.CharField(max_length=255, blank=True)
    counterparty_account = models.CharField(max_length=64, blank=True)
    additional_info = models.TextField(blank=True)
    detail_count = models.PositiveIntegerField(default=0)
    references = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["booking_date", "statement_id", "position"]
        indexes = [models.Index(fields=["tenant", "booking_date", "id"])]

    def __str__(self) -> str:
        return f"{self.id} {self.booking_date} {self.amount} {self.currency}"

    @property
    def is_booked(self) -> bool:
        """Pending bank entries (PDNG, INFO) are not money yet; a paid-out Stripe
        transaction always is."""
        return self.channel == Channel.STRIPE or self.status in ("", "BOOK")


class StatementLineDetail(TenantOwnedModel):
    """One underlying transaction of a line (camt.053 TxDtls, MT940 :86:)."""

    line = models.ForeignKey(StatementLine, on_delete=models.CASCADE, related_name="details")
    end_to_end_id = models.CharField(max_length=255, blank=True)
    instruction_id = models.CharField(max_length=255, blank=True)
    payment_information_id = models.CharField(max_length=255, blank=True)
    creditor_reference = models.CharField(max_length=255, blank=True)
    remittance_text = models.TextField(blank=True)
    amount = models.BigIntegerField(null=True, blank=True, help_text="Unsigned minor units")
    currency = models.CharField(max_length=3, blank=True)
    counterparty_name = models.CharField(max_length=255, blank=True)
    counterparty_account = models.CharField(max_length=64, blank=True)
    return_reason_code = models.CharField(max_length=10, blank=True)

    class Meta:
        ordering = ["line_id", "id"]

    def __str__(self) -> str:
        return self.end_to_end_id or self.creditor_reference or f"detail {self.pk}"


class ReconciliationRun(TenantOwnedModel):
    class State(models.TextChoices):
        # Committed batch by batch (see reconciliation/services/runs.py): "running" until the
        # last batch, "abandoned" when it stopped half-way (its report is partial; the
        # matches it made are real and the next run of the period reports them).
        RUNNING = "running"
        COMPLETED = "completed"
        ABANDONED = "abandoned"

    class Trigger(models.TextChoices):
        API = "api"
        SCHEDULE = "schedule"
        ADMIN = "admin"

    id = models.CharField(
        primary_key=True, max_length=40, default=PrefixedId("rcr"), editable=False
    )
    period_start = models.DateField()
    period_end = models.DateField()
    state = models.CharField(max_length=20, choices=State.choices, default=State.RUNNING)
    trigger = models.CharField(max_length=20, choices=Trigger.choices)
    requested_by = models.CharField(max_length=200, blank=True)
    date_window_days = models.PositiveSmallIntegerField()
    amount_tolerance = models.PositiveIntegerField()
    matched_count = models.PositiveIntegerField(default=0)
    unmatched_expected_count = models.PositiveIntegerField(default=0)
    unmatched_reported_count = models.PositiveIntegerField(default=0)
    exception_count = models.PositiveIntegerField(default=0)
    # {currency: {gross, fees, refunds, returns, net, expected, received, variance, …}}
    totals = models.JSONField(default=dict, blank=True)
    # {currency: {"YYYY-MM-DD": [expected, received]}}
    daily = models.JSONField(default=dict, blank=True)
    started_at = models.DateTimeField(default=timezone.now)
    # Touched by every committed batch: a "running" run whose heartbeat stopped was
    # killed half-way (a worker lost), and may be abandoned and restarted.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["tenant", "period_start", "period_end"])]

    def __str__(self) -> str:
        return f"{self.id} {self.period_start}…{self.period_end}"


class Match(TenantOwnedModel):
    """Statement lines and the expected items they account for (1:1, 1:n, or by hand)."""

    class Method(models.TextChoices):
        REFERENCE = "reference"  # a provider id, end-to-end id or pay_… in the text
        BATCH = "batch"  # one line, several items: its details, PmtInfId or a payout
        AMOUNT_DATE = "amount_date"  # no usable reference: amount, date window, payer
        SAME_DAY_BATCH = "same_day_batch"  # a lump sum equal to one day's direct debits
        RETURN = "return"  # a direct-debit return booked back
        REVERSAL = "reversal"  # a bank booking and its reversal cancel out
        MANUAL = "manual"  # resolved by a finance user

    id = models.CharField(
        primary_key=True, max_length=40, default=PrefixedId("mat"), editable=False
    )
    run = models.ForeignKey(
        ReconciliationRun, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    method = models.CharField(max_length=20, choices=Method.choices)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    currency = models.CharField(max_length=3)
    reported_amount = models.BigIntegerField()
    expected_amount = models.BigIntegerField()
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "matches"

    def __str__(self) -> str:
        return f"{self.id} ({self.method})"

    @property
    def difference(self) -> int:
        return self.reported_amount - self.expected_amount


class MatchLine(TenantOwnedModel):
    match = models.ForeignKey(Match, on_delete=models.CASCADE, related_name="lines")
    line = models.OneToOneField(StatementLine, on_delete=models.PROTECT, related_name="matched")

    def __str__(self) -> str:
        return f"{self.line_id} → {self.match_id}"


class ItemKind(models.TextChoices):
    """What the hub expects to see reported."""

    PAYMENT = "payment"  # money collected (pay_…)
    REFUND = "refund"  # money given back (ref_…)
    RETURN = "return"  # a collected direct debit the bank took back (pay_…)
    PAYOUT = "payout"  # a Stripe payout arriving in the bank (stm_… of the payout)


class MatchItem(TenantOwnedModel):
    match = models.ForeignKey(Match, on_delete=models.CASCADE, related_name="items")
    kind = models.CharField(max_length=20, choices=ItemKind.choices)
    object_id = models.CharField(max_length=40)
    amount = models.BigIntegerField(help_text="Signed minor units the item was expected at")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "kind", "object_id"], name="expected_item_matched_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.object_id}"


class ReconciliationException(TenantOwnedModel):
    """Something a person must look at. One row per problem across runs."""

    class Kind(models.TextChoices):
        AMOUNT_DIFFERS = "amount_differs"
        DUPLICATE_RECEIPT = "duplicate_receipt"
        UNKNOWN_RECEIPT = "unknown_receipt"
        MISSING_RECEIPT = "missing_receipt"
        UNKNOWN_RETURN = "unknown_return"
        UNEXPECTED_RECEIPT = "unexpected_receipt"
        REVERSED_RECEIPT = "reversed_receipt"
        DISPUTE = "dispute"

    class State(models.TextChoices):
        OPEN = "open"
        RESOLVED = "resolved"  # by a finance user
        CLEARED = "cleared"  # a later run found the missing counterpart itself

    class Resolution(models.TextChoices):
        MATCHED_BY_HAND = "matched_by_hand"
        WRITTEN_OFF = "written_off"
        REFUNDED = "refunded"

    id = models.CharField(
        primary_key=True, max_length=40, default=PrefixedId("rcx"), editable=False
    )
    kind = models.CharField(max_length=30, choices=Kind.choices)
    state = models.CharField(max_length=20, choices=State.choices, default=State.OPEN)
    fingerprint = models.CharField(max_length=200)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    currency = models.CharField(max_length=3)
    occurred_on = models.DateField()
    expected_amount = models.BigIntegerField(null=True, blank=True)
    reported_amount = models.BigIntegerField(null=True, blank=True)
    line = models.ForeignKey(
        StatementLine, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    item_kind = models.CharField(max_length=20, choices=ItemKind.choices, blank=True)
    item_id = models.CharField(max_length=40, blank=True)
    match = models.ForeignKey(
        Match, null=True, blank=True, on_delete=models.SET_NULL, related_name="exceptions"
    )
    reason = models.TextField()
    first_run = models.ForeignKey(
        ReconciliationRun, on_delete=models.PROTECT, related_name="raised_exceptions"
    )
    last_run = models.ForeignKey(ReconciliationRun, on_delete=models.PROTECT, related_name="+")
    resolution = models.CharField(max_length=20, choices=Resolution.choices, blank=True)
    resolution_note = models.TextField(blank=True)
    resolved_by = models.CharField(max_length=200, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution_match = models.ForeignKey(
        Match, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "fingerprint"], name="reconciliation_exception_once"
            )
        ]
        indexes = [models.Index(fields=["tenant", "state", "kind"])]

    def __str__(self) -> str:
        return f"{self.id} {self.kind} ({self.state})"

    @property
    def difference(self) -> int | None:
        if self.expected_amount is None or self.reported_amount is None:
            return None
        return self.reported_amount - self.expected_amount


class RunItem(TenantOwnedModel):
    """One row of a run's report: a matched item, an unmatched one, or an exception."""

    class Status(models.TextChoices):
        MATCHED = "matched"
        RESOLVED = "resolved"  # settled by a finance user's resolution
        UNMATCHED_EXPECTED = "unmatched_expected"
        UNMATCHED_REPORTED = "unmatched_reported"
        EXCEPTION = "exception"

    # No index of its own: the (run, status, id) index below serves every read by run.
    run = models.ForeignKey(
        ReconciliationRun, on_delete=models.CASCADE, related_name="items", db_index=False
    )
    status = models.CharField(max_length=20, choices=Status.choices)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    currency = models.CharField(max_length=3)
    date = models.DateField()
    line = models.ForeignKey(
        StatementLine, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reported_amount = models.BigIntegerField(null=True, blank=True)
    item_kind = models.CharField(max_length=20, choices=ItemKind.choices, blank=True)
    item_id = models.CharField(max_length=40, blank=True)
    expected_amount = models.BigIntegerField(null=True, blank=True)
    reference = models.CharField(max_length=255, blank=True)
    counterparty = models.CharField(max_length=255, blank=True)
    method = models.CharField(max_length=20, blank=True)
    reason = models.TextField(blank=True)
    match = models.ForeignKey(
        Match, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    exception = models.ForeignKey(
        ReconciliationException, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["run_id", "id"]
        indexes = [models.Index(fields=["run", "status", "id"])]

    def __str__(self) -> str:
        return f"{self.run_id} {self.status} {self.item_id or self.line_id}"
