from django.urls import path
from rest_framework.routers import SimpleRouter

from payments.api.views import (
    DisputeViewSet,
    PaymentDisputeViewSet,
    PaymentLinkViewSet,
    PaymentRefundViewSet,
    PaymentTimelineViewSet,
    PaymentViewSet,
    RefundViewSet,
)

router = SimpleRouter(trailing_slash=False)
router.register("payments", PaymentViewSet, basename="payment")
router.register("refunds", RefundViewSet, basename="refund")
router.register("disputes", DisputeViewSet, basename="dispute")
router.register("payment-links", PaymentLinkViewSet, basename="payment-link")

urlpatterns = [
    *router.urls,
    path(
        "payments/<str:payment_pk>/refunds",
        PaymentRefundViewSet.as_view({"get": "list", "post": "create"}),
        name="payment-refunds",
    ),
    path(
        "payments/<str:payment_pk>/disputes",
        PaymentDisputeViewSet.as_view({"get": "list"}),
        name="payment-disputes",
    ),
    path(
        "payments/<str:payment_pk>/events",
        PaymentTimelineViewSet.as_view({"get": "list"}),
        name="payment-events",
    ),
]
