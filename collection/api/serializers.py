from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from collection.models import (
    CollectionAttempt,
    CollectionRun,
    Debt,
    DirectDebitScheme,
    Instalment,
    Mandate,
    PaymentPlan,
    ReturnFile,
    ReturnFileEntry,
)
from collection.schemes import Frequency
from collection.selectors import run_attempt_counts
from hub.api.serializers import (
    CurrencyField,
    MinorUnitsField,
    StrictIntegerField,
    StrictSerializer,
)

MAX_INSTALMENTS = 600


class DebtSerializer(serializers.ModelSerializer):
    constituent = serializers.CharField(source="constituent_id")
    service = serializers.CharField(source="service_id")

    class Meta:
        model = Debt
        fields = [
            "id",
            "constituent",
            "service",
            "reference",
            "description",
            "amount",
            "currency",
            "due_date",
            "balance",
            "amount_collected",
            "amount_returned",
            "amount_written_off",
            "state",
            "arrears_since",
            "dunning_step",
            "suspended_reason",
            "write_off_reason",
            "written_off_at",
            "paid_at",
            "created_at",
            "updated_at",
        ]


class DebtCreateSerializer(StrictSerializer):
    constituent = serializers.CharField(max_length=40, help_text="con_… you are registered with")
    service = serializers.CharField(max_length=40, help_text="svc_… the debt is for")
    reference = serializers.CharField(max_length=100)
    description = serializers.CharField(max_length=255)
    amount = MinorUnitsField()
    currency = CurrencyField()
    due_date = serializers.DateField()


class WriteOffSerializer(StrictSerializer):
    reason = serializers.CharField(max_length=500)


class MandateSerializer(serializers.ModelSerializer):
    constituent = serializers.CharField(source="constituent_id")
    account = serializers.CharField(
        source="account_masked", help_text="Masked: only the last 4 characters are shown"
    )

    class Meta:
        model = Mandate
        fields = [
            "id",
            "constituent",
            "scheme",
            "usage",
            "reference",
            "signed_on",
            "account_holder_name",
            "account",
            "bic",
            "sort_code",
            "state",
            "active_from",
            "last_presented_on",
            "stripe_customer",
            "stripe_payment_method",
            "stripe_mandate",
            "end_reason",
            "ended_at",
            "created_at",
        ]


class MandateCreateSerializer(StrictSerializer):
    constituent = serializers.CharField(max_length=40)
    scheme = serializers.ChoiceField(choices=DirectDebitScheme.choices)
    usage = serializers.ChoiceField(
        choices=Mandate.Usage.choices,
        required=False,
        help_text="recurring (default) or one_off: a single collection, sent as OOFF (SEPA)",
    )
    reference = serializers.CharField(
        max_length=35, required=False, allow_blank=True, help_text="Generated when left out"
    )
    signed_on = serializers.DateField()
    account_holder_name = serializers.CharField(max_length=140)
    iban = serializers.CharField(max_length=50, required=False, allow_blank=True)
    bic = serializers.CharField(max_length=11, required=False, allow_blank=True)
    sort_code = serializers.CharField(max_length=8, required=False, allow_blank=True)
    account_number = serializers.CharField(max_length=10, required=False, allow_blank=True)
    stripe_customer = serializers.CharField(max_length=255, required=False, allow_blank=True)
    stripe_payment_method = serializers.CharField(max_length=255, required=False, allow_blank=True)
    stripe_mandate = serializers.CharField(max_length=255, required=False, allow_blank=True)


class ReasonSerializer(StrictSerializer):
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True)


class AttemptSerializer(serializers.ModelSerializer):
    payment = serializers.CharField(source="payment_id", allow_null=True)

    class Meta:
        model = CollectionAttempt
        fields = [
            "id",
            "number",
            "payment",
            "collection_date",
            "sequence_type",
            "end_to_end_id",
            "state",
            "failure_code",
            "failure_action",
            "returned",
            "created_at",
        ]


class InstalmentSerializer(serializers.ModelSerializer):
    payment_plan = serializers.CharField(source="plan_id")
    debt = serializers.CharField(source="debt_id")
    mandate = serializers.CharField(source="mandate_id")
    attempts = AttemptSerializer(many=True, read_only=True)

    class Meta:
        model = Instalment
        fields = [
            "id",
            "payment_plan",
            "debt",
            "mandate",
            "sequence",
            "due_date",
            "amount",
            "currency",
            "state",
            "collect_on",
            "submit_on",
            "attempt_count",
            "last_failure_code",
            "collected_at",
            "attempts",
            "created_at",
        ]


class PaymentPlanSerializer(serializers.ModelSerializer):
    debt = serializers.CharField(source="debt_id")
    mandate = serializers.CharField(source="mandate_id")
    instalments = InstalmentSerializer(many=True, read_only=True)

    class Meta:
        model = PaymentPlan
        fields = [
            "id",
            "debt",
            "mandate",
            "frequency",
            "total",
            "currency",
            "ends_mandate",
            "state",
            "end_reason",
            "instalments",
            "created_at",
            "ended_at",
        ]


class ScheduledInstalmentSerializer(StrictSerializer):
    due_date = serializers.DateField()
    amount = MinorUnitsField()


class PaymentPlanCreateSerializer(StrictSerializer):
    """Either ``frequency`` + ``count`` + ``first_date``, or an explicit ``instalments``
    list whose amounts add up to the debt's outstanding balance exactly."""

    debt = serializers.CharField(max_length=40)
    mandate = serializers.CharField(max_length=40)
    frequency = serializers.ChoiceField(choices=[f.value for f in Frequency], required=False)
    count = StrictIntegerField(min_value=1, max_value=MAX_INSTALMENTS, required=False)
    first_date = serializers.DateField(required=False)
    instalments = ScheduledInstalmentSerializer(
        many=True, required=False, max_length=MAX_INSTALMENTS
    )
    ends_mandate = serializers.BooleanField(
        required=False,
        default=False,
        help_text="The mandate is used for nothing after this plan: its last collection is "
        "sent as FNAL (SEPA). Always true on a one-off mandate.",
    )

    def validate(self, data):
        # Cross-field rules the OpenAPI schema cannot state, hence codes of their own
        # rather than the per-field "missing_field".
        generated = {"frequency", "count", "first_date"}
        given = generated & set(data)
        if "instalments" in data:
            if given:
                raise serializers.ValidationError(
                    {
                        sorted(given)[0]: serializers.ErrorDetail(
                            "Give either instalments or frequency/count/first_date",
                            code="schedule_ambiguous",
                        )
                    }
                )
            return data
        missing = sorted(generated - given)
        if missing:
            raise serializers.ValidationError(
                {
                    missing[0]: serializers.ErrorDetail(
                        "Required unless instalments are given", code="schedule_incomplete"
                    )
                }
            )
        return data


class CollectionRunSerializer(serializers.ModelSerializer):
    attempts_by_state = serializers.SerializerMethodField(
        help_text="Live: {state: {currency: {count, amount}}}, as outcomes come back"
    )
    file = serializers.SerializerMethodField(help_text="Path of the pain.008 file, if any")

    class Meta:
        model = CollectionRun
        fields = [
            "id",
            "run_date",
            "trigger",
            "provider",
            "state",
            "selected_count",
            "submitted_count",
            "declined_count",
            "totals",
            "attempts_by_state",
            "file",
            "file_sha256",
            "file_message_id",
            "error",
            "created_at",
            "completed_at",
        ]

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_attempts_by_state(self, run) -> dict:
        return run_attempt_counts(run)

    def get_file(self, run) -> str | None:
        return f"/api/v1/collection-runs/{run.pk}/file" if run.file else None


class CollectionRunCreateSerializer(StrictSerializer):
    run_date = serializers.DateField(
        required=False,
        help_text="Default: today. At most today plus the longest scheme lead time and the"
        " agency's bank buffer (business days); later is refused: run_date_too_far_ahead",
    )


class ReturnFileEntrySerializer(serializers.ModelSerializer):
    instalment = serializers.CharField(source="attempt.instalment_id")
    payment = serializers.CharField(source="attempt.payment_id")

    class Meta:
        model = ReturnFileEntry
        fields = ["position", "end_to_end_id", "instalment", "payment", "reason_code", "action"]


class ReturnFileSerializer(serializers.ModelSerializer):
    entries = ReturnFileEntrySerializer(many=True, read_only=True)

    class Meta:
        model = ReturnFile
        fields = [
            "id",
            "format",
            "filename",
            "sha256",
            "message_id",
            "original_message_id",
            "entry_count",
            "entries",
            "created_at",
        ]


class ReturnFileUploadSerializer(StrictSerializer):
    file = serializers.FileField(
        help_text="The bank's pain.002 status report or camt.054 debit notification (XML); "
        "the format is detected from the file"
    )
