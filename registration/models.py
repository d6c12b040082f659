"""The shared constituent registry.

Constituents are hub-wide (one record per person or organisation), but no agency
reads them directly: an agency sees a constituent only through its own active
Registration. National identifiers are stored encrypted and found by a keyed hash.
"""

from django.db import models
from django.utils import timezone

from hub.crypto import EncryptedTextField
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
    class Kind(models.TextChoices):
        DEATH = "death"
        ADDRESS_CHANGE = "address_change"
        NAME_CHANGE = "name_change"
        BUSINESS_CEASED = "business_ceased"

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
