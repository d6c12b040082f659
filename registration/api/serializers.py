from rest_framework import serializers

from hub.api.serializers import StrictSerializer
from registration import selectors
from registration.models import Constituent, ConstituentAccess, LifeEvent, Registration
from registration.rules import identifiers
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


class LifeEventInputSerializer(StrictSerializer):
    kind = serializers.ChoiceField(choices=LifeEvent.Kind.choices)
    occurred_on = serializers.DateField()
    details = serializers.DictField(required=False, default=dict)
    agency_reference = serializers.CharField(max_length=100, required=False, allow_blank=True)

    def validate(self, data):
        address = data.get("details", {}).get("address")
        if data["kind"] == LifeEvent.Kind.ADDRESS_CHANGE and address is not None:
            nested = AddressSerializer(data=address)
            if not nested.is_valid():
                raise serializers.ValidationError({"details": {"address": nested.errors}})
            data["details"] = {**data["details"], "address": nested.validated_data}
        return data


class LifeEventSerializer(serializers.ModelSerializer):
    constituent = serializers.CharField(source="constituent_id")
    reported_by = serializers.SerializerMethodField()

    class Meta:
        model = LifeEvent
        fields = [
            "id",
            "constituent",
            "kind",
            "occurred_on",
            "details",
            "reported_by",
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

    def get_reported_by(self, life_event) -> list[str]:
        # Which agencies reported a life event is part of the shared registry; only their
        # slugs are shown, nothing of the other agencies' reports.
        with all_tenants():
            return [r.tenant.slug for r in life_event.reports.select_related("tenant")]
