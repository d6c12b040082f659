from rest_framework.routers import SimpleRouter

from reconciliation.api.views import (
    ReconciliationExceptionViewSet,
    ReconciliationRunViewSet,
    StatementImportViewSet,
    StatementLineViewSet,
)

router = SimpleRouter(trailing_slash=False)
# "statements" is the upload route hub/middleware.py gives the larger body limit.
router.register("statements", StatementImportViewSet, basename="statement-import")
router.register("statement-lines", StatementLineViewSet, basename="statement-line")
router.register("reconciliation-runs", ReconciliationRunViewSet, basename="reconciliation-run")
router.register(
    "reconciliation-exceptions", ReconciliationExceptionViewSet, basename="reconciliation-exception"
)
urlpatterns = router.urls
