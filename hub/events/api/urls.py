from rest_framework.routers import SimpleRouter

from hub.events.api.views import EventViewSet, WebhookEndpointViewSet

router = SimpleRouter(trailing_slash=False)
router.register("webhook-endpoints", WebhookEndpointViewSet, basename="webhook-endpoint")
router.register("events", EventViewSet, basename="event")
urlpatterns = router.urls
