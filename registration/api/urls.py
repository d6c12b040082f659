from rest_framework.routers import SimpleRouter

from registration.api.views import (
    ConstituentAccessViewSet,
    ConstituentViewSet,
    LifeEventViewSet,
    ProactiveServiceViewSet,
    RegistrationViewSet,
)

router = SimpleRouter(trailing_slash=False)
router.register(
    r"constituents/(?P<constituent_id>[^/.]+)/access-log",
    ConstituentAccessViewSet,
    basename="constituent-access",
)
router.register("constituents", ConstituentViewSet, basename="constituent")
router.register("registrations", RegistrationViewSet, basename="registration")
router.register("life-events", LifeEventViewSet, basename="life-event")
router.register("proactive-services", ProactiveServiceViewSet, basename="proactive-service")
urlpatterns = router.urls
