"""``/api/v1/notices``: which notices the hub sent your citizens, and which it did not."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_view

from hub.api.permissions import ANY_AGENCY_KEY, key_grants
from hub.api.views import HubReadOnlyViewSet
from notifications.api.filters import NoticeFilter
from notifications.api.serializers import NoticeSerializer
from notifications.kinds import KIND_READ_SCOPE
from notifications.models import Notice


@extend_schema_view(
    list=extend_schema(
        summary="List notices sent (or held back) to citizens",
        description=(
            "A key sees the notices of the kinds its scopes read: payments:read the "
            "payment and refund confirmations, collections:read the others."
        ),
    ),
    retrieve=extend_schema(summary="Get a notice"),
)
class NoticeViewSet(HubReadOnlyViewSet):
    model = Notice
    serializer_class = NoticeSerializer
    filterset_class = NoticeFilter
    # Filtered per kind by the key's scopes, as /api/v1/events is per event type.
    read_scope = ANY_AGENCY_KEY
    write_scope = None

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation, no request
            return Notice.objects.none()
        api_key = self.request.user.api_key
        kinds = [kind for kind, scope in KIND_READ_SCOPE.items() if key_grants(api_key, scope)]
        return super().get_queryset().filter(kind__in=kinds)
