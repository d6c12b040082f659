from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from hub.api.serializers import StrictSerializer
from reconciliation.models import (
    BankStatement,
    ReconciliationException,
    ReconciliationRun,
    RunItem,
    StatementImport,
    StatementLine,
    StatementLineDetail,
)


class BankStatementSerializer(serializers.ModelSerializer):
    id = serializers.CharField(read_only=True)

    class Meta:
        model = BankStatement
        fields = [
            "id",
            "channel",
            "statement_id",
            "account",
            "currency",
            "sequence_number",
            "opening_balance",
            "closing_balance",
            "opening_date",
            "closing_date",
            "line_count",
        ]


class StatementImportSerializer(serializers.ModelSerializer):
    id = serializers.CharField(read_only=True)
    statements = BankStatementSerializer(many=True, read_only=True)
    warnings = serializers.ListField(
        child=serializers.CharField(),
        read_only=True,
        help_text="What was imported but could not be checked (no opening balance in the "
        "file, entries the bank left out of the closing balance); empty when all was checked",
    )

    class Meta:
        model = StatementImport
        fields = [
            "id",
            "source",
            "format",
            "file_name",
            "content_sha256",
            "size_bytes",
            "statement_count",
            "line_count",
            "warnings",
            "statements",
            "created_at",
        ]


class StatementUploadSerializer(StrictSerializer):
    file = serializers.FileField(
        help_text="A camt.053 (.001.02 to .001.10) or MT940 file; the format is read from "
        "the content"
    )


class StatementLineDetailSerializer(serializers.ModelSerializer):
    class Meta:
        model = StatementLineDetail
        fields = [
            "end_to_end_id",
            "instruction_id",
            "payment_information_id",
            "creditor_reference",
            "remittance_text",
            "amount",
            "currency",
            "counterparty_name",
            "counterparty_account",
            "return_reason_code",
        ]


class StatementLineSerializer(serializers.ModelSerializer):
    id = serializers.CharField(read_only=True)
    statement_import = serializers.CharField(source="statement.statement_import_id")
    details = StatementLineDetailSerializer(many=True, read_only=True)
    match = serializers.SerializerMethodField()

    class Meta:
        model = StatementLine
        fields = [
            "id",
            "statement",
            "statement_import",
            "channel",
            "position",
            "booking_date",
            "value_date",
            "amount",
            "fee",
            "currency",
            "kind",
            "status",
            "is_reversal",
            "return_reason_code",
            "entry_reference",
            "customer_reference",
            "batch_reference",
            "bank_transaction_code",
            "counterparty_name",
            "counterparty_account",
            "additional_info",
            "details",
            "match",
        ]

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_match(self, line: StatementLine) -> str | None:
        link = getattr(line, "matched", None)
        return link.match_id if link is not None else None


class CurrencyTotalsSerializer(serializers.Serializer):
    currency = serializers.CharField()
    gross = serializers.IntegerField()
    fees = serializers.IntegerField()
    refunds = serializers.IntegerField()
    returns = serializers.IntegerField()
    net = serializers.IntegerField()
    expected = serializers.IntegerField()
    received = serializers.IntegerField()
    variance = serializers.IntegerField()
    provider_fees = serializers.IntegerField()
    statement_opening = serializers.IntegerField(allow_null=True)
    statement_closing = serializers.IntegerField(allow_null=True)
    statement_movement = serializers.IntegerField(allow_null=True)
    closing_variance = serializers.IntegerField(allow_null=True)
    matched = serializers.IntegerField()
    unmatched_expected = serializers.IntegerField()
    unmatched_reported = serializers.IntegerField()
    exceptions = serializers.IntegerField()


class ReconciliationRunSerializer(serializers.ModelSerializer):
    id = serializers.CharField(read_only=True)
    totals = serializers.SerializerMethodField()
    links = serializers.SerializerMethodField()

    class Meta:
        model = ReconciliationRun
        fields = [
            "id",
            "period_start",
            "period_end",
            "state",
            "trigger",
            "date_window_days",
            "amount_tolerance",
            "matched_count",
            "unmatched_expected_count",
            "unmatched_reported_count",
            "exception_count",
            "totals",
            "links",
            "started_at",
            "finished_at",
            "created_at",
        ]

    @extend_schema_field(CurrencyTotalsSerializer(many=True))
    def get_totals(self, run: ReconciliationRun) -> list[dict]:
        return [
            {"currency": currency, **figures} for currency, figures in sorted(run.totals.items())
        ]

    @extend_schema_field(serializers.DictField(child=serializers.CharField()))
    def get_links(self, run: ReconciliationRun) -> dict:
        base = f"/api/v1/reconciliation-runs/{run.pk}"
        return {
            "items": f"{base}/items",
            "report_csv": f"{base}/report.csv",
            "report_xlsx": f"{base}/report.xlsx",
            "report_html": f"/reconciliation/runs/{run.pk}/",
        }


class RunRequestSerializer(StrictSerializer):
    period_start = serializers.DateField(help_text="First day reconciled (inclusive)")
    period_end = serializers.DateField(help_text="Last day reconciled (inclusive)")


class RunItemSerializer(serializers.ModelSerializer):
    statement_line = serializers.CharField(source="line_id", allow_null=True)
    item = serializers.SerializerMethodField()

    class Meta:
        model = RunItem
        fields = [
            "status",
            "channel",
            "currency",
            "date",
            "statement_line",
            "reported_amount",
            "item",
            "expected_amount",
            "reference",
            "counterparty",
            "method",
            "reason",
            "match",
            "exception",
        ]

    @extend_schema_field(serializers.DictField(child=serializers.CharField(), allow_null=True))
    def get_item(self, row: RunItem) -> dict | None:
        return {"kind": row.item_kind, "id": row.item_id} if row.item_id else None


class ReconciliationExceptionSerializer(serializers.ModelSerializer):
    id = serializers.CharField(read_only=True)
    statement_line = serializers.CharField(source="line_id", allow_null=True)
    item = serializers.SerializerMethodField()
    difference = serializers.IntegerField(allow_null=True)

    class Meta:
        model = ReconciliationException
        fields = [
            "id",
            "kind",
            "state",
            "channel",
            "currency",
            "occurred_on",
            "expected_amount",
            "reported_amount",
            "difference",
            "statement_line",
            "item",
            "match",
            "reason",
            "first_run",
            "last_run",
            "resolution",
            "resolution_note",
            "resolved_by",
            "resolved_at",
            "resolution_match",
            "created_at",
        ]

    @extend_schema_field(serializers.DictField(child=serializers.CharField(), allow_null=True))
    def get_item(self, exception: ReconciliationException) -> dict | None:
        if not exception.item_id:
            return None
        return {"kind": exception.item_kind, "id": exception.item_id}


class ResolveSerializer(StrictSerializer):
    resolution = serializers.ChoiceField(choices=ReconciliationException.Resolution.choices)
    note = serializers.CharField(max_length=2000, help_text="What was done, for the audit trail")
    matched_with = serializers.ListField(
        child=serializers.CharField(max_length=40),
        required=False,
        default=list,
        max_length=500,
        help_text="Statement lines (stl_…) or items (pay_…, ref_…, stm_… of a Stripe payout) "
        "this was matched with by hand",
    )
