from rest_framework.routers import SimpleRouter

from collection.api.views import (
    CollectionReturnViewSet,
    CollectionRunViewSet,
    DebtViewSet,
    InstalmentViewSet,
    MandateViewSet,
    PaymentPlanViewSet,
)

router = SimpleRouter(trailing_slash=False)
router.register("debts", DebtViewSet, basename="debt")
router.register("mandates", MandateViewSet, basename="mandate")
router.register("payment-plans", PaymentPlanViewSet, basename="payment-plan")
router.register("instalments", InstalmentViewSet, basename="instalment")
router.register("collection-runs", CollectionRunViewSet, basename="collection-run")
router.register("collection-returns", CollectionReturnViewSet, basename="collection-return")
urlpatterns = router.urls
