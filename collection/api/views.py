"""The collections API: parse, call a service, render. Rows are the agency's own only."""

from __future__ import annotations

import json

from django.db.models import Prefetch
from django.http import FileResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response

from collection.api import filters
from collection.api.serializers import (
    CollectionRunCreateSerializer,
    CollectionRunSerializer,
    DebtCreateSerializer,
    DebtSerializer,
    InstalmentSerializer,
    MandateCreateSerializer,
    MandateSerializer,
    PaymentPlanCreateSerializer,
    PaymentPlanSerializer,
    ReasonSerializer,
    ReturnFileSerializer,
    ReturnFileUploadSerializer,
    WriteOffSerializer,
)
from collection.models import (
    CollectionAttempt,
    CollectionRun,
    Debt,
    Instalment,
    Mandate,
    PaymentPlan,
    ReturnFile,
)
from collection.services import debts, mandates, plans, returns, runs, write_offs
from hub.api.views import HubReadOnlyViewSet
from hub.errors import Conflict, InvalidRequest
from tenants.scope import require_tenant

READ = "collections:read"
WRITE = "collections:write"


def actor_of(request) -> str:
    return f"api_key:{request.user.api_key.prefix}"


class CollectionsViewSet(HubReadOnlyViewSet):
    read_scope = READ
    write_scope = WRITE


def _validated(serializer_class, data) -> dict:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


@extend_schema_view(
    list=extend_schema(summary="List debts"),
    retrieve=extend_schema(summary="Get a debt with its balance"),
)
class DebtViewSet(CollectionsViewSet):
    model = Debt
    serializer_class = DebtSerializer
    filterset_class = filters.DebtFilter

    @extend_schema(
        summary="Record a debt a registered constituent owes",
        request=DebtCreateSerializer,
        responses={201: DebtSerializer},
    )
    def create(self, request, *args, **kwargs):
        data = _validated(DebtCreateSerializer, request.data)
        debt = debts.create_debt(
            tenant=require_tenant(),
            constituent_id=data["constituent"],
            service_id=data["service"],
            reference=data["reference"],
            description=data["description"],
            amount=data["amount"],
            currency=data["currency"],
            due_date=data["due_date"],
        )
        return Response(DebtSerializer(debt).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Write off what is left of a debt, with a reason",
        request=WriteOffSerializer,
        responses=DebtSerializer,
    )
    @action(detail=True, methods=["post"], url_path="write-off")
    def write_off(self, request, pk=None):
        debt = self.get_object()
        data = _validated(WriteOffSerializer, request.data)
        debt = write_offs.write_off_debt(debt=debt, reason=data["reason"], actor=actor_of(request))
        return Response(DebtSerializer(debt).data)


@extend_schema_view(
    list=extend_schema(summary="List direct-debit mandates (account numbers masked)"),
    retrieve=extend_schema(summary="Get a mandate"),
)
class MandateViewSet(CollectionsViewSet):
    model = Mandate
    serializer_class = MandateSerializer
    filterset_class = filters.MandateFilter

    @extend_schema(
        summary="Record a SEPA Core or Bacs mandate the debtor signed",
        request=MandateCreateSerializer,
        responses={201: MandateSerializer},
    )
    def create(self, request, *args, **kwargs):
        data = _validated(MandateCreateSerializer, request.data)
        mandate = mandates.create_mandate(
            tenant=require_tenant(),
            constituent_id=data.pop("constituent"),
            **data,
        )
        return Response(MandateSerializer(mandate).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Cancel a mandate (its plans are cancelled with it)",
        request=ReasonSerializer,
        responses=MandateSerializer,
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        mandate = self.get_object()
        data = _validated(ReasonSerializer, request.data)
        mandate = mandates.cancel_mandate(mandate=mandate, reason=data.get("reason", ""))
        return Response(MandateSerializer(mandate).data)


def _attempts():
    return Prefetch("attempts", queryset=CollectionAttempt.objects.order_by("number"))


@extend_schema_view(
    list=extend_schema(summary="List payment plans with their instalment schedules"),
    retrieve=extend_schema(summary="Get a payment plan and its instalments"),
)
class PaymentPlanViewSet(CollectionsViewSet):
    model = PaymentPlan
    serializer_class = PaymentPlanSerializer
    filterset_class = filters.PaymentPlanFilter

    def get_queryset(self):
        instalments = Instalment.objects.order_by("sequence").prefetch_related(_attempts())
        return PaymentPlan.objects.prefetch_related(Prefetch("instalments", queryset=instalments))

    @extend_schema(
        summary="Split a debt's outstanding balance into instalments on a mandate",
        request=PaymentPlanCreateSerializer,
        responses={201: PaymentPlanSerializer},
    )
    def create(self, request, *args, **kwargs):
        data = _validated(PaymentPlanCreateSerializer, request.data)
        tenant = require_tenant()
        debt = Debt.objects.filter(pk=data["debt"]).first()
        if debt is None:
            raise InvalidRequest("No such debt", code="does_not_exist", field="debt")
        schedule = None
        if "instalments" in data:
            schedule = [(item["due_date"], item["amount"]) for item in data["instalments"]]
        plan = plans.create_plan(
            tenant=tenant,
            debt=debt,
            mandate_id=data["mandate"],
            frequency=data.get("frequency"),
            count=data.get("count"),
            first_date=data.get("first_date"),
            schedule=schedule,
            ends_mandate=data.get("ends_mandate", False),
        )
        return Response(
            PaymentPlanSerializer(self.get_queryset().get(pk=plan.pk)).data,
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(
        summary="Cancel a payment plan (instalments not yet presented are cancelled)",
        request=ReasonSerializer,
        responses=PaymentPlanSerializer,
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        plan = self.get_object()
        data = _validated(ReasonSerializer, request.data)
        plans.cancel_plan(plan=plan, reason=data.get("reason", ""))
        return Response(PaymentPlanSerializer(self.get_queryset().get(pk=plan.pk)).data)


@extend_schema_view(
    list=extend_schema(summary="List instalments"),
    retrieve=extend_schema(summary="Get an instalment and its collection attempts"),
)
class InstalmentViewSet(CollectionsViewSet):
    model = Instalment
    serializer_class = InstalmentSerializer
    filterset_class = filters.InstalmentFilter

    def get_queryset(self):
        return Instalment.objects.prefetch_related(_attempts())


class XmlFileRenderer(BaseRenderer):
    """Lets clients ask for the bank file with ``Accept: application/xml``."""

    media_type = "application/xml"
    format = "xml"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        # Only errors get here (the file itself is streamed): keep their JSON shape.
        return json.dumps(data).encode() if data is not None else b""


@extend_schema_view(
    list=extend_schema(summary="List collection runs"),
    retrieve=extend_schema(summary="Get a collection run with its totals"),
)
class CollectionRunViewSet(CollectionsViewSet):
    model = CollectionRun
    serializer_class = CollectionRunSerializer
    filterset_class = filters.CollectionRunFilter

    @extend_schema(
        summary="Start a collection run for a date (instalments due by then are collected)",
        request=CollectionRunCreateSerializer,
        responses={201: CollectionRunSerializer},
    )
    def create(self, request, *args, **kwargs):
        data = _validated(CollectionRunCreateSerializer, request.data)
        run = runs.start_run(
            tenant=require_tenant(),
            run_date=data.get("run_date") or timezone.localdate(),
            trigger=CollectionRun.Trigger.API,
        )
        return Response(CollectionRunSerializer(run).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Download the run's SEPA pain.008.001.02 file, to send to the bank",
        responses={
            (200, "application/xml"): OpenApiResponse(OpenApiTypes.BINARY, "The pain.008 file"),
        },
    )
    @action(detail=True, methods=["get"], renderer_classes=[JSONRenderer, XmlFileRenderer])
    def file(self, request, pk=None):
        run = self.get_object()
        if not run.file:
            if run.state == CollectionRun.State.RUNNING:
                raise Conflict(
                    "The run is still collecting; the file comes when it completes",
                    code="run_not_finished",
                )
            raise NotFound("This run has no bank file (nothing for a bank, or a Stripe run)")
        return FileResponse(
            run.file.open("rb"),
            content_type="application/xml",
            as_attachment=True,
            filename=f"{run.pk}-pain.008.001.02.xml",
        )


@extend_schema_view(
    list=extend_schema(summary="List imported bank status reports (returns and rejects)"),
    retrieve=extend_schema(summary="Get an imported status report and what it applied"),
)
class CollectionReturnViewSet(CollectionsViewSet):
    model = ReturnFile
    serializer_class = ReturnFileSerializer
    filterset_class = filters.ReturnFileFilter
    parser_classes = [MultiPartParser, FormParser]

    def get_queryset(self):
        return ReturnFile.objects.prefetch_related("entries__attempt")

    @extend_schema(
        summary="Upload the bank's pain.002 report or camt.054 notification: all entries "
        "apply, or none",
        request={"multipart/form-data": ReturnFileUploadSerializer},
        responses={201: ReturnFileSerializer, 200: ReturnFileSerializer},
    )
    def create(self, request, *args, **kwargs):
        data = _validated(ReturnFileUploadSerializer, request.data)
        upload = data["file"]
        # Django spooled a large upload to a temporary file: check its size there,
        # before read() brings it into memory.
        returns.check_return_file_size(upload.size)
        imported = returns.import_return_file(
            tenant=require_tenant(), filename=upload.name, content=upload.read()
        )
        code = status.HTTP_201_CREATED if imported.created else status.HTTP_200_OK
        return Response(
            ReturnFileSerializer(self.get_queryset().get(pk=imported.file.pk)).data, status=code
        )
