from rest_framework.routers import SimpleRouter

from notifications.api.views import NoticeViewSet

router = SimpleRouter(trailing_slash=False)
router.register("notices", NoticeViewSet, basename="notice")
urlpatterns = router.urls
