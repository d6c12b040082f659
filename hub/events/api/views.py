import django_filters
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response

from hub.api.filters import CreatedRangeFilterSet
from hub.api.permissions import ANY_AGENCY_KEY, key_grants
from hub.api.views import HubReadOnlyViewSet, HubViewSet, carrying_secret
from hub.events import endpoints
from hub.events.api.serializers import (
    EventSerializer,
    WebhookEndpointSerializer,
    WebhookEndpointWithSecretSerializer,
)
from hub.events.catalogue import readable_event_types
from hub.events.models import Event, WebhookEndpoint
from tenants.scope import require_tenant


@extend_schema_view(
    list=extend_schema(summary="List webhook endpoints"),
    retrieve=extend_schema(summary="Get a webhook endpoint"),
    create=extend_schema(
        summary="Add a webhook endpoint (the response shows its secret once)",
        responses={201: WebhookEndpointWithSecretSerializer},
    ),
    partial_update=extend_schema(summary="Change url, event types or enabled"),
)
class WebhookEndpointViewSet(
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    HubViewSet,
):
    model = WebhookEndpoint
    serializer_class = WebhookEndpointSerializer
    filterset_class = CreatedRangeFilterSet
    # Endpoint URLs and subscriptions are for whoever manages webhooks (no read scope
    # of their own exists): reading needs the write scope too.
    read_scope = "webhooks:write"
    write_scope = "webhooks:write"
    http_method_names = ["get", "post", "patch"]

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        created = endpoints.create_endpoint(tenant=require_tenant(), **serializer.validated_data)
        return self._with_secret(created, status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        endpoint = self.get_object()
        serializer = self.get_serializer(endpoint, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        endpoints.update_endpoint(endpoint=endpoint, **serializer.validated_data)
        return Response(self.get_serializer(endpoint).data)

    @extend_schema(
        summary="Rotate the signing secret (the old one signs too for 24 h)",
        request=None,
        responses={200: WebhookEndpointWithSecretSerializer},
    )
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request, pk=None):
        return self._with_secret(
            endpoints.rotate_secret(endpoint=self.get_object()), status.HTTP_200_OK
        )

    @extend_schema(
        summary="Send a webhook.ping to this endpoint now", request=None, responses={202: None}
    )
    @action(detail=True, methods=["post"])
    def ping(self, request, pk=None):
        delivery = endpoints.ping(endpoint=self.get_object())
        return Response({"delivery": delivery.pk}, status=status.HTTP_202_ACCEPTED)

    def _with_secret(self, created, status_code):
        serializer = WebhookEndpointWithSecretSerializer(
            created.endpoint, context={"secret": created.secret}
        )
        return carrying_secret(Response(serializer.data, status=status_code))


class EventFilter(CreatedRangeFilterSet):
    type = django_filters.CharFilter()
    subject_id = django_filters.CharFilter()

    class Meta:
        model = Event
        fields = ["type", "subject_id"]


@extend_schema_view(
    list=extend_schema(summary="List the agency's events (what webhooks carried)"),
    retrieve=extend_schema(summary="Get one event"),
)
class EventViewSet(HubReadOnlyViewSet):
    """Any key of the agency may list events, but sees only the types its scopes
    grant (each type's scope is in the catalogue): a payment key does not read a
    person's new address from a life event."""

    model = Event
    serializer_class = EventSerializer
    filterset_class = EventFilter
    read_scope = ANY_AGENCY_KEY
    write_scope = None

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation, no request
            return Event.objects.none()
        api_key = self.request.user.api_key
        readable = readable_event_types(lambda scope: key_grants(api_key, scope))
        return super().get_queryset().filter(type__in=readable)
