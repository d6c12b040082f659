from rest_framework.routers import SimpleRouter

from tenants.api.views import ServiceViewSet

router = SimpleRouter(trailing_slash=False)
router.register("services", ServiceViewSet, basename="service")
urlpatterns = router.urls
