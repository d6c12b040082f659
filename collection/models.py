"""Debts, mandates, payment plans and their instalments, collection runs, returns, dunning.

Money is integer minor units. A debt's balance is stored (the lists and the dunning job
read it) and a database constraint keeps it equal to amount - collected + returned, so no
code path can let it drift from the movements that explain it.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from collection.schemes import (
    DEFAULT_PAIN008_VERSION,
    Frequency,
    Pain008Version,
    RetryPolicy,
    Scheme,
    SequenceType,
)
from collection.settings_validation import validate_settings
from hub.crypto import EncryptedTextField
from hub.storage import bank_file_storage
from tenants.ids import PrefixedId
from tenants.scoping import TenantOwnedModel


class DirectDebitScheme(models.TextChoices):
    """The schemes of ``collection.schemes.Scheme``, as model and API choices."""

    SEPA_CORE = Scheme.SEPA_CORE.value, "SEPA Core"
    BACS = Scheme.BACS.value, "Bacs"


SCHEME_CHOICES = DirectDebitScheme.choices
SCHEME_CURRENCY = {Scheme.SEPA_CORE: "EUR", Scheme.BACS: "GBP"}

DEFAULT_RETRY_DELAYS = [3, 7, 14]
DEFAULT_DUNNING_LADDER = [
    {"step": "reminder", "after_days": 3},
    {"step": "final_notice", "after_days": 14},
    {"step": "referral", "after_days": 28},
]


def default_retry_delays() -> list[int]:
    return list(DEFAULT_RETRY_DELAYS)


def default_dunning_ladder() -> list[dict]:
    return [dict(step) for step in DEFAULT_DUNNING_LADDER]


PAIN008_VERSION_CHOICES = [
    (Pain008Version.V08.value, "pain.008.001.08 (EPC rulebook since November 2025)"),
    (Pain008Version.V02.value, "pain.008.001.02 (older; only for banks that still take it)"),
]


class CollectionProvider(models.TextChoices):
    STRIPE = "stripe"  # off-session PaymentIntents (sepa_debit, bacs_debit)
    BANK_FILE = "bank_file"  # a pain.008 file per run for the agency to send to its bank


class CollectionSettings(TenantOwnedModel):
    """One agency's collection set-up: creditor identity, provider, retries, dunning."""

    id = models.CharField(
        primary_key=True, max_length=40, default=PrefixedId("cst"), editable=False
    )
    provider = models.CharField(
        max_length=20, choices=CollectionProvider.choices, default=CollectionProvider.BANK_FILE
    )
    creditor_name = models.CharField(max_length=70, blank=True)
    creditor_iban = models.CharField(max_length=34, blank=True)
    creditor_bic = models.CharField(max_length=11, blank=True)
    creditor_id = models.CharField(
        max_length=35, blank=True, help_text="SEPA creditor identifier (e.g. NL98ZZZ999999999999)"
    )
    pain008_version = models.CharField(
        max_length=20,
        choices=PAIN008_VERSION_CHOICES,
        default=DEFAULT_PAIN008_VERSION.value,
        help_text="Format of the bank files; .02 needs the creditor BIC",
    )
    bacs_service_user_number = models.CharField(max_length=6, blank=True)
    submission_buffer_days = models.PositiveSmallIntegerField(
        default=0, help_text="Business days the agency's bank wants on top of the scheme lead time"
    )
    retry_max_attempts = models.PositiveSmallIntegerField(
        default=3, help_text="Retries after the first presentation (retryable return codes only)"
    )
    retry_delays = models.JSONField(
        default=default_retry_delays,
        help_text="Business days after a failure before each retry, e.g. [3, 7, 14]",
    )
    dunning_ladder = models.JSONField(
        default=default_dunning_ladder,
        help_text='Steps in order, e.g. [{"step": "reminder", "after_days": 3}, …]',
    )
    advance_notices_by_hub = models.BooleanField(
        default=False,
        help_text=(
            "The hub emails each debtor the advance notice (amount, date, mandate, creditor "
            "id) and a run collects nothing whose notice did not go out in time. Off: the "
            "agency sends its own notices and runs trust them, as before"
        ),
    )
    sepa_advance_notice_days = models.PositiveSmallIntegerField(
        default=14,
        help_text="SEPA Core: calendar days of notice; under 14 only if agreed with the debtors",
    )
    bacs_advance_notice_days = models.PositiveSmallIntegerField(
        default=10,
        help_text="Bacs: working days of notice; 3 to 9 only if agreed with the payers",
    )
    runs_paused = models.BooleanField(
        default=False, help_text="No new runs start, and running ones stop between batches"
    )
    paused_reason = models.CharField(max_length=200, blank=True)
    chunk_size = models.PositiveIntegerField(
        default=500, help_text="Instalments per parallel chunk of a run"
    )
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "collection settings"
        verbose_name_plural = "collection settings"
        constraints = [
            models.UniqueConstraint(fields=["tenant"], name="one_collection_settings_per_tenant")
        ]

    def __str__(self) -> str:
        return f"Collection settings of {self.tenant}"

    def clean(self) -> None:
        validate_settings(self)

    def advance_notice_days(self, scheme: str) -> int:
        if Scheme(scheme) is Scheme.BACS:
            return self.bacs_advance_notice_days
        return self.sepa_advance_notice_days

    def retry_policy(self) -> RetryPolicy:
        return RetryPolicy(
            max_attempts=self.retry_max_attempts, delays=tuple(self.retry_delays or [1])
        )


class Debt(TenantOwnedModel):
    class State(models.TextChoices):
        OPEN = "open"
        IN_PLAN = "in_plan"
        PAID = "paid"
        IN_ARREARS = "in_arrears"
        WRITTEN_OFF = "written_off"
        SUSPENDED = "suspended"

    id = models.CharField(
        primary_key=True, max_length=40, default=PrefixedId("deb"), editable=False
    )
    constituent = models.ForeignKey(
        "registration.Constituent", on_delete=models.PROTECT, related_name="+"
    )
    service = models.ForeignKey("tenants.Service", on_delete=models.PROTECT, related_name="+")
    reference = models.CharField(max_length=100, help_text="The agency's own reference")
    description = models.CharField(max_length=255)
    amount = models.BigIntegerField(help_text="What was owed originally, minor units")
    currency = models.CharField(max_length=3)
    due_date = models.DateField()
    balance = models.BigIntegerField(help_text="amount - collected + returned")
    amount_collected = models.BigIntegerField(default=0)
    amount_returned = models.BigIntegerField(default=0)
    amount_written_off = models.BigIntegerField(default=0)
    state = models.CharField(max_length=20, choices=State.choices, default=State.OPEN)
    arrears_since = models.DateField(null=True, blank=True)
    dunning_step = models.CharField(max_length=50, blank=True)
    suspended_reason = models.CharField(max_length=200, blank=True)
    write_off_reason = models.CharField(max_length=500, blank=True)
    written_off_by = models.CharField(max_length=200, blank=True)
    written_off_at = models.DateTimeField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["tenant", "state"]),
            models.Index(fields=["tenant", "constituent"]),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "reference"], name="debt_reference_unique_per_tenant"
            ),
            models.CheckConstraint(
                condition=models.Q(
                    balance=models.F("amount")
                    - models.F("amount_collected")
                    + models.F("amount_returned")
                ),
                name="debt_balance_is_amount_minus_collected_plus_returned",
            ),
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="debt_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.reference} ({self.id})"


class Mandate(TenantOwnedModel):
    """A debtor's authorisation to collect from their account (SEPA Core or Bacs)."""

    class Usage(models.TextChoices):
        RECURRING = "recurring"  # SEPA: FRST, then RCUR (FNAL where a plan ends it)
        ONE_OFF = "one_off"  # SEPA: a single collection, sequence type OOFF

    class State(models.TextChoices):
        PENDING = "pending"  # Bacs: lodged, not yet usable
        ACTIVE = "active"
        CANCELLED = "cancelled"
        FAILED = "failed"  # unusable before anything was ever collected with it
        EXPIRED = "expired"  # SEPA: no collection presented for 36 months

    id = models.CharField(
        primary_key=True, max_length=40, default=PrefixedId("man"), editable=False
    )
    constituent = models.ForeignKey(
        "registration.Constituent", on_delete=models.PROTECT, related_name="+"
    )
    scheme = models.CharField(max_length=20, choices=SCHEME_CHOICES)
    usage = models.CharField(
        max_length=20,
        choices=Usage.choices,
        default=Usage.RECURRING,
        help_text="What the debtor signed: recurring collections or a single one (SEPA only)",
    )
    reference = models.CharField(max_length=35, help_text="Unique mandate reference (UMR)")
    signed_on = models.DateField()
    account_holder_name = models.CharField(max_length=140)
    iban = EncryptedTextField(blank=True, default="")
    bic = models.CharField(max_length=11, blank=True)
    sort_code = models.CharField(max_length=6, blank=True)
    account_number = EncryptedTextField(blank=True, default="")
    account_masked = models.CharField(max_length=40)
    stripe_customer = models.CharField(max_length=255, blank=True)
    stripe_payment_method = models.CharField(max_length=255, blank=True)
    stripe_mandate = models.CharField(max_length=255, blank=True)
    state = models.CharField(max_length=20, choices=State.choices, default=State.PENDING)
    active_from = models.DateField(null=True, blank=True)
    last_presented_on = models.DateField(
        null=True, blank=True, help_text="Last collection date presented (SEPA expiry clock)"
    )
    first_collection_presented = models.BooleanField(
        default=False, help_text="FRST already sent: later collections are RCUR"
    )
    ever_collected = models.BooleanField(default=False)
    end_reason = models.CharField(max_length=200, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "reference"], name="mandate_reference_unique_per_tenant"
            )
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.account_masked} ({self.state})"

    @property
    def currency(self) -> str:
        return SCHEME_CURRENCY[Scheme(self.scheme)]


class PaymentPlan(TenantOwnedModel):
    class State(models.TextChoices):
        ACTIVE = "active"
        COMPLETED = "completed"
        CANCELLED = "cancelled"

    id = models.CharField(
        primary_key=True, max_length=40, default=PrefixedId("pln"), editable=False
    )
    debt = models.ForeignKey(Debt, on_delete=models.PROTECT, related_name="plans")
    mandate = models.ForeignKey(Mandate, on_delete=models.PROTECT, related_name="plans")
    frequency = models.CharField(
        max_length=20,
        choices=[(f.value, f.value) for f in Frequency],
        blank=True,
        help_text="Empty for an explicit schedule",
    )
    total = models.BigIntegerField(help_text="The debt's balance when the plan was made")
    currency = models.CharField(max_length=3)
    ends_mandate = models.BooleanField(
        default=False,
        help_text="The mandate ends with this plan: its last collection is sent as FNAL",
    )
    state = models.CharField(max_length=20, choices=State.choices, default=State.ACTIVE)
    end_reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["debt"],
                condition=models.Q(state="active"),
                name="one_active_plan_per_debt",
            )
        ]

    def __str__(self) -> str:
        return f"{self.id} for {self.debt_id} ({self.state})"


class Instalment(TenantOwnedModel):
    class State(models.TextChoices):
        SCHEDULED = "scheduled"
        SUBMITTED = "submitted"
        COLLECTED = "collected"
        FAILED = "failed"
        RETRYING = "retrying"
        WRITTEN_OFF = "written_off"
        CANCELLED = "cancelled"

    id = models.CharField(
        primary_key=True, max_length=40, default=PrefixedId("ins"), editable=False
    )
    plan = models.ForeignKey(PaymentPlan, on_delete=models.PROTECT, related_name="instalments")
    debt = models.ForeignKey(Debt, on_delete=models.PROTECT, related_name="instalments")
    mandate = models.ForeignKey(Mandate, on_delete=models.PROTECT, related_name="instalments")
    scheme = models.CharField(max_length=20, choices=SCHEME_CHOICES)
    sequence = models.PositiveIntegerField()
    due_date = models.DateField(help_text="The date the debtor was told")
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    state = models.CharField(max_length=20, choices=State.choices, default=State.SCHEDULED)
    collect_on = models.DateField(help_text="Settlement date wanted for the next attempt")
    submit_on = models.DateField(help_text="Last business day to submit the next attempt")
    attempt_count = models.PositiveSmallIntegerField(default=0)
    first_presented_on = models.DateField(null=True, blank=True)
    last_failure_code = models.CharField(max_length=50, blank=True)
    collected_at = models.DateTimeField(null=True, blank=True)
    # Advance notices (collection/services/advance_notices.py): the due date the last
    # notice was asked for, and the due date a notice sent in time announced. A run
    # collects a first presentation only when the second equals ``due_date``.
    advance_notice_requested_for = models.DateField(null=True, blank=True)
    advance_notice_sent_on = models.DateField(null=True, blank=True)
    advance_notice_for = models.DateField(
        null=True, blank=True, help_text="The due date an advance notice sent in time announced"
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["due_date", "sequence", "id"]
        indexes = [models.Index(fields=["tenant", "state", "submit_on"])]
        constraints = [
            models.UniqueConstraint(fields=["plan", "sequence"], name="instalment_sequence_unique"),
            models.CheckConstraint(
                condition=models.Q(amount__gt=0), name="instalment_amount_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.id} #{self.sequence} {self.amount} {self.currency} ({self.state})"


class CollectionRun(TenantOwnedModel):
    class State(models.TextChoices):
        RUNNING = "running"
        COMPLETED = "completed"
        FAILED = "failed"

    class Trigger(models.TextChoices):
        SCHEDULE = "schedule"
        API = "api"
        ADMIN = "admin"

    id = models.CharField(
        primary_key=True, max_length=40, default=PrefixedId("run"), editable=False
    )
    run_date = models.DateField()
    trigger = models.CharField(max_length=20, choices=Trigger.choices)
    provider = models.CharField(max_length=20, choices=CollectionProvider.choices)
    state = models.CharField(max_length=20, choices=State.choices, default=State.RUNNING)
    selected_count = models.PositiveIntegerField(default=0)
    submitted_count = models.PositiveIntegerField(default=0)
    declined_count = models.PositiveIntegerField(default=0)
    totals = models.JSONField(
        default=dict, blank=True, help_text='Submitted per currency: {"EUR": {"count", "amount"}}'
    )
    # Encrypted on disk (debtors' names and IBANs); run.file.open() decrypts.
    file = models.FileField(upload_to="collection-runs/", blank=True, storage=bank_file_storage)
    file_sha256 = models.CharField(max_length=64, blank=True)
    file_message_id = models.CharField(max_length=35, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "run_date"],
                condition=models.Q(trigger="schedule"),
                name="one_scheduled_run_per_tenant_and_day",
            )
        ]

    def __str__(self) -> str:
        return f"{self.id} {self.run_date} ({self.state})"


class CollectionChunk(TenantOwnedModel):
    """A slice of a run handled by one task; any number of workers may work it at once."""

    class State(models.TextChoices):
        PENDING = "pending"
        DONE = "done"

    run = models.ForeignKey(CollectionRun, on_delete=models.CASCADE, related_name="chunks")
    number = models.PositiveIntegerField()
    instalment_ids = models.JSONField(default=list)
    state = models.CharField(max_length=20, choices=State.choices, default=State.PENDING)
    completed_at = models.DateTimeField(null=True, blank=True)
    # Last sign that someone works the chunk (a batch presented, a provider answered) or
    # that the sweeper requeued it: a pending chunk quiet for longer has lost its worker.
    progressed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["run_id", "number"]
        constraints = [
            models.UniqueConstraint(fields=["run", "number"], name="chunk_number_unique_per_run")
        ]

    def __str__(self) -> str:
        return f"{self.run_id} chunk {self.number} ({self.state})"


class CollectionAttempt(TenantOwnedModel):
    """One presentation of an instalment to the scheme, with the payment that carries it.

    (instalment, number) is unique: the database's last word that an instalment is never
    presented twice for the same attempt, whatever the workers do.
    """

    class State(models.TextChoices):
        PENDING = "pending"  # claimed; the provider has not accepted it yet
        SUBMITTED = "submitted"
        COLLECTED = "collected"
        FAILED = "failed"

    id = models.CharField(
        primary_key=True, max_length=40, default=PrefixedId("att"), editable=False
    )
    instalment = models.ForeignKey(Instalment, on_delete=models.PROTECT, related_name="attempts")
    run = models.ForeignKey(CollectionRun, on_delete=models.PROTECT, related_name="attempts")
    number = models.PositiveSmallIntegerField(help_text="1 = first presentation, 2.. = retries")
    payment = models.OneToOneField(
        "payments.Payment", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    scheme = models.CharField(max_length=20, choices=SCHEME_CHOICES)
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    sequence_type = models.CharField(
        max_length=4, choices=[(s.value, s.value) for s in SequenceType]
    )
    collection_date = models.DateField(help_text="Requested settlement date")
    end_to_end_id = models.CharField(max_length=35)
    state = models.CharField(max_length=20, choices=State.choices, default=State.PENDING)
    collected_at = models.DateTimeField(null=True, blank=True)
    failure_code = models.CharField(max_length=50, blank=True)
    failure_action = models.CharField(max_length=30, blank=True)
    returned = models.BooleanField(default=False, help_text="Failed after it was collected")
    failed_at = models.DateTimeField(null=True, blank=True)
    provider_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["tenant", "state", "collection_date"])]
        constraints = [
            models.UniqueConstraint(
                fields=["instalment", "number"], name="one_attempt_per_instalment_and_number"
            ),
            models.UniqueConstraint(
                fields=["tenant", "end_to_end_id"], name="end_to_end_id_unique_per_tenant"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.id} {self.instalment_id} #{self.number} ({self.state})"


class ReturnedAttempt(CollectionAttempt):
    """Admin view of attempts that were rejected or returned, with their reason codes."""

    class Meta:
        proxy = True
        verbose_name = "return"
        verbose_name_plural = "returns"


class ReturnFile(TenantOwnedModel):
    """A bank file of rejects and returns the agency uploaded (a pain.002 status report or
    a camt.054 debit notification); applied whole or not."""

    class Format(models.TextChoices):
        PAIN002 = "pain.002", "pain.002 status report"
        CAMT054 = "camt.054", "camt.054 debit/credit notification"

    id = models.CharField(
        primary_key=True, max_length=40, default=PrefixedId("rfl"), editable=False
    )
    format = models.CharField(max_length=10, choices=Format.choices, default=Format.PAIN002)
    filename = models.CharField(max_length=255)
    sha256 = models.CharField(max_length=64)
    message_id = models.CharField(max_length=35)
    original_message_id = models.CharField(
        max_length=35, blank=True, help_text="The pain.008 the report answers (pain.002 only)"
    )
    entry_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "sha256"], name="return_file_once_by_hash"),
            models.UniqueConstraint(
                fields=["tenant", "message_id"], name="return_file_once_by_message_id"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.filename} ({self.id})"


class ReturnFileEntry(TenantOwnedModel):
    file = models.ForeignKey(ReturnFile, on_delete=models.CASCADE, related_name="entries")
    position = models.CharField(max_length=100)
    attempt = models.ForeignKey(CollectionAttempt, on_delete=models.PROTECT, related_name="+")
    end_to_end_id = models.CharField(max_length=35)
    reason_code = models.CharField(max_length=50)
    action = models.CharField(max_length=30)

    class Meta:
        ordering = ["file_id", "id"]

    def __str__(self) -> str:
        return f"{self.end_to_end_id} {self.reason_code}"


class DunningNotice(TenantOwnedModel):
    """A dunning step reached by a debt: fired once per step per spell of arrears."""

    id = models.CharField(
        primary_key=True, max_length=40, default=PrefixedId("dun"), editable=False
    )
    debt = models.ForeignKey(Debt, on_delete=models.PROTECT, related_name="dunning_notices")
    step = models.CharField(max_length=50)
    arrears_since = models.DateField()
    days_in_arrears = models.PositiveIntegerField()
    balance = models.BigIntegerField()
    fired_on = models.DateField()
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["debt", "step", "arrears_since"], name="dunning_step_once_per_arrears"
            )
        ]

    def __str__(self) -> str:
        return f"{self.debt_id} {self.step}"
