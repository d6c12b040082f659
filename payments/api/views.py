"""Payments API: thin views over payments.services."""

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response

from hub.api.views import HubViewSet
from payments import services
from payments.api.filters import DisputeFilter, PaymentFilter, PaymentLinkFilter, RefundFilter
from payments.api.serializers import (
    DisputeSerializer,
    PaymentCreateSerializer,
    PaymentEventSerializer,
    PaymentLinkCreateSerializer,
    PaymentLinkSerializer,
    PaymentLinkUpdateSerializer,
    PaymentSerializer,
    RefundCreateSerializer,
    RefundSerializer,
)
from payments.models import Dispute, Payment, PaymentEvent, PaymentLink, Refund
from tenants.scope import require_tenant

PAYMENT_PK = OpenApiParameter(
    "payment_pk", OpenApiTypes.STR, OpenApiParameter.PATH, description="The payment id (pay_…)"
)


class PaymentScopes:
    read_scope = "payments:read"
    write_scope = "payments:write"


@extend_schema_view(
    list=extend_schema(summary="List payments"),
    retrieve=extend_schema(summary="Get a payment"),
    create=extend_schema(
        summary="Create a card payment; send the payer to next_url",
        request=PaymentCreateSerializer,
        responses={201: PaymentSerializer},
    ),
)
class PaymentViewSet(
    PaymentScopes,
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    HubViewSet,
):
    model = Payment
    serializer_class = PaymentSerializer
    filterset_class = PaymentFilter

    def create(self, request, *args, **kwargs):
        serializer = PaymentCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        payment = services.create_payment(tenant=require_tenant(), **serializer.validated_data)
        return Response(PaymentSerializer(payment).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Cancel a payment the payer has not completed",
        request=None,
        responses={200: PaymentSerializer},
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        payment = services.cancel_payment(payment=self.get_object())
        return Response(PaymentSerializer(payment).data)


class PaymentChildMixin:
    """Views under /payments/{payment_pk}/: the payment must be the agency's (else 404)."""

    url_kwarg_models = {"payment_pk": Payment}

    def get_payment(self) -> Payment:
        return get_object_or_404(Payment.objects.all(), pk=self.kwargs["payment_pk"])

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return self.model.objects.none()
        return super().get_queryset().filter(payment=self.get_payment())


class SelectsPayment:
    """Rows rendered with their payment's currency: fetch the payment in the same query."""

    def get_queryset(self):
        return super().get_queryset().select_related("payment")


@extend_schema_view(
    list=extend_schema(summary="List a payment's refunds", parameters=[PAYMENT_PK]),
    create=extend_schema(
        summary="Refund a payment, fully or in part",
        parameters=[PAYMENT_PK],
        request=RefundCreateSerializer,
        responses={201: RefundSerializer},
    ),
)
class PaymentRefundViewSet(
    PaymentScopes,
    PaymentChildMixin,
    SelectsPayment,
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    HubViewSet,
):
    model = Refund
    serializer_class = RefundSerializer
    filterset_class = RefundFilter

    def create(self, request, *args, **kwargs):
        payment = self.get_payment()  # a stranger's payment is a 404 before anything else
        serializer = RefundCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        refund = services.create_refund(payment=payment, **serializer.validated_data)
        return Response(RefundSerializer(refund).data, status=status.HTTP_201_CREATED)


@extend_schema_view(
    list=extend_schema(summary="List refunds"),
    retrieve=extend_schema(summary="Get a refund"),
)
class RefundViewSet(
    PaymentScopes, SelectsPayment, mixins.ListModelMixin, mixins.RetrieveModelMixin, HubViewSet
):
    model = Refund
    serializer_class = RefundSerializer
    filterset_class = RefundFilter


@extend_schema_view(
    list=extend_schema(summary="List a payment's disputes", parameters=[PAYMENT_PK]),
)
class PaymentDisputeViewSet(
    PaymentScopes, PaymentChildMixin, SelectsPayment, mixins.ListModelMixin, HubViewSet
):
    model = Dispute
    serializer_class = DisputeSerializer
    filterset_class = DisputeFilter


@extend_schema_view(
    list=extend_schema(summary="List disputes (chargebacks and inquiries)"),
    retrieve=extend_schema(summary="Get a dispute"),
)
class DisputeViewSet(
    PaymentScopes, SelectsPayment, mixins.ListModelMixin, mixins.RetrieveModelMixin, HubViewSet
):
    model = Dispute
    serializer_class = DisputeSerializer
    filterset_class = DisputeFilter


class TimelinePagination(CursorPagination):
    """Oldest first: a timeline reads in the order things happened."""

    ordering = ("occurred_at", "id")
    page_size = 100
    page_size_query_param = "limit"
    max_page_size = 200


@extend_schema_view(
    list=extend_schema(
        summary="A payment's timeline: every change, and every late event ignored",
        parameters=[PAYMENT_PK],
    ),
)
class PaymentTimelineViewSet(PaymentScopes, PaymentChildMixin, mixins.ListModelMixin, HubViewSet):
    model = PaymentEvent
    serializer_class = PaymentEventSerializer
    pagination_class = TimelinePagination
    filterset_class = None


@extend_schema_view(
    list=extend_schema(summary="List payment links"),
    retrieve=extend_schema(summary="Get a payment link"),
    create=extend_schema(
        summary="Create a payment link: a page where citizens pay without an integration",
        request=PaymentLinkCreateSerializer,
        responses={201: PaymentLinkSerializer},
    ),
    partial_update=extend_schema(
        summary="Change a payment link, or disable it (active: false)",
        request=PaymentLinkUpdateSerializer,
        responses={200: PaymentLinkSerializer},
    ),
)
class PaymentLinkViewSet(
    PaymentScopes,
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    HubViewSet,
):
    model = PaymentLink
    serializer_class = PaymentLinkSerializer
    filterset_class = PaymentLinkFilter

    def get_queryset(self):
        return super().get_queryset().select_related("tenant")

    def create(self, request, *args, **kwargs):
        serializer = PaymentLinkCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        link = services.create_payment_link(tenant=require_tenant(), **serializer.validated_data)
        return Response(PaymentLinkSerializer(link).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        link = self.get_object()
        serializer = PaymentLinkUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        link = services.update_payment_link(link=link, changes=dict(serializer.validated_data))
        return Response(PaymentLinkSerializer(link).data)

    @extend_schema(
        summary="Disable a payment link: its page then says so (410)",
        request=None,
        responses={200: PaymentLinkSerializer},
    )
    @action(detail=True, methods=["post"])
    def disable(self, request, pk=None):
        link = services.disable_payment_link(link=self.get_object())
        return Response(PaymentLinkSerializer(link).data)
