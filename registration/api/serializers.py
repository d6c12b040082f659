from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from hub.api.serializers import StrictSerializer
from registration import selectors
from registration.models import (
    Constituent,
    ConstituentAccess,
    LifeEvent,
    LifeEventOffer,
    LifeEventResponse,
    ProactiveService,
    Registration,
)
from registration.rules import identifiers
from registration.rules import life_events as life_event_rules
from tenants.models import Language
from tenants.scope import all_tenants, require_tenant


class AddressSerializer(StrictSerializer):
    line1 = serializers.CharField(max_length=200)
    line2 = serializers.CharField(max_length=200, required=False, allow_blank=True)
    postcode = serializers.CharField(max_length=20)
    city = serializers.CharField(max_length=100)
    country = serializers.RegexField(r"^[A-Z]{2}$", help_text="ISO 3166-1 alpha-2")


class IdentifierInputSerializer(StrictSerializer):
    scheme = serializers.ChoiceField(choices=sorted(identifiers.SCHEMES))
    value = serializers.CharField(max_length=40, trim_whitespace=True)


class RegistrationInputSerializer(StrictSerializer):
    agency_reference = serializers.CharField(max_length=100, required=False, allow_blank=True)
    purpose = serializers.CharField(max_length=300)
    legal_basis = serializers.ChoiceField(choices=Registration.LegalBasis.choices)
    consent_given_at = serializers.DateTimeField(required=False)


class ConstituentCreateSerializer(StrictSerializer):
    kind = serializers.ChoiceField(choices=Constituent.Kind.choices)
    identifier = IdentifierInputSerializer()
    name = serializers.CharField(max_length=300)
    date_of_birth = serializers.DateField(required=False)
    address = AddressSerializer(required=False)
    email = serializers.EmailField(required=False, allow_blank=True)
    phone = serializers.CharField(max_length=40, required=False, allow_blank=True)
    language = serializers.ChoiceField(
        choices=Language.choices,
        required=False,
        allow_blank=True,
        help_text="The language of the constituent's pages and notices (en, nl, cy); "
        "empty: not known, the citizen's browser decides",
    )
    registration = RegistrationInputSerializer()


class ConstituentLookupSerializer(StrictSerializer):
    identifier = IdentifierInputSerializer()


class ConstituentUpdateSerializer(StrictSerializer):
    name = serializers.CharField(max_length=300, required=False)
    date_of_birth = serializers.DateField(required=False)
    address = AddressSerializer(required=False)
    email = serializers.EmailField(required=False, allow_blank=True)
    phone = serializers.CharField(max_length=40, required=False, allow_blank=True)
    language = serializers.ChoiceField(
        choices=Language.choices,
        required=False,
        allow_blank=True,
        help_text="The language of the constituent's pages and notices (en, nl, cy); "
        "empty: not known, the citizen's browser decides",
    )


class MaskedIdentifierSerializer(serializers.Serializer):
    scheme = serializers.CharField()
    masked = serializers.CharField(help_text="Only the last characters; the hub never shows more")


class RegistrationSerializer(serializers.ModelSerializer):
    constituent = serializers.CharField(source="constituent_id")

    class Meta:
        model = Registration
        fields = [
            "id",
            "constituent",
            "agency_reference",
            "purpose",
            "legal_basis",
            "consent_given_at",
            "status",
            "created_at",
            "ended_at",
            "end_reason",
        ]


class ConstituentSerializer(serializers.ModelSerializer):
    """A constituent as one agency may see it.

    The optional fields of the shared record (date of birth, address, email, phone,
    identifiers) are present only when the agency's field authorisation grants them
    (``visible_fields`` in the context; absent from the context means none). Nothing
    says how long the hub has known the person or how often the record changed before
    the agency registered (no hub-wide version counter or timestamps): that would tell
    the agency that another agency holds the person.
    """

    identifiers = MaskedIdentifierSerializer(many=True, required=False)
    registration = serializers.SerializerMethodField()

    class Meta:
        model = Constituent
        fields = [
            "id",
            "kind",
            "status",
            "name",
            "date_of_birth",
            "address",
            "email",
            "phone",
            "language",
            "deceased_on",
            "ceased_on",
            "identifiers",
            "registration",
        ]

    def to_representation(self, constituent):
        data = super().to_representation(constituent)
        return selectors.without_unauthorised_fields(
            data, self.context.get("visible_fields", frozenset())
        )

    def get_registration(self, constituent) -> RegistrationSerializer:
        registration = self.context.get("registrations", {}).get(constituent.pk)
        return RegistrationSerializer(registration).data if registration else None


class ConstituentAccessSerializer(serializers.ModelSerializer):
    accessed_at = serializers.DateTimeField(source="created_at")
    registration = serializers.CharField(source="registration_id", allow_null=True)
    api_key = serializers.CharField(
        source="api_key_label", help_text="The key's visible prefix and name"
    )

    class Meta:
        model = ConstituentAccess
        fields = [
            "id",
            "accessed_at",
            "action",
            "purpose",
            "legal_basis",
            "registration",
            "api_key",
            "request_id",
        ]


class VersionSerializer(serializers.Serializer):
    """One change made while the agency was registered, as that agency may see it."""

    changed_at = serializers.DateTimeField()
    changed_by_agency = serializers.SerializerMethodField(
        help_text="Your agency's slug when your agency made the change; null for any "
        "other source (which other agency holds the person is not yours to know)"
    )
    reason = serializers.CharField()
    changes = serializers.SerializerMethodField(
        help_text="Old and new value of each changed field you are authorised to see"
    )

    def get_changed_by_agency(self, version) -> str | None:
        tenant = self.context["tenant"]
        return tenant.slug if version.changed_by_tenant_id == tenant.pk else None

    def get_changes(self, version) -> dict:
        return selectors.without_unauthorised_fields(
            version.changes, self.context.get("visible_fields", frozenset())
        )


class NotifierSerializer(StrictSerializer):
    name = serializers.CharField(max_length=300, help_text="The notifier's full name")
    relationship = serializers.ChoiceField(
        choices=sorted(life_event_rules.RELATIONSHIPS),
        help_text="How the notifier relates to the person; decides who may report what",
    )
    contact = serializers.CharField(
        max_length=300,
        required=False,
        allow_blank=True,
        help_text="How agencies can reach the notifier (phone, email, address)",
    )


class LifeEventInputSerializer(StrictSerializer):
    kind = serializers.ChoiceField(choices=LifeEvent.Kind.choices)
    occurred_on = serializers.DateField()
    details = serializers.DictField(
        required=False,
        default=dict,
        help_text="The kind's facts (see the API guide, 'Tell us once'); validated per kind",
    )
    agency_reference = serializers.CharField(max_length=100, required=False, allow_blank=True)
    notifier = NotifierSerializer(
        required=False,
        help_text="Who told your agency, when not your agency's own knowledge: they get a "
        "tell-us-once reference and a secret for the status page",
    )


class AgencyToldSerializer(serializers.Serializer):
    agency = serializers.CharField()
    agency_name = serializers.CharField()
    told_at = serializers.DateTimeField()
    answer_due_on = serializers.DateField(source="due_on")
    answered_at = serializers.DateTimeField(allow_null=True)
    reminded_at = serializers.DateTimeField(allow_null=True)
    outcome = serializers.CharField(allow_null=True, help_text="The latest answer's outcome")
    text = serializers.CharField()
    automatic = serializers.BooleanField(help_text="Answered by the hub's own reaction")
    overdue = serializers.BooleanField()


class LifeEventSerializer(serializers.ModelSerializer):
    constituent = serializers.CharField(source="constituent_id")
    implied_by = serializers.CharField(source="implied_by_id", allow_null=True)
    reported_by = serializers.SerializerMethodField()
    agencies_told = serializers.SerializerMethodField()

    class Meta:
        model = LifeEvent
        fields = [
            "id",
            "constituent",
            "kind",
            "occurred_on",
            "details",
            "implied_by",
            "reported_by",
            "agencies_told",
            "created_at",
        ]

    def to_representation(self, life_event):
        data = super().to_representation(life_event)
        # The facts of an event are fields of the person (a move's new address): only
        # those the agency is authorised for, as in the constituent itself.
        if "visible_fields" not in self.context:
            self.context["visible_fields"] = selectors.visible_fields(require_tenant())
        if isinstance(data.get("details"), dict):
            data["details"] = selectors.without_unauthorised_fields(
                data["details"], self.context["visible_fields"]
            )
        return data

    def _tenant(self):
        return self.context.get("tenant")

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_reported_by(self, life_event) -> list[str]:
        # Your own agency, if it reported the event; never the others: which agencies
        # reported a person's death tells one agency who else holds the person.
        tenant = self._tenant()
        if tenant is None:
            return []
        with all_tenants():  # the query names the caller's own agency
            mine = life_event.reports.filter(tenant=tenant).exists()
        return [tenant.slug] if mine else []

    @extend_schema_field(AgencyToldSerializer(many=True))
    def get_agencies_told(self, life_event):
        # Your own notice; every agency's when your agency took the notifier's report
        # (the front desk answers the notifier, whose status page shows the same).
        tenant = self._tenant()
        if tenant is None:
            return []
        if life_event.implied_by_id is not None:
            return []  # agencies answer the reported event, not what it implies
        everyone = selectors.took_notifier_report(tenant, life_event)
        journey = selectors.life_event_journey(life_event, tenant=None if everyone else tenant)
        return AgencyToldSerializer(journey, many=True).data


class TellUsOnceSerializer(serializers.Serializer):
    reference = serializers.CharField(help_text="Give it to the notifier: TUO-XXXX-XXXX")
    secret = serializers.CharField(help_text="Shown once; the hub keeps only a hash of it")
    status_page = serializers.CharField(help_text="Where the notifier follows the journey")


class ReportedLifeEventSerializer(LifeEventSerializer):
    tell_us_once = serializers.SerializerMethodField()

    class Meta(LifeEventSerializer.Meta):
        fields = [*LifeEventSerializer.Meta.fields, "tell_us_once"]

    @extend_schema_field(TellUsOnceSerializer(allow_null=True))
    def get_tell_us_once(self, life_event):
        return self.context.get("tell_us_once")


class LifeEventResponseInputSerializer(StrictSerializer):
    outcome = serializers.ChoiceField(choices=LifeEventResponse.Outcome.choices)
    text = serializers.CharField(
        max_length=300,
        required=False,
        allow_blank=True,
        help_text='What your agency did, e.g. "state pension stopped from 3 May"',
    )


class LifeEventResponseSerializer(serializers.ModelSerializer):
    life_event = serializers.CharField(source="life_event_id")

    class Meta:
        model = LifeEventResponse
        fields = ["id", "life_event", "outcome", "text", "automatic", "created_at"]


class OfferSerializer(serializers.ModelSerializer):
    agency_name = serializers.CharField(source="tenant.name")
    service = serializers.CharField(source="proactive_service.service.code")
    service_name = serializers.CharField(source="proactive_service.service.name")
    eligibility_hint = serializers.CharField(source="proactive_service.eligibility_hint")
    link = serializers.CharField(source="proactive_service.link")

    class Meta:
        model = LifeEventOffer
        fields = [
            "id",
            "agency_name",
            "service",
            "service_name",
            "eligibility_hint",
            "link",
            "created_at",
        ]


class ProactiveServiceInputSerializer(StrictSerializer):
    service = serializers.CharField(help_text="svc_… of one of your proactive services")
    life_event_kinds = serializers.ListField(
        child=serializers.ChoiceField(choices=LifeEvent.Kind.choices), min_length=1
    )
    subject_kinds = serializers.ListField(
        child=serializers.ChoiceField(choices=Constituent.Kind.choices),
        required=False,
        default=list,
    )
    eligibility_hint = serializers.CharField(max_length=500)
    link = serializers.URLField(max_length=500)
    min_age = serializers.IntegerField(min_value=0, max_value=150, required=False)
    max_age = serializers.IntegerField(min_value=0, max_value=150, required=False)


class ProactiveServiceSerializer(serializers.ModelSerializer):
    service = serializers.CharField(source="service_id")

    class Meta:
        model = ProactiveService
        fields = [
            "id",
            "service",
            "life_event_kinds",
            "subject_kinds",
            "eligibility_hint",
            "link",
            "min_age",
            "max_age",
            "active",
            "created_at",
        ]
