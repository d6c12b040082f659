"""Agencies (tenants), the services they charge for, their API keys and staff roles."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from tenants.ids import PrefixedId
from tenants.scoping import TenantOwnedModel


class Language(models.TextChoices):
    """The languages citizens meet the hub in: its pages, payment links and notices.

    Welsh because UK public bodies must offer it (GOV.UK Pay's ``language: en|cy``),
    Dutch for the Dutch agencies. Codes are ISO 639-1, as Django's i18n names them.
    """

    ENGLISH = "en", "English"
    DUTCH = "nl", "Nederlands"
    WELSH = "cy", "Cymraeg"


class Tenant(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active"
        SUSPENDED = "suspended"

    id = models.CharField(
        primary_key=True, max_length=40, default=PrefixedId("ten"), editable=False
    )
    slug = models.SlugField(unique=True, max_length=50)
    name = models.CharField(max_length=200)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ACTIVE)
    default_currency = models.CharField(max_length=3, default="EUR")
    default_language = models.CharField(
        max_length=2,
        choices=Language.choices,
        default=Language.ENGLISH,
        help_text="The language of a citizen's page when neither the payment, the "
        "constituent nor the citizen's browser names one the hub offers",
    )
    contact_email = models.EmailField(blank=True)
    contact_name = models.CharField(max_length=200, blank=True)
    life_event_answer_days = models.PositiveSmallIntegerField(
        default=10,
        help_text="Working days the agency has to answer a life event it is told of; "
        "after that it is overdue and reminded",
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["name"]
        permissions = [
            ("act_as_agency_admin", "Administer the agency's keys, services and staff"),
            ("act_as_finance", "Read and resolve the agency's payments and reconciliation"),
            ("act_as_caseworker", "Work the agency's constituents, debts and collections"),
            ("act_as_auditor", "Read the agency's audit trail and records"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE


class Service(TenantOwnedModel):
    """Something an agency offers and charges for; payments and debts point at one."""

    class InteractionKind(models.TextChoices):
        # The three kinds of civic moment.
        REGULATORY = "regulatory"  # the state requires it: tax, a licence, a fine
        DISCRETIONARY = "discretionary"  # the citizen chooses it: a permit, a certificate
        PROACTIVE = "proactive"  # the state acts on a life event

    id = models.CharField(
        primary_key=True, max_length=40, default=PrefixedId("svc"), editable=False
    )
    code = models.SlugField(max_length=50, help_text="The agency's own short code")
    name = models.CharField(max_length=200)
    interaction_kind = models.CharField(max_length=20, choices=InteractionKind.choices)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "code"], name="service_code_unique_per_tenant"
            )
        ]

    def __str__(self) -> str:
        return self.name


class ApiKey(TenantOwnedModel):
    """A machine credential of one agency. Only a SHA-256 of the secret is stored.

    SHA-256 suffices because the secret has 256 random bits: there is nothing to
    brute-force, so a slow password hash would only slow every request down.
    """

    class Scope(models.TextChoices):
        PAYMENTS_READ = "payments:read"
        PAYMENTS_WRITE = "payments:write"
        COLLECTIONS_READ = "collections:read"
        COLLECTIONS_WRITE = "collections:write"
        REGISTRATION_READ = "registration:read"
        REGISTRATION_WRITE = "registration:write"
        REPORTS_READ = "reports:read"
        WEBHOOKS_WRITE = "webhooks:write"
        SERVICES_WRITE = "services:write"

    id = models.CharField(
        primary_key=True, max_length=40, default=PrefixedId("key"), editable=False
    )
    name = models.CharField(max_length=200)
    prefix = models.CharField(max_length=12, unique=True, help_text="Visible part of the key")
    secret_hash = models.CharField(max_length=64, unique=True)
    scopes = models.JSONField(default=list)
    created_at = models.DateTimeField(default=timezone.now, editable=False, db_index=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(
        null=True, blank=True, help_text="Set when the key is rotated: it works until then"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)
    replaced_by = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    def is_usable(self, now=None) -> bool:
        now = now or timezone.now()
        if self.revoked_at is not None:
            return False
        return self.expires_at is None or self.expires_at > now

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes


class StaffMembership(TenantOwnedModel):
    """A person who works for an agency, with a role that decides what they see."""

    class Role(models.TextChoices):
        AGENCY_ADMIN = "agency_admin"
        FINANCE = "finance"
        CASEWORKER = "caseworker"
        AUDITOR = "auditor"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="agency_memberships"
    )
    role = models.CharField(max_length=20, choices=Role.choices)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["tenant_id", "user_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "user", "role"], name="one_role_once_per_user_and_tenant"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} — {self.get_role_display()}"
