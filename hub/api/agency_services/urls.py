from rest_framework.routers import SimpleRouter

from hub.api.agency_services.views import ServiceViewSet

router = SimpleRouter(trailing_slash=False)
router.register("services", ServiceViewSet, basename="service")
urlpatterns = router.urls
