"""The shared constituent registry.

Constituents are hub-wide (one record per person or organisation), but no agency
reads them directly: an agency sees a constituent only through its own active
Registration. National identifiers are stored encrypted and found by a keyed hash.
"""

from django.db import models
from django.utils import timezone

from hub.crypto import EncryptedTextField
from registration.rules.life_events import KINDS, Reporter
from tenants.ids import PrefixedId
from tenants.models import Language
from tenants.scoping import TenantOwnedModel


class Constituent(models.Model):
    class Kind(models.TextChoices):
        PERSON = "person"
        ORGANISATION = "organisation"

    class Status(models.TextChoices):
        ACTIVE = "active"
        DECEASED = "deceased"  # persons
        CEASED = "ceased"  # organisations

    id = models.CharField(
        primary_key=True, max_length=40, default=PrefixedId("con"), editable=False
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ACTIVE)
    name = models.CharField(max_length=300)
    date_of_birth = models.DateField(null=True, blank=True)
    address = models.JSONField(default=dict, blank=True)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=40, blank=True)
    language = models.CharField(
        max_length=2,
        choices=Language.choices,
        blank=True,
        help_text="The language the constituent reads the hub's pages and notices in; "
        "empty: not known (their browser decides)",
    )
    deceased_on = models.DateField(null=True, blank=True)
    ceased_on = models.DateField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(default=timezone.now)
    # Set when the retention job anonymised the record: no registration justified it any
    # longer, but payments or debts elsewhere (kept for their own legal period) point at
    # it, so the row stays without a name, identifiers or contact details.
    erased_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.id})"


class Identifier(models.Model):
    constituent = models.ForeignKey(
        Constituent, on_delete=models.CASCADE, related_name="identifiers"
    )
    scheme = models.CharField(max_length=20)
    value = EncryptedTextField(help_text="Encrypted at rest; never logged")
    lookup_hash = models.CharField(
        max_length=64, unique=True, help_text="HMAC of scheme and value: finds without decrypting"
    )
    masked = models.CharField(max_length=40)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["constituent", "scheme"], name="one_identifier_per_scheme"
            )
        ]

    def __str__(self) -> str:
        return f"{self.scheme}:{self.masked}"


class Registration(TenantOwnedModel):
    """An agency's link to a constituent: the only way the agency sees them."""

    class Status(models.TextChoices):
        ACTIVE = "active"
        ENDED = "ended"

    class LegalBasis(models.TextChoices):
        # GDPR article 6(1)
        CONSENT = "consent"
        CONTRACT = "contract"
        LEGAL_OBLIGATION = "legal_obligation"
        VITAL_INTERESTS = "vital_interests"
        PUBLIC_TASK = "public_task"
        LEGITIMATE_INTERESTS = "legitimate_interests"

    id = models.CharField(
        primary_key=True, max_length=40, default=PrefixedId("reg"), editable=False
    )
    constituent = models.ForeignKey(
        Constituent, on_delete=models.PROTECT, related_name="registrations"
    )
    agency_reference = models.CharField(max_length=100, blank=True)
    purpose = models.CharField(max_length=300)
    legal_basis = models.CharField(max_length=30, choices=LegalBasis.choices)
    consent_given_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "constituent"],
                condition=models.Q(status="active"),
                name="one_active_registration_per_agency",
            )
        ]

    def __str__(self) -> str:
        return f"{self.tenant} ↔ {self.constituent_id}"


class FieldAuthority(models.Model):
    """Which agency is the source of truth for a constituent field (set by operators).

    A field without an authority may be corrected by any registered agency.
    """

    field = models.CharField(max_length=50, unique=True)
    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="+")

    class Meta:
        verbose_name_plural = "field authorities"

    def __str__(self) -> str:
        return f"{self.field} → {self.tenant}"


class FieldAccess(models.Model):
    """Which optional fields of the shared record an agency may see (set by operators).

    As the Dutch BRP authorises each recipient per data element: a field outside the
    agency's grant is absent from what the hub tells it (API answers and webhooks), not
    masked. The name, the kind and the status (alive, deceased, ceased) are always told:
    they are what a registration is for. An agency without a row sees
    ``settings.HUB_REGISTRY_DEFAULT_VISIBLE_FIELDS`` (none of the optional fields unless
    the operator configures otherwise): privacy by default, GDPR article 25(2).
    """

    class Field(models.TextChoices):
        DATE_OF_BIRTH = "date_of_birth", "Date of birth"
        ADDRESS = "address", "Address"
        EMAIL = "email", "Email address"
        PHONE = "phone", "Phone number"
        IDENTIFIERS = "identifiers", "Identifiers (masked)"

    tenant = models.OneToOneField(
        "tenants.Tenant", on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    visible_fields = models.JSONField(
        default=list, blank=True, help_text="The optional fields this agency may see"
    )
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "field authorisation"
        verbose_name_plural = "field authorisations"

    def __str__(self) -> str:
        return f"{self.tenant}: {', '.join(self.visible_fields) or 'name and status only'}"


class ConstituentVersion(models.Model):
    """One change to a constituent: who, when, what (old and new values)."""

    constituent = models.ForeignKey(Constituent, on_delete=models.CASCADE, related_name="versions")
    version = models.PositiveIntegerField()
    changed_at = models.DateTimeField(default=timezone.now)
    changed_by_tenant = models.ForeignKey(
        "tenants.Tenant", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    changed_by = models.CharField(max_length=200, help_text="API key or staff user")
    reason = models.CharField(max_length=100)
    changes = models.JSONField(default=dict)

    class Meta:
        ordering = ["constituent_id", "version"]
        constraints = [
            models.UniqueConstraint(fields=["constituent", "version"], name="version_unique")
        ]

    def __str__(self) -> str:
        return f"{self.constituent_id} v{self.version}"


class LifeEvent(models.Model):
    """A life moment of a constituent, recorded once however many agencies report it.

    What each kind carries and implies is declared in registration/rules/life_events.py;
    the choices here follow that table."""

    Kind = models.TextChoices(
        "Kind", [(code.upper(), (code, kind.label)) for code, kind in KINDS.items()]
    )

    id = models.CharField(
        primary_key=True, max_length=40, default=PrefixedId("lev"), editable=False
    )
    constituent = models.ForeignKey(
        Constituent, on_delete=models.PROTECT, related_name="life_events"
    )
    kind = models.CharField(max_length=30, choices=Kind.choices)
    occurred_on = models.DateField()
    details = models.JSONField(default=dict, blank=True)
    dedupe_key = models.CharField(
        max_length=64, unique=True, help_text="Same event reported twice → one row"
    )
    implied_by = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="implied_events",
        help_text="The reported event this one follows from (a marriage's change of name)",
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.kind} of {self.constituent_id} on {self.occurred_on}"


class LifeEventReport(TenantOwnedModel):
    """Each agency's report of a life event; kept even when the event was known."""

    id = models.CharField(
        primary_key=True, max_length=40, default=PrefixedId("ler"), editable=False
    )
    life_event = models.ForeignKey(LifeEvent, on_delete=models.CASCADE, related_name="reports")
    agency_reference = models.CharField(max_length=100, blank=True)
    reported_at = models.DateTimeField(default=timezone.now)
    first_report = models.BooleanField(default=False)
    reporter_role = models.CharField(
        max_length=20,
        choices=[(r.value, r.value) for r in Reporter],
        default=Reporter.AGENCY.value,
        help_text="The agency itself, or the notifier's role (self, relative, executor)",
    )
    # The notifier (the person who told the agency) is personal data: encrypted at rest,
    # shown masked in the admin, never logged.
    notifier_name = EncryptedTextField(blank=True, default="")
    notifier_relationship = EncryptedTextField(blank=True, default="")
    notifier_contact = EncryptedTextField(blank=True, default="")
    # The notifier's tell-us-once reference and the SHA-256 of the secret that opens the
    # status page with it (256 random bits: nothing to brute-force, so no slow hash).
    reference = models.CharField(max_length=20, unique=True, null=True, blank=True)
    secret_hash = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["reported_at"]
        constraints = [
            models.UniqueConstraint(fields=["life_event", "tenant"], name="one_report_per_agency")
        ]

    def __str__(self) -> str:
        return f"{self.tenant} reported {self.life_event_id}"


class ConstituentAccess(TenantOwnedModel):
    """One read of a person's record by an agency: who, when, for which purpose.

    Every answer of the API that shows a constituent to an agency writes one (Estonia's
    data tracker: the person can see which agency looked at their data). The agency sees
    its own rows (``GET /api/v1/constituents/{id}/access-log``); the operator's
    subject-access export shows the person all of them.
    """

    class Action(models.TextChoices):
        REGISTER = "register"
        RETRIEVE = "retrieve"
        LIST = "list"
        LOOKUP = "lookup"
        CORRECT = "correct"
        HISTORY = "history"
        LIFE_EVENTS = "life_events"

    id = models.CharField(
        primary_key=True, max_length=40, default=PrefixedId("acc"), editable=False
    )
    constituent = models.ForeignKey(Constituent, on_delete=models.CASCADE, related_name="accesses")
    registration = models.ForeignKey(
        Registration, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The purpose and basis as they were when the record was read: a registration's
    # purpose may be edited or the registration erased later, the read stays explained.
    purpose = models.CharField(max_length=300, blank=True)
    legal_basis = models.CharField(max_length=30, blank=True)
    action = models.CharField(max_length=20, choices=Action.choices)
    api_key_id = models.CharField(max_length=40, blank=True)
    api_key_label = models.CharField(max_length=200, blank=True)
    request_id = models.CharField(max_length=128, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "constituent accesses"
        indexes = [models.Index(fields=["constituent", "created_at"], name="access_by_person")]

    def __str__(self) -> str:
        return f"{self.tenant} read {self.constituent_id} ({self.action})"


class LifeEventDiscrepancy(models.Model):
    """A second report of a recorded event that disagrees with it (another date of
    death): kept, not absorbed, until an operator decides which facts are right."""

    class Status(models.TextChoices):
        OPEN = "open"
        KEPT_RECORDED = "kept_recorded"  # the recorded facts stand
        ACCEPTED_REPORTED = "accepted_reported"  # the record was corrected to the report

    id = models.CharField(
        primary_key=True, max_length=40, default=PrefixedId("led"), editable=False
    )
    life_event = models.ForeignKey(
        LifeEvent, on_delete=models.CASCADE, related_name="discrepancies"
    )
    reported_by = models.ForeignKey("tenants.Tenant", on_delete=models.PROTECT, related_name="+")
    agency_reference = models.CharField(max_length=100, blank=True)
    reported_on = models.DateField(help_text="The date the second report gives")
    reported_details = models.JSONField(default=dict, blank=True)
    conflicts = models.JSONField(
        default=list, help_text="[{field, recorded, reported}] where the reports disagree"
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.CharField(max_length=200, blank=True)
    resolution_note = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "life event discrepancies"

    def __str__(self) -> str:
        return f"{self.life_event_id}: {', '.join(c['field'] for c in self.conflicts)}"


class LifeEventNotice(TenantOwnedModel):
    """An agency was told of a life event; it answers by ``due_on``."""

    id = models.CharField(
        primary_key=True, max_length=40, default=PrefixedId("len"), editable=False
    )
    life_event = models.ForeignKey(LifeEvent, on_delete=models.CASCADE, related_name="notices")
    told_at = models.DateTimeField(default=timezone.now)
    due_on = models.DateField(help_text="The last working day of the agency's service level")
    answered_at = models.DateTimeField(null=True, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["told_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["life_event", "tenant"], name="one_notice_per_agency")
        ]
        indexes = [
            models.Index(
                fields=["due_on"],
                condition=models.Q(answered_at__isnull=True, reminded_at__isnull=True),
                name="notice_awaiting_answer",
            )
        ]

    def __str__(self) -> str:
        return f"{self.tenant} told of {self.life_event_id}"

    def is_overdue(self, today) -> bool:
        return self.answered_at is None and self.due_on < today


class LifeEventResponse(TenantOwnedModel):
    """What an agency did about a life event it was told of (the latest answer counts)."""

    class Outcome(models.TextChoices):
        ACTIONED = "actioned"
        NO_ACTION_NEEDED = "no_action_needed"
        NEEDS_CONTACT = "needs_contact"  # the agency needs to hear from the notifier
        NOT_OURS = "not_ours"  # the agency does not serve this person for this

    id = models.CharField(
        primary_key=True, max_length=40, default=PrefixedId("lrs"), editable=False
    )
    life_event = models.ForeignKey(LifeEvent, on_delete=models.CASCADE, related_name="responses")
    outcome = models.CharField(max_length=20, choices=Outcome.choices)
    text = models.CharField(max_length=300, blank=True)
    automatic = models.BooleanField(
        default=False, help_text="Answered by the hub's own reaction (collections stopping)"
    )
    answered_by = models.CharField(max_length=200)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.tenant}: {self.outcome} on {self.life_event_id}"


class ProactiveService(TenantOwnedModel):
    """An agency's declaration: this service of ours answers these life events."""

    id = models.CharField(
        primary_key=True, max_length=40, default=PrefixedId("prs"), editable=False
    )
    service = models.ForeignKey(
        "tenants.Service", on_delete=models.PROTECT, related_name="proactive_declarations"
    )
    life_event_kinds = models.JSONField(help_text="The life-event kinds the service answers")
    subject_kinds = models.JSONField(
        default=list, blank=True, help_text="person and/or organisation; empty: both"
    )
    eligibility_hint = models.CharField(max_length=500)
    link = models.URLField(max_length=500)
    min_age = models.PositiveSmallIntegerField(null=True, blank=True)
    max_age = models.PositiveSmallIntegerField(null=True, blank=True)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.service} on {', '.join(self.life_event_kinds)}"


class LifeEventOffer(TenantOwnedModel):
    """A proactive service offered to the person of a life event (tenant: the offering
    agency)."""

    id = models.CharField(
        primary_key=True, max_length=40, default=PrefixedId("ofr"), editable=False
    )
    life_event = models.ForeignKey(LifeEvent, on_delete=models.CASCADE, related_name="offers")
    proactive_service = models.ForeignKey(
        ProactiveService, on_delete=models.PROTECT, related_name="offers"
    )
    agency_was_registered = models.BooleanField(
        help_text="The offering agency already held the person when the offer was made"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["life_event", "proactive_service"], name="one_offer_per_service_and_event"
            )
        ]

    def __str__(self) -> str:
        return f"{self.proactive_service} for {self.life_event_id}"
