from rest_framework.routers import SimpleRouter

from registration.api.views import (
    ConstituentViewSet,
    LifeEventViewSet,
    ProactiveServiceViewSet,
    RegistrationViewSet,
)

router = SimpleRouter(trailing_slash=False)
router.register("constituents", ConstituentViewSet, basename="constituent")
router.register("registrations", RegistrationViewSet, basename="registration")
router.register("life-events", LifeEventViewSet, basename="life-event")
router.register("proactive-services", ProactiveServiceViewSet, basename="proactive-service")
urlpatterns = router.urls
