"""Reconciliation API: statement uploads, lines, runs with their reports, exceptions.

Reads need the ``reports:read`` scope; uploading statements, starting runs and
resolving exceptions need ``payments:write`` (they change what the agency's payments
are reconciled against).
"""

import django_filters
from django.http import FileResponse, StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.pagination import CursorPagination
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from hub.api.errors import error_response
from hub.api.filters import CreatedRangeFilterSet
from hub.api.views import HubReadCreateViewSet, HubReadOnlyViewSet
from hub.errors import InvalidRequest
from reconciliation import services
from reconciliation.api.serializers import (
    ReconciliationExceptionSerializer,
    ReconciliationRunSerializer,
    ResolveSerializer,
    RunItemSerializer,
    RunRequestSerializer,
    StatementImportSerializer,
    StatementLineSerializer,
    StatementUploadSerializer,
)
from reconciliation.models import (
    Channel,
    ReconciliationException,
    ReconciliationRun,
    RunItem,
    StatementImport,
    StatementLine,
)
from reconciliation.reports.csv_report import csv_lines, file_name
from reconciliation.reports.xlsx_report import xlsx_file
from tenants.scope import require_tenant

READ_SCOPE = "reports:read"
WRITE_SCOPE = "payments:write"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def actor_of(request) -> str:
    return f"api_key:{request.user.api_key.prefix}"


class StatementImportFilter(CreatedRangeFilterSet):
    source = django_filters.ChoiceFilter(choices=StatementImport.Source.choices)
    format = django_filters.CharFilter()

    class Meta:
        model = StatementImport
        fields = ["source", "format"]


@extend_schema_view(
    list=extend_schema(summary="List imported statement files and Stripe payouts"),
    retrieve=extend_schema(summary="Get an import with its statements"),
)
class StatementImportViewSet(HubReadCreateViewSet):
    model = StatementImport
    serializer_class = StatementImportSerializer
    filterset_class = StatementImportFilter
    read_scope = READ_SCOPE
    write_scope = WRITE_SCOPE
    parser_classes = [MultiPartParser]

    def get_queryset(self):
        return StatementImport.objects.prefetch_related("statements")

    @extend_schema(
        summary="Upload a bank statement (camt.053 or MT940, multipart field 'file')",
        description=(
            "The format is detected from the content. The file is imported whole or not "
            "at all: one bad entry refuses it (400, field 'file', with the entry's "
            "position); the message names the entry, balance or statement. The same bytes "
            "uploaded again answer 200 with the first import and change nothing; the same "
            "statement (account, statement id, sequence, closing date, opening balance) in "
            "a different file is a 409. What ISO 20022 allows but leaves unchecked (no "
            "opening balance, entries after the closing date or not yet booked) is "
            "imported and listed in 'warnings'."
        ),
        request={"multipart/form-data": StatementUploadSerializer},
        responses={201: StatementImportSerializer, 200: StatementImportSerializer},
    )
    def create(self, request, *args, **kwargs):
        upload = request.FILES.get("file")
        unknown = sorted(set(request.data) - {"file"})
        if unknown:
            raise InvalidRequest("Unknown field", code="unknown_field", field=unknown[0])
        if upload is None:
            raise InvalidRequest(
                "Attach the statement as the multipart field 'file'",
                code="missing_field",
                field="file",
            )
        try:
            # Django keeps uploads over 2 MB in a temporary file: the parser streams it.
            result = services.import_statement_file(
                tenant=require_tenant(),
                file=upload.file,
                file_name=upload.name or "",
                imported_by=actor_of(request),
            )
        except services.StatementRejected as rejected:
            response = error_response(
                status_code=400, code=rejected.code, message=rejected.message, field="file"
            )
            if rejected.position is not None:
                response.data["error"]["position"] = rejected.position
            return response
        code = status.HTTP_201_CREATED if result.created else status.HTTP_200_OK
        return Response(self.get_serializer(result.statement_import).data, status=code)


class StatementLineFilter(CreatedRangeFilterSet):
    statement_import = django_filters.CharFilter(field_name="statement__statement_import_id")
    statement = django_filters.CharFilter(field_name="statement_id")
    channel = django_filters.ChoiceFilter(choices=Channel.choices)
    currency = django_filters.CharFilter()
    booked_from = django_filters.DateFilter(field_name="booking_date", lookup_expr="gte")
    booked_to = django_filters.DateFilter(field_name="booking_date", lookup_expr="lte")
    matched = django_filters.BooleanFilter(field_name="matched", lookup_expr="isnull", exclude=True)

    class Meta:
        model = StatementLine
        fields = ["channel", "currency"]


@extend_schema_view(
    list=extend_schema(summary="List statement lines (bank entries and Stripe transactions)"),
    retrieve=extend_schema(summary="Get a statement line with its transaction details"),
)
class StatementLineViewSet(HubReadOnlyViewSet):
    model = StatementLine
    serializer_class = StatementLineSerializer
    filterset_class = StatementLineFilter
    read_scope = READ_SCOPE
    write_scope = WRITE_SCOPE  # no writes here, but who imports statements reads their lines

    def get_queryset(self):
        return StatementLine.objects.select_related("statement", "matched").prefetch_related(
            "details"
        )


class RunFilter(CreatedRangeFilterSet):
    state = django_filters.ChoiceFilter(choices=ReconciliationRun.State.choices)
    trigger = django_filters.ChoiceFilter(choices=ReconciliationRun.Trigger.choices)
    period_start = django_filters.DateFilter()
    period_end = django_filters.DateFilter()

    class Meta:
        model = ReconciliationRun
        fields = ["state", "trigger"]


class RunItemPagination(CursorPagination):
    """A report reads top to bottom: rows in the order the run wrote them."""

    ordering = ("id",)
    page_size = 100
    page_size_query_param = "limit"
    max_page_size = 500


@extend_schema_view(
    list=extend_schema(summary="List reconciliation runs"),
    retrieve=extend_schema(summary="Get a run with its totals per currency"),
)
class ReconciliationRunViewSet(HubReadCreateViewSet):
    model = ReconciliationRun
    serializer_class = ReconciliationRunSerializer
    filterset_class = RunFilter
    read_scope = READ_SCOPE
    write_scope = WRITE_SCOPE

    def get_serializer_class(self):
        if self.action == "items":
            return RunItemSerializer
        return super().get_serializer_class()

    @extend_schema(
        summary="Reconcile a period now (dates inclusive); answers with the finished run",
        description=(
            "The run commits batch by batch and is `running` (visible in the list) until "
            "it is `completed`; one that stopped half-way is `abandoned`, its matches "
            "kept. While another run of the agency is running the answer is a 409 "
            "`run_in_progress`."
        ),
        request=RunRequestSerializer,
        responses={201: ReconciliationRunSerializer},
    )
    def create(self, request, *args, **kwargs):
        serializer = RunRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        run = services.start_run(
            tenant=require_tenant(),
            trigger=ReconciliationRun.Trigger.API,
            requested_by=actor_of(request),
            **serializer.validated_data,
        )
        return Response(self.get_serializer(run).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="The run's rows: matched, unmatched (with the reason) and exceptions",
        parameters=[
            OpenApiParameter("status", str, enum=RunItem.Status.values),
            OpenApiParameter("currency", str),
        ],
        responses=RunItemSerializer(many=True),
    )
    @action(detail=True, methods=["get"], filterset_class=None, pagination_class=RunItemPagination)
    def items(self, request, pk=None):
        run = self.get_object()
        rows = RunItem.objects.filter(run=run)
        status_ = request.query_params.get("status")
        if status_:
            if status_ not in RunItem.Status.values:
                raise InvalidRequest(
                    f"status is one of {', '.join(RunItem.Status.values)}",
                    code="invalid_choice",
                    field="status",
                )
            rows = rows.filter(status=status_)
        if request.query_params.get("currency"):
            rows = rows.filter(currency=request.query_params["currency"])
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(RunItemSerializer(page, many=True).data)

    @extend_schema(
        summary="The run's report as CSV (formula injection neutralised)",
        responses={(200, "text/csv"): OpenApiResponse(OpenApiTypes.BINARY)},
    )
    @action(detail=True, methods=["get"], url_path="report.csv")
    def report_csv(self, request, pk=None):
        run = self.get_object()
        response = StreamingHttpResponse(csv_lines(run), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{file_name(run, "csv")}"'
        return response

    @extend_schema(
        summary="The run's report as an XLSX workbook (Summary, Items, Exceptions)",
        responses={(200, XLSX): OpenApiResponse(OpenApiTypes.BINARY)},
    )
    @action(detail=True, methods=["get"], url_path="report.xlsx")
    def report_xlsx(self, request, pk=None):
        run = self.get_object()
        return FileResponse(
            xlsx_file(run), as_attachment=True, filename=file_name(run, "xlsx"), content_type=XLSX
        )


class ExceptionFilter(CreatedRangeFilterSet):
    state = django_filters.ChoiceFilter(choices=ReconciliationException.State.choices)
    kind = django_filters.ChoiceFilter(choices=ReconciliationException.Kind.choices)
    currency = django_filters.CharFilter()
    run = django_filters.CharFilter(field_name="last_run_id", help_text="Last seen in this run")

    class Meta:
        model = ReconciliationException
        fields = ["state", "kind", "currency"]


@extend_schema_view(
    list=extend_schema(summary="List reconciliation exceptions"),
    retrieve=extend_schema(summary="Get an exception"),
)
class ReconciliationExceptionViewSet(HubReadOnlyViewSet):
    model = ReconciliationException
    serializer_class = ReconciliationExceptionSerializer
    filterset_class = ExceptionFilter
    read_scope = READ_SCOPE
    write_scope = WRITE_SCOPE

    @extend_schema(
        summary="Resolve: matched by hand, written off or refunded, with a note",
        description=(
            "The next run respects it: what the exception left unmatched (and the "
            "statement lines or items named in matched_with) is matched by this "
            "resolution and never raised again."
        ),
        request=ResolveSerializer,
        responses={200: ReconciliationExceptionSerializer},
    )
    @action(detail=True, methods=["post"])
    def resolve(self, request, pk=None):
        exception = self.get_object()
        serializer = ResolveSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        resolved = services.resolve_exception(
            exception=exception, resolved_by=actor_of(request), **serializer.validated_data
        )
        return Response(ReconciliationExceptionSerializer(resolved).data)
