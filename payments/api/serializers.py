"""Request and response shapes of the payments API (GOV.UK Pay's fields, Stripe's style)."""

from __future__ import annotations

import math

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from hub.api.serializers import (
    CurrencyField,
    FieldsBuiltOnceMixin,
    MinorUnitsField,
    StrictSerializer,
)
from payments.models import Dispute, Payment, PaymentEvent, PaymentLink, Refund
from payments.rules.states import PAYABLE
from tenants.models import Language, Service
from tenants.scope import current_tenant
from tenants.statements import CompiledQuery

MAX_METADATA_KEYS = 20
MAX_METADATA_KEY_LENGTH = 40
MAX_METADATA_VALUE_LENGTH = 500


# Every payment request looks its service up: compiled once per process
# (tenants/statements.py), the agency's id a parameter checked against the scope.
_SERVICE_OF_AGENCY = CompiledQuery(
    lambda p: Service.objects.filter(tenant_id=p.tenant_id, pk=p.service_id).order_by(),
    params=["tenant_id", "service_id"],
    tenant_param="tenant_id",
)


class AgencyServiceField(serializers.PrimaryKeyRelatedField):
    """One of the calling agency's services. The queryset is built per request, in the
    request's tenant scope, so another agency's service id simply does not exist."""

    def get_queryset(self):
        return Service.objects.all()

    def to_internal_value(self, data):
        tenant = current_tenant()
        if not isinstance(data, str) or tenant is None or self.pk_field is not None:
            return super().to_internal_value(data)  # DRF's own errors for odd input
        service = _SERVICE_OF_AGENCY.first(tenant_id=tenant.pk, service_id=data)
        if service is None:
            self.fail("does_not_exist", pk_value=data)
        return service


# Every POST builds one, so its fields are built once (its docstring is the schema's).
class PaymentCreateSerializer(FieldsBuiltOnceMixin, StrictSerializer):
    """A card payment to create; unknown fields are refused."""

    amount = MinorUnitsField()
    currency = CurrencyField()
    description = serializers.CharField(
        max_length=255, help_text="Shown to the payer on the payment page"
    )
    reference = serializers.CharField(
        max_length=255, help_text="Your own reference (need not be unique)"
    )
    service = AgencyServiceField(
        queryset=Service.objects.all(), help_text="One of your services (svc_…)"
    )
    return_url = serializers.URLField(
        max_length=2000,
        required=False,
        allow_blank=True,
        help_text="Where the payer is sent after paying",
    )
    constituent = serializers.CharField(
        max_length=40,
        required=False,
        allow_null=True,
        allow_blank=True,
        help_text="A constituent you hold an active registration for (con_…)",
    )
    email = serializers.EmailField(required=False, allow_blank=True)
    language = serializers.ChoiceField(
        choices=Language.choices,
        required=False,
        allow_blank=True,
        help_text="The language of the payer's pages (en, nl, cy; GOV.UK Pay's `language`). "
        "Not given: the constituent's language if the hub knows it, else the payer's "
        "browser (Accept-Language), else your agency's default",
    )
    metadata = serializers.DictField(
        required=False,
        help_text=(
            f"Up to {MAX_METADATA_KEYS} keys of your own; values are strings, numbers or "
            "booleans. Sent back in every webhook."
        ),
    )

    def validate_return_url(self, value: str) -> str:
        if value and not value.lower().startswith(("https://", "http://")):
            raise serializers.ValidationError("Must be an http(s) URL", code="invalid_url")
        return value

    def validate_description(self, value: str) -> str:
        return _not_blank(value)

    def validate_reference(self, value: str) -> str:
        return _not_blank(value)

    def validate_metadata(self, value: dict) -> dict:
        if len(value) > MAX_METADATA_KEYS:
            raise serializers.ValidationError(
                f"At most {MAX_METADATA_KEYS} keys", code="too_many_keys"
            )
        for key, item in value.items():
            if not 1 <= len(key) <= MAX_METADATA_KEY_LENGTH:
                raise serializers.ValidationError(
                    f"Keys are 1 to {MAX_METADATA_KEY_LENGTH} characters", code="invalid_key"
                )
            if isinstance(item, float) and not math.isfinite(item):
                raise serializers.ValidationError("Numbers must be finite", code="invalid_value")
            if not isinstance(item, str | int | float | bool):
                raise serializers.ValidationError(
                    f"{key}: values are strings, numbers or booleans", code="invalid_value"
                )
            if isinstance(item, str) and len(item) > MAX_METADATA_VALUE_LENGTH:
                raise serializers.ValidationError(
                    f"{key}: at most {MAX_METADATA_VALUE_LENGTH} characters", code="too_long"
                )
        return value


def _not_blank(value: str) -> str:
    if not value.strip():
        raise serializers.ValidationError("Must not be blank", code="blank")
    return value.strip()


# Every payment response builds one, so its fields are built once.
class PaymentSerializer(FieldsBuiltOnceMixin, serializers.ModelSerializer):
    """A payment as the agency sees it: GOV.UK Pay's states, money in minor units."""

    finished = serializers.BooleanField(read_only=True)
    next_url = serializers.SerializerMethodField(
        help_text="Send the payer here. Null once the payment can no longer be paid."
    )
    amount_refundable = serializers.IntegerField(
        read_only=True, help_text="What can still be refunded, minor units"
    )

    class Meta:
        model = Payment
        fields = [
            "id",
            "amount",
            "currency",
            "description",
            "reference",
            "service",
            "constituent",
            "email",
            "return_url",
            "metadata",
            "language",
            "payment_link",
            "method",
            "state",
            "finished",
            "failure_code",
            "failure_message",
            "next_url",
            "provider",
            "provider_reference",
            "fee",
            "amount_refunded",
            "amount_refundable",
            "provisional_until",
            "created_at",
            "updated_at",
            "finished_at",
            "expires_at",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_next_url(self, payment: Payment) -> str | None:
        if payment.state not in PAYABLE or not payment.next_url:
            return None
        return payment.next_url


class PaymentEventSerializer(serializers.ModelSerializer):
    """One line of a payment's timeline; ``applied`` false: recorded but ignored."""

    class Meta:
        model = PaymentEvent
        fields = ["id", "from_state", "to_state", "applied", "source", "detail", "occurred_at"]
        read_only_fields = fields


class RefundCreateSerializer(StrictSerializer):
    """A full or partial refund; at most what is still refundable."""

    amount = MinorUnitsField(help_text="Minor units; at most what is still refundable")
    reason = serializers.CharField(max_length=255, required=False, allow_blank=True)


class RefundSerializer(serializers.ModelSerializer):
    """A refund: submitted, then success or error."""

    currency = serializers.CharField(source="payment.currency", read_only=True)

    class Meta:
        model = Refund
        fields = [
            "id",
            "payment",
            "amount",
            "currency",
            "reason",
            "state",
            "failure_code",
            "failure_message",
            "provider_reference",
            "created_at",
            "finished_at",
        ]
        read_only_fields = fields


class DisputeSerializer(serializers.ModelSerializer):
    """A payer's dispute of a card payment. The payment's own state does not change."""

    outcome = serializers.CharField(
        read_only=True,
        allow_null=True,
        help_text="Once closed: won, lost or warning_closed (an inquiry that went no further)",
    )

    class Meta:
        model = Dispute
        fields = [
            "id",
            "payment",
            "amount",
            "currency",
            "reason",
            "status",
            "outcome",
            "evidence_due_by",
            "funds_withdrawn",
            "fee",
            "funds_reinstated",
            "fee_reinstated",
            "provider_reference",
            "created_at",
            "updated_at",
            "closed_at",
        ]
        read_only_fields = fields


class PaymentLinkTranslationSerializer(StrictSerializer):
    title = serializers.CharField(max_length=255, required=False, allow_blank=True)
    description = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    reference_label = serializers.CharField(max_length=100, required=False, allow_blank=True)
    reference_hint = serializers.CharField(max_length=255, required=False, allow_blank=True)


class PaymentLinkWriteSerializer(StrictSerializer):
    """What a payment link asks of the citizen. Either ``amount`` (fixed) or
    ``min_amount`` and ``max_amount`` (the citizen enters an amount in that range)."""

    title = serializers.CharField(max_length=255, help_text="What the citizen pays for")
    description = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    service = AgencyServiceField(
        queryset=Service.objects.all(), help_text="One of your services (svc_…)"
    )
    amount = MinorUnitsField(
        required=False, allow_null=True, help_text="A fixed amount, minor units"
    )
    min_amount = MinorUnitsField(
        required=False, allow_null=True, help_text="Least the citizen may enter, minor units"
    )
    max_amount = MinorUnitsField(
        required=False, allow_null=True, help_text="Most the citizen may enter, minor units"
    )
    reference_label = serializers.CharField(
        max_length=100, help_text='What the reference is called, e.g. "Invoice number"'
    )
    reference_hint = serializers.CharField(
        max_length=255, required=False, allow_blank=True, help_text="Where to find it"
    )
    reference_pattern = serializers.CharField(
        max_length=200,
        required=False,
        allow_blank=True,
        trim_whitespace=False,
        help_text="RE2 regular expression the whole reference must match, e.g. "
        r"`INV-\d{6}` (anchored; no back-references or look-arounds)",
    )
    languages = serializers.ListField(
        child=serializers.ChoiceField(choices=Language.choices),
        required=False,
        max_length=len(Language.values),
        help_text="Languages the page is offered in; the first is the default. "
        "Empty: every language the hub offers",
    )
    translations = serializers.DictField(
        child=PaymentLinkTranslationSerializer(),
        required=False,
        help_text="The texts in the link's other languages, keyed by language",
    )
    expires_at = serializers.DateTimeField(required=False, allow_null=True)


class PaymentLinkCreateSerializer(PaymentLinkWriteSerializer):
    currency = CurrencyField(required=False, help_text="Default: your agency's currency")
    slug = serializers.SlugField(
        max_length=60,
        required=False,
        help_text="The page's address, /pay/link/<slug>/; default: an unguessable one",
    )


class PaymentLinkUpdateSerializer(PaymentLinkWriteSerializer):
    """Any of the fields; ``active: false`` disables the link (its page then says so)."""

    active = serializers.BooleanField(required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.required = False


class PaymentLinkSerializer(serializers.ModelSerializer):
    """A payment link; ``url`` is the page to share with citizens."""

    url = serializers.SerializerMethodField(help_text="The public page")
    state = serializers.SerializerMethodField(help_text="active, disabled or expired")

    class Meta:
        model = PaymentLink
        fields = [
            "id",
            "url",
            "slug",
            "state",
            "active",
            "title",
            "description",
            "service",
            "amount",
            "min_amount",
            "max_amount",
            "currency",
            "reference_label",
            "reference_hint",
            "reference_pattern",
            "languages",
            "translations",
            "expires_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_url(self, link: PaymentLink) -> str:
        return f"{settings.HUB_PUBLIC_URL}{reverse('payments-link-page', args=[link.slug])}"

    @extend_schema_field(serializers.ChoiceField(choices=["active", "disabled", "expired"]))
    def get_state(self, link: PaymentLink) -> str:
        if not link.active:
            return "disabled"
        if link.expires_at is not None and link.expires_at <= timezone.now():
            return "expired"
        return "active"
