"""The composition root: every app's URLs meet here."""

from django.contrib import admin
from django.http import JsonResponse
from django.urls import include, path
from django.views import defaults
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from hub.api.health import HealthView
from hub.middleware import error_body

api_v1 = [
    path("health", HealthView.as_view(), name="health"),
    path(
        "schema",
        SpectacularAPIView.as_view(authentication_classes=[], permission_classes=[]),
        name="schema",
    ),
    path(
        "docs",
        SpectacularSwaggerView.as_view(
            url_name="schema", authentication_classes=[], permission_classes=[]
        ),
        name="docs",
    ),
    path("", include("hub.api.agency_services.urls")),
    path("", include("hub.events.api.urls")),
    path("", include("registration.api.urls")),
    path("", include("payments.api.urls")),
    path("", include("collection.api.urls")),
    path("", include("reconciliation.api.urls")),
    path("", include("notifications.api.urls")),
]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("", include("payments.web.urls")),
    path("", include("registration.web.urls")),
    path("reconciliation/", include("reconciliation.web.urls")),
    # Prometheus; protected (operations/web/metrics.py).
    path("", include("operations.web.urls")),
]


def _json_error(status: int, code: str, message: str):
    def view(request, exception=None):
        if request.path.startswith("/api/"):
            type_ = "not_found" if status == 404 else "api_error"
            return JsonResponse(error_body(type=type_, code=code, message=message), status=status)
        if status == 404:
            return defaults.page_not_found(request, exception)
        return defaults.server_error(request)

    return view


handler404 = _json_error(404, "not_found", "No such resource")
handler500 = _json_error(500, "internal_error", "The hub failed to handle this request")
